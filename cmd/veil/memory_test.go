package main

import (
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/veil-id/veil/veiltest"
)

// TestBurstStaysUnderTheMemoryLimit runs the real binary with a 64 MiB
// hashing budget at the default argon2id parameters and sends 32 sign-ins
// at once: the process must peak under memory_base_mib +
// throttle.memory_limit + the budget, and give the burst's memory back once
// the pool is idle.
func TestBurstStaysUnderTheMemoryLimit(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("skipping: needs Linux's /proc to read a process's RSS")
	}
	const baseMiB, throttleMiB, budgetMiB = 48, 1, 64
	vars := map[string]string{
		"VEIL_PASSWORD_MEMORY_KIB":        "19456", // the default, not the tests' fast hashing
		"VEIL_PASSWORD_ITERATIONS":        "2",
		"VEIL_PASSWORD_CONCURRENCY":       "8",
		"VEIL_PASSWORD_QUEUE":             "64",
		"VEIL_PASSWORD_MEMORY_BUDGET_MIB": fmt.Sprint(budgetMiB),
		"VEIL_PASSWORD_MEMORY_BASE_MIB":   fmt.Sprint(baseMiB),
		"VEIL_THROTTLE_MEMORY_LIMIT":      fmt.Sprintf("%dMiB", throttleMiB),
		"VEIL_LOGIN_FLOOR":                "20ms",
		"GOMEMLIMIT":                      "", // veil's own limit, not the environment's
	}
	for k, v := range lenientThrottle {
		vars[k] = v
	}
	dir := t.TempDir()
	if code, out, errOut := runMain(t, testEnv(vars), "correct horse battery staple\n", "user", "add", "--data-dir", dir, "alice@example.com"); code != 0 {
		t.Fatalf("user add: exit %d\n%s%s", code, out, errOut)
	}
	var env []string
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	cmd, url := startVeilProcess(t, env, dir)
	pid := cmd.Process.Pid
	time.Sleep(500 * time.Millisecond) // the floor's calibration hashes
	idle := veiltest.ProcStatusKiB(t, pid, "VmRSS")

	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 32 {
		pw := "not the password at all"
		if i%2 == 0 {
			pw = "correct horse battery staple"
		}
		wg.Go(func() {
			<-start
			want := map[bool]int{true: 200, false: 401}[i%2 == 0]
			if got := loginAt(t, url, "alice@example.com", pw, "", ""); got.status != want {
				t.Errorf("sign-in %d: %d, want %d", i, got.status, want)
			}
		})
	}
	began := time.Now()
	close(start)
	wg.Wait()
	done := time.Now()
	peak := veiltest.ProcStatusKiB(t, pid, "VmHWM")
	after := veiltest.ProcStatusKiB(t, pid, "VmRSS")
	limitKiB := int64(baseMiB+throttleMiB+budgetMiB) << 10
	if peak > limitKiB {
		t.Errorf("32 sign-ins at once took veil to %d MiB, past memory_base_mib + throttle.memory_limit + the budget = %d MiB", peak>>10, limitKiB>>10)
	}
	// The pool returns the burst's memory idleMemoryReturn after it is
	// idle; Go alone would keep it for minutes.
	const hashKiB = 19464
	var returned int64
	for time.Since(done) < idleMemoryReturn+10*time.Second {
		if returned = veiltest.ProcStatusKiB(t, pid, "VmRSS"); returned <= idle+hashKiB {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("RSS %d MiB idle, peak %d MiB, %d MiB right after the burst (%v), %d MiB %v after", idle>>10, peak>>10, after>>10, done.Sub(began).Round(time.Millisecond), returned>>10, time.Since(done).Round(100*time.Millisecond))
	if returned > idle+hashKiB {
		t.Errorf("RSS %d MiB %v after the burst, want at most the idle %d MiB and one hash", returned>>10, time.Since(done).Round(time.Second), idle>>10)
	}
}
