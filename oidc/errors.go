package oidc

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
)

// cleanErrors makes op's failures RFC 6749 answers that name no cause.
// Where op cannot send an error back to a client it writes the error as
// plain text, parent error included ("ErrorType=… Description=… Parent=…"),
// and a server_error is a 500: here the first becomes a JSON error with the
// type and description only, and the second the one 503 with Retry-After
// that every outage gets. So does any error answer of a request during
// which the store failed: op wraps some storage errors in client errors
// of its own (a failed code lookup becomes invalid_grant), which would tell
// a client to give up on a code that is fine.
func cleanErrors(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !parseParams(w, r) {
			return
		}
		faulted, ok := r.Context().Value(faultKey{}).(*atomic.Bool)
		if !ok {
			faulted = new(atomic.Bool)
			r = r.WithContext(context.WithValue(r.Context(), faultKey{}, faulted))
		}
		cw := &cleanWriter{w: w, faulted: faulted}
		h.ServeHTTP(cw, r)
		cw.finish()
	})
}

// faultKey is the context key of the flag storage.fault sets: one per
// request, made by whichever of cleanErrors and inlineContinue sees the
// request first.
type faultKey struct{}

// errUnavailable is the error a client is sent back with when the store
// failed on the way to its code: temporarily_unavailable (RFC 6749,
// 4.1.2.1) tells it to try again later, where server_error would say that
// veil is broken. op has no constant for it. The same for every client and
// person, naming no cause.
func errUnavailable() *oidc.Error {
	return &oidc.Error{ErrorType: "temporarily_unavailable", Description: "The service is temporarily unavailable."}
}

// markFault records in ctx that the store failed during the request.
func markFault(ctx context.Context) {
	if f, ok := ctx.Value(faultKey{}).(*atomic.Bool); ok {
		f.Store(true)
	}
}

type cleanWriter struct {
	w       http.ResponseWriter
	status  int
	buf     bytes.Buffer
	faulted *atomic.Bool
}

func (c *cleanWriter) Header() http.Header { return c.w.Header() }

func (c *cleanWriter) WriteHeader(status int) {
	if c.status != 0 {
		return
	}
	c.status = status
	if status < 400 {
		c.w.WriteHeader(status)
	}
}

func (c *cleanWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.WriteHeader(http.StatusOK)
	}
	if c.status < 400 {
		return c.w.Write(b)
	}
	if c.buf.Len() < 64<<10 {
		c.buf.Write(b)
	}
	return len(b), nil
}

type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

func (c *cleanWriter) finish() {
	if c.status < 400 {
		return
	}
	var body errorBody
	isJSON := strings.HasPrefix(c.w.Header().Get("Content-Type"), "application/json")
	if !isJSON || json.Unmarshal(c.buf.Bytes(), &body) != nil || body.Error == "" {
		body = parsePlainError(strings.TrimSpace(c.buf.String()))
	}
	if body.Error == string(oidc.InvalidClient) {
		// op describes a wrong secret of a registered client otherwise
		// than a client_id nobody registered: one answer for both.
		body.Description = errUnknownClient.Description
	}
	status := c.status
	if status >= 500 || body.Error == "server_error" || c.faulted.Load() {
		status = http.StatusServiceUnavailable
		body = errorBody{Error: "temporarily_unavailable", Description: "The service is temporarily unavailable."}
		c.w.Header().Set("Retry-After", "5")
	}
	writeError(c.w, status, body)
}

// parseParams decodes r's query and form, or answers 400: parameters that
// do not decode are the client's fault, whatever op would make of them (it
// answers some with a server_error).
func parseParams(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxParamBytes)
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, errorBody{Error: "invalid_request", Description: "The parameters are malformed or too long."})
		return false
	}
	return true
}

// maxParamBytes bounds a request's parameters.
const maxParamBytes = 64 << 10

func writeError(w http.ResponseWriter, status int, body errorBody) {
	out, _ := json.Marshal(body)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(status)
	w.Write(out)
}

// parsePlainError reads op's plain-text error: "ErrorType=t
// Description=d Parent=p", or a bare description.
func parsePlainError(s string) errorBody {
	if i := strings.Index(s, " Parent="); i >= 0 {
		s = s[:i]
	}
	rest, ok := strings.CutPrefix(s, "ErrorType=")
	if !ok {
		if i := strings.Index(s, ": "); i >= 0 {
			s = s[:i] // a wrapped Go error: keep only its outermost words
		}
		return errorBody{Error: "invalid_request", Description: safeDescription(s)}
	}
	typ, desc, _ := strings.Cut(rest, " Description=")
	return errorBody{Error: safeDescription(typ), Description: safeDescription(desc)}
}

// safeDescription keeps a description to printable ASCII and 300 bytes.
func safeDescription(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r > '~' || r == '"' || r == '\\' {
			return -1
		}
		return r
	}, s)
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}
