package veil_test

import (
	"context"
	"testing"
	"time"

	"github.com/veil-id/veil"
)

// TestCheckIdentifiers stores accounts as a veil with the rules before
// issue 10.7 could have (the store takes any email it is given) and checks
// that each one today's rules would not make is reported, with its twin.
func TestCheckIdentifiers(t *testing.T) {
	ctx := context.Background()
	s, db, _ := mustOpenMailService(t, nil)
	if issues, err := s.CheckIdentifiers(ctx); err != nil || len(issues) != 0 {
		t.Fatalf("CheckIdentifiers on an empty store = %v, %v", issues, err)
	}
	ids := map[string]string{}
	for _, email := range []string{"alice@example.com", "alice@example.com.", "alice@example.com..", "bob@example.com.", `"carol"@example.com`, "dan@192.0.2.1", "erin@example.org"} {
		a := &veil.Account{ID: veil.NewAccountID(), Email: veil.Identifier(email), CreatedAt: time.Now(), UpdatedAt: time.Now()}
		if err := db.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		ids[email] = a.ID
	}
	issues, err := s.CheckIdentifiers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type report struct {
		normal  veil.Identifier
		twin    string
		refused bool
	}
	got := map[string]report{}
	for _, is := range issues {
		r := report{normal: is.Normal, refused: is.Refusal != ""}
		if is.Twin != nil {
			r.twin = is.Twin.ID
		}
		got[string(is.Account.Email)] = r
	}
	want := map[string]report{
		"alice@example.com.":  {normal: "alice@example.com", twin: ids["alice@example.com"]},
		"alice@example.com..": {refused: true},
		"bob@example.com.":    {normal: "bob@example.com"},
		`"carol"@example.com`: {refused: true},
		"dan@192.0.2.1":       {refused: true},
	}
	if len(got) != len(want) {
		t.Errorf("CheckIdentifiers reported %d accounts (%v), want %d", len(got), got, len(want))
	}
	for email, w := range want {
		if g, ok := got[email]; !ok || g != w {
			t.Errorf("CheckIdentifiers for %q = %+v (reported: %v), want %+v", email, g, ok, w)
		}
	}
}
