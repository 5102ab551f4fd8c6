package probe

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
)

// WriteText writes the report for people: per target one line per channel
// with its verdict and figures, the example differences, then the verdict.
func (rep *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, r := range rep.Targets {
		contact := ""
		if r.FirstContact {
			contact = ", missing ones on first contact"
		}
		fmt.Fprintf(&b, "%s  (%s, n=%d per class, %d+%d identifiers%s, %d requests in %.1fs, %.0f/s, alpha %.2g)\n",
			r.Name, r.Mode, r.N, r.Identifiers[0], r.Identifiers[1], contact, r.Requests, r.Seconds, r.RequestsPerSecond, r.Alpha)
		for _, c := range r.Channels {
			verdict := "no leak"
			if c.Leak {
				verdict = "LEAK"
			}
			fmt.Fprintf(&b, "  %-28s %-8s p=%-9s %s\n", c.Name, verdict, fmtP(c.P), c.Summary)
			if c.Timing != nil {
				fmt.Fprintf(&b, "  %-28s %-8s %s; %s\n", "", "", testsLine(c.Tests), c.Timing.Box)
			}
			if c.Example != nil && c.Example.Diff != "" {
				b.WriteString(indent(c.Example.Diff, "      "))
			}
		}
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "  note: %s\n", n)
		}
		fmt.Fprintf(&b, "  changed on the target: %s\n", r.Effects)
		b.WriteString("  " + r.verdict() + "\n")
		for _, remedy := range r.Remedies {
			fmt.Fprintf(&b, "    - %s\n", remedy)
		}
		b.WriteString("\n")
	}
	b.WriteString("verdict: " + rep.Verdict() + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// Verdict is the report's one-line outcome: "LEAK" when a conclusive run
// found one, else "inconclusive" when some target could not be measured,
// else "no leak found".
func (rep *Report) Verdict() string {
	switch {
	case rep.Leak:
		return "LEAK"
	case rep.Inconclusive:
		return "inconclusive"
	}
	return "no leak found"
}

func (r *Result) verdict() string {
	if r.Inconclusive != "" {
		return "INCONCLUSIVE: " + r.Inconclusive + "; to make the run conclusive:"
	}
	if r.Leak {
		return "LEAK: " + strings.Join(r.LeakingChannels(), ", ")
	}
	mdd := math.Inf(-1)
	for _, c := range r.Channels {
		if c.Timing != nil {
			mdd = math.Max(mdd, c.Timing.MinDetectable)
		}
		if c.Order != nil {
			return fmt.Sprintf("no leak found; a shift of %.1f points or more in how often existing accounts answer first would have been detected (80%% power)",
				100*c.Order.MinDetectable)
		}
	}
	return "no leak found; a constant timing difference of " + fmtNS(mdd) + " or more would have been detected (80% power)"
}

func testsLine(tests []Test) string {
	var parts []string
	for _, t := range tests {
		parts = append(parts, fmt.Sprintf("%s %.3g (p=%s)", t.Name, t.Statistic, fmtP(t.P)))
	}
	return strings.Join(parts, ", ")
}

// fmtP formats a p-value; below double precision it says so.
func fmtP(p float64) string {
	if p < 1e-300 {
		return "<1e-300"
	}
	return fmt.Sprintf("%.2g", p)
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return prefix + strings.Join(lines, "\n"+prefix) + "\n"
}

// WriteJSON writes the report machine-readably: {"leak": …, "alpha": …,
// "targets": [{…, "channels": [one entry per channel]}]}.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(jsonSafe(rep))
}

// jsonSafe replaces the infinities JSON cannot carry: an undetectable
// difference becomes -1.
func jsonSafe(rep *Report) *Report {
	out := *rep
	out.Targets = nil
	for _, r := range rep.Targets {
		rc := *r
		rc.Channels = append([]Channel(nil), r.Channels...)
		for i, c := range rc.Channels {
			if c.Timing != nil && math.IsInf(c.Timing.MinDetectable, 0) {
				t := *c.Timing
				t.MinDetectable = -1
				rc.Channels[i].Timing = &t
			}

		}
		out.Targets = append(out.Targets, &rc)
	}
	return &out
}
