package veil

import (
	"context"
	"time"
)

// Job kinds: the work that depends on whether an account exists, done off
// the request path.
const (
	JobSignUp          = "signup"           // Subject: a pending sign-up ID
	JobRecover         = "recover"          // Subject: a normalized email, until the job is done or dead
	JobPasswordChanged = "password_changed" // Subject: an account ID
)

// Job states. JobLeased is not stored: it is how a pending job that a
// worker holds right now is shown (see Job.LeasedAt).
const (
	JobPending = "pending"
	JobLeased  = "leased"
	JobDone    = "done"
	JobDead    = "dead"
)

// Job is one entry of the durable outbox.
type Job struct {
	ID      int64
	Kind    string
	Subject string // "" once erased (see SubjectHash)
	// SubjectHash is set when Subject is an address somebody typed
	// (IdentifierKey.Hash of it, as in the audit log). Such an address is
	// often nobody's account, so the store keeps it only while the job
	// needs it: once the job is done or dead, Subject is erased and only
	// the hash remains, for an operator to find the job's audit events.
	SubjectHash string
	// Lang is the language of the request that queued the job (see
	// Client.Lang): its mail is written in it, whoever's the address is.
	Lang          string
	State         string
	Attempts      int
	LastError     string
	CreatedAt     time.Time
	NextAttemptAt time.Time
	LeasedUntil   time.Time // the end of a worker's lease on a pending job; zero if none was taken
}

// LeasedAt reports whether a worker holds the pending job at now.
func (j *Job) LeasedAt(now time.Time) bool {
	return j.State == JobPending && j.LeasedUntil.After(now)
}

// Erased reports whether the job's address was erased when it ended.
func (j *Job) Erased() bool { return j.Subject == "" }

// OutboxStore keeps jobs. Jobs are written in the same transaction as the
// request's own record, so a 202 always has its job.
type OutboxStore interface {
	// EnqueueJob stores a pending job due at j.NextAttemptAt and sets j.ID.
	EnqueueJob(ctx context.Context, j *Job) error
	// ClaimJob leases the oldest due pending job until now+lease (the
	// returned job's LeasedUntil), so that one worker (of any instance)
	// runs it; ENOTFOUND when none is due. A worker that dies leaves its
	// lease to run out, and the job is claimed again: delivery is at least
	// once.
	ClaimJob(ctx context.Context, now time.Time, lease time.Duration) (*Job, error)
	// ReleaseJob gives back the lease of a claimed job (j.ID, while its
	// lease is still j.LeasedUntil) without counting an attempt, so that
	// the job is due again at once: a worker that stops mid-job calls it.
	// No error if the lease has passed to another worker meanwhile.
	ReleaseJob(ctx context.Context, j *Job) error
	// CompleteJob marks a claimed job done, erasing an address subject.
	CompleteJob(ctx context.Context, id int64) error
	// FailJob records a failed attempt: pending again at retryAt, or dead
	// (erasing an address subject).
	FailJob(ctx context.Context, id int64, lastError string, retryAt time.Time, dead bool) error
	// ListJobs returns jobs in one state (JobPending includes the leased
	// ones), newest first, at most limit.
	ListJobs(ctx context.Context, state string, limit int) ([]*Job, error)
	// RetryJob makes a dead job pending and due at now; ENOTFOUND if no
	// dead job has this ID, ECONFLICT if its address was erased when it
	// died (nothing is left to send it to).
	RetryJob(ctx context.Context, id int64, now time.Time) error
}

// PendingSignUp is a sign-up waiting for its address to be confirmed. It
// holds only the address: the password and the display name are chosen by
// whoever follows the mailed link, so that nobody who merely typed the
// address can set the password of the account it becomes.
type PendingSignUp struct {
	ID        string
	Email     Identifier
	CreatedAt time.Time
}

// SignUpStore keeps pending sign-ups.
type SignUpStore interface {
	// CreatePendingSignUp stores p and its outbox job in one transaction.
	CreatePendingSignUp(ctx context.Context, p *PendingSignUp, j *Job) error
	// FindPendingSignUp returns the pending sign-up, or ENOTFOUND.
	FindPendingSignUp(ctx context.Context, id string) (*PendingSignUp, error)
	// FindPendingSignUpByToken returns the pending sign-up of the live
	// sign-up token whose hash is tokenHash, without spending the token;
	// ENOTFOUND if the token is unknown, used or expired by now, or its
	// sign-up is gone.
	FindPendingSignUpByToken(ctx context.Context, tokenHash []byte, now time.Time) (*PendingSignUp, error)
	// CompleteSignUp, in one transaction, spends the live sign-up token
	// whose hash is tokenHash, creates a with the address of its pending
	// sign-up (setting a.Email) and removes that pending sign-up.
	// ENOTFOUND as FindPendingSignUpByToken; ECONFLICT if an account has
	// the address. On any error nothing is written. Other pending sign-ups
	// of the address stay until they expire: their jobs still mail the
	// "you already have an account" notice, and their links fail on the
	// taken address.
	CompleteSignUp(ctx context.Context, tokenHash []byte, now time.Time, a *Account) error
	// DeletePendingSignUp removes it; no error if it is gone.
	DeletePendingSignUp(ctx context.Context, id string) error
	// DeleteExpiredSignUpsAndTokens removes pending sign-ups created and
	// mailed tokens expired before the given times, and returns how many
	// rows went.
	DeleteExpiredSignUpsAndTokens(ctx context.Context, signUpsBefore, tokensBefore time.Time) (int, error)
}
