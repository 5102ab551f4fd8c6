package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestProgressBar shows the progress line quiet for two seconds, then
// drawn with the time left at the rate so far, and ended with a newline.
func TestProgressBar(t *testing.T) {
	var buf bytes.Buffer
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := t0
	b := &progressBar{w: &buf, now: func() time.Time { return clock }, start: t0}
	clock = t0.Add(time.Second)
	b.update(10, 400)
	if buf.Len() != 0 {
		t.Errorf("drawn after 1s: %q, want nothing in the first two seconds", buf.String())
	}
	clock = t0.Add(3 * time.Second)
	b.update(100, 400)
	if got, want := buf.String(), "\r[#######.......................] 100/400 requests, 0:09 left "; got != want {
		t.Errorf("progress line = %q, want %q", got, want)
	}
	clock = clock.Add(100 * time.Millisecond)
	b.update(101, 400) // within 250ms of the last draw: not redrawn
	b.finish()
	if got := buf.String(); strings.Count(got, "\r") != 1 || !strings.HasSuffix(got, "\n") {
		t.Errorf("after finish: %q, want one draw and a newline", got)
	}
}

// TestIsTerminal shows the progress line kept off pipes, buffers and
// files: only a terminal gets it.
func TestIsTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for name, out := range map[string]io.Writer{"buffer": &bytes.Buffer{}, "file": f, "pipe": w} {
		if isTerminal(out) {
			t.Errorf("isTerminal(%s) = true, want false", name)
		}
	}
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		if !isTerminal(tty) {
			t.Errorf("isTerminal(/dev/tty) = false, want true")
		}
	}
}
