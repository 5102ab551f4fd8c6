package veiltest

import (
	"slices"
	"testing"
	"time"

	"github.com/veil-id/veil"
)

func testAccounts(t *testing.T, open func(testing.TB) veil.Store) {
	t.Run("CreateAndFind", func(t *testing.T) {
		t.Parallel()
		st := open(t)
		want := mustCreateAccount(t, st, "alice@example.com")
		byEmail, err := st.FindAccountByIdentifier(t.Context(), want.Email)
		if err != nil {
			t.Fatalf("FindAccountByIdentifier(%q): %v", want.Email, err)
		}
		for _, d := range accountDiff(byEmail, want) {
			t.Errorf("FindAccountByIdentifier(%q): %s", want.Email, d)
		}
		byID, err := st.FindAccountByID(t.Context(), want.ID)
		if err != nil {
			t.Fatalf("FindAccountByID(%q): %v", want.ID, err)
		}
		for _, d := range accountDiff(byID, want) {
			t.Errorf("FindAccountByID(%q): %s", want.ID, d)
		}
	})
	t.Run("CreateDisabledWithoutDisplayName", func(t *testing.T) {
		t.Parallel()
		st := open(t)
		want := newAccount(t, "quiet@example.com")
		want.DisplayName, want.Disabled = "", true
		if err := st.CreateAccount(t.Context(), want); err != nil {
			t.Fatalf("CreateAccount: %v", err)
		}
		got, err := st.FindAccountByID(t.Context(), want.ID)
		if err != nil {
			t.Fatalf("FindAccountByID: %v", err)
		}
		for _, d := range accountDiff(got, want) {
			t.Errorf("FindAccountByID: %s", d)
		}
	})
	t.Run("NotFound", func(t *testing.T) { t.Parallel(); testAccountNotFound(t, open(t)) })
	t.Run("DuplicateEmail", func(t *testing.T) { t.Parallel(); testDuplicateEmail(t, open(t)) })
	t.Run("Update", func(t *testing.T) { testUpdateAccount(t, open) })
	t.Run("UpdateToTakenEmail", func(t *testing.T) { t.Parallel(); testUpdateToTakenEmail(t, open(t)) })
	t.Run("UpdateMissing", func(t *testing.T) {
		t.Parallel()
		st := open(t)
		err := st.UpdateAccount(t.Context(), newAccount(t, "ghost@example.com"))
		wantCode(t, "UpdateAccount(never created)", err, veil.ENOTFOUND)
	})
	t.Run("ReplacePasswordHash", func(t *testing.T) { t.Parallel(); testReplacePasswordHash(t, open(t)) })
	t.Run("Delete", func(t *testing.T) { t.Parallel(); testDeleteAccount(t, open(t)) })
	t.Run("ListOrderedByEmail", func(t *testing.T) { t.Parallel(); testListAccounts(t, open(t)) })
	t.Run("Unicode", func(t *testing.T) { t.Parallel(); testUnicodeIdentifiers(t, open(t)) })
	t.Run("PasswordHashParams", func(t *testing.T) { t.Parallel(); testPasswordHashParams(t, open(t)) })
}

// testPasswordHashParams checks that the store reports the distinct
// parameter sets of its hashes as every write changes them: the time floor
// relies on it to cover the slowest verification a stored account can
// cause.
func testPasswordHashParams(t *testing.T, st veil.Store) {
	ctx := t.Context()
	const (
		current = "$argon2id$v=19$m=19456,t=2,p=1"
		older   = "$argon2id$v=19$m=65536,t=3,p=4"
		bcrypt  = "$2b$12"
	)
	check := func(step string, want ...string) {
		t.Helper()
		got, err := st.PasswordHashParams(ctx)
		if err != nil {
			t.Fatalf("%s: PasswordHashParams: %v", step, err)
		}
		slices.Sort(got)
		slices.Sort(want)
		if want == nil {
			want = []string{}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: PasswordHashParams = %q, want %q", step, got, want)
		}
	}
	check("empty store")
	a := newAccount(t, "old@example.com") // its hash is of the older set
	if err := st.CreateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	b := newAccount(t, "imported@example.com")
	b.PasswordHash = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"
	if err := st.CreateAccount(ctx, b); err != nil {
		t.Fatal(err)
	}
	check("after creating", older, bcrypt)
	if err := st.ReplacePasswordHash(ctx, b.ID, b.PasswordHash, current+"$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA"); err != nil {
		t.Fatal(err)
	}
	check("after a rehash at sign-in", older, current)
	a.PasswordHash = "not a hash"
	if err := st.UpdateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	check("after an update to a malformed hash", "", current)
	if err := st.DeleteAccount(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	check("after deleting", current)
}

func testAccountNotFound(t *testing.T, st veil.Store) {
	mustCreateAccount(t, st, "someone@example.com")
	for _, email := range []string{"nobody@example.com", "someone@example.org", "someone2@example.com"} {
		_, err := st.FindAccountByIdentifier(t.Context(), mustIdentifier(t, email))
		wantCode(t, "FindAccountByIdentifier("+email+")", err, veil.ENOTFOUND)
	}
	for _, id := range []string{veil.NewAccountID(), "", "' OR 1=1 --"} {
		_, err := st.FindAccountByID(t.Context(), id)
		wantCode(t, "FindAccountByID("+id+")", err, veil.ENOTFOUND)
	}
}

func testDuplicateEmail(t *testing.T, st veil.Store) {
	first := mustCreateAccount(t, st, "taken@example.com")
	second := newAccount(t, "taken@example.com")
	wantCode(t, "CreateAccount(taken email)", st.CreateAccount(t.Context(), second), veil.ECONFLICT)

	got, err := st.FindAccountByIdentifier(t.Context(), first.Email)
	if err != nil {
		t.Fatalf("FindAccountByIdentifier: %v", err)
	}
	if got.ID != first.ID {
		t.Errorf("after a conflicting create, the email belongs to %s, want the first account %s", got.ID, first.ID)
	}
	_, err = st.FindAccountByID(t.Context(), second.ID)
	wantCode(t, "FindAccountByID(refused account)", err, veil.ENOTFOUND)
	if list, err := st.ListAccounts(t.Context()); err != nil || len(list) != 1 {
		t.Errorf("ListAccounts() = %d accounts, %v; want 1", len(list), err)
	}
}

func testUpdateAccount(t *testing.T, open func(testing.TB) veil.Store) {
	tests := []struct {
		name     string
		disabled bool // the account's state before the change
		change   func(tb testing.TB, a *veil.Account)
	}{
		{"Email", false, func(tb testing.TB, a *veil.Account) { a.Email = mustIdentifier(tb, "renamed@example.net") }},
		{"UnicodeEmail", false, func(tb testing.TB, a *veil.Account) { a.Email = mustIdentifier(tb, "zoë@bücher.example") }},
		{"DisplayName", false, func(tb testing.TB, a *veil.Account) { a.DisplayName = "Zoë 🌸 Ünicode" }},
		{"EmptyDisplayName", false, func(tb testing.TB, a *veil.Account) { a.DisplayName = "" }},
		{"PasswordHash", false, func(tb testing.TB, a *veil.Account) {
			a.PasswordHash = "$argon2id$v=19$m=19456,t=2,p=1$bmV3c2FsdA$bmV3aGFzaA"
		}},
		{"Disable", false, func(tb testing.TB, a *veil.Account) { a.Disabled = true }},
		{"Enable", true, func(tb testing.TB, a *veil.Account) { a.Disabled = false }},
		{"Everything", false, func(tb testing.TB, a *veil.Account) {
			a.Email = mustIdentifier(tb, "all@example.org")
			a.DisplayName = "All"
			a.PasswordHash = "$2a$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234"
			a.Disabled = true
		}},
		{"Nothing", false, func(tb testing.TB, a *veil.Account) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := open(t)
			before := newAccount(t, "before@example.com")
			before.Disabled = tt.disabled
			if err := st.CreateAccount(t.Context(), before); err != nil {
				t.Fatalf("CreateAccount: %v", err)
			}
			mustCreateAccount(t, st, "bystander@example.com")
			want := *before
			tt.change(t, &want)
			updated := want
			updated.CreatedAt = t0.Add(-time.Hour) // not the caller's to change
			if err := st.UpdateAccount(t.Context(), &updated); err != nil {
				t.Fatalf("UpdateAccount: %v", err)
			}
			if updated.UpdatedAt.Equal(before.UpdatedAt) || time.Since(updated.UpdatedAt).Abs() > time.Hour {
				t.Errorf("UpdateAccount set UpdatedAt = %v, want about now", updated.UpdatedAt)
			}
			want.UpdatedAt = updated.UpdatedAt
			checkAccount(t, st, &want)
			if want.Email != before.Email {
				_, err := st.FindAccountByIdentifier(t.Context(), before.Email)
				wantCode(t, "FindAccountByIdentifier(old email)", err, veil.ENOTFOUND)
			}
		})
	}
}

// checkAccount fails unless the store holds want, by ID and by email.
func checkAccount(tb testing.TB, st veil.Store, want *veil.Account) {
	tb.Helper()
	byID, err := st.FindAccountByID(tb.Context(), want.ID)
	if err != nil {
		tb.Fatalf("FindAccountByID: %v", err)
	}
	for _, d := range accountDiff(byID, want) {
		tb.Errorf("FindAccountByID: %s", d)
	}
	byEmail, err := st.FindAccountByIdentifier(tb.Context(), want.Email)
	if err != nil {
		tb.Fatalf("FindAccountByIdentifier(%q): %v", want.Email, err)
	}
	if byEmail.ID != want.ID {
		tb.Errorf("FindAccountByIdentifier(%q) = account %s, want %s", want.Email, byEmail.ID, want.ID)
	}
}

func testUpdateToTakenEmail(t *testing.T, st veil.Store) {
	a := mustCreateAccount(t, st, "a@example.com")
	b := mustCreateAccount(t, st, "b@example.com")
	changed := *b
	changed.Email = a.Email
	changed.DisplayName = "should not be stored"
	wantCode(t, "UpdateAccount(email of another account)", st.UpdateAccount(t.Context(), &changed), veil.ECONFLICT)
	checkAccount(t, st, a)
	checkAccount(t, st, b)
}

func testDeleteAccount(t *testing.T, st veil.Store) {
	doomed := mustCreateAccount(t, st, "doomed@example.com")
	kept := mustCreateAccount(t, st, "kept@example.com")
	doomedSessions := []*veil.Session{
		mustCreateSession(t, st, newSession(doomed.ID, t0)),
		mustCreateSession(t, st, newSession(doomed.ID, t0.Add(time.Second))),
	}
	keptSession := mustCreateSession(t, st, newSession(kept.ID, t0))

	if err := st.DeleteAccount(t.Context(), doomed.ID); err != nil {
		t.Fatalf("DeleteAccount: %v", err)
	}
	_, err := st.FindAccountByID(t.Context(), doomed.ID)
	wantCode(t, "FindAccountByID(deleted)", err, veil.ENOTFOUND)
	_, err = st.FindAccountByIdentifier(t.Context(), doomed.Email)
	wantCode(t, "FindAccountByIdentifier(deleted)", err, veil.ENOTFOUND)
	for _, s := range doomedSessions {
		_, err := st.FindSession(t.Context(), s.IDHash)
		wantCode(t, "FindSession(session of deleted account)", err, veil.ENOTFOUND)
	}
	if list, err := st.ListSessions(t.Context(), doomed.ID); err != nil || len(list) != 0 {
		t.Errorf("ListSessions(deleted account) = %d sessions, %v; want none", len(list), err)
	}
	if _, err := st.FindSession(t.Context(), keptSession.IDHash); err != nil {
		t.Errorf("FindSession(session of another account): %v", err)
	}
	checkAccount(t, st, kept)

	wantCode(t, "DeleteAccount(again)", st.DeleteAccount(t.Context(), doomed.ID), veil.ENOTFOUND)
	wantCode(t, "DeleteAccount(never created)", st.DeleteAccount(t.Context(), veil.NewAccountID()), veil.ENOTFOUND)

	// The address is free again.
	again := mustCreateAccount(t, st, "doomed@example.com")
	checkAccount(t, st, again)
}

func testListAccounts(t *testing.T, st veil.Store) {
	if list, err := st.ListAccounts(t.Context()); err != nil || len(list) != 0 {
		t.Fatalf("ListAccounts(empty store) = %d accounts, %v; want none", len(list), err)
	}
	emails := []string{
		"carol@example.com", "alice@example.org", "Bob@example.com", "alice@example.com",
		"zoë@example.com", "zoe@example.com", "ärger@example.com", "用户@例子.广告", "aaron@example.com",
	}
	want := map[string]*veil.Account{}
	for _, e := range emails {
		a := mustCreateAccount(t, st, e)
		want[a.ID] = a
	}
	list, err := st.ListAccounts(t.Context())
	if err != nil {
		t.Fatalf("ListAccounts: %v", err)
	}
	if len(list) != len(emails) {
		t.Fatalf("ListAccounts() = %d accounts, want %d", len(list), len(emails))
	}
	got := make([]string, len(list))
	for i, a := range list {
		got[i] = string(a.Email)
		if w, ok := want[a.ID]; !ok {
			t.Errorf("ListAccounts() has unknown account %s", a.ID)
		} else {
			for _, d := range accountDiff(a, w) {
				t.Errorf("ListAccounts()[%d]: %s", i, d)
			}
		}
	}
	// Byte order, the same on every database and in every locale.
	if !slices.IsSorted(got) {
		t.Errorf("ListAccounts() order = %q, want byte order of the emails", got)
	}
}

func testUnicodeIdentifiers(t *testing.T, st veil.Store) {
	// Identifiers that differ only by an accent or a script are different
	// people: the store must not compare them loosely.
	distinct := []string{"jörg@bücher.example", "jorg@bucher.example", "用户@例子.广告", "αλίκη@παράδειγμα.δοκιμή", "zoë@example.com"}
	accounts := map[veil.Identifier]*veil.Account{}
	for _, e := range distinct {
		a := mustCreateAccount(t, st, e)
		accounts[a.Email] = a
	}
	for id, want := range accounts {
		got, err := st.FindAccountByIdentifier(t.Context(), id)
		if err != nil {
			t.Errorf("FindAccountByIdentifier(%q): %v", id, err)
			continue
		}
		for _, d := range accountDiff(got, want) {
			t.Errorf("FindAccountByIdentifier(%q): %s", id, d)
		}
	}
	// Other spellings of a stored address normalize to it, and find it.
	spellings := map[string]string{
		"JÖRG@BÜCHER.EXAMPLE":             "jörg@bücher.example",
		"jo\u0308rg@bu\u0308cher.example": "jörg@bücher.example",
		"jörg@xn--bcher-kva.example":      "jörg@bücher.example",
		"ZOË@EXAMPLE.COM":                 "zoë@example.com",
	}
	for spelling, stored := range spellings {
		id := mustIdentifier(t, spelling)
		got, err := st.FindAccountByIdentifier(t.Context(), id)
		if err != nil {
			t.Errorf("FindAccountByIdentifier(NormalizeIdentifier(%q) = %q): %v", spelling, id, err)
			continue
		}
		if want := accounts[mustIdentifier(t, stored)]; got.ID != want.ID {
			t.Errorf("FindAccountByIdentifier(NormalizeIdentifier(%q)) = %q, want %q", spelling, got.Email, want.Email)
		}
	}
	if _, err := st.FindAccountByIdentifier(t.Context(), mustIdentifier(t, "joerg@buecher.example")); veil.ErrorCode(err) != veil.ENOTFOUND {
		t.Errorf("FindAccountByIdentifier(joerg@buecher.example) = %v, want ENOTFOUND", err)
	}
}

// testReplacePasswordHash checks the compare-and-swap: the hash changes only
// while it is still the one the caller read.
func testReplacePasswordHash(t *testing.T, st veil.Store) {
	ctx := t.Context()
	a := mustCreateAccount(t, st, "rehash@example.com")
	old := a.PasswordHash
	if err := st.ReplacePasswordHash(ctx, a.ID, old, "$new$"); err != nil {
		t.Fatalf("ReplacePasswordHash: %v", err)
	}
	wantCode(t, "ReplacePasswordHash(stale old hash)", st.ReplacePasswordHash(ctx, a.ID, old, "$newer$"), veil.ENOTFOUND)
	wantCode(t, "ReplacePasswordHash(no account)", st.ReplacePasswordHash(ctx, "nosuchid", old, "$x$"), veil.ENOTFOUND)
	got, err := st.FindAccountByID(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.PasswordHash != "$new$" || got.Email != a.Email || got.Disabled != a.Disabled {
		t.Errorf("after ReplacePasswordHash: hash %q email %q disabled %v; want only the hash changed to $new$", got.PasswordHash, got.Email, got.Disabled)
	}
}
