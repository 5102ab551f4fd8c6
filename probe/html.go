package probe

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
)

// WriteHTML writes a self-contained page: the verdicts, the example
// differences, and the empirical distribution functions of both classes'
// times drawn as inline SVG. It loads nothing from anywhere.
func (rep *Report) WriteHTML(w io.Writer) error {
	type channelView struct {
		Channel
		Verdict, P string
		Plot       template.HTML
	}
	type targetView struct {
		*Result
		Verdict  string
		Channels []channelView
	}
	var targets []targetView
	for _, r := range rep.Targets {
		tv := targetView{Result: r, Verdict: r.verdict()}
		for i, c := range r.Channels {
			cv := channelView{Channel: c, Verdict: "no leak", P: fmtP(c.P)}
			if c.Leak {
				cv.Verdict = "LEAK"
			}
			if c.Timing != nil && r.samples != nil {
				times, isExists := r.samples.times()
				cv.Plot = ecdfSVG(times[i-numContent], isExists)
			}
			tv.Channels = append(tv.Channels, cv)
		}
		targets = append(targets, tv)
	}
	return htmlPage.Execute(w, struct {
		*Report
		Targets []targetView
	}{rep, targets})
}

var htmlPage = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>veil probe report</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}td,th{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
.leak{color:#b00020;font-weight:bold}.ok{color:#1b5e20}pre{background:#f6f6f6;padding:.6rem;overflow-x:auto;font-size:13px}
.verdict{font-size:1.3rem;margin:1rem 0}svg{max-width:100%;height:auto}
</style></head><body>
<h1>veil probe report</h1>
<p class="verdict">{{if .Leak}}<span class="leak">LEAK</span>{{else if .Inconclusive}}<span class="leak">Inconclusive</span>{{else}}<span class="ok">No leak found</span>{{end}}
 <small>(family-wise false-positive rate {{.Alpha}})</small></p>
{{range .Targets}}<h2>{{.Name}}</h2>
<p>{{.Mode}} mode, n={{.N}} per class, {{.Requests}} requests in {{printf "%.1f" .Seconds}} s.
<span class="{{if or .Leak .Inconclusive}}leak{{else}}ok{{end}}">{{.Verdict}}</span></p>
<table><tr><th>channel</th><th>verdict</th><th>p</th><th>figures</th></tr>
{{range .Channels}}<tr><td>{{.Name}}</td><td class="{{if .Leak}}leak{{else}}ok{{end}}">{{.Verdict}}</td><td>{{.P}}</td><td>{{.Summary}}</td></tr>
{{end}}</table>
{{range .Channels}}{{if .Example}}<h3>{{.Name}}: smallest example difference</h3>
<p>seen {{.Example.ExistsCount}}× for existing and {{.Example.MissingCount}}× for missing accounts; “-” is missing, “+” is existing.</p>
<pre>{{.Example.Diff}}</pre>{{end}}{{if .Plot}}<h3>{{.Name}}</h3>{{.Plot}}
<p><small>{{.Timing.Box}}</small></p>{{end}}{{end}}
{{range .Notes}}<p><em>note:</em> {{.}}</p>{{end}}
{{if .Remedies}}<ul>{{range .Remedies}}<li>{{.}}</li>{{end}}</ul>{{end}}
<p><em>changed on the target:</em> {{.Effects}}</p>
{{end}}</body></html>
`))

// ecdfSVG draws the empirical distribution functions of both classes from
// the 0.5th to the 99th pooled percentile (the tails would flatten the
// interesting part).
func ecdfSVG(times []float64, isExists []bool) template.HTML {
	var x, y []float64
	for i, t := range times {
		if isExists[i] {
			x = append(x, t)
		} else {
			y = append(y, t)
		}
	}
	if len(x) == 0 || len(y) == 0 {
		return ""
	}
	pooled := sortedCopy(times)
	lo, hi := quantile(pooled, 0.005), quantile(pooled, 0.99)
	if hi <= lo {
		hi = lo + 1
	}
	const w, h, left, bottom = 640.0, 300.0, 60.0, 30.0
	px := func(v float64) float64 { return left + (w-left-10)*(math.Max(lo, math.Min(hi, v))-lo)/(hi-lo) }
	py := func(f float64) float64 { return 10 + (h-bottom-10)*(1-f) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %g %g" width="%g" height="%g" font-size="11">`, w, h, w, h)
	fmt.Fprintf(&b, `<rect x="%g" y="10" width="%g" height="%g" fill="none" stroke="#999"/>`, left, w-left-10, h-bottom-10)
	for _, f := range []float64{0, 0.25, 0.5, 0.75, 1} {
		fmt.Fprintf(&b, `<text x="%g" y="%.1f" text-anchor="end">%g</text>`, left-4, py(f)+4, f)
	}
	for i := 0; i <= 4; i++ {
		v := lo + float64(i)*(hi-lo)/4
		// The last label ends at its tick: centred, it would run past the
		// right edge and be clipped.
		anchor := "middle"
		if i == 4 {
			anchor = "end"
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%g" text-anchor="%s">%s</text>`, px(v), h-bottom+15, anchor, template.HTMLEscapeString(fmtNS(v)))
	}
	for k, s := range []struct {
		v            []float64
		color, label string
	}{{x, "#b00020", "exists"}, {y, "#1565c0", "missing"}} {
		b.WriteString(ecdfPath(sortedCopy(s.v), px, py, s.color))
		fmt.Fprintf(&b, `<text x="%g" y="%g" fill="%s">%s (n=%d)</text>`, left+10, py(1)+14*float64(k+1), s.color, s.label, len(s.v))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// ecdfPath is the step function of one sorted sample, thinned to at most
// about 400 steps so large samples keep the page small.
func ecdfPath(s []float64, px func(float64) float64, py func(float64) float64, color string) string {
	var b strings.Builder
	step := max(1, len(s)/400)
	fmt.Fprintf(&b, `<path fill="none" stroke="%s" stroke-width="1.5" d="M%.1f %.1f`, color, px(s[0]), py(0))
	for i := 0; i < len(s); i += step {
		f := float64(i+1) / float64(len(s))
		fmt.Fprintf(&b, " H%.1f V%.1f", px(s[i]), py(f))
	}
	fmt.Fprintf(&b, ` H%.1f V%.1f"/>`, px(s[len(s)-1]), py(1))
	return b.String()
}
