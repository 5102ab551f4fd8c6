package veiltest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/veil-id/veil"
)

func testAudit(t *testing.T, open func(testing.TB) veil.Store) {
	t.Run("Empty", func(t *testing.T) {
		t.Parallel()
		st := open(t)
		if got, err := st.ListEvents(t.Context(), 10); err != nil || len(got) != 0 {
			t.Errorf("ListEvents(10) on an empty log = %d events, %v; want none", len(got), err)
		}
	})
	t.Run("NewestFirst", func(t *testing.T) { t.Parallel(); testListEvents(t, open(t)) })
	t.Run("Limit", func(t *testing.T) { t.Parallel(); testListEventsLimit(t, open(t)) })
	t.Run("Batch", func(t *testing.T) { t.Parallel(); testAppendEvents(t, open(t)) })
}

// testAppendEvents stores a batch, as veil.AuditWriter hands it over: every
// event, in its order, and an empty batch is nothing.
func testAppendEvents(t *testing.T, st veil.Store) {
	bl, ok := st.(veil.AuditBatchLog)
	if !ok {
		t.Fatalf("%T has no AppendEvents: veil serve writes its audit events in batches", st)
	}
	var batch []*veil.Event
	for i := range 40 {
		// Two events per microsecond: the order of appending must decide.
		batch = append(batch, &veil.Event{Time: t0.Add(time.Duration(i/2) * time.Microsecond), Kind: veil.EventLogin,
			Outcome: veil.OutcomeFailure, Reason: veil.ReasonWrongPassword, IdentifierHash: fmt.Sprintf("hash-%02d", i), ClientAddr: "192.0.2.7"})
	}
	if err := bl.AppendEvents(t.Context(), nil); err != nil {
		t.Fatalf("AppendEvents(nil): %v", err)
	}
	if err := bl.AppendEvents(t.Context(), batch); err != nil {
		t.Fatalf("AppendEvents: %v", err)
	}
	got, err := st.ListEvents(t.Context(), 100)
	if err != nil || len(got) != len(batch) {
		t.Fatalf("ListEvents = %d events, %v; want %d", len(got), err, len(batch))
	}
	for i, e := range got {
		if want := batch[len(batch)-1-i]; e.IdentifierHash != want.IdentifierHash || !e.Time.Equal(want.Time.Truncate(time.Microsecond)) {
			t.Fatalf("event %d (newest first) = %s at %v, want %s at %v", i, e.IdentifierHash, e.Time, want.IdentifierHash, want.Time)
		}
	}
}

// appendEvents stores events with the given offsets from t0, in that order,
// and returns them newest first.
func appendEvents(tb testing.TB, st veil.Store, offsets ...time.Duration) []*veil.Event {
	tb.Helper()
	reasons := []string{veil.ReasonUnknownIdentifier, veil.ReasonWrongPassword, veil.ReasonDisabled, veil.ReasonNone}
	var events []*veil.Event
	for i, off := range offsets {
		e := &veil.Event{
			Time:           t0.Add(off),
			Kind:           veil.EventLogin,
			Outcome:        veil.OutcomeFailure,
			Reason:         reasons[i%len(reasons)],
			IdentifierHash: "0123456789abcdef0123456789abcdef",
			AccountID:      veil.NewAccountID(),
			ClientAddr:     "2001:db8::1",
		}
		if e.Reason == veil.ReasonNone {
			e.Outcome, e.IdentifierHash, e.AccountID = veil.OutcomeSuccess, "", ""
		}
		if err := st.AppendEvent(tb.Context(), e); err != nil {
			tb.Fatalf("AppendEvent: %v", err)
		}
		events = append(events, e)
	}
	slices.SortStableFunc(events, func(x, y *veil.Event) int { return y.Time.Compare(x.Time) })
	return events
}

func testListEvents(t *testing.T, st veil.Store) {
	want := appendEvents(t, st, time.Second, -time.Hour, 0, 24*time.Hour, time.Microsecond, -time.Microsecond)
	got, err := st.ListEvents(t.Context(), 100)
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("ListEvents(100) = %d events, want %d", len(got), len(want))
	}
	for i := range got {
		for _, d := range eventDiff(got[i], want[i]) {
			t.Errorf("ListEvents(100)[%d]: %s", i, d)
		}
	}
}

func testListEventsLimit(t *testing.T, st veil.Store) {
	all := appendEvents(t, st, 3*time.Minute, time.Minute, 5*time.Minute, 2*time.Minute, 4*time.Minute)
	tests := []struct {
		limit int
		want  []*veil.Event
	}{
		{1, all[:1]},
		{3, all[:3]},
		{5, all},
		{6, all},
		{1000, all},
	}
	for _, tt := range tests {
		got, err := st.ListEvents(t.Context(), tt.limit)
		if err != nil {
			t.Errorf("ListEvents(%d): %v", tt.limit, err)
			continue
		}
		if len(got) != len(tt.want) {
			t.Errorf("ListEvents(%d) = %d events, want %d", tt.limit, len(got), len(tt.want))
			continue
		}
		for i := range got {
			if !sameTime(got[i].Time, tt.want[i].Time) {
				t.Errorf("ListEvents(%d)[%d].Time = %v, want %v", tt.limit, i, got[i].Time, micro(tt.want[i].Time))
			}
		}
	}
}
