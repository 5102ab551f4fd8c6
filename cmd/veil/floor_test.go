package main

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/sqlite"
)

// floorEnv is a veil at the default argon2id policy (the floor's cost is
// the point), with the automatic floor and a throttle that lets the tests'
// sign-ins reach the password check.
func floorEnv(extra map[string]string) func(string) string { return testEnv(floorVars(extra)) }

// floorVars is floorEnv's settings beyond testEnv's.
func floorVars(extra map[string]string) map[string]string {
	vars := map[string]string{
		"VEIL_PASSWORD_MEMORY_KIB": "19456", "VEIL_PASSWORD_ITERATIONS": "2",
		"VEIL_PASSWORD_CONCURRENCY": "2", "VEIL_LOGIN_FLOOR": "auto",
	}
	maps.Copy(vars, lenientThrottle)
	maps.Copy(vars, extra)
	return vars
}

// floorNow reads the floor and its misses from the admin metrics.
func (v *runningVeil) floorNow(tb testing.TB) (floor time.Duration, misses float64) {
	tb.Helper()
	_, m := httpDo(tb, "GET", v.adminURL+"/metrics", "", "", "")
	s := metricValue(m, "veil_time_floor_seconds")
	if s < 0 {
		tb.Fatalf("admin /metrics has no veil_time_floor_seconds")
	}
	return time.Duration(s * float64(time.Second)), metricValue(m, "veil_time_floor_exceeded_total")
}

// signInTime times one failed sign-in through the API.
func signInTime(tb testing.TB, url, identifier string) time.Duration {
	tb.Helper()
	start := time.Now()
	res, _ := httpDo(tb, "POST", url+"/api/login", "application/json",
		fmt.Sprintf(`{"identifier":%q,"password":"wrong horse battery"}`, identifier), "")
	d := time.Since(start)
	if res.StatusCode != http.StatusUnauthorized {
		tb.Fatalf("sign-in for %s answered %d, want 401", identifier, res.StatusCode)
	}
	return d
}

func medianSignIn(tb testing.TB, url string, n int) time.Duration {
	tb.Helper()
	var ds []time.Duration
	for i := range n {
		ds = append(ds, signInTime(tb, url, fmt.Sprintf("probe%d@example.com", i)))
	}
	return medianD(ds)
}

// trickleSignIn sends a sign-in whose body arrives a byte group at a time
// over about d, and returns how long the answer took after the last byte.
func trickleSignIn(tb testing.TB, url string, d time.Duration) (time.Duration, error) {
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	body := `{"identifier":"slow@example.com","password":"wrong horse battery"}`
	fmt.Fprintf(conn, "POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
	const parts = 6
	for i := range parts {
		time.Sleep(d / parts)
		if _, err := conn.Write([]byte(body[i*len(body)/parts : (i+1)*len(body)/parts])); err != nil {
			return 0, err
		}
	}
	sent := time.Now()
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		return 0, fmt.Errorf("trickled sign-in answered %d, want 401", res.StatusCode)
	}
	return time.Since(sent), nil
}

// TestFloorIgnoresSlowUploadsAndBursts trickles sign-in bodies over seconds
// and then sends a burst that waits in the hashing queue: neither may move
// the floor nor slow the sign-ins after them. (On the percentile floor,
// six trickled bodies raised it from tens of milliseconds to its 2s cap.)
func TestFloorIgnoresSlowUploadsAndBursts(t *testing.T) {
	if testing.Short() {
		t.Skip("trickles bodies for seconds; skipped with -short")
	}
	v := MustRunMain(t, floorEnv(nil), t.TempDir())
	before, _ := v.floorNow(t)
	base := medianSignIn(t, v.url, 9)
	t.Logf("floor %v, sign-in median %v", before, base)

	var wg sync.WaitGroup
	var mu sync.Mutex
	var after []time.Duration
	for range 6 {
		wg.Go(func() {
			d, err := trickleSignIn(t, v.url, 3*time.Second)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			after = append(after, d)
			mu.Unlock()
		})
	}
	wg.Wait()
	floor, _ := v.floorNow(t)
	next := medianSignIn(t, v.url, 9)
	t.Logf("after 6 bodies trickled over 3s: floor %v, answers %v after the last byte, next sign-ins' median %v", floor, after, next)
	if floor != before {
		t.Errorf("slow uploads moved the floor from %v to %v", before, floor)
	}
	// The six bodies end together and queue for a pool of two: three
	// rounds of hashing, and generous room for a loaded machine. A pumped
	// floor held each answer for its 2s cap.
	for _, d := range after {
		if limit := before + 6*base + time.Second; d > limit {
			t.Errorf("a trickled sign-in answered %v after its last byte; the floor is %v, a sign-in takes %v", d, before, base)
		}
	}
	// Generous, for a loaded machine: a pumped floor holds every answer
	// for seconds.
	if next > 2*base+100*time.Millisecond {
		t.Errorf("after slow uploads sign-ins take %v, before %v", next, base)
	}

	// 16 at once on a pool of 2 (and its queue of 16): most wait, and each answer
	// is held only for the floor after its wait.
	release := make(chan struct{})
	for i := range 16 {
		wg.Go(func() {
			<-release
			signInTime(t, v.url, fmt.Sprintf("burst%d@example.com", i))
		})
	}
	close(release)
	wg.Wait()
	floor, _ = v.floorNow(t)
	next = medianSignIn(t, v.url, 9)
	t.Logf("after a burst of 16: floor %v, next sign-ins' median %v", floor, next)
	if floor != before {
		t.Errorf("a burst through the hashing queue moved the floor from %v to %v", before, floor)
	}
	if next > 2*base+100*time.Millisecond {
		t.Errorf("after a burst sign-ins take %v, before %v", next, base)
	}
}

// mustImportBcrypt stores an account whose password hash is bcrypt of the
// given cost, as an import from another system would, in the SQLite
// database of dataDir (created by a `veil user add` first).
func mustImportBcrypt(tb testing.TB, dataDir, email string, cost int) {
	tb.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dataDir, "veil.db"))
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	hash, err := bcrypt.GenerateFromPassword([]byte("the imported password"), cost)
	if err != nil {
		tb.Fatal(err)
	}
	id, err := veil.NormalizeIdentifier(email)
	if err != nil {
		tb.Fatal(err)
	}
	now := time.Now()
	if err := db.CreateAccount(ctx, &veil.Account{ID: veil.NewAccountID(), Email: id, PasswordHash: string(hash), CreatedAt: now, UpdatedAt: now}); err != nil {
		tb.Fatal(err)
	}
}

// TestFloorCoversImportedBcryptDespiteFiller stores an imported bcrypt
// cost-12 account, floods the sign-in with malformed filler, and checks
// that the floor still covers the bcrypt verification: its failed sign-ins
// wait until the same deadline as an unknown identifier's (no answer
// passes the floor), so their medians agree. (On the percentile floor the
// filler held it at its minimum: 337ms against 216ms.)
func TestFloorCoversImportedBcryptDespiteFiller(t *testing.T) {
	if testing.Short() {
		t.Skip("times bcrypt-12 sign-ins; skipped with -short")
	}
	dir := t.TempDir()
	env := floorEnv(map[string]string{"VEIL_LOGIN_FLOOR_POLL": "100ms"})
	if code, out, errOut := runMain(t, env, "correct horse battery staple\n", "user", "add", "--data-dir", dir, "alice@example.com"); code != 0 {
		t.Fatalf("user add: %s%s", out, errOut)
	}
	v := MustRunMain(t, env, dir)
	current, _ := v.floorNow(t)
	mustImportBcrypt(t, dir, "bert@example.com", 12)
	var floor time.Duration
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if floor, _ = v.floorNow(t); floor != current {
			break
		}
	}
	_, m := httpDo(t, "GET", v.adminURL+"/metrics", "", "", "")
	cost := time.Duration(metricValue(m, `veil_password_verify_seconds{params="$2a$12"}`) * float64(time.Second))
	t.Logf("floor %v with every hash current; %v after the import; bcrypt-12 costs %v", current, floor, cost)
	if cost <= 0 || floor < cost*6/5 {
		t.Fatalf("after importing a bcrypt-12 account the floor is %v, the bcrypt-12 cost %v: the floor must cover it with room", floor, cost)
	}
	// The sign-ins queued behind a verification wait alike whatever it
	// verified: every slot is held for the slowest kind's cost.
	if hold := time.Duration(metricValue(m, "veil_password_verify_hold_seconds") * float64(time.Second)); hold < cost || hold >= floor {
		t.Errorf("after importing a bcrypt-12 account (cost %v, floor %v) verifications hold their slot %v; want at least the cost, under the floor", cost, floor, hold)
	}

	for range 300 {
		if res, _ := httpDo(t, "POST", v.url+"/api/login", "application/json", `{"identifier":`, ""); res.StatusCode != http.StatusBadRequest {
			t.Fatalf("filler answered %d, want 400", res.StatusCode)
		}
	}
	_, missesBefore := v.floorNow(t)
	var bert, unknown []time.Duration
	const n = 15
	for i := range n {
		bert = append(bert, signInTime(t, v.url, "bert@example.com"))
		unknown = append(unknown, signInTime(t, v.url, fmt.Sprintf("nobody%d@example.com", i)))
	}
	after, misses := v.floorNow(t)
	mb, mu := medianD(bert), medianD(unknown)
	t.Logf("after 300 filler requests: floor %v; bcrypt-12 median %v, unknown median %v (ratio %.3f); %v of %d answers passed the floor",
		after, mb, mu, float64(mb)/float64(mu), misses-missesBefore, 2*n)
	if after != floor {
		t.Errorf("filler moved the floor from %v to %v", floor, after)
	}
	// Each miss is an answer that left later than its deadline: a
	// neighbour's burst of load may cause a few; a floor below bcrypt-12
	// makes every one of bert's n answers a miss.
	if misses-missesBefore > n/3 {
		t.Errorf("%v of %d sign-ins passed the floor of %v: the bcrypt-12 account is not covered", misses-missesBefore, 2*n, after)
	}
	if r := float64(mb) / float64(mu); r > 1.15 || r < 1/1.15 {
		t.Errorf("bcrypt-12 account's median %v against an unknown identifier's %v", mb, mu)
	}

	// Its owner signs in: the hash is rehashed at the current policy, and
	// the floor goes back to one hash.
	if res, body := httpDo(t, "POST", v.url+"/api/login", "application/json",
		`{"identifier":"bert@example.com","password":"the imported password"}`, ""); res.StatusCode != http.StatusOK {
		t.Fatalf("bert's sign-in answered %d %s", res.StatusCode, body)
	}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && floor >= cost; time.Sleep(100 * time.Millisecond) {
		floor, _ = v.floorNow(t)
	}
	t.Logf("after the rehash at sign-in: floor %v", floor)
	if floor >= cost {
		t.Errorf("after the last bcrypt hash was rehashed the floor is still %v", floor)
	}
	if _, m := httpDo(t, "GET", v.adminURL+"/metrics", "", "", ""); metricValue(m, "veil_password_verify_hold_seconds") != 0 {
		t.Errorf("after the last bcrypt hash was rehashed verifications still hold their slot %vs", metricValue(m, "veil_password_verify_hold_seconds"))
	}
}

// TestFloorFor checks the derivation: no answer floor while every stored
// hash is current (the lookup floor covers the lookup), the slowest set
// with a margin otherwise.
func TestFloorFor(t *testing.T) {
	const cur = "$argon2id$v=19$m=19456,t=2,p=1"
	ms := time.Millisecond
	tests := []struct {
		name        string
		costs       map[string]time.Duration
		floor, hold time.Duration
	}{
		{"no accounts", map[string]time.Duration{cur: 24 * ms}, 0, 0},
		{"every hash current", map[string]time.Duration{cur: 24 * ms}, 0, 0},
		{"a malformed hash costs the decoy", map[string]time.Duration{cur: 24 * ms, "": 24 * ms}, 0, 0},
		{"bcrypt-12 imported", map[string]time.Duration{cur: 24 * ms, "$2b$12": 240 * ms}, 301 * ms, 264 * ms},
		{"a faster old set", map[string]time.Duration{cur: 24 * ms, "$argon2id$v=19$m=4096,t=1,p=1": 4 * ms}, 31 * ms, 26400 * time.Microsecond},
	}
	for _, tt := range tests {
		floor := floorFor(tt.costs, cur)
		if floor != tt.floor {
			t.Errorf("%s: floorFor(%v) = %v, want %v", tt.name, tt.costs, floor, tt.floor)
		}
		if got := holdFor(tt.costs, cur, floor); got != tt.hold {
			t.Errorf("%s: holdFor(%v, %v) = %v, want %v", tt.name, tt.costs, floor, got, tt.hold)
		}
	}
	// A floor capped at login.floor_max caps the hold below it.
	if got, want := holdFor(map[string]time.Duration{cur: 24 * ms, "$2b$14": 960 * ms}, cur, 500*ms), 440*ms; got != want {
		t.Errorf("holdFor under a floor capped at 500ms = %v, want %v", got, want)
	}
}
