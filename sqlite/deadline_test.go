package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/sqlite"
)

// TestWriteUnderLockHonoursDeadline holds the write lock from another
// connection: a store write must give up at its context's deadline, not
// after the 10s busy timeout, so a request's deadline bounds it.
func TestWriteUnderLockHonoursDeadline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.db")
	a, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	tx, err := raw.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("DELETE FROM audit_events WHERE 0"); err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = a.AppendEvent(ctx, &veil.Event{Time: time.Now(), Kind: "login", Outcome: "failure"})
	took := time.Since(start)
	if err == nil || took > time.Second {
		t.Errorf("AppendEvent under a held write lock: %v after %v, want an error at the 300ms deadline", err, took)
	}
}
