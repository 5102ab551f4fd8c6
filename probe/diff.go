package probe

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	diffContext  = 32 // bytes shown around a change in one line
	diffMaxLines = 24 // lines shown of a multi-line diff
	lcsMaxCells  = 4 << 20
)

// compactDiff shows the smallest difference between bodies a and b: for
// one-line bodies (JSON) the changed span with a little context, for longer
// ones the changed lines ("-" only in a, "+" only in b) with one line of
// context, from a longest-common-subsequence alignment.
func compactDiff(a, b string) string {
	if a == b {
		return ""
	}
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	if len(al) == 1 && len(bl) == 1 || len(al)*len(bl) > lcsMaxCells {
		return spanDiff(a, b)
	}
	return lineDiff(al, bl)
}

// spanDiff trims the common prefix and suffix and shows what is left.
func spanDiff(a, b string) string {
	p := 0
	for p < len(a) && p < len(b) && a[p] == b[p] {
		p++
	}
	s := 0
	for s < len(a)-p && s < len(b)-p && a[len(a)-1-s] == b[len(b)-1-s] {
		s++
	}
	show := func(x string) string {
		lo, hi := max(0, p-diffContext), min(len(x), len(x)-s+diffContext)
		out := quoteIfNeeded(x[lo:hi])
		if lo > 0 {
			out = "…" + out
		}
		if hi < len(x) {
			out += "…"
		}
		return out
	}
	return "- " + show(a) + "\n+ " + show(b) + "\n  (first difference at byte " + strconv.Itoa(p) + ")"
}

// lineDiff aligns the lines with a longest common subsequence and prints
// the changes with one line of context, at most diffMaxLines lines.
func lineDiff(a, b []string) string {
	// lcs[i][j] is the LCS length of a[i:] and b[j:].
	lcs := make([][]int32, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int32, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type line struct {
		op   byte
		text string
	}
	var all []line
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			all = append(all, line{' ', a[i]})
			i, j = i+1, j+1
		case j < len(b) && (i == len(a) || lcs[i][j+1] >= lcs[i+1][j]):
			all = append(all, line{'+', b[j]})
			j++
		default:
			all = append(all, line{'-', a[i]})
			i++
		}
	}
	var out []string
	lastShown := -2
	for k, l := range all {
		near := l.op != ' ' || k > 0 && all[k-1].op != ' ' || k+1 < len(all) && all[k+1].op != ' '
		if !near {
			continue
		}
		if lastShown >= 0 && k > lastShown+1 {
			out = append(out, "  …")
		}
		out = append(out, string(l.op)+" "+truncate(l.text, 160))
		lastShown = k
	}
	if len(out) > diffMaxLines {
		out = append(out[:diffMaxLines], "  … ("+strconv.Itoa(len(out)-diffMaxLines)+" more lines)")
	}
	return strings.Join(out, "\n")
}

// quoteIfNeeded returns s as is when it is printable on one line, and
// Go-quoted otherwise.
func quoteIfNeeded(s string) string {
	for _, r := range s {
		if r == utf8.RuneError || r < ' ' || r == 0x7f || !unicode.IsPrint(r) && r != ' ' {
			return strconv.Quote(s)
		}
	}
	return s
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
