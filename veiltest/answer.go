package veiltest

import (
	"io"
	"net/http"
	"testing"
)

// ReadAnswer reads the whole of res and returns what a client sees of it
// for a pair test: the status, the headers without Date (the one header
// that may differ between two answers), and the body. It closes the body.
func ReadAnswer(tb testing.TB, res *http.Response) (status int, header http.Header, body string) {
	tb.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatalf("reading the answer: %v", err)
	}
	header = res.Header.Clone()
	header.Del("Date")
	return res.StatusCode, header, string(b)
}
