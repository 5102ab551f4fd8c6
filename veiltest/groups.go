package veiltest

import (
	"slices"
	"sync"
	"testing"

	"github.com/veil-id/veil"
)

// GroupTestStore is a store that keeps accounts and their groups.
type GroupTestStore interface {
	veil.AccountStore
	veil.GroupStore
}

// RunGroupStoreTests checks that a veil.GroupStore keeps its contract.
// open must return a fresh, empty, migrated store closed when tb's test
// ends; subtests run in parallel.
func RunGroupStoreTests(t *testing.T, open func(tb testing.TB) GroupTestStore) {
	t.Run("AddListRemove", func(t *testing.T) { t.Parallel(); testGroupsAddListRemove(t, open(t)) })
	t.Run("UnknownAccount", func(t *testing.T) { t.Parallel(); testGroupsUnknownAccount(t, open(t)) })
	t.Run("DeleteAccount", func(t *testing.T) { t.Parallel(); testGroupsDeleteAccount(t, open(t)) })
	t.Run("ConcurrentAdd", func(t *testing.T) { t.Parallel(); testGroupsConcurrentAdd(t, open(t)) })
}

func mustAddGroup(tb testing.TB, st veil.GroupStore, accountID, group string) {
	tb.Helper()
	if err := st.AddAccountGroup(tb.Context(), accountID, group); err != nil {
		tb.Fatalf("AddAccountGroup(%s, %q): %v", accountID, group, err)
	}
}

func mustCreateGroupAccount(tb testing.TB, st GroupTestStore, email string) *veil.Account {
	tb.Helper()
	a := newAccount(tb, email)
	if err := st.CreateAccount(tb.Context(), a); err != nil {
		tb.Fatalf("CreateAccount(%q): %v", a.Email, err)
	}
	return a
}

func wantGroups(tb testing.TB, st veil.GroupStore, accountID string, want ...string) {
	tb.Helper()
	got, err := st.AccountGroups(tb.Context(), accountID)
	if err != nil {
		tb.Fatalf("AccountGroups(%s): %v", accountID, err)
	}
	if want == nil {
		want = []string{}
	}
	if got == nil || !slices.Equal(got, want) {
		tb.Fatalf("AccountGroups(%s) = %#v, want %#v", accountID, got, want)
	}
}

func testGroupsAddListRemove(t *testing.T, st GroupTestStore) {
	ctx := t.Context()
	if g, err := st.ListGroups(ctx); err != nil || g == nil || len(g) != 0 {
		t.Fatalf("ListGroups on an empty store = %#v, %v; want [] and no error", g, err)
	}
	alice := newAccount(t, "alice@example.com")
	bob := newAccount(t, "bob@example.com")
	for _, a := range []*veil.Account{alice, bob} {
		if err := st.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	wantGroups(t, st, alice.ID)
	mustAddGroup(t, st, alice.ID, "ops")
	mustAddGroup(t, st, alice.ID, "admins")
	mustAddGroup(t, st, alice.ID, "ops") // a repeat is no error
	mustAddGroup(t, st, bob.ID, "ops")
	wantGroups(t, st, alice.ID, "admins", "ops")
	wantGroups(t, st, bob.ID, "ops")
	got, err := st.ListGroups(ctx)
	want := []veil.Group{{Name: "admins", Members: 1}, {Name: "ops", Members: 2}}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("ListGroups = %v, %v; want %v", got, err, want)
	}
	if ok, err := st.RemoveAccountGroup(ctx, alice.ID, "ops"); !ok || err != nil {
		t.Fatalf("RemoveAccountGroup(alice, ops) = %v, %v; want true", ok, err)
	}
	if ok, err := st.RemoveAccountGroup(ctx, alice.ID, "ops"); ok || err != nil {
		t.Fatalf("RemoveAccountGroup(alice, ops) again = %v, %v; want false, no error", ok, err)
	}
	wantGroups(t, st, alice.ID, "admins")
	wantGroups(t, st, bob.ID, "ops")
}

func testGroupsUnknownAccount(t *testing.T, st GroupTestStore) {
	ctx := t.Context()
	id := veil.NewAccountID()
	if err := st.AddAccountGroup(ctx, id, "ops"); veil.ErrorCode(err) != veil.ENOTFOUND {
		t.Fatalf("AddAccountGroup(unknown) = %v, want ENOTFOUND", err)
	}
	wantGroups(t, st, id)
	if ok, err := st.RemoveAccountGroup(ctx, id, "ops"); ok || err != nil {
		t.Fatalf("RemoveAccountGroup(unknown) = %v, %v; want false, no error", ok, err)
	}
	if g, err := st.ListGroups(ctx); err != nil || len(g) != 0 {
		t.Fatalf("ListGroups = %v, %v; want none", g, err)
	}
}

func testGroupsDeleteAccount(t *testing.T, st GroupTestStore) {
	ctx := t.Context()
	a := mustCreateGroupAccount(t, st, "carol@example.com")
	mustAddGroup(t, st, a.ID, "ops")
	if err := st.DeleteAccount(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	wantGroups(t, st, a.ID)
	if g, err := st.ListGroups(ctx); err != nil || len(g) != 0 {
		t.Fatalf("ListGroups after deleting the only member = %v, %v; want none", g, err)
	}
	// An account made again with the same ID starts in no group.
	again := newAccount(t, "carol@example.com")
	again.ID = a.ID
	if err := st.CreateAccount(ctx, again); err != nil {
		t.Fatal(err)
	}
	wantGroups(t, st, a.ID)
}

// testGroupsConcurrentAdd adds one membership from many goroutines at once:
// every call succeeds and the account is in the group once.
func testGroupsConcurrentAdd(t *testing.T, st GroupTestStore) {
	a := mustCreateGroupAccount(t, st, "dave@example.com")
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() { errs <- st.AddAccountGroup(t.Context(), a.ID, "ops") })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent AddAccountGroup: %v", err)
		}
	}
	wantGroups(t, st, a.ID, "ops")
	if g, _ := st.ListGroups(t.Context()); !slices.Equal(g, []veil.Group{{Name: "ops", Members: 1}}) {
		t.Fatalf("ListGroups = %v, want ops with 1 member", g)
	}
}
