package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/veil-id/veil"
)

const jobColumns = `id, kind, subject, subject_hash, lang, state, attempts, last_error, created_at, next_attempt_at, locked_until`

// eraseAddress is the SET clause that ends a job: a subject that is an
// address (one with a hash) goes, its hash stays.
const eraseAddress = `subject = CASE WHEN subject_hash <> '' THEN '' ELSE subject END`

// EnqueueJob stores a pending job and sets j.ID.
func (db *DB) EnqueueJob(ctx context.Context, j *veil.Job) error {
	return db.enqueue(ctx, db.sql, j)
}

func (db *DB) enqueue(ctx context.Context, q queryer, j *veil.Job) error {
	j.State = veil.JobPending
	err := db.queryRow(ctx, q, `
		INSERT INTO outbox (kind, subject, subject_hash, lang, state, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?)
		RETURNING id`,
		j.Kind, j.Subject, j.SubjectHash, j.Lang, j.State, toMicros(j.CreatedAt), toMicros(j.NextAttemptAt)).Scan(&j.ID)
	if err != nil {
		return fmt.Errorf("sqlstore: queueing a job: %w", err)
	}
	return nil
}

// ClaimJob leases the oldest due pending job. The lease condition is
// checked again by the UPDATE itself, so of two workers that picked the
// same job only one gets it.
func (db *DB) ClaimJob(ctx context.Context, now time.Time, lease time.Duration) (*veil.Job, error) {
	n := toMicros(now)
	row := db.queryRow(ctx, db.sql, `
		UPDATE outbox SET locked_until = ?
		WHERE id = (
			SELECT id FROM outbox
			WHERE state = 'pending' AND next_attempt_at <= ? AND locked_until <= ?
			ORDER BY next_attempt_at, id LIMIT 1)
		AND state = 'pending' AND locked_until <= ?
		RETURNING `+jobColumns,
		toMicros(now.Add(lease)), n, n, n)
	j, err := scanJob(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, veil.Errorf(veil.ENOTFOUND, "No job is due.")
	}
	return j, err
}

// ReleaseJob gives a lease back. The lease's end identifies it: a worker
// whose lease ran out and passed to another must not end that one.
func (db *DB) ReleaseJob(ctx context.Context, j *veil.Job) error {
	_, err := db.exec(ctx, db.sql, `UPDATE outbox SET locked_until = 0 WHERE id = ? AND state = 'pending' AND locked_until = ?`,
		j.ID, toMicros(j.LeasedUntil))
	if err != nil {
		return fmt.Errorf("sqlstore: releasing a job: %w", err)
	}
	return nil
}

// CompleteJob marks a job done.
func (db *DB) CompleteJob(ctx context.Context, id int64) error {
	if _, err := db.exec(ctx, db.sql, `UPDATE outbox SET state = 'done', locked_until = 0, `+eraseAddress+` WHERE id = ?`, id); err != nil {
		return fmt.Errorf("sqlstore: completing a job: %w", err)
	}
	return nil
}

// FailJob records a failed attempt.
func (db *DB) FailJob(ctx context.Context, id int64, lastError string, retryAt time.Time, dead bool) error {
	state := veil.JobPending
	if dead {
		state = veil.JobDead
	}
	if len(lastError) > 1000 {
		lastError = lastError[:1000]
	}
	set := `state = ?, attempts = attempts + 1, last_error = ?, next_attempt_at = ?, locked_until = 0`
	if dead {
		set += ", " + eraseAddress
	}
	_, err := db.exec(ctx, db.sql, `UPDATE outbox SET `+set+` WHERE id = ?`, state, clientText(lastError), toMicros(retryAt), id)
	if err != nil {
		return fmt.Errorf("sqlstore: recording a failed job: %w", err)
	}
	return nil
}

// ListJobs returns jobs in one state, newest first.
func (db *DB) ListJobs(ctx context.Context, state string, limit int) ([]*veil.Job, error) {
	if limit <= 0 {
		return nil, veil.Errorf(veil.EINVALID, "The limit must be positive.")
	}
	rows, err := db.query(ctx, db.sql, `SELECT `+jobColumns+` FROM outbox WHERE state = ? ORDER BY id DESC LIMIT ?`, state, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: listing jobs: %w", err)
	}
	defer rows.Close()
	var jobs []*veil.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, j)
	}
	return jobs, rows.Err()
}

// RetryJob makes a dead job pending again, unless its address is gone.
func (db *DB) RetryJob(ctx context.Context, id int64, now time.Time) error {
	var subject string
	err := db.queryRow(ctx, db.sql, `
		UPDATE outbox SET state = CASE WHEN subject <> '' THEN 'pending' ELSE state END,
			attempts = CASE WHEN subject <> '' THEN 0 ELSE attempts END,
			next_attempt_at = CASE WHEN subject <> '' THEN ? ELSE next_attempt_at END
		WHERE id = ? AND state = 'dead'
		RETURNING subject`, toMicros(now), id).Scan(&subject)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return veil.Errorf(veil.ENOTFOUND, "No dead job has this ID.")
	case err != nil:
		return fmt.Errorf("sqlstore: retrying a job: %w", err)
	case subject == "":
		return veil.Errorf(veil.ECONFLICT, "The job's address was erased when it died; the person must ask again.")
	}
	return nil
}

func scanJob(s scanner) (*veil.Job, error) {
	var j veil.Job
	var created, next, locked int64
	if err := s.Scan(&j.ID, &j.Kind, &j.Subject, &j.SubjectHash, &j.Lang, &j.State, &j.Attempts, &j.LastError, &created, &next, &locked); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		return nil, fmt.Errorf("sqlstore: reading a job: %w", err)
	}
	j.CreatedAt, j.NextAttemptAt = fromMicros(created), fromMicros(next)
	if locked != 0 {
		j.LeasedUntil = fromMicros(locked)
	}
	return &j, nil
}

// DevMail is one mail kept by the development mailer.
type DevMail struct {
	To, Subject, Text, HTML string
	SentAt                  time.Time
}

// AppendDevMail keeps one mail of the development mailer.
func (db *DB) AppendDevMail(ctx context.Context, m *DevMail) error {
	_, err := db.exec(ctx, db.sql, `INSERT INTO dev_mail (recipient, subject, text_body, html_body, sent_at) VALUES (?, ?, ?, ?, ?)`,
		m.To, m.Subject, m.Text, m.HTML, toMicros(m.SentAt))
	if err != nil {
		return fmt.Errorf("sqlstore: keeping a dev mail: %w", err)
	}
	return nil
}

// ListDevMail returns the development mailbox, newest first.
func (db *DB) ListDevMail(ctx context.Context, limit int) ([]*DevMail, error) {
	rows, err := db.query(ctx, db.sql, `SELECT recipient, subject, text_body, html_body, sent_at FROM dev_mail ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: listing dev mail: %w", err)
	}
	defer rows.Close()
	var out []*DevMail
	for rows.Next() {
		var m DevMail
		var sent int64
		if err := rows.Scan(&m.To, &m.Subject, &m.Text, &m.HTML, &sent); err != nil {
			return nil, fmt.Errorf("sqlstore: reading dev mail: %w", err)
		}
		m.SentAt = fromMicros(sent)
		out = append(out, &m)
	}
	return out, rows.Err()
}
