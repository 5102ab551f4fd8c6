package main

import (
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/veil-id/veil/password"
)

// BenchmarkFloor measures the whole server at the default argon2id policy
// with the automatic floor, beside a raw argon2id hash timed in the same
// run, for the floor's goals while every stored hash is current:
//
//	p50/raw          a failed sign-in's median over one raw hash (≤ 1.5)
//	clients-N        sign-ins/s of N closed-loop clients over raw hashes/s
//	                 of min(N, NumCPU) goroutines hashing (≥ 0.95)
//	burst            how long after a burst of 16 the sign-ins are back
//	                 within 1.2 × their base median
//
// Run it once: go test -run '^$' -bench BenchmarkFloor -benchtime 1x ./cmd/veil
// (add -args -veil.floor=off for the same without the floor).
func BenchmarkFloor(b *testing.B) {
	v, signIn := benchSignIns(b, nil) // the default policy and concurrency (NumCPU)
	raw := rawHash()

	b.Run("p50", func(b *testing.B) {
		for b.Loop() {
			var rawT, signT []time.Duration
			for range 31 {
				rawT = append(rawT, timed(raw))
				signT = append(signT, signIn(b))
			}
			floor, _ := v.floorNow(b)
			b.ReportMetric(float64(medianD(signT))/float64(medianD(rawT)), "p50/raw")
			b.ReportMetric(float64(medianD(rawT).Microseconds()), "raw-µs")
			b.ReportMetric(float64(medianD(signT).Microseconds()), "signin-µs")
			b.ReportMetric(float64(floor.Microseconds()), "floor-µs")
		}
	})
	for _, n := range []int{2, 4, 8, 16} {
		b.Run(fmt.Sprintf("clients-%d", n), func(b *testing.B) {
			for b.Loop() {
				// Short turns, alternating, so that the neighbours' load
				// falls on both alike; raw hashes in as many goroutines
				// as the pool runs.
				var hashes, signIns float64
				for range 6 {
					hashes += closedLoop(min(n, runtime.NumCPU()), time.Second, raw) / 6
					signIns += closedLoop(n, time.Second, func() { signIn(b) }) / 6
				}
				b.ReportMetric(signIns/hashes, "signins/hashes")
				b.ReportMetric(hashes, "hashes/s")
				b.ReportMetric(signIns, "signins/s")
			}
		})
	}
	b.Run("burst", func(b *testing.B) {
		for b.Loop() {
			var base []time.Duration
			for range 9 {
				base = append(base, signIn(b))
			}
			var wg sync.WaitGroup
			for range 16 {
				wg.Go(func() { signIn(b) })
			}
			wg.Wait()
			start := time.Now()
			for recent := []time.Duration{}; ; {
				recent = append(recent, signIn(b))
				if len(recent) >= 3 && medianD(recent[len(recent)-3:]) <= medianD(base)*6/5 {
					break
				}
				if time.Since(start) > 30*time.Second {
					b.Fatalf("sign-ins not back to %v within 30s after a burst", medianD(base))
				}
			}
			b.ReportMetric(float64(time.Since(start).Milliseconds()), "back-ms")
			b.ReportMetric(float64(medianD(base).Microseconds()), "base-µs")
		}
	})
}

// BenchmarkSignInPath measures what a failed sign-in costs outside its
// hash: the median of sign-ins through the whole server with the automatic
// floor at a near-free hash (8 KiB, one pass), so that HTTP, JSON, the
// throttle, the lookup and its floor, and the audit write are all there
// is. While clients wait for their answers, each microsecond of it is a
// core without a hash to run: BenchmarkFloor's clients-2 loses it
// directly. Its medians resolve what BenchmarkFloor's throughputs cannot
// on a shared machine.
func BenchmarkSignInPath(b *testing.B) {
	_, signIn := benchSignIns(b, map[string]string{"VEIL_PASSWORD_MEMORY_KIB": "8", "VEIL_PASSWORD_ITERATIONS": "1"})
	for range 20 {
		signIn(b) // warm the connection, the caches, the statements
	}
	for b.Loop() {
		var ds []time.Duration
		for range 400 {
			ds = append(ds, signIn(b))
		}
		b.ReportMetric(float64(medianD(ds).Microseconds()), "signin-µs")
	}
}

// benchSignIns starts veil with the automatic floor (or -veil.floor), the
// default concurrency and extra settings, and returns it and a failed sign-in
// that takes turns between unknown identifiers and 16 accounts, each few
// enough times to stay under the throttle's block. It is safe for
// concurrent use.
func benchSignIns(b *testing.B, extra map[string]string) (*runningVeil, func(testing.TB) time.Duration) {
	b.Helper()
	dir := b.TempDir()
	vars := map[string]string{"VEIL_PASSWORD_CONCURRENCY": "0", "VEIL_LOGIN_FLOOR": *benchFloor}
	maps.Copy(vars, extra)
	env := floorEnv(vars)
	addBenchAccounts(b, dir, vars, benchAccounts)
	v := MustRunMain(b, env, dir)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var seq atomic.Int64
	return v, func(tb testing.TB) time.Duration {
		i := seq.Add(1)
		id := fmt.Sprintf("nobody%d@example.com", i)
		if i%2 == 0 {
			id = fmt.Sprintf("user%d@example.com", i/2%benchAccounts)
		}
		return timedSignIn(tb, client, v.url, id)
	}
}

// benchAccounts is how many accounts BenchmarkFloor's sign-ins take turns
// between.
const benchAccounts = 16

// addBenchAccounts adds user0…user{n-1}@example.com to the store in dir
// under floorEnv(vars).
func addBenchAccounts(b *testing.B, dir string, vars map[string]string, n int) {
	b.Helper()
	for i := range n {
		if code, out, errOut := runMain(b, floorEnv(vars), "correct horse battery staple\n", "user", "add", "--data-dir", dir, fmt.Sprintf("user%d@example.com", i)); code != 0 {
			b.Fatalf("user add: %s%s", out, errOut)
		}
	}
}

// benchFloor is login.floor for BenchmarkFloor; -args -veil.floor=off
// shows what the floor itself costs.
var benchFloor = flag.String("veil.floor", "auto", "login.floor for BenchmarkFloor")

func timedSignIn(tb testing.TB, client *http.Client, url, identifier string) time.Duration {
	start := time.Now()
	res, err := client.Post(url+"/api/login", "application/json",
		strings.NewReader(fmt.Sprintf(`{"identifier":%q,"password":"wrong horse battery"}`, identifier)))
	if err != nil {
		tb.Fatal(err)
	}
	// Read to the end, or the client cannot reuse the connection: every
	// sign-in would pay a TCP handshake, which no browser does.
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		tb.Fatalf("sign-in answered %d, want 401", res.StatusCode)
	}
	return time.Since(start)
}

// rawHash returns one argon2id hash at the default policy, nothing else.
func rawHash() func() {
	p := password.DefaultParams
	salt := make([]byte, 16)
	rand.Read(salt)
	return func() { argon2.IDKey([]byte("wrong horse battery"), salt, p.Iterations, p.Memory, p.Parallelism, 32) }
}

// closedLoop runs do in n goroutines, each again as soon as it returns, for
// d, and returns the calls per second that ended within d (each turn starts
// with empty queues, so it errs low, alike for hashes and sign-ins).
func closedLoop(n int, d time.Duration, do func()) float64 {
	var count atomic.Int64
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for time.Now().Before(stop) {
				do()
				if time.Now().Before(stop) {
					count.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return float64(count.Load()) / d.Seconds()
}

func timed(f func()) time.Duration {
	start := time.Now()
	f()
	return time.Since(start)
}

func medianD(d []time.Duration) time.Duration {
	c := slices.Clone(d)
	slices.Sort(c)
	return c[len(c)/2]
}
