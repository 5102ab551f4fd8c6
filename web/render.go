package web

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/veil-id/veil"
)

// publicError is how one error code is answered: its status and the name
// in the "error" field of the JSON body.
type publicError struct {
	status int
	name   string
}

// publicErrors is the one table that maps the domain's codes to HTTP. A
// route never renames a code: the name an answer carries is the code's,
// so every failure of one check answers alike on every route.
var publicErrors = map[string]publicError{
	veil.EINVALID:      {http.StatusBadRequest, "invalid_request"},
	veil.EINVALIDTOKEN: {http.StatusBadRequest, "invalid_token"},
	veil.EUNAUTHORIZED: {http.StatusUnauthorized, "invalid_credentials"},
	veil.EINVALIDCODE:  {http.StatusUnauthorized, "invalid_code"},
	veil.ENOSESSION:    {http.StatusUnauthorized, "unauthorized"},
	veil.ENOTFOUND:     {http.StatusNotFound, "not_found"},
	veil.ECONFLICT:     {http.StatusConflict, "conflict"},
	veil.EOVERLOADED:   {http.StatusServiceUnavailable, "overloaded"},
	veil.EUNAVAILABLE:  {http.StatusServiceUnavailable, "unavailable"},
	veil.ETHROTTLED:    {http.StatusTooManyRequests, "too_many_attempts"},
	veil.EINTERNAL:     {http.StatusInternalServerError, "internal_error"},
}

// retryAfterOverloaded is what an overloaded answer asks clients to wait.
// It is a constant: an answer computed from the queue would be one more
// channel.
const retryAfterOverloaded = 1

// errorFor returns the status, public name and message for err. Messages of
// internal errors are replaced: a cause must never reach a public answer.
func (s *Server) errorFor(r *http.Request, err error) (int, string, string) {
	code := veil.ErrorCode(err)
	pe, ok := publicErrors[code]
	if !ok || code == veil.EINTERNAL {
		s.logger.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		pe = publicErrors[veil.EINTERNAL]
		return pe.status, pe.name, "Something went wrong on our side. Please try again later."
	}
	if code == veil.EUNAVAILABLE {
		// Whichever dependency failed, and whether it failed or ran out
		// of time, the answer is one: its message is this constant.
		s.logger.WarnContext(r.Context(), "dependency unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		return pe.status, pe.name, unavailableMessage
	}
	return pe.status, pe.name, veil.ErrorMessage(err)
}

// unavailableMessage is the message of every EUNAVAILABLE answer.
const unavailableMessage = "This service is unavailable right now. Please try again in a moment."

// errorBody is the JSON body of every error answer.
type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
	// Challenge is a proof of work to solve before trying again (429), or
	// before the next attempt (401).
	Challenge *challengeBody `json:"challenge,omitempty"`
}

// writeAPIError answers err as JSON.
func (s *Server) writeAPIError(w http.ResponseWriter, r *http.Request, err error) {
	status, name, msg := s.errorFor(r, err)
	setRetryAfter(w.Header(), status, err)
	writeJSON(w, status, errorBody{Error: name, Message: msg, Challenge: challengeBodyOf(err)})
}

// writeJSON encodes v with a fixed content type and an exact length, so
// equal values always give equal bytes.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(true)
	if err := enc.Encode(v); err != nil {
		slog.Error("web: encoding JSON answer", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
