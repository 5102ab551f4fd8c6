package probe

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
)

// The JSON structure channel compares answers field by field rather than
// whole: a body that carries a fresh nonce or a counter differs on every
// request, so no whole body is ever seen twice and the body channel cannot
// tell the classes apart — yet a field present for one class only
// (remainingAttempts, lockedReason, failedUsername, errorCode) or a value
// only one class gets is as plain to an attacker as a different message.

// notJSON is the structure of an answer whose body is not JSON.
const notJSON = "(not JSON)"

// maxStructureValue is the longest scalar value compared as a value; longer
// ones (documents, HTML in a field) are compared by presence and type only.
const maxStructureValue = 64

// volatileField matches a JSON member whose value changes on every request
// by its name (request and trace ids, nonces, timestamps); the value is
// scrubbed and the name kept, so its presence is still compared.
var volatileField = regexp.MustCompile(`("(?:` + volatileNames + `)"\s*:\s*)("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?)`)

const volatileNames = `request_?id|requestId|trace_?id|traceId|correlation_?id|correlationId|nonce|timestamp|ts|time|` +
	`issued_at|expires_at|created_at|updated_at|authenticated_at|issuedAt|expiresAt|createdAt|updatedAt`

// volatileName matches the last part of a path whose value changes on
// every request.
var volatileName = regexp.MustCompile(`(^|\.)(` + volatileNames + `)$`)

// epochTime matches Unix times in seconds or milliseconds between 2017 and
// 2033 standing alone: as bare numbers they are timestamps far more often
// than anything else.
var epochTime = regexp.MustCompile(`\b1[5-9]\d{8}(?:\d{3})?\b`)

// scrubVolatile blanks the values of volatile fields and Unix times.
func scrubVolatile(s string) string {
	s = volatileField.ReplaceAllString(s, `${1}"`+scrubMark+`"`)
	return epochTime.ReplaceAllLiteralString(s, scrubMark)
}

// jsonStructure describes a JSON body as the sorted set of its paths with
// their types ("ui.messages[].id: number") and of its short scalar values,
// scrubbed ("ui.messages[].id = 4000006"), one a line; notJSON for a body
// that is not JSON.
func (r *recorder) jsonStructure(body string) string {
	dec := json.NewDecoder(strings.NewReader(body))
	dec.UseNumber()
	var doc any
	if dec.Decode(&doc) != nil || dec.InputOffset() != int64(len(bytes.TrimRight([]byte(body), " \t\r\n"))) {
		return notJSON
	}
	lines := map[string]bool{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch node := v.(type) {
		case map[string]any:
			lines[path+": object"] = true
			for k, child := range node {
				p := k
				if path != "" {
					p = path + "." + k
				}
				walk(p, child)
			}
		case []any:
			lines[path+": array"] = true
			for _, child := range node {
				walk(path+"[]", child)
			}
		case string:
			lines[path+": string"] = true
			r.structureValue(lines, path, node)
		case json.Number:
			lines[path+": number"] = true
			r.structureValue(lines, path, node.String())
		case bool:
			lines[path+": bool"] = true
			r.structureValue(lines, path, fmt.Sprint(node))
		case nil:
			lines[path+": null"] = true
		}
	}
	walk("", doc)
	out := make([]string, 0, len(lines))
	for l := range lines {
		out = append(out, l)
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

func (r *recorder) structureValue(lines map[string]bool, path, value string) {
	if r.volatile && volatileName.MatchString(path) {
		return
	}
	if value = r.scrubbed(value); len(value) <= maxStructureValue && !strings.ContainsAny(value, "\n\r") {
		lines[path+" = "+value] = true
	}
}

// structureLine is how often one line of the structures was seen per class.
type structureLine struct {
	line            string
	exists, missing int
	p               float64
}

// analyzeStructure tests every field (and short value) of the JSON answers
// for presence in one class more than the other, with Fisher's exact test
// per line and Tarone's count of the lines that could reach significance:
// fields present in every answer, and values seen once (a nonce), cost
// nothing.
func analyzeStructure(s *Samples, alpha float64, lf []float64) Channel {
	ch := Channel{Name: contentNames[chStructure], Kind: "content", Alpha: alpha, P: 1}
	sigs, _, _ := countSignatures(s, chStructure)
	counts := map[string]*structureLine{}
	nE, nM, jsonAnswers, distinct := 0, 0, 0, 0
	for _, sc := range sigs {
		sig := s.sigs[chStructure][sc.sig]
		if strings.HasPrefix(sig, "error: ") {
			continue
		}
		distinct++
		nE, nM = nE+sc.exists, nM+sc.missng
		if sig != notJSON {
			jsonAnswers += sc.exists + sc.missng
		}
		for _, l := range strings.Split(sig, "\n") {
			c := counts[l]
			if c == nil {
				c = &structureLine{line: l}
				counts[l] = c
			}
			c.exists, c.missing = c.exists+sc.exists, c.missing+sc.missng
		}
	}
	ch.Signatures = distinct
	switch {
	case jsonAnswers == 0:
		ch.Summary = "no JSON answers"
		return ch
	case distinct == 1:
		ch.Summary = fmt.Sprintf("same fields and values in all %d answers", nE+nM)
		return ch
	}
	lines := make([]*structureLine, 0, len(counts))
	var minP []float64
	for _, c := range counts {
		h := newHypergeometric(nE+nM, c.exists+c.missing, nE, lf)
		c.p = h.twoSided(c.exists)
		minP = append(minP, h.minTwoSided())
		lines = append(lines, c)
	}
	sort.Slice(lines, func(i, j int) bool {
		if lines[i].p != lines[j].p {
			return lines[i].p < lines[j].p
		}
		// Equal evidence: show a field's presence before its value.
		vi, vj := strings.Contains(lines[i].line, " = "), strings.Contains(lines[j].line, " = ")
		if vi != vj {
			return vj
		}
		return lines[i].line < lines[j].line
	})
	best := lines[0]
	k := taroneCount(minP, alpha)
	ch.P = math.Min(1, best.p*float64(k))
	ch.Leak = ch.P <= alpha
	ch.Tests = []Test{{Name: "fisher-per-field", Statistic: float64(k), P: ch.P}}
	if !ch.Leak {
		ch.Summary = fmt.Sprintf("%d fields and values in %d JSON answers, each spread alike over both classes", len(lines), jsonAnswers)
		return ch
	}
	sign := "+"
	if float64(best.missing)/float64(max(nM, 1)) > float64(best.exists)/float64(max(nE, 1)) {
		sign = "-"
	}
	ch.Example = &Example{ExistsCount: best.exists, MissingCount: best.missing,
		Diff: fmt.Sprintf("%s %s\n  (in %d of %d answers for exists, %d of %d for missing)", sign, best.line, best.exists, nE, best.missing, nM)}
	if sign == "+" {
		ch.Example.Exists = best.line
	} else {
		ch.Example.Missing = best.line
	}
	ch.Summary = fmt.Sprintf("%q in %d of %d answers for exists, %d of %d for missing", best.line, best.exists, nE, best.missing, nM)
	return ch
}
