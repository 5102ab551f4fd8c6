package probe

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/net/http/httpguts"
)

const (
	fieldIdentifier = "identifier"
	fieldPassword   = "password"
)

// Template is a request body, URL or header value with {{identifier}} and
// {{password}} placeholders and, in a multi-step target, placeholders filled
// by earlier steps ({{flow}}, {{csrf}}: see Step). Rendering escapes the
// identifier and password for where they land: JSON string escaping for JSON
// bodies, form encoding for form bodies, path or query escaping in URLs.
// Values from steps are escaped in bodies the same way, but inserted as they
// are in URLs and headers: they are ids and URLs taken from the target's own
// answers, already in the form it wants them back. Placing a placeholder
// inside a JSON string is the template author's job:
// {"identifier":"{{identifier}}"}.
type Template struct {
	text  string
	parts []templatePart
}

type templatePart struct {
	literal string
	field   string // fieldIdentifier, fieldPassword, a step's variable, or "" for a literal
}

// values are what a template is rendered with.
type values struct {
	identifier, password string
	vars                 map[string]string // filled by steps
}

// ParseTemplate parses s. Any {{ … }} other than the two known placeholders,
// and any unclosed {{, is an error.
func ParseTemplate(s string) (*Template, error) { return ParseTemplateVars(s, nil) }

// ParseTemplateVars parses s, which may also use the placeholders vars
// (filled by earlier steps).
func ParseTemplateVars(s string, vars []string) (*Template, error) {
	t := &Template{text: s}
	rest := s
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			t.add(templatePart{literal: rest})
			return t, nil
		}
		t.add(templatePart{literal: rest[:i]})
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			return nil, fmt.Errorf("template: unclosed {{ at byte %d", len(s)-len(rest)+i)
		}
		name := strings.TrimSpace(rest[i+2 : i+j])
		if name != fieldIdentifier && name != fieldPassword && !slices.Contains(vars, name) {
			known := "{{identifier}} or {{password}}"
			if len(vars) > 0 {
				known = "{{identifier}}, {{password}} or {{" + strings.Join(vars, "}}, {{") + "}}"
			}
			return nil, fmt.Errorf("template: unknown placeholder {{%s}}; use %s", name, known)
		}
		t.add(templatePart{field: name})
		rest = rest[i+j+2:]
	}
}

func (t *Template) add(p templatePart) {
	if p.field == "" && p.literal == "" {
		return
	}
	t.parts = append(t.parts, p)
}

// String returns the template as written.
func (t *Template) String() string { return t.text }

// Has reports whether the template uses the placeholder field.
func (t *Template) Has(field string) bool {
	for _, p := range t.parts {
		if p.field == field {
			return true
		}
	}
	return false
}

// startsWithVar reports whether the template begins with a step's variable,
// as a URL taken whole from an answer does ("{{action}}").
func (t *Template) startsWithVar() bool {
	return len(t.parts) > 0 && t.parts[0].field != "" && t.parts[0].field != fieldIdentifier && t.parts[0].field != fieldPassword
}

func (v values) of(field string) string {
	switch field {
	case fieldIdentifier:
		return v.identifier
	case fieldPassword:
		return v.password
	}
	return v.vars[field]
}

// RenderBody fills in the placeholders for a body of the given content type.
func (t *Template) RenderBody(contentType, identifier, password string) []byte {
	return t.renderBody(contentType, values{identifier: identifier, password: password})
}

func (t *Template) renderBody(contentType string, v values) []byte {
	escape := bodyEscaper(contentType)
	var b strings.Builder
	for _, p := range t.parts {
		if p.field == "" {
			b.WriteString(p.literal)
		} else {
			b.WriteString(escape(v.of(p.field)))
		}
	}
	return []byte(b.String())
}

// RenderURL fills in the placeholders of a URL: path-escaped before the
// first '?', query-escaped after it.
func (t *Template) RenderURL(identifier, password string) string {
	return t.renderURL(values{identifier: identifier, password: password})
}

func (t *Template) renderURL(v values) string {
	var b strings.Builder
	inQuery := false
	for _, p := range t.parts {
		switch p.field {
		case "":
			b.WriteString(p.literal)
			inQuery = inQuery || strings.Contains(p.literal, "?")
		case fieldIdentifier, fieldPassword:
			if inQuery {
				b.WriteString(url.QueryEscape(v.of(p.field)))
			} else {
				b.WriteString(url.PathEscape(v.of(p.field)))
			}
		default:
			value := v.of(p.field)
			b.WriteString(value)
			inQuery = inQuery || strings.Contains(value, "?")
		}
	}
	return b.String()
}

// renderText fills in the placeholders of a header value, unescaped.
func (t *Template) renderText(v values) string {
	var b strings.Builder
	for _, p := range t.parts {
		if p.field == "" {
			b.WriteString(p.literal)
		} else {
			b.WriteString(v.of(p.field))
		}
	}
	return b.String()
}

// bodyEscaper returns how values are escaped in a body of this content type.
func bodyEscaper(contentType string) func(string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	switch {
	case err != nil:
		return func(s string) string { return s }
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return jsonEscape
	case mt == "application/x-www-form-urlencoded":
		return url.QueryEscape
	}
	return func(s string) string { return s }
}

// jsonEscape returns s as the inside of a JSON string literal.
func jsonEscape(s string) string {
	b, _ := json.Marshal(s) // a string always marshals; invalid UTF-8 becomes U+FFFD
	return string(b[1 : len(b)-1])
}

// ParseHeader parses a --header flag value, "Name: value".
func ParseHeader(s string) (name, value string, err error) {
	name, value, ok := strings.Cut(s, ":")
	if !ok {
		return "", "", fmt.Errorf("header %q: want 'Name: value'", s)
	}
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	if !httpguts.ValidHeaderFieldName(name) {
		return "", "", fmt.Errorf("header %q: invalid name", s)
	}
	if !httpguts.ValidHeaderFieldValue(value) {
		return "", "", fmt.Errorf("header %q: invalid value", s)
	}
	switch http.CanonicalHeaderKey(name) {
	case "Content-Length", "Transfer-Encoding", "Connection", "Upgrade", "Te", "Trailer", "Keep-Alive":
		return "", "", errors.New("header " + name + " is set by the probe itself")
	}
	return http.CanonicalHeaderKey(name), value, nil
}
