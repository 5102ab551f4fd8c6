package veiltest

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/veil-id/veil"
)

// ReadOnlyFixture is what a read-only account store (an external directory)
// holds when its conformance tests run: the suite cannot create accounts,
// so the test says what is there.
type ReadOnlyFixture struct {
	// Accounts are every account the store must return: Email,
	// DisplayName, Disabled and PasswordHash as the store returns them.
	// IDs and times are the store's own; the suite checks that they are
	// stable and consistent, not what they are.
	Accounts []*veil.Account
	// Spellings maps other spellings of an address to the address.
	Spellings map[string]veil.Identifier
	// Absent are identifiers no account may have, including ones the
	// store holds but must treat as absent (ambiguous, unusable).
	Absent []veil.Identifier
	// WriteCode is the error code of every write.
	WriteCode string
}

// RunReadOnlyAccountTests checks that a read-only veil.AccountStore keeps
// the reading half of the contract, and refuses every write with
// fix.WriteCode without changing anything. open returns the store over
// fix's data, closed when tb's test ends; subtests run in parallel.
func RunReadOnlyAccountTests(t *testing.T, open func(tb testing.TB) veil.AccountStore, fix ReadOnlyFixture) {
	t.Run("FindByIdentifierAndID", func(t *testing.T) { t.Parallel(); testReadOnlyFind(t, open(t), fix) })
	t.Run("Spellings", func(t *testing.T) { t.Parallel(); testReadOnlySpellings(t, open(t), fix) })
	t.Run("NotFound", func(t *testing.T) { t.Parallel(); testReadOnlyNotFound(t, open(t), fix) })
	t.Run("List", func(t *testing.T) { t.Parallel(); testReadOnlyList(t, open(t), fix) })
	t.Run("WritesRefused", func(t *testing.T) { t.Parallel(); testReadOnlyWrites(t, open(t), fix) })
	t.Run("Concurrent", func(t *testing.T) { t.Parallel(); testReadOnlyConcurrent(t, open(t), fix) })
}

// mustFind returns the account of id, failing tb if the store has none.
func mustFind(tb testing.TB, st veil.AccountStore, id veil.Identifier) *veil.Account {
	tb.Helper()
	a, err := st.FindAccountByIdentifier(tb.Context(), id)
	if err != nil {
		tb.Fatalf("FindAccountByIdentifier(%q): %v", id, err)
	}
	return a
}

func testReadOnlyFind(t *testing.T, st veil.AccountStore, fix ReadOnlyFixture) {
	ids := map[string]veil.Identifier{}
	for _, want := range fix.Accounts {
		got := mustFind(t, st, want.Email)
		w := *want
		w.ID, w.CreatedAt, w.UpdatedAt = got.ID, got.CreatedAt, got.UpdatedAt
		for _, d := range accountDiff(got, &w) {
			t.Errorf("FindAccountByIdentifier(%q): %s", want.Email, d)
		}
		if got.ID == "" {
			t.Errorf("FindAccountByIdentifier(%q) has no ID", want.Email)
		}
		if other, dup := ids[got.ID]; dup {
			t.Errorf("accounts %q and %q share the ID %s", other, want.Email, got.ID)
		}
		ids[got.ID] = want.Email
		byID, err := st.FindAccountByID(t.Context(), got.ID)
		if err != nil {
			t.Errorf("FindAccountByID(%s) of %q: %v", got.ID, want.Email, err)
			continue
		}
		for _, d := range accountDiff(byID, got) {
			t.Errorf("FindAccountByID(%s) differs from FindAccountByIdentifier(%q): %s", got.ID, want.Email, d)
		}
		if again := mustFind(t, st, want.Email); again.ID != got.ID {
			t.Errorf("FindAccountByIdentifier(%q) twice: IDs %s and %s, want a stable ID", want.Email, got.ID, again.ID)
		}
	}
}

func testReadOnlySpellings(t *testing.T, st veil.AccountStore, fix ReadOnlyFixture) {
	for spelling, email := range fix.Spellings {
		id := mustIdentifier(t, spelling)
		got, err := st.FindAccountByIdentifier(t.Context(), id)
		if err != nil {
			t.Errorf("FindAccountByIdentifier(NormalizeIdentifier(%q) = %q): %v", spelling, id, err)
			continue
		}
		if got.Email != email {
			t.Errorf("FindAccountByIdentifier(NormalizeIdentifier(%q)) = %q, want %q", spelling, got.Email, email)
		}
	}
}

func testReadOnlyNotFound(t *testing.T, st veil.AccountStore, fix ReadOnlyFixture) {
	for _, id := range fix.Absent {
		_, err := st.FindAccountByIdentifier(t.Context(), id)
		wantCode(t, "FindAccountByIdentifier("+string(id)+")", err, veil.ENOTFOUND)
	}
	// IDs of the wrong shape, and ones built to break out of a query.
	ids := []string{veil.NewAccountID(), "", "' OR 1=1 --", "*", ")(objectClass=*", "00000000-0000-0000-0000-000000000000", strings.Repeat("f", 4096)}
	for _, id := range ids {
		_, err := st.FindAccountByID(t.Context(), id)
		wantCode(t, "FindAccountByID("+id+")", err, veil.ENOTFOUND)
	}
}

func testReadOnlyList(t *testing.T, st veil.AccountStore, fix ReadOnlyFixture) {
	list, err := st.ListAccounts(t.Context())
	if err != nil {
		t.Fatalf("ListAccounts: %v", err)
	}
	got := make([]string, len(list))
	for i, a := range list {
		got[i] = string(a.Email)
		if byID, err := st.FindAccountByID(t.Context(), a.ID); err != nil {
			t.Errorf("ListAccounts()[%d] (%q): FindAccountByID: %v", i, a.Email, err)
		} else {
			for _, d := range accountDiff(a, byID) {
				t.Errorf("ListAccounts()[%d] (%q) differs from FindAccountByID: %s", i, a.Email, d)
			}
		}
	}
	if !slices.IsSorted(got) {
		t.Errorf("ListAccounts() order = %q, want byte order of the emails", got)
	}
	for _, want := range fix.Accounts {
		if !slices.Contains(got, string(want.Email)) {
			t.Errorf("ListAccounts() lacks %q", want.Email)
		}
	}
	for _, id := range fix.Absent {
		n := 0
		for _, g := range got {
			if g == string(id) {
				n++
			}
		}
		// An ambiguous address may be listed, once per entry, but must
		// never be the one account of that address.
		if n == 1 {
			t.Errorf("ListAccounts() lists %q, which must be absent, as one account", id)
		}
	}
}

func testReadOnlyWrites(t *testing.T, st veil.AccountStore, fix ReadOnlyFixture) {
	before, err := st.ListAccounts(t.Context())
	if err != nil {
		t.Fatalf("ListAccounts: %v", err)
	}
	existing := mustFind(t, st, fix.Accounts[0].Email)
	changed := *existing
	changed.DisplayName, changed.Disabled = "changed by veil", !existing.Disabled
	ctx := t.Context()
	wantCode(t, "CreateAccount", st.CreateAccount(ctx, newAccount(t, "new@example.com")), fix.WriteCode)
	wantCode(t, "UpdateAccount", st.UpdateAccount(ctx, &changed), fix.WriteCode)
	wantCode(t, "ReplacePasswordHash", st.ReplacePasswordHash(ctx, existing.ID, existing.PasswordHash, "$new$"), fix.WriteCode)
	wantCode(t, "DeleteAccount", st.DeleteAccount(ctx, existing.ID), fix.WriteCode)
	after, err := st.ListAccounts(t.Context())
	if err != nil {
		t.Fatalf("ListAccounts: %v", err)
	}
	if len(after) != len(before) {
		t.Fatalf("refused writes changed the number of accounts: %d, then %d", len(before), len(after))
	}
	for i := range after {
		for _, d := range accountDiff(after[i], before[i]) {
			t.Errorf("after refused writes, ListAccounts()[%d]: %s", i, d)
		}
	}
}

// testReadOnlyConcurrent reads from many goroutines at once, as sign-ins
// and sessions do: an external store's connections must be shared safely.
func testReadOnlyConcurrent(t *testing.T, st veil.AccountStore, fix ReadOnlyFixture) {
	const workers, rounds = 8, 5
	var wg sync.WaitGroup
	errs := make(chan string, workers*rounds*len(fix.Accounts))
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				want := fix.Accounts[(w+r)%len(fix.Accounts)]
				got, err := st.FindAccountByIdentifier(t.Context(), want.Email)
				if err != nil || got.Email != want.Email {
					errs <- "FindAccountByIdentifier(" + string(want.Email) + ") under concurrency: got " + accountEmail(got) + ", " + errString(err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func accountEmail(a *veil.Account) string {
	if a == nil {
		return "nil"
	}
	return string(a.Email)
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}
