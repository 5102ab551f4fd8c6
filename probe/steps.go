package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Step is a request sent before the measured one, whose answer fills
// placeholders of the requests after it: the flow id an Ory Kratos
// self-service flow is created with, the action URL and session cookie of
// a freshly fetched Keycloak login page, a form's CSRF token. A step is
// not measured and its answer is not compared, so it must not send the
// identifier: a request whose answer depends on it is the endpoint to
// measure (an identifier-first form's first page, for example).
type Step struct {
	Method          string    // GET unless set
	URL             *Template // may hold the placeholders of earlier steps
	ContentType     string
	Body            *Template // nil for none
	Header          http.Header
	HeaderTemplates []HeaderTemplate
	// Once runs the step a single time, before the warm-up, and gives its
	// values to every request; otherwise it runs before each request,
	// warm-up included (a flow id or CSRF token good for one use).
	Once bool
	// KeepCookies sends the cookies the step's answer sets with every
	// request after it in the same flow.
	KeepCookies bool
	Extract     []Extract
}

// Extract takes one value from a step's answer into the placeholder
// {{Name}}: a field of a JSON body (JSON, a dotted path: "id", "ui.action",
// "ui.nodes.0.attributes.value"), a header, a cookie, or the body itself;
// Regex, if set, then picks its first group (or whole match) from that
// value. On an HTML answer what Regex picks is HTML-unescaped, so an
// action="…&amp;…" attribute gives a URL.
type Extract struct {
	Name   string
	JSON   string
	Header string
	Cookie string
	Regex  *regexp.Regexp
	// Transform, if set, maps the value picked before it fills the
	// placeholder: for presets whose next request carries it re-encoded
	// (a WebAuthn client data, base64url JSON around a challenge). Plan
	// files cannot set it.
	Transform func(string) string
}

// HeaderTemplate is a request header whose value holds placeholders.
type HeaderTemplate struct {
	Name  string
	Value *Template
}

var varName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// StepVars are the placeholders the steps fill, in order.
func StepVars(steps []*Step) []string {
	var names []string
	for _, s := range steps {
		for _, e := range s.Extract {
			names = append(names, e.Name)
		}
	}
	return names
}

// validateSteps checks the steps of a target.
func (t *Target) validateSteps() error {
	seen := map[string]bool{}
	perRequest := false
	for i, s := range t.Steps {
		n := i + 1
		switch {
		case s == nil || s.URL == nil:
			return fmt.Errorf("step %d: no URL", n)
		case s.Once && perRequest:
			return fmt.Errorf("step %d: once-only steps come before the steps run for every request", n)
		case len(s.Extract) == 0 && !s.KeepCookies:
			return fmt.Errorf("step %d extracts nothing and keeps no cookies", n)
		case s.usesIdentifier():
			return fmt.Errorf("step %d sends {{identifier}}: a step's answer is not compared, so what it leaks would go unseen; measure that request as the endpoint", n)
		}
		perRequest = perRequest || !s.Once
		for _, e := range s.Extract {
			sources := b2i(e.JSON != "") + b2i(e.Header != "") + b2i(e.Cookie != "")
			switch {
			case !varName.MatchString(e.Name) || e.Name == fieldIdentifier || e.Name == fieldPassword || e.Name == "fresh":
				return fmt.Errorf("step %d: %q cannot name a placeholder: want lower-case letters, digits and _, not identifier, password or fresh", n, e.Name)
			case seen[e.Name]:
				return fmt.Errorf("step %d: placeholder {{%s}} is extracted twice", n, e.Name)
			case sources > 1:
				return fmt.Errorf("step %d: {{%s}}: take it from one of json, header or cookie", n, e.Name)
			case sources == 0 && e.Regex == nil:
				return fmt.Errorf("step %d: {{%s}}: say where it comes from (json, header, cookie or regex)", n, e.Name)
			}
			seen[e.Name] = true
		}
	}
	return nil
}

func (s *Step) usesIdentifier() bool {
	if s.URL.Has(fieldIdentifier) || s.Body != nil && s.Body.Has(fieldIdentifier) {
		return true
	}
	for _, h := range s.HeaderTemplates {
		if h.Value.Has(fieldIdentifier) {
			return true
		}
	}
	return false
}

// flow is what a target's steps produced for one request: placeholder
// values and cookies to send.
type flow struct {
	vars    map[string]string
	cookies []*http.Cookie
}

func (f flow) clone() flow {
	out := flow{vars: map[string]string{}, cookies: append([]*http.Cookie(nil), f.cookies...)}
	for k, v := range f.vars {
		out.vars[k] = v
	}
	return out
}

func (f *flow) keep(cookies []*http.Cookie) {
	for _, c := range cookies {
		f.cookies = slices.DeleteFunc(f.cookies, func(k *http.Cookie) bool { return k.Name == c.Name })
		if c.MaxAge >= 0 && c.Value != "" {
			f.cookies = append(f.cookies, &http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
}

// StepError is a step that failed: its answer was an error status, lacked
// a value to extract, or never came. Its message names the step and what
// went wrong, never a value, so that failures of many requests compare
// equal.
type StepError struct {
	Step int // 1-based
	What string
}

func (e *StepError) Error() string { return "step " + strconv.Itoa(e.Step) + ": " + e.What }

// runSteps sends the steps once (once) or for every request (!once) in
// order, each with what the ones before it produced, starting from f.
func (t *Target) runSteps(ctx context.Context, client *http.Client, f flow, once bool) (flow, error) {
	f = f.clone()
	for i, s := range t.Steps {
		if s.Once != once {
			continue
		}
		if err := s.run(ctx, client, &f, t.Password); err != nil {
			var se *StepError
			if errors.As(err, &se) {
				se.Step = i + 1
				return f, se
			}
			return f, &StepError{Step: i + 1, What: errorKind(err)}
		}
	}
	return f, nil
}

func (s *Step) run(ctx context.Context, client *http.Client, f *flow, password string) error {
	v := values{password: password, vars: f.vars}
	var body io.Reader
	if s.Body != nil {
		body = bytes.NewReader(s.Body.renderBody(s.ContentType, v))
	}
	method := s.Method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, s.URL.renderURL(v), body)
	if err != nil {
		return &StepError{What: "the URL does not parse"}
	}
	setHeaders(req, s.Header, s.HeaderTemplates, v, f.cookies)
	if s.Body != nil && s.ContentType != "" {
		req.Header.Set("Content-Type", s.ContentType)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	b, err := readBody(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode >= 400 {
		return &StepError{What: "answered " + strconv.Itoa(resp.StatusCode)}
	}
	if s.KeepCookies {
		f.keep(resp.Cookies())
	}
	for _, e := range s.Extract {
		value, ok := e.from(resp, b)
		if !ok {
			return &StepError{What: fmt.Sprintf("no {{%s}} in the answer (%s)", e.Name, e.describe())}
		}
		if e.Transform != nil {
			value = e.Transform(value)
		}
		f.vars[e.Name] = value
	}
	return nil
}

// setHeaders sets a request's headers: the fixed ones, the templated ones
// and the flow's cookies.
func setHeaders(req *http.Request, fixed http.Header, templates []HeaderTemplate, v values, cookies []*http.Cookie) {
	for k, vs := range fixed {
		if k == "Host" && len(vs) > 0 {
			req.Host = vs[0]
			continue
		}
		req.Header[k] = vs
	}
	for _, h := range templates {
		req.Header.Add(h.Name, h.Value.renderText(v))
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
}

func (e Extract) describe() string {
	var parts []string
	switch {
	case e.JSON != "":
		parts = append(parts, "json "+e.JSON)
	case e.Header != "":
		parts = append(parts, "header "+e.Header)
	case e.Cookie != "":
		parts = append(parts, "cookie "+e.Cookie)
	}
	if e.Regex != nil {
		parts = append(parts, "regex "+e.Regex.String())
	}
	return strings.Join(parts, ", ")
}

func (e Extract) from(resp *http.Response, body []byte) (string, bool) {
	value, ok := string(body), true
	switch {
	case e.JSON != "":
		value, ok = jsonPath(body, e.JSON)
	case e.Header != "":
		value = resp.Header.Get(e.Header)
		ok = value != ""
	case e.Cookie != "":
		ok = false
		for _, c := range resp.Cookies() {
			if c.Name == e.Cookie {
				value, ok = c.Value, true
			}
		}
	}
	if !ok {
		return "", false
	}
	if e.Regex == nil {
		return value, value != ""
	}
	m := e.Regex.FindStringSubmatch(value)
	if m == nil {
		return "", false
	}
	value = m[len(m)-1]
	if len(m) > 1 {
		value = m[1]
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "text/html" || mt == "application/xhtml+xml" {
		value = html.UnescapeString(value)
	}
	return value, value != ""
}

// jsonPath returns the value at a dotted path of a JSON document: a
// string as it is, any other value as JSON text.
func jsonPath(body []byte, path string) (string, bool) {
	var doc any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if dec.Decode(&doc) != nil {
		return "", false
	}
	for _, key := range strings.Split(path, ".") {
		switch node := doc.(type) {
		case map[string]any:
			v, ok := node[key]
			if !ok {
				return "", false
			}
			doc = v
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(node) {
				return "", false
			}
			doc = node[i]
		default:
			return "", false
		}
	}
	switch v := doc.(type) {
	case string:
		return v, true
	case nil:
		return "", false
	default:
		b, _ := json.Marshal(v)
		return string(b), true
	}
}
