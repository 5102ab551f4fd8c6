package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/veil-id/veil/probe"
)

// presetList is the usage's list of presets, one a line.
func presetList() string {
	var b strings.Builder
	for _, p := range probe.Presets {
		fmt.Fprintf(&b, "  %-20s %s\n", p.Name, p.About)
	}
	return b.String()
}

// warnProbe says, before anything is sent, what the run will do to the
// accounts, by what the endpoint does: this is the moment to stop if they
// are not test accounts. The warm-up uses throwaway identifiers, so only
// the measured requests reach the existing accounts.
func warnProbe(w io.Writer, plan probe.Plan) {
	for _, p := range plan.Probes {
		t := p.Target
		k, n := len(t.Exists), p.Options.N
		var what string
		switch t.Kind {
		case probe.KindSignup:
			what = fmt.Sprintf("sign-up creates accounts: %d addresses new to the target will be sent, each may become an account and get a mail; the %d existing accounts will receive about %d sign-up attempts, each may mail their owner",
				probe.FreshIdentifiers(p), k, n)
		case probe.KindRecover:
			what = fmt.Sprintf("recovery sends mails: the %d existing accounts will receive about %d recovery requests, each may mail their owner a link or code", k, n)
		case probe.KindLogin:
			what = fmt.Sprintf("sign-in counts failures: the %d existing accounts will receive about %d failed sign-ins (the target may lock them or alert their owners)", k, n)
		default:
			what = fmt.Sprintf("the %d existing accounts will receive about %d requests: on a sign-in each counts as a failure (the target may lock them), on a sign-up or recovery each may send a mail (--kind says which)", k, n)
		}
		fmt.Fprintf(w, "veil probe: %s: %s", t.Where(), what)
		if t.OnFirstContact() && t.Kind != probe.KindSignup {
			fmt.Fprintf(w, "; %d identifiers new to the target will be sent (each may be registered: an account, an invitation, a mail)", probe.FreshIdentifiers(p))
		}
		fmt.Fprintln(w)
	}
}

// isTerminal reports whether w is a terminal: the progress line, redrawn
// with carriage returns, is for people watching, not for logs.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progressBar draws on a terminal for runs that last: nothing in the first
// two seconds, then at most four updates a second, with the time left at
// the rate so far.
type progressBar struct {
	mu    sync.Mutex
	w     io.Writer
	off   bool
	now   func() time.Time
	start time.Time
	last  time.Time
	drawn bool
}

func newProgressBar(w io.Writer, off bool) *progressBar {
	return &progressBar{w: w, off: off, now: time.Now, start: time.Now()}
}

func (b *progressBar) update(done, total int) {
	if b.off {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if now.Sub(b.start) < 2*time.Second || now.Sub(b.last) < 250*time.Millisecond && done < total {
		return
	}
	b.last, b.drawn = now, true
	const width = 30
	filled := width * done / max(total, 1)
	left := "—"
	if done > 0 {
		eta := time.Duration(float64(now.Sub(b.start)) * float64(total-done) / float64(done)).Round(time.Second)
		left = fmt.Sprintf("%d:%02d", int(eta.Minutes()), int(eta.Seconds())%60)
	}
	fmt.Fprintf(b.w, "\r[%s%s] %d/%d requests, %s left ", strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total, left)
}

func (b *progressBar) finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.drawn {
		fmt.Fprintln(b.w)
		b.drawn = false
	}
	b.start = b.now() // a plan's next probe starts its own quiet period
}
