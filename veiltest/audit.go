package veiltest

import (
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
