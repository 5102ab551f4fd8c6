package web_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/password"
	"github.com/veil-id/veil/web"
)

// noHashRoute is a route held to web.NoHashFloor, with a request for an
// existing account and one for an unknown identifier.
type noHashRoute struct {
	name, path, contentType string
	body                    func(email string) string
}

// noHashRoutes are the routes of ts held to web.NoHashFloor. The passkey
// finish step's "existing account" is kay@example.com's credential ID,
// sixteen-byte-id!, on a fresh challenge each time.
func noHashRoutes(tb testing.TB, ts *testServer) []noHashRoute {
	p := passkeyAttempt{ts}
	return []noHashRoute{
		{"code, json", "/api/login/code/confirm", "application/json", func(e string) string { return jsonBody("email", e, "code", "12345678") }},
		{"code, form", "/login/code/confirm", formType, func(e string) string { return url.Values{"email": {e}, "code": {"12345678"}}.Encode() }},
		{"passkey options", "/api/passkey/login/options", "application/json", func(e string) string { return jsonBody("identifier", e) }},
		{"passkey finish", "/api/passkey/login/finish", "application/json", func(e string) string {
			cred := map[bool]string{true: "sixteen-byte-id!", false: "not-a-passkey-id"}[e == "kay@example.com"]
			return forgedAssertion(p.challenge(tb, ""), []byte(cred))
		}},
	}
}

// fillers are requests that never reach account work: malformed,
// oversized, of the wrong media type, not UTF-8.
var fillers = []struct{ contentType, body string }{
	{"application/json", `{"email":`},
	{"application/json", `{"identifier":"` + strings.Repeat("a", web.MaxBodyBytes) + `"}`},
	{"text/plain", `{"email":"a@example.com","code":"12345678"}`},
	{"application/json", "{\"email\":\"\xff@example.com\"}"},
	{formType, "email=%zz"},
	{"", ""},
}

// floorWithCounters is the uniform automatic floor (no answer floor, a
// lookup floor) with its misses counted.
func floorWithCounters(signIn, noHash *atomic.Int64) serverOption {
	return func(wc *webConfig, _ *password.Config, _ *veil.ServiceConfig) {
		f := web.NewFloor(0)
		f.SetLookup(250 * time.Microsecond)
		f.OnExceeded(func(time.Duration) { signIn.Add(1) })
		f.OnNoHashExceeded(func(time.Duration) { noHash.Add(1) })
		wc.Floor = f
	}
}

// TestFillerFloodsMoveNothing interleaves floods of filler with the
// requests of an existing account and an unknown identifier on each route
// held to web.NoHashFloor: the floors keep their values, every filler is
// a 4xx, no filler is counted as a floor miss, and the measured answers
// are the ones given without the flood, each held to web.NoHashFloor.
func TestFillerFloodsMoveNothing(t *testing.T) {
	var signInMisses, noHashMisses atomic.Int64
	var floor *web.Floor
	ts := MustOpenServer(t, withPasskeys(t), floorWithCounters(&signInMisses, &noHashMisses),
		func(wc *webConfig, _ *password.Config, _ *veil.ServiceConfig) { floor = wc.Floor })
	ts.mustStorePasskey(t, ts.mustAddAccount(t, "kay@example.com", goodPassword), "sixteen-byte-id!")
	emails := []string{"kay@example.com", "nobody@example.com"}
	measure := func(rt noHashRoute, email string) (answer, time.Duration) {
		body := rt.body(email)
		start := time.Now()
		a := ts.do(t, "POST", rt.path, rt.contentType, body)
		return blankOptions(a), time.Since(start)
	}
	for _, rt := range noHashRoutes(t, ts) {
		var quiet [2]answer
		for i, e := range emails {
			quiet[i], _ = measure(rt, e)
		}
		// Filler on the same route, from 4 clients, for as long as the
		// measurements take (and at most 2,000 each).
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var fillerAnswers atomic.Int64
		for c := range 4 {
			wg.Go(func() {
				for i := c; i < c+2000; i++ {
					select {
					case <-stop:
						return
					default:
					}
					f := fillers[i%len(fillers)]
					if a := ts.do(t, "POST", rt.path, f.contentType, f.body); a.status < 400 || a.status >= 500 {
						t.Errorf("%s: filler %.40q answered %d, want a 4xx", rt.name, f.body, a.status)
					}
					fillerAnswers.Add(1)
				}
			})
		}
		misses := noHashMisses.Load()
		for range 5 {
			for i, e := range emails {
				got, took := measure(rt, e)
				if d := diffAnswers(got, quiet[i]); d != "" {
					t.Errorf("%s for %s during a filler flood: the answer changed: %s", rt.name, e, d)
				}
				if took < web.NoHashFloor {
					t.Errorf("%s for %s during a filler flood answered after %v, before web.NoHashFloor", rt.name, e, took)
				}
			}
		}
		close(stop)
		wg.Wait()
		t.Logf("%s: %d filler answers interleaved, %d measured misses", rt.name, fillerAnswers.Load(), noHashMisses.Load()-misses)
		if floor.Duration() != 0 || floor.Lookup() != 250*time.Microsecond {
			t.Errorf("%s: after a filler flood the floors are %v, %v; want 0, 250µs", rt.name, floor.Duration(), floor.Lookup())
		}
	}
	if n := signInMisses.Load(); n != 0 {
		t.Errorf("%d sign-in floor misses on routes without a hash and filler", n)
	}
}

// trickle sends a request whose body arrives in 6 parts over about d,
// and returns its status and how long the answer took after the last byte.
func trickle(tb testing.TB, base, path, contentType, body string, d time.Duration) (int, time.Duration) {
	tb.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", path, contentType, len(body))
	const parts = 6
	var sent time.Time
	for i := range parts {
		time.Sleep(d / parts)
		// The clock is read before the last write, not after it: the
		// server cannot have the last byte earlier, and a loaded machine
		// may keep this goroutine from the clock for milliseconds after
		// the write.
		sent = time.Now()
		if _, err := conn.Write([]byte(body[i*len(body)/parts : (i+1)*len(body)/parts])); err != nil {
			tb.Fatal(err)
		}
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		tb.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode, time.Since(sent)
}

// TestTrickledBodiesMoveNoTiming trickles the bodies of the routes held
// to web.NoHashFloor over 600ms, for an existing account and an unknown
// identifier, with quick requests beside them: the floor is counted from
// the account work, after the body, so a trickled answer comes
// web.NoHashFloor after its last byte (the upload neither eats the floor
// nor adds to it), and the quick requests are not held any longer.
func TestTrickledBodiesMoveNoTiming(t *testing.T) {
	if testing.Short() {
		t.Skip("trickles bodies; skipped with -short")
	}
	const upload = 600 * time.Millisecond
	ts := MustOpenServer(t, withPasskeys(t), withUniformFloor)
	ts.mustStorePasskey(t, ts.mustAddAccount(t, "kay@example.com", goodPassword), "sixteen-byte-id!")
	for _, rt := range noHashRoutes(t, ts) {
		for _, email := range []string{"kay@example.com", "nobody@example.com"} {
			var wg sync.WaitGroup
			var quick []time.Duration
			var mu sync.Mutex
			for range 3 {
				wg.Go(func() {
					for range 5 {
						body := rt.body("quick@example.com")
						start := time.Now()
						ts.do(t, "POST", rt.path, rt.contentType, body)
						mu.Lock()
						quick = append(quick, time.Since(start))
						mu.Unlock()
					}
				})
			}
			status, after := trickle(t, ts.URL, rt.path, rt.contentType, rt.body(email), upload)
			wg.Wait()
			if status >= 500 {
				t.Fatalf("%s for %s, trickled: %d", rt.name, email, status)
			}
			if after < web.NoHashFloor || after > web.NoHashFloor+upload/2 {
				t.Errorf("%s for %s, trickled over %v: answered %v after the last byte, want web.NoHashFloor (%v) and not much more", rt.name, email, upload, after, web.NoHashFloor)
			}
			slices.Sort(quick)
			if med := quick[len(quick)/2]; med < web.NoHashFloor || med > web.NoHashFloor+upload/2 {
				t.Errorf("%s: quick requests beside a trickled one took %v (median), want about web.NoHashFloor", rt.name, med)
			}
		}
	}
}
