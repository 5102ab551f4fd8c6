package probe

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/net/http/httpguts"
)

const (
	fieldIdentifier = "identifier"
	fieldPassword   = "password"
)

// Template is a request body or URL with {{identifier}} and {{password}}
// placeholders. Rendering escapes each value for where it lands: JSON string
// escaping for JSON bodies, form encoding for form bodies, path or query
// escaping in URLs. Placing a placeholder inside a JSON string is the
// template author's job: {"identifier":"{{identifier}}"}.
type Template struct {
	text  string
	parts []templatePart
}

type templatePart struct {
	literal string
	field   string // fieldIdentifier, fieldPassword, or "" for a literal
}

// ParseTemplate parses s. Any {{ … }} other than the two known placeholders,
// and any unclosed {{, is an error.
func ParseTemplate(s string) (*Template, error) {
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
		if name != fieldIdentifier && name != fieldPassword {
			return nil, fmt.Errorf("template: unknown placeholder {{%s}}; use {{identifier}} or {{password}}", name)
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

// RenderBody fills in the placeholders for a body of the given content type.
func (t *Template) RenderBody(contentType, identifier, password string) []byte {
	escape := bodyEscaper(contentType)
	var b strings.Builder
	for _, p := range t.parts {
		switch p.field {
		case "":
			b.WriteString(p.literal)
		case fieldIdentifier:
			b.WriteString(escape(identifier))
		case fieldPassword:
			b.WriteString(escape(password))
		}
	}
	return []byte(b.String())
}

// RenderURL fills in the placeholders of a URL: path-escaped before the
// first '?', query-escaped after it.
func (t *Template) RenderURL(identifier, password string) string {
	var b strings.Builder
	inQuery := false
	for _, p := range t.parts {
		value := identifier
		switch p.field {
		case "":
			b.WriteString(p.literal)
			inQuery = inQuery || strings.Contains(p.literal, "?")
			continue
		case fieldPassword:
			value = password
		}
		if inQuery {
			b.WriteString(url.QueryEscape(value))
		} else {
			b.WriteString(url.PathEscape(value))
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
