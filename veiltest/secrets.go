package veiltest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/veil-id/veil"
)

func testSecrets(t *testing.T, open func(testing.TB) veil.Store) {
	t.Run("CreatedOnce", func(t *testing.T) {
		t.Parallel()
		st := open(t)
		first := mustLoadSecret(t, st, "identifier_key", 32)
		if len(first) != 32 {
			t.Fatalf("LoadOrCreateSecret(size 32) = %d bytes", len(first))
		}
		if bytes.Equal(first, make([]byte, 32)) {
			t.Errorf("LoadOrCreateSecret returned zeros, want random bytes")
		}
		if again := mustLoadSecret(t, st, "identifier_key", 32); !bytes.Equal(again, first) {
			t.Errorf("LoadOrCreateSecret(again) = %x, want the first value %x", again, first)
		}
	})
	t.Run("NamesDiffer", func(t *testing.T) {
		t.Parallel()
		st := open(t)
		a := mustLoadSecret(t, st, "a", 32)
		b := mustLoadSecret(t, st, "b", 32)
		if bytes.Equal(a, b) {
			t.Errorf("secrets a and b are equal (%x), want independent values", a)
		}
		if small := mustLoadSecret(t, st, "small", 16); len(small) != 16 {
			t.Errorf("LoadOrCreateSecret(size 16) = %d bytes", len(small))
		}
	})
	t.Run("Concurrent", func(t *testing.T) { t.Parallel(); testConcurrentSecrets(t, open(t)) })
}

func mustLoadSecret(tb testing.TB, st veil.Store, name string, size int) []byte {
	tb.Helper()
	b, err := st.LoadOrCreateSecret(tb.Context(), name, size)
	if err != nil {
		tb.Fatalf("LoadOrCreateSecret(%q, %d): %v", name, size, err)
	}
	return b
}

// testConcurrentSecrets starts many first callers at once, as several
// instances starting together on one database would: all must get one value.
func testConcurrentSecrets(t *testing.T, st veil.Store) {
	const callers = 16
	var (
		start   = make(chan struct{})
		wg      sync.WaitGroup
		results = make([][]byte, callers)
		errs    = make([]error, callers)
	)
	for i := range callers {
		wg.Go(func() {
			<-start
			results[i], errs[i] = st.LoadOrCreateSecret(t.Context(), "shared", 32)
		})
	}
	close(start)
	wg.Wait()
	for i := range callers {
		if errs[i] != nil {
			t.Fatalf("caller %d: LoadOrCreateSecret: %v", i, errs[i])
		}
		if !bytes.Equal(results[i], results[0]) {
			t.Errorf("caller %d got %x, caller 0 got %x; want one value", i, results[i], results[0])
		}
	}
}

// timeCase is a time a store must read back as the same instant, in UTC,
// to the microsecond.
type timeCase struct {
	name string
	t    time.Time
}

// timeCases are the times a round trip through a store must survive.
func timeCases() []timeCase {
	return []timeCase{
		{"Microseconds", time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)},
		{"NanosecondsDropped", time.Date(2026, 1, 2, 3, 4, 5, 999999999, time.UTC)},
		{"OtherZone", time.Date(2026, 7, 1, 23, 30, 0, 654321000, time.FixedZone("UTC+05:30", 5*3600+1800))},
		{"Local", time.Date(2026, 7, 1, 23, 30, 0, 1000, time.Local)},
		{"Epoch", time.Unix(0, 0)},
		{"BeforeEpoch", time.Date(1969, 7, 20, 20, 17, 40, 1000, time.UTC)},
		{"FarFuture", time.Date(2999, 12, 31, 23, 59, 59, 999999000, time.UTC)},
		{"Zero", time.Time{}},
		{"Monotonic", time.Now()},
	}
}

// testTimes stores every kind of time the store keeps and checks that each
// reads back as the same instant, in UTC, to the microsecond.
func testTimes(t *testing.T, open func(testing.TB) veil.Store) {
	for _, tt := range timeCases() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := open(t)
			checkTimeRoundTrip(t, st, tt.t)
		})
	}
}

func checkTimeRoundTrip(t *testing.T, st veil.Store, tm time.Time) {
	a := newAccount(t, "time@example.com")
	a.CreatedAt, a.UpdatedAt = tm, tm
	if err := st.CreateAccount(t.Context(), a); err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	s := newSession(a.ID, tm)
	s.LastSeenAt, s.ExpiresAt = tm, tm
	mustCreateSession(t, st, s)
	e := &veil.Event{Time: tm, Kind: veil.EventLogout, Outcome: veil.OutcomeSuccess, AccountID: a.ID}
	if err := st.AppendEvent(t.Context(), e); err != nil {
		t.Fatalf("AppendEvent: %v", err)
	}

	gotA, err := st.FindAccountByID(t.Context(), a.ID)
	if err != nil {
		t.Fatalf("FindAccountByID: %v", err)
	}
	gotS, err := st.FindSession(t.Context(), s.IDHash)
	if err != nil {
		t.Fatalf("FindSession: %v", err)
	}
	events, err := st.ListEvents(t.Context(), 1)
	if err != nil || len(events) != 1 {
		t.Fatalf("ListEvents(1) = %d events, %v", len(events), err)
	}
	got := map[string]time.Time{
		"Account.CreatedAt":  gotA.CreatedAt,
		"Account.UpdatedAt":  gotA.UpdatedAt,
		"Session.CreatedAt":  gotS.CreatedAt,
		"Session.LastSeenAt": gotS.LastSeenAt,
		"Session.ExpiresAt":  gotS.ExpiresAt,
		"Event.Time":         events[0].Time,
	}
	for field, g := range got {
		if !sameTime(g, tm) {
			t.Errorf("%s = %v (%s), want %v in UTC", field, g, describe(g), micro(tm))
		}
	}
}

func describe(t time.Time) string {
	return fmt.Sprintf("%d µs since epoch, zone %s", t.UnixMicro(), t.Location())
}
