package veil

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"
)

// WorkerConfig configures the outbox worker.
type WorkerConfig struct {
	Renderer MailRenderer
	Mailer   Mailer
	Logger   *slog.Logger
	Poll     time.Duration // how often to look for due jobs (other instances' too); 0: 1s
	Lease    time.Duration // how long a claimed job is ours; 0: 2m; must outlast a send
	// Grace is how long a job that is running when Run's context ends may
	// go on; then it is cut off and its lease given back. 0: 10s.
	Grace       time.Duration
	MaxAttempts int           // attempts before a job is dead; 0: 10
	BaseBackoff time.Duration // first retry delay, doubled each time; 0: 5s
	MaxBackoff  time.Duration // 0: 1h
	// WakeDelay is how long a job that a request of this process queued
	// waits before it runs; 0: 200ms. See Run.
	WakeDelay time.Duration
}

// Worker runs outbox jobs: the only place that looks up an address for
// sign-up or recovery, and the only place that renders and sends mail. It
// runs off the request path, so what it does and how long it takes never
// shows in an answer.
type Worker struct {
	s   *Service
	cfg WorkerConfig
}

// DefaultWorkerConfig holds what NewWorker fills in for a zero field.
var DefaultWorkerConfig = WorkerConfig{
	Poll:        time.Second,
	Lease:       2 * time.Minute,
	Grace:       10 * time.Second,
	MaxAttempts: 10,
	BaseBackoff: 5 * time.Second,
	MaxBackoff:  time.Hour,
	WakeDelay:   200 * time.Millisecond,
}

// NewWorker returns a worker for the service's outbox.
func (s *Service) NewWorker(cfg WorkerConfig) *Worker {
	d := DefaultWorkerConfig
	cfg.Poll = cmpOr(cfg.Poll, d.Poll)
	cfg.Lease = cmpOr(cfg.Lease, d.Lease)
	cfg.Grace = cmpOr(cfg.Grace, d.Grace)
	cfg.BaseBackoff = cmpOr(cfg.BaseBackoff, d.BaseBackoff)
	cfg.MaxBackoff = cmpOr(cfg.MaxBackoff, d.MaxBackoff)
	cfg.WakeDelay = cmpOr(cfg.WakeDelay, d.WakeDelay)
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = d.MaxAttempts
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Worker{s: s, cfg: cfg}
}

func cmpOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// wakeWorker tells a worker in this process that a job is waiting.
func (s *Service) wakeWorker() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run works until ctx ends: every due job, then a nap until the poll
// interval passes or a request of this process queues a job.
//
// When ctx ends Run takes no new job, and returns once the running one has
// settled: a send in progress gets cfg.Grace to finish and is recorded as
// done; one that cannot finish is cut off and its lease given back, so
// that it is sent at once after a restart (or by another instance) rather
// than when the lease runs out. A send cut off after the mail server took
// the message but before it said so is sent again: delivery stays at least
// once, but a clean shutdown re-sends nothing that was known to be sent.
func (w *Worker) Run(ctx context.Context) {
	t := time.NewTicker(w.cfg.Poll)
	defer t.Stop()
	for {
		for {
			ran, err := w.RunOnce(ctx)
			if err != nil && ctx.Err() == nil {
				w.cfg.Logger.Error("outbox", "err", err)
			}
			if !ran || ctx.Err() != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.s.wake:
			// The request that queued the job is still answering. Its
			// job's work depends on the account (a lookup, a token, a
			// mail written to the database), and run at once it would
			// contend with that answer for the database and the CPU,
			// slowing it by more for an existing account than for an
			// unknown address (veil probe measured ~130µs on a code
			// request). Later, it runs beside whichever requests come
			// then, whatever their accounts.
			if !sleepCtx(ctx, w.cfg.WakeDelay) {
				return
			}
		}
	}
}

// sleepCtx sleeps for d or until ctx ends, and reports whether it slept.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// recordTimeout bounds writing down a job's outcome once ctx has ended.
const recordTimeout = 5 * time.Second

// RunOnce claims and runs one due job; it reports whether there was one.
// Once ctx ends, the job it runs gets cfg.Grace more (see Run).
func (w *Worker) RunOnce(ctx context.Context) (bool, error) {
	now := w.s.cfg.Clock.Now()
	job, err := w.s.cfg.Outbox.ClaimJob(ctx, now, w.cfg.Lease)
	if ErrorCode(err) == ENOTFOUND {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("claiming a job: %w", err)
	}
	jctx, cancel := w.graceContext(ctx)
	defer cancel()
	runErr := w.run(jctx, job)
	// The outcome is written whatever became of ctx: a mail that went out
	// and is not recorded as done would be sent again.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer rcancel()
	switch {
	case runErr == nil:
		return true, w.s.cfg.Outbox.CompleteJob(rctx, job.ID)
	case ctx.Err() != nil:
		// Stopping is not the job's failure: no attempt is counted.
		w.cfg.Logger.Info("outbox job interrupted by shutdown; lease given back", "job", job.ID, "kind", job.Kind, "err", runErr)
		return true, w.s.cfg.Outbox.ReleaseJob(rctx, job)
	default:
		return true, w.fail(rctx, job, runErr)
	}
}

// graceContext returns a context for running a job: it ends cfg.Grace
// after ctx does, not with it.
func (w *Worker) graceContext(ctx context.Context) (context.Context, context.CancelFunc) {
	jctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(w.cfg.Grace, cancel) })
	return jctx, func() { stop(); cancel() }
}

// fail schedules a retry with exponential backoff and jitter, or buries the
// job once it has used its attempts.
func (w *Worker) fail(ctx context.Context, job *Job, cause error) error {
	attempts := job.Attempts + 1
	// A mailer that knows a failure is permanent (a 5xx for the recipient)
	// says so; retrying it would only repeat the refusal.
	var temp interface{ Temporary() bool }
	permanent := errors.As(cause, &temp) && !temp.Temporary()
	dead := attempts >= w.cfg.MaxAttempts || permanent
	backoff := w.cfg.BaseBackoff << min(attempts-1, 20)
	backoff = min(backoff, w.cfg.MaxBackoff)
	backoff += rand.N(backoff/4 + 1)
	msg := cause.Error()
	w.cfg.Logger.Warn("outbox job failed", "job", job.ID, "kind", job.Kind, "attempt", attempts, "dead", dead, "retry_in", backoff, "err", msg)
	if err := w.s.cfg.Outbox.FailJob(ctx, job.ID, msg, w.s.cfg.Clock.Now().Add(backoff), dead); err != nil {
		return fmt.Errorf("recording a failed job: %w", err)
	}
	return nil
}

func (w *Worker) run(ctx context.Context, job *Job) error {
	ctx = withMailLang(ctx, job.Lang)
	switch job.Kind {
	case JobSignUp:
		return w.signUp(ctx, job.Subject)
	case JobRecover:
		return w.recover(ctx, Identifier(job.Subject))
	case JobPasswordChanged:
		return w.passwordChanged(ctx, job.Subject)
	default:
		return w.runAccountJob(ctx, job)
	}
}

// signUp mails a confirmation link to a new address, or a "you already
// have an account" notice to a taken one. A disabled account gets nothing.
func (w *Worker) signUp(ctx context.Context, signUpID string) error {
	p, err := w.s.cfg.SignUps.FindPendingSignUp(ctx, signUpID)
	if ErrorCode(err) == ENOTFOUND {
		return nil // confirmed or expired meanwhile
	} else if err != nil {
		return err
	}
	acct, err := w.findAccount(ctx, p.Email)
	if err != nil {
		return err
	}
	pol := w.s.cfg.MailPolicy
	switch {
	case acct == nil:
		token, t := newToken(TokenSignUp, w.s.cfg.Clock.Now(), pol.SignUpTTL)
		t.SignUpID = p.ID
		if err := w.s.cfg.Tokens.CreateToken(ctx, t); err != nil {
			return err
		}
		return w.send(ctx, ReasonNewAddress, "", &MailData{Kind: MailSignupConfirm, To: p.Email,
			Link: pol.BaseURL + "/signup/confirm?token=" + token, Expires: t.ExpiresAt})
	case acct.Disabled:
		w.audit(ctx, ReasonDisabled, acct.ID, acct.Email)
		return w.s.cfg.SignUps.DeletePendingSignUp(ctx, p.ID)
	default:
		if err := w.send(ctx, ReasonTakenAddress, acct.ID, &MailData{Kind: MailSignupExisting, To: acct.Email, Name: acct.DisplayName}); err != nil {
			return err
		}
		// The mail is out: a failure now must not send it again, and the
		// expiry of pending sign-ups removes the row anyway.
		if err := w.s.cfg.SignUps.DeletePendingSignUp(context.WithoutCancel(ctx), p.ID); err != nil {
			w.cfg.Logger.Warn("deleting a pending sign-up after its mail", "err", err)
		}
		return nil
	}
}

// recover mails a reset link to an account; to an unknown address a notice
// if so configured, else nothing; to a disabled account nothing.
func (w *Worker) recover(ctx context.Context, email Identifier) error {
	acct, err := w.findAccount(ctx, email)
	if err != nil {
		return err
	}
	if acct == nil && w.s.cfg.MailPolicy.NotifyUnknown {
		return w.send(ctx, ReasonNotifyUnknown, "", &MailData{Kind: MailRecoverUnknown, To: email})
	}
	if !w.mailable(ctx, acct, email) {
		return nil
	}
	if err := w.s.cfg.Tokens.DeleteAccountTokens(ctx, acct.ID, TokenReset); err != nil {
		return err
	}
	token, t := newToken(TokenReset, w.s.cfg.Clock.Now(), w.s.cfg.MailPolicy.ResetTTL)
	t.AccountID = acct.ID
	if err := w.s.cfg.Tokens.CreateToken(ctx, t); err != nil {
		return err
	}
	return w.send(ctx, MailRecoverReset, acct.ID, &MailData{Kind: MailRecoverReset, To: acct.Email, Name: acct.DisplayName,
		Link: w.s.cfg.MailPolicy.BaseURL + "/recover/confirm?token=" + token, Expires: t.ExpiresAt})
}

func (w *Worker) passwordChanged(ctx context.Context, accountID string) error {
	acct, err := w.s.cfg.Accounts.FindAccountByID(ctx, accountID)
	if ErrorCode(err) == ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	return w.send(ctx, MailPasswordChanged, acct.ID, &MailData{Kind: MailPasswordChanged, To: acct.Email, Name: acct.DisplayName})
}

func (w *Worker) findAccount(ctx context.Context, email Identifier) (*Account, error) {
	acct, err := w.s.cfg.Accounts.FindAccountByIdentifier(ctx, email)
	if ErrorCode(err) == ENOTFOUND {
		return nil, nil
	}
	return acct, err
}

// send renders and sends one mail and audits it. Links common to every
// mail are filled in here.
func (w *Worker) send(ctx context.Context, reason, accountID string, d *MailData) error {
	d.SiteName = w.s.cfg.MailPolicy.SiteName
	d.SignInURL = w.s.cfg.MailPolicy.BaseURL + "/login"
	d.ResetURL = w.s.cfg.MailPolicy.BaseURL + "/recover"
	d.Lang = mailLang(ctx)
	msg, err := w.cfg.Renderer.RenderMail(d)
	if err != nil {
		return fmt.Errorf("rendering %s mail: %w", d.Kind, err)
	}
	if err := w.cfg.Mailer.SendMail(ctx, msg); err != nil {
		return fmt.Errorf("sending %s mail: %w", d.Kind, err)
	}
	w.audit(context.WithoutCancel(ctx), reason, accountID, d.To)
	return nil
}

func (w *Worker) audit(ctx context.Context, reason, accountID string, to Identifier) {
	w.s.cfg.Auditor.RecordEvent(ctx, &Event{Time: w.s.cfg.Clock.Now(), Kind: EventMail, Outcome: OutcomeSuccess, Reason: reason, AccountID: accountID, IdentifierHash: w.s.cfg.Key.Hash(to)})
}

// mailLangKey carries a job's language to the mail it sends.
type mailLangKey struct{}

func withMailLang(ctx context.Context, lang string) context.Context {
	return context.WithValue(ctx, mailLangKey{}, lang)
}

// mailLang is the language of the job being run: the requester's, never
// the account's (see Job.Lang).
func mailLang(ctx context.Context) string {
	lang, _ := ctx.Value(mailLangKey{}).(string)
	return lang
}
