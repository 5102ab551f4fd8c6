package veiltest

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
)

// ProcStatusKiB reads a "Key: N kB" line (VmRSS, VmHWM, ...) of
// /proc/<pid>/status, or of /proc/self/status when pid is 0: what memory
// tests measure a process by. The caller skips where /proc is missing.
func ProcStatusKiB(tb testing.TB, pid int, key string) int64 {
	tb.Helper()
	path := "/proc/self/status"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/status", pid)
	}
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key+":"); ok {
			var n int64
			fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), "kB"), &n)
			return n
		}
	}
	tb.Fatalf("no %s in %s", key, path)
	return 0
}
