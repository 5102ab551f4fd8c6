package probe

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestECDFLabelsInside shows every tick label of the timing chart drawn
// inside the picture, the last one included: at font-size 11 a character
// is at most about 7 units wide.
func TestECDFLabelsInside(t *testing.T) {
	var times []float64
	var isExists []bool
	for i := range 200 {
		times = append(times, 1e6+float64(i)*123456.7) // up to about 25.6ms: long labels
		isExists = append(isExists, i%2 == 0)
	}
	svg := string(ecdfSVG(times, isExists))
	width, _ := strconv.ParseFloat(regexp.MustCompile(`viewBox="0 0 ([0-9.]+) `).FindStringSubmatch(svg)[1], 64)
	labels := regexp.MustCompile(`<text x="([0-9.]+)" y="[0-9.]+" text-anchor="(start|middle|end)">([^<]*)</text>`).FindAllStringSubmatch(svg, -1)
	if len(labels) != 10 {
		t.Fatalf("%d axis labels, want 10 (5 per axis):\n%s", len(labels), svg)
	}
	for _, l := range labels {
		x, _ := strconv.ParseFloat(l[1], 64)
		w := 7 * float64(utf8.RuneCountInString(l[3]))
		lo := map[string]float64{"start": x, "middle": x - w/2, "end": x - w}[l[2]]
		if hi := lo + w; lo < 0 || hi > width {
			t.Errorf("label %q spans [%.0f, %.0f], outside [0, %.0f]", l[3], lo, lo+w, width)
		}
	}
}

// TestAccuracyNote shows an attacker accuracy well above 50% beside "no
// leak" explained, and none where the channel leaks or the accuracy is a
// coin's.
func TestAccuracyNote(t *testing.T) {
	ch := func(leak bool, acc float64) Channel {
		return Channel{Name: "time to first byte", Leak: leak, Alpha: 0.001, Timing: &TimingFigures{Accuracy: acc, AccuracyP: 0.02}}
	}
	note := accuracyNote([]Channel{ch(false, 0.75)})
	for _, want := range []string{"75.0% on time to first byte", "50% is guessing", "p=0.02", "above the 0.00025 a leak needs"} {
		if !strings.Contains(note, want) {
			t.Errorf("accuracyNote = %q, want it to contain %q", note, want)
		}
	}
	if note := accuracyNote([]Channel{ch(true, 0.75), ch(false, 0.52)}); note != "" {
		t.Errorf("accuracyNote of a leak and a coin = %q, want none", note)
	}
}
