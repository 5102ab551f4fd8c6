package main

import (
	"fmt"
	"maps"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/veil-id/veil/veiltest"
)

// BenchmarkFloorProcess is BenchmarkFloor's clients-N as an operator meets
// it: veil in a process of its own (`veil serve` on SQLite, the default
// argon2id policy and concurrency, the automatic floor) and wrk as the
// clients, so that no HTTP client of the benchmark shares veil's heap, its
// collector or its scheduler. The benchmark process hashes raw argon2id in
// min(N, NumCPU) goroutines while veil idles, then wrk keeps N connections
// of failed sign-ins busy while the benchmark idles. Turns of a second
// alternate, ten of each, so that a noisy neighbour falls on both alike
// (on a shared machine the raw rate alone drifts by a fifth within
// minutes), and each N reports the median of its turns' ratios:
//
//	signins/hashes   sign-ins/s over raw hashes/s in the turn before (≥ 0.95)
//
// Every answer must be the one 401 (testdata/signin.lua counts the others).
// Run it once: go test -run '^$' -bench BenchmarkFloorProcess -benchtime 1x ./cmd/veil
func BenchmarkFloorProcess(b *testing.B) {
	if _, err := exec.LookPath("wrk"); err != nil {
		veiltest.Missing(b, "wrk is not installed (apt-get install wrk)")
	}
	dir := b.TempDir()
	vars := map[string]string{"VEIL_PASSWORD_CONCURRENCY": "0", "VEIL_LOGIN_FLOOR": *benchFloor, "VEIL_LOG_LEVEL": "warn"}
	addBenchAccounts(b, dir, vars, processBenchAccounts)
	env := floorEnv(vars)
	var list []string
	for _, k := range slices.Sorted(maps.Keys(floorVars(vars))) {
		list = append(list, k+"="+env(k))
	}
	_, url := startVeilProcess(b, list, dir)
	raw := rawHash()
	wrkSignIns(b, url, 2, time.Second) // warm the connections, the caches, the statements
	const turns, turn, settle = 10, time.Second, 250 * time.Millisecond
	for _, n := range []int{2, 4, 8, 16} {
		b.Run(fmt.Sprintf("clients-%d", n), func(b *testing.B) {
			for b.Loop() {
				var ratios, hashes, signIns []float64
				for range turns {
					h := closedLoop(min(n, runtime.NumCPU()), turn, raw)
					s := wrkSignIns(b, url, n, turn)
					// wrk leaves the hashes it was waiting for running
					// in veil: let them end before the next raw turn,
					// or they would slow it and flatter veil.
					time.Sleep(settle)
					ratios, hashes, signIns = append(ratios, s/h), append(hashes, h), append(signIns, s)
				}
				b.ReportMetric(medianF(ratios), "signins/hashes")
				b.ReportMetric(medianF(hashes), "hashes/s")
				b.ReportMetric(medianF(signIns), "signins/s")
			}
		})
	}
}

// processBenchAccounts is how many accounts BenchmarkFloorProcess spreads
// its thousands of failed sign-ins over, at random: few enough failures
// each that none reaches the lenient throttle's block (100), where a
// reservation beyond the budget answers 429 without a hash, even on a
// machine twice this one's speed.
const processBenchAccounts = 96

// wrkSignIns runs wrk with n connections of testdata/signin.lua against url
// for d (whole seconds, as wrk takes it) and returns its sign-ins per
// second; any answer but the 401 fails b.
func wrkSignIns(b *testing.B, url string, n int, d time.Duration) float64 {
	b.Helper()
	out, err := exec.Command("wrk", "-t1", "-c"+strconv.Itoa(n), "-d"+strconv.Itoa(int(d.Seconds()))+"s",
		"--timeout", "10s", "-s", "testdata/signin.lua", url, "--", strconv.Itoa(processBenchAccounts)).CombinedOutput()
	if err != nil {
		b.Fatalf("wrk: %v\n%s", err, out)
	}
	if m := regexp.MustCompile(`answers other than 401: (\d+)`).FindSubmatch(out); m == nil || string(m[1]) != "0" {
		b.Fatalf("wrk saw answers other than the 401:\n%s", out)
	}
	m := regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		b.Fatalf("wrk printed no Requests/sec:\n%s", out)
	}
	rate, _ := strconv.ParseFloat(string(m[1]), 64)
	return rate
}

func medianF(v []float64) float64 {
	c := slices.Clone(v)
	slices.Sort(c)
	return c[len(c)/2]
}
