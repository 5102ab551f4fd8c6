package web_test

import (
	"html/template"
	"strconv"
	"strings"
	"testing"
)

// escapeTemplate escapes as the pages do, in text and in quoted attributes.
var escapeTemplate = template.Must(template.New("").Parse(`{{.}}`))

// typedMark stands for the typed address in an answer that echoes it.
const typedMark = "TYPED-ADDRESS"

// echoMasked returns a with the address typed into the request (as the
// page escapes it) replaced by typedMark, and Content-Length made that of
// the masked body, so that two answers to different typed addresses can
// be compared byte for byte everywhere else. The real Content-Length must
// be the body's: a length that differed for any other reason still shows.
func echoMasked(tb testing.TB, a answer, typed string) answer {
	tb.Helper()
	if cl := a.header.Get("Content-Length"); cl != "" && cl != strconv.Itoa(len(a.body)) {
		tb.Fatalf("Content-Length %s for a body of %d bytes", cl, len(a.body))
	}
	if typed == "" {
		return a
	}
	a.header = a.header.Clone()
	var escaped strings.Builder
	if err := escapeTemplate.Execute(&escaped, typed); err != nil {
		tb.Fatal(err)
	}
	a.body = strings.ReplaceAll(a.body, escaped.String(), typedMark)
	if a.header.Get("Content-Length") != "" {
		a.header.Set("Content-Length", strconv.Itoa(len(a.body)))
	}
	return a
}

// diffEchoing is diffAnswers for two answers that echo what was typed.
func diffEchoing(tb testing.TB, got answer, gotTyped string, want answer, wantTyped string) string {
	tb.Helper()
	return diffAnswers(echoMasked(tb, got, gotTyped), echoMasked(tb, want, wantTyped))
}
