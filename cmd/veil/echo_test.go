package main

import (
	"html/template"
	"strconv"
	"strings"
	"testing"
)

// escapeTemplate escapes as the pages do.
var escapeTemplate = template.Must(template.New("").Parse(`{{.}}`))

// masked is a.String() with the address typed into the request (as the
// page escapes it) replaced by a mark and Content-Length made the masked
// body's: the pages put the typed address back (the input, the same for
// every account), so answers to two addresses compare equal everywhere
// else. The real Content-Length must be the body's.
func (a publicAnswer) masked(tb testing.TB, typed string) string {
	tb.Helper()
	if cl := a.header.Get("Content-Length"); cl != "" && cl != strconv.Itoa(len(a.body)) {
		tb.Fatalf("Content-Length %s for a body of %d bytes", cl, len(a.body))
	}
	var escaped strings.Builder
	if err := escapeTemplate.Execute(&escaped, typed); err != nil {
		tb.Fatal(err)
	}
	m := a
	m.header = a.header.Clone()
	m.body = strings.ReplaceAll(a.body, escaped.String(), "TYPED-ADDRESS")
	if m.header.Get("Content-Length") != "" {
		m.header.Set("Content-Length", strconv.Itoa(len(m.body)))
	}
	return m.String()
}
