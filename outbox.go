package veil

import (
	"context"
	"time"
)

// Job kinds: the work that depends on whether an account exists, done off
// the request path.
const (
	JobSignUp          = "signup"           // Subject: a pending sign-up ID
	JobRecover         = "recover"          // Subject: a normalized email
	JobPasswordChanged = "password_changed" // Subject: an account ID
)

// Job states.
const (
	JobPending = "pending"
	JobDone    = "done"
	JobDead    = "dead"
)

// Job is one entry of the durable outbox.
type Job struct {
	ID            int64
	Kind          string
	Subject       string
	State         string
	Attempts      int
	LastError     string
	CreatedAt     time.Time
	NextAttemptAt time.Time
}

// OutboxStore keeps jobs. Jobs are written in the same transaction as the
// request's own record, so a 202 always has its job.
type OutboxStore interface {
	// EnqueueJob stores a pending job due at j.NextAttemptAt and sets j.ID.
	EnqueueJob(ctx context.Context, j *Job) error
	// ClaimJob leases the oldest due pending job until now+lease, so that
	// one worker (of any instance) runs it; ENOTFOUND when none is due. A
	// worker that dies leaves its lease to run out, and the job is claimed
	// again: delivery is at least once.
	ClaimJob(ctx context.Context, now time.Time, lease time.Duration) (*Job, error)
	// CompleteJob marks a claimed job done.
	CompleteJob(ctx context.Context, id int64) error
	// FailJob records a failed attempt: pending again at retryAt, or dead.
	FailJob(ctx context.Context, id int64, lastError string, retryAt time.Time, dead bool) error
	// ListJobs returns jobs in one state, newest first, at most limit.
	ListJobs(ctx context.Context, state string, limit int) ([]*Job, error)
	// RetryJob makes a dead job pending and due at now; ENOTFOUND if no
	// dead job has this ID.
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
	// DeleteExpiredMail removes pending sign-ups created and tokens expired
	// before the given times, and returns how many rows went.
	DeleteExpiredMail(ctx context.Context, signUpsBefore, tokensBefore time.Time) (int, error)
}
