package probe

import (
	"context"
	"errors"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// The content channels: what of an answer, besides its timing, is compared.
const (
	chStatus = iota
	chHeaders
	chCookies
	chBody
	chLength
	chStructure
	numContent
)

var contentNames = [numContent]string{"status", "headers", "cookies", "body", "length", "json structure"}

// DefaultScrub are the patterns applied unless Target.NoDefaultScrub is set:
// values that change on every request in most applications. A scrubbed part
// still shows where it was, so its presence is still compared; its length
// is compared by the length channel.
var DefaultScrub = []*regexp.Regexp{
	// UUIDs (request ids, correlation ids).
	regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`),
	// RFC 3339 timestamps.
	regexp.MustCompile(`\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?`),
	// HTTP dates (Expires, Last-Modified).
	regexp.MustCompile(`(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT`),
	// Long tokens: CSRF tokens, nonces, signed values.
	regexp.MustCompile(`[A-Za-z0-9_\-+/]{32,}={0,2}`),
}

const (
	identifierMark = "{{identifier}}"
	scrubMark      = "{{scrubbed}}"
)

// answer is what came back for one request, before it is reduced to
// signatures.
type answer struct {
	status int
	header http.Header
	body   []byte
	err    error
}

// recorder reduces answers to one signature per content channel and interns
// the signatures, so a run keeps each distinct answer once.
type recorder struct {
	ignore    map[string]bool
	volatile  bool // blank volatile JSON fields and Unix times (default scrub)
	scrub     []*regexp.Regexp
	replacers map[string]*strings.Replacer

	mu   sync.Mutex
	ids  [numContent]map[string]int32
	sigs [numContent][]string
}

func newRecorder(t *Target) *recorder {
	r := &recorder{ignore: map[string]bool{"Date": true}, replacers: map[string]*strings.Replacer{}}
	for _, h := range t.IgnoreHeaders {
		r.ignore[http.CanonicalHeaderKey(h)] = true
	}
	if !t.NoDefaultScrub {
		r.scrub = append(r.scrub, DefaultScrub...)
		r.volatile = true
	}
	r.scrub = append(r.scrub, t.Scrub...)
	for _, id := range append(append([]string(nil), t.Exists...), t.Missing...) {
		r.replacers[id] = identifierReplacer(id)
	}
	for c := range r.ids {
		r.ids[c] = map[string]int32{}
	}
	return r
}

// identifierReplacer replaces the identifier, in every form an application
// is likely to echo it, with one mark: the classes use different identifiers,
// and an echo is not a leak.
func identifierReplacer(id string) *strings.Replacer { return maskReplacer(id, nil) }

// minMaskedVar is the shortest step value masked in answers: shorter ones
// (a "1", an "en") would be masked where they are not echoes.
const minMaskedVar = 6

// maskReplacer replaces the identifier, and the values steps produced for
// the request (a flow id, a CSRF token, an action URL — different for
// every request, and echoed by the answer), in every form an application
// is likely to echo them, with one mark each.
func maskReplacer(id string, vars map[string]string) *strings.Replacer {
	type mask struct{ form, mark string }
	var masks []mask
	add := func(v, mark string) {
		for _, f := range []string{v, jsonEscape(v), url.QueryEscape(v), url.PathEscape(v), html.EscapeString(v), strings.ToLower(v)} {
			masks = append(masks, mask{f, mark})
		}
	}
	add(id, identifierMark)
	for name, v := range vars {
		if len(v) >= minMaskedVar {
			add(v, "{{"+name+"}}")
		}
	}
	// Longest first: the replacer takes the first match at a position in
	// argument order.
	sort.SliceStable(masks, func(i, j int) bool { return len(masks[i].form) > len(masks[j].form) })
	var pairs []string
	seen := map[string]bool{}
	for _, m := range masks {
		if m.form != "" && !seen[m.form] {
			seen[m.form] = true
			pairs = append(pairs, m.form, m.mark)
		}
	}
	return strings.NewReplacer(pairs...)
}

// record reduces an answer to its interned signatures; vars are the values
// the steps produced for its request, masked like the identifier.
func (r *recorder) record(identifier string, vars map[string]string, a answer) [numContent]int32 {
	sigs := r.signatures(identifier, vars, a)
	var out [numContent]int32
	r.mu.Lock()
	defer r.mu.Unlock()
	for c, s := range sigs {
		id, ok := r.ids[c][s]
		if !ok {
			id = int32(len(r.sigs[c]))
			r.ids[c][s] = id
			r.sigs[c] = append(r.sigs[c], s)
		}
		out[c] = id
	}
	return out
}

func (r *recorder) signatures(identifier string, vars map[string]string, a answer) [numContent]string {
	if a.err != nil {
		kind := "error: " + errorKind(a.err)
		var se *StepError
		if errors.As(a.err, &se) {
			kind = "error: " + se.Error()
		}
		var out [numContent]string
		for c := range out {
			out[c] = kind
		}
		return out
	}
	rep := r.replacers[identifier]
	if rep == nil || len(vars) > 0 {
		rep = maskReplacer(identifier, vars)
	}
	body := rep.Replace(string(a.body))
	return [numContent]string{
		chStatus:    strconv.Itoa(a.status),
		chHeaders:   r.headerSignature(rep, a.header),
		chCookies:   r.cookieSignature(rep, a.header),
		chBody:      r.scrubbed(body),
		chLength:    strconv.Itoa(len(body)),
		chStructure: r.jsonStructure(body),
	}
}

func (r *recorder) scrubbed(s string) string {
	if r.volatile {
		s = scrubVolatile(s)
	}
	for _, re := range r.scrub {
		s = re.ReplaceAllLiteralString(s, scrubMark)
	}
	return s
}

// headerSignature lists the headers as "Name: value" lines, sorted, without
// the ignored ones, Set-Cookie (the cookies channel) and Content-Length (the
// length channel).
func (r *recorder) headerSignature(rep *strings.Replacer, h http.Header) string {
	var lines []string
	for name, values := range h {
		name = http.CanonicalHeaderKey(name)
		if r.ignore[name] || name == "Set-Cookie" || name == "Content-Length" {
			continue
		}
		for _, v := range values {
			lines = append(lines, name+": "+r.scrubbed(rep.Replace(v)))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// cookieSignature lists the cookies set, one a line: the name, every
// attribute, and the value's shape (length and character classes), since
// values are expected to differ between any two answers.
func (r *recorder) cookieSignature(rep *strings.Replacer, h http.Header) string {
	var lines []string
	for _, line := range h.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			lines = append(lines, "unparsable: "+r.scrubbed(rep.Replace(line)))
			continue
		}
		var b strings.Builder
		b.WriteString(c.Name + "=<" + valueShape(rep.Replace(c.Value)) + ">")
		attr := func(k, v string) {
			if v != "" {
				b.WriteString("; " + k + "=" + v)
			}
		}
		attr("Path", c.Path)
		attr("Domain", c.Domain)
		if c.MaxAge != 0 {
			attr("Max-Age", strconv.Itoa(c.MaxAge))
		}
		if !c.Expires.IsZero() {
			b.WriteString("; Expires")
		}
		attr("SameSite", sameSite(c.SameSite))
		for _, flag := range []struct {
			on   bool
			name string
		}{{c.Secure, "Secure"}, {c.HttpOnly, "HttpOnly"}, {c.Partitioned, "Partitioned"}} {
			if flag.on {
				b.WriteString("; " + flag.name)
			}
		}
		lines = append(lines, b.String())
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func sameSite(s http.SameSite) string {
	switch s {
	case http.SameSiteLaxMode:
		return "Lax"
	case http.SameSiteStrictMode:
		return "Strict"
	case http.SameSiteNoneMode:
		return "None"
	}
	return ""
}

// valueShape describes a cookie value without its content: "" for empty,
// otherwise its length and the classes of characters in it, e.g. "32 a0".
func valueShape(v string) string {
	if v == "" {
		return "empty"
	}
	if strings.Contains(v, identifierMark) {
		return "identifier"
	}
	var classes [4]bool // lower, upper, digit, other
	for _, c := range v {
		switch {
		case c >= 'a' && c <= 'z':
			classes[0] = true
		case c >= 'A' && c <= 'Z':
			classes[1] = true
		case c >= '0' && c <= '9':
			classes[2] = true
		default:
			classes[3] = true
		}
	}
	shape := strconv.Itoa(len(v)) + " "
	for i, mark := range []string{"a", "A", "0", "."} {
		if classes[i] {
			shape += mark
		}
	}
	return shape
}

// errorKind names a transport error without its addresses, which differ
// between any two errors.
func errorKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	}
	return "transport"
}
