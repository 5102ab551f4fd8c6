package main

import (
	"math"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"

	"github.com/veil-id/veil/password"
)

// idleMemoryReturn is how long the hashing pool must be idle after a burst
// before its memory goes back to the operating system: long enough that a
// steady stream of sign-ins keeps its pages, short enough that a burst does
// not leave veil at its peak for minutes.
const idleMemoryReturn = 5 * time.Second

// processMemoryLimit is the Go memory limit for veil serving under cfg:
// password.memory_base_mib for the runtime, the database and HTTP, the
// in-memory throttle store's bound, and the hashing budget less its
// headroom (password.Limits.MemoryLimit). The collector works to stay
// under it, so a burst of sign-ins cannot take veil past base + throttle +
// budget; it is a soft limit that only a live heap above it could break.
// Go's limit counts only the memory Go maps; notGo, the rest of the
// resident set (the binary's code, mostly), comes off the base so that the
// bound holds for the RSS an operator sees. It is math.MaxInt64 when the
// budget is unbounded (0).
func processMemoryLimit(cfg *Config, l password.Limits, notGo int64) int64 {
	if l.MemoryBudgetKiB == 0 {
		return math.MaxInt64
	}
	other := int64(cfg.Password.MemoryBaseMiB)<<20 + int64(cfg.Throttle.MemoryLimit) - notGo
	return l.MemoryLimit(other)
}

// residentNotGo returns how much of the process's resident set Go's memory
// limit does not count, and the whole resident set; 0, 0 where
// /proc/self/statm cannot tell.
func residentNotGo() (notGo, resident int64) {
	b, err := os.ReadFile("/proc/self/statm")
	fields := strings.Fields(string(b))
	if err != nil || len(fields) < 2 {
		return 0, 0
	}
	pages, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		return 0, 0
	}
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	goMapped := int64(s[0].Value.Uint64() - s[1].Value.Uint64())
	resident = pages * int64(os.Getpagesize())
	return max(resident-goMapped, 0), resident
}

// applyMemoryLimit sets Go's memory limit for serving, unless the operator
// set GOMEMLIMIT (the runtime has applied it already), and returns what
// restores the previous one.
func (a *app) applyMemoryLimit() (restore func()) {
	if v := os.Getenv("GOMEMLIMIT"); v != "" {
		a.logger.Info("memory limit from GOMEMLIMIT; password.memory_base_mib is not applied", "GOMEMLIMIT", v)
		return func() {}
	}
	notGo, resident := residentNotGo()
	if base := int64(a.cfg.Password.MemoryBaseMiB) << 20; resident > base {
		a.logger.Warn("veil already holds more than password.memory_base_mib at start: the memory limit will make the collector run often; raise it",
			"resident_mib", resident>>20, "memory_base_mib", a.cfg.Password.MemoryBaseMiB)
	}
	limit := processMemoryLimit(a.cfg, a.hasher.Limits(), notGo)
	if limit == math.MaxInt64 {
		a.logger.Warn("password.memory_budget_mib = 0: hashing memory is unbounded and veil sets no memory limit")
		return func() {}
	}
	prev := debug.SetMemoryLimit(limit)
	l := a.hasher.Limits()
	a.logger.Info("memory limit", "limit_mib", limit>>20, "budget_mib", l.MemoryBudgetKiB>>10,
		"per_hash_kib", l.HashMemoryKiB, "headroom_kib", l.HeadroomKiB)
	return func() { debug.SetMemoryLimit(prev) }
}
