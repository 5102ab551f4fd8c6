package password

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/veil-id/veil/veiltest"
)

// TestMemoryCostModel measures what one hash allocates and checks that the
// pool counts at least that, and not much more.
func TestMemoryCostModel(t *testing.T) {
	allocs := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	for _, p := range []Params{lowParams, {1000, 1, 3}, {19456, 2, 1}, {19456, 1, 4}, {47104, 1, 1}} {
		h := Hash{Algorithm: Argon2id, Params: p, Salt: make([]byte, saltLen), Key: make([]byte, keyLen)}
		runtime.GC()
		metrics.Read(allocs)
		before := allocs[0].Value.Uint64()
		h.verify(testPass)
		metrics.Read(allocs)
		heapKiB := (allocs[0].Value.Uint64() - before + 1023) / 1024
		got := p.memoryCostKiB()
		// Stacks are not heap: the model may exceed the heap by them and
		// by the rounding to pages, no more.
		if slack := pageKiB + uint64(p.Parallelism)*laneStackKiB; got < heapKiB || got > heapKiB+slack {
			t.Errorf("%+v: memoryCostKiB() = %d, but a hash allocates %d KiB of heap (want %d to %d)", p, got, heapKiB, heapKiB, heapKiB+slack)
		}
	}
}

// burstResult is what the child process of TestBurstStaysInBudget measured.
type burstResult struct {
	Concurrency  int
	BaseKiB      int64 // RSS before the burst
	PeakKiB      int64 // VmHWM during it
	AfterKiB     int64 // RSS right after it
	IdleKiB      int64 // RSS once the idle return ran
	IdleAfter    time.Duration
	IdleReturned int32
}

const burstChildEnv = "VEIL_PASSWORD_BURST_CHILD"

// TestBurstStaysInBudget runs 32 verifications at once against a budget of
// 64 MiB at DefaultParams, in a process of its own (RSS is per process),
// with Go's memory limit at Limits.MemoryLimit: the process must not grow
// by more than the budget, and must give the memory back once idle.
func TestBurstStaysInBudget(t *testing.T) {
	if os.Getenv(burstChildEnv) != "" {
		burstChild(t)
		return
	}
	if _, err := os.Stat("/proc/self/clear_refs"); err != nil {
		t.Skip("skipping: needs Linux's /proc to read the peak RSS")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestBurstStaysInBudget$")
	cmd.Env = append(os.Environ(), burstChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var r burstResult
	line, _, _ := strings.Cut(string(out), "\n")
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		t.Fatalf("child said %q: %v", out, err)
	}
	const budgetKiB = 64 << 10
	hashKiB := DefaultParams.memoryCostKiB()
	t.Logf("%d hashes at once under a 64 MiB budget: RSS %d MiB before, peak %d MiB (%.1f MiB per running hash), %d MiB right after, %d MiB %v after the burst",
		r.Concurrency, r.BaseKiB>>10, r.PeakKiB>>10, float64(r.PeakKiB-r.BaseKiB)/1024/float64(r.Concurrency), r.AfterKiB>>10, r.IdleKiB>>10, r.IdleAfter)
	if grew := r.PeakKiB - r.BaseKiB; grew > budgetKiB {
		t.Errorf("the burst grew the process by %d KiB, more than the budget of %d KiB", grew, budgetKiB)
	}
	if r.IdleReturned != 1 {
		t.Errorf("the memory was returned %d times after the burst, want once", r.IdleReturned)
	}
	if kept := r.IdleKiB - r.BaseKiB; kept > int64(hashKiB) {
		t.Errorf("the process kept %d KiB after the burst and the idle return, want at most one hash (%d KiB)", kept, hashKiB)
	}
}

func burstChild(t *testing.T) {
	h, err := New(Config{Concurrency: 8, Queue: 64, MemoryBudgetKiB: 64 << 10, ReturnIdleAfter: 200 * time.Millisecond})
	if err != nil {
		panic(err)
	}
	var returned atomic.Int32
	h.idle.free = func() { returned.Add(1); debug.FreeOSMemory() }
	ctx := context.Background()
	encoded, err := h.HashPassword(ctx, testPass)
	if err != nil {
		panic(err)
	}
	debug.FreeOSMemory()
	debug.SetMemoryLimit(h.Limits().MemoryLimit(goMemoryBytes()))
	r := burstResult{Concurrency: h.Limits().Concurrency, BaseKiB: veiltest.ProcStatusKiB(t, 0, "VmRSS")}
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		panic(err) // resets VmHWM
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			<-start
			if _, _, err := h.VerifyPassword(ctx, encoded, "not the password"); err != nil {
				panic(err)
			}
		})
	}
	close(start)
	wg.Wait()
	done := time.Now()
	r.PeakKiB, r.AfterKiB = veiltest.ProcStatusKiB(t, 0, "VmHWM"), veiltest.ProcStatusKiB(t, 0, "VmRSS")
	for returned.Load() == 0 && time.Since(done) < 10*time.Second {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	r.IdleKiB, r.IdleAfter, r.IdleReturned = veiltest.ProcStatusKiB(t, 0, "VmRSS"), time.Since(done).Round(time.Millisecond), returned.Load()
	b, _ := json.Marshal(r)
	fmt.Println(string(b))
}

// goMemoryBytes is the memory Go's limit counts right now: everything the
// runtime has mapped, less what it has returned.
func goMemoryBytes() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64() - s[1].Value.Uint64())
}

// TestIdleReturn returns memory only after a burst: sign-ins one at a time
// keep their pages, and a return waits until the pool is idle.
func TestIdleReturn(t *testing.T) {
	h := MustNew(t, Config{Params: lowParams, Concurrency: 2, ReturnIdleAfter: 20 * time.Millisecond})
	var returned atomic.Int32
	h.idle.free = func() { returned.Add(1) }
	ctx := context.Background()
	for range 5 {
		MustHash(t, h, testPass)
	}
	time.Sleep(100 * time.Millisecond)
	if got := returned.Load(); got != 0 {
		t.Errorf("returned %d times after hashes one at a time, want 0", got)
	}
	// Two at once: one holds the pool while the other runs.
	release := make(chan struct{})
	held := make(chan struct{})
	go func() {
		if err := h.acquire(ctx, h.limits.HashMemoryKiB); err != nil {
			t.Error(err)
		}
		close(held)
		<-release
		h.release(h.limits.HashMemoryKiB)
	}()
	<-held
	MustHash(t, h, testPass)
	time.Sleep(100 * time.Millisecond)
	if got := returned.Load(); got != 0 {
		t.Errorf("returned %d times while a hash still held the pool, want 0", got)
	}
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for returned.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	if got := returned.Load(); got != 1 {
		t.Errorf("returned %d times once idle after the burst, want 1", got)
	}
}
