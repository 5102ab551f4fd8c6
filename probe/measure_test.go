package probe

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The measurements for the closing note of issue 4, against leakyd in its
// own process on loopback. They take minutes:
//
//	go test ./probe -run Measure -probe.long -v -timeout 60m
var (
	long   = flag.Bool("probe.long", false, "run the long measurements against leakyd")
	ladder = flag.String("probe.ladder", "500ns,1us,2us,5us,10us,20us,50us,100us,200us,500us,1ms",
		"extra work levels tried, in ascending order, by TestMeasureSmallestDetected")
	configs = flag.String("probe.configs", "seq/300,seq/2000,pairs/300,pairs/2000",
		"mode/n pairs measured by TestMeasureSmallestDetected")
)

// mustStartLeakyd builds and starts leakyd with a leak and extra work, and
// returns its base URL.
func mustStartLeakyd(tb testing.TB, bin, leak string, work time.Duration) string {
	tb.Helper()
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-leak", leak, "-work", work.String(),
		"-exists", strings.Join(testExists, ","))
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		tb.Fatal(err)
	}
	return strings.TrimSpace(line)
}

func mustBuildLeakyd(tb testing.TB) string {
	tb.Helper()
	if !*long {
		tb.Skip("a long measurement: run with -probe.long")
	}
	bin := filepath.Join(tb.TempDir(), "leakyd")
	if out, err := exec.Command("go", "build", "-o", bin, "./leaky/leakyd").CombinedOutput(); err != nil {
		tb.Fatalf("go build leakyd: %v\n%s", err, out)
	}
	return bin
}

// TestMeasureSmallestDetected finds, for n = 300 and 2000 per class, with
// and without --pairs, the smallest extra work for existing accounts found
// in at least 4 of 5 runs.
func TestMeasureSmallestDetected(t *testing.T) {
	bin := mustBuildLeakyd(t)
	var works []time.Duration
	for _, w := range strings.Split(*ladder, ",") {
		d, err := time.ParseDuration(w)
		if err != nil {
			t.Fatal(err)
		}
		works = append(works, d)
	}
	for _, c := range strings.Split(*configs, ",") {
		mode, ns, _ := strings.Cut(c, "/")
		n, err := strconv.Atoi(ns)
		if err != nil {
			t.Fatal(err)
		}
		pairs := mode == "pairs"
		found := time.Duration(0)
		for _, work := range works {
			base := mustStartLeakyd(t, bin, "timing", work)
			hits := 0
			for range 5 {
				if mustProbe(t, base, Options{N: n, Warmup: 50, Pairs: pairs}).Leak {
					hits++
				}
			}
			t.Logf("pairs=%v n=%d work=%v: found in %d/5", pairs, n, work, hits)
			if hits >= 4 {
				found = work
				break
			}
		}
		t.Logf("RESULT pairs=%v n=%d: smallest detected (≥4/5 runs) = %v", pairs, n, found)
	}
}

// TestMeasureFalsePositiveRate runs 20 probes against leakyd without a leak
// in each configuration and counts leaks reported; it also reports the
// request rates sustained.
func TestMeasureFalsePositiveRate(t *testing.T) {
	bin := mustBuildLeakyd(t)
	base := mustStartLeakyd(t, bin, "none", 0)
	for _, c := range []struct {
		n, concurrency int
		pairs          bool
	}{{300, 1, false}, {2000, 1, false}, {2000, 4, false}, {300, 1, true}, {2000, 1, true}} {
		leaks, rps, mdd := 0, 0.0, 0.0
		var leaking []string
		for range 20 {
			r := mustProbe(t, base, Options{N: c.n, Warmup: 50, Concurrency: c.concurrency, Pairs: c.pairs})
			if r.Leak {
				leaks++
				leaking = append(leaking, r.LeakingChannels()...)
			}
			rps += r.RequestsPerSecond / 20
			mdd += channelMDD(r) / 20
		}
		t.Logf("RESULT pairs=%v n=%d concurrency=%d: %d/20 runs reported a leak %q; %.0f requests/s; mean MDD %s",
			c.pairs, c.n, c.concurrency, leaks, leaking, rps, fmtMDD(c.pairs, mdd))
	}
}

func channelMDD(r *Result) float64 {
	for _, c := range r.Channels {
		if c.Timing != nil {
			return c.Timing.MinDetectable // time to first byte
		}
		if c.Order != nil {
			return c.Order.MinDetectable
		}
	}
	return 0
}

func fmtMDD(pairs bool, v float64) string {
	if pairs {
		return fmt.Sprintf("%.1f order points", 100*v)
	}
	return fmtNS(v)
}

// TestMeasureRunTime checks the CI budget of a self-audit: three endpoints
// at n = 300 take how long against a fast target?
func TestMeasureRunTime(t *testing.T) {
	bin := mustBuildLeakyd(t)
	base := mustStartLeakyd(t, bin, "none", 0)
	start := time.Now()
	var probes []Probe
	for _, preset := range []string{"login", "signup", "recover"} {
		tg, err := PresetTarget(preset, base)
		if err != nil {
			t.Fatal(err)
		}
		tg.Exists, tg.Missing, tg.Password = testExists, MissingFor(testExists), RandomPassword()
		probes = append(probes, Probe{Target: tg, Options: Options{N: 300, Warmup: 20}})
	}
	rep, err := Run(context.Background(), Plan{Probes: probes})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("RESULT three presets at n=300: %v, leak=%v", time.Since(start), rep.Leak)
}
