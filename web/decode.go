package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"unicode/utf8"

	"github.com/veil-id/veil"
)

// MaxBodyBytes bounds every request body. Larger bodies are refused before
// they are parsed.
const MaxBodyBytes = 16 << 10

// readBody reads at most MaxBodyBytes of a body whose media type must be
// want, and checks that it is UTF-8. Every failure is EINVALID with a message
// that depends only on the request.
func readBody(r *http.Request, want string) ([]byte, error) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil, veil.Errorf(veil.EINVALID, "The Content-Type header is required; send %s.", want)
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != want {
		return nil, veil.Errorf(veil.EINVALID, "The Content-Type must be %s.", want)
	}
	if cs, ok := params["charset"]; ok && !equalFoldASCII(cs, "utf-8") {
		return nil, veil.Errorf(veil.EINVALID, "The charset must be utf-8.")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return nil, veil.Errorf(veil.EINVALID, "The request body could not be read.")
	}
	if len(body) > MaxBodyBytes {
		return nil, veil.Errorf(veil.EINVALID, "The request body is larger than %d bytes.", MaxBodyBytes)
	}
	if !utf8.Valid(body) {
		return nil, veil.Errorf(veil.EINVALID, "The request body is not valid UTF-8.")
	}
	return body, nil
}

func equalFoldASCII(a, b string) bool {
	return len(a) == len(b) && bytes.EqualFold([]byte(a), []byte(b))
}

// decodeJSON decodes one JSON object into dst, refusing unknown fields and
// trailing data. dst's fields must be *string so a missing field can be told
// from an empty one.
func decodeJSON(r *http.Request, dst any) error {
	body, err := readBody(r, "application/json")
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return veil.Errorf(veil.EINVALID, "The request body must hold one JSON object and nothing after it.")
	}
	return nil
}

func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return veil.Errorf(veil.EINVALID, "The request body is not valid JSON (at byte %d).", syntax.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return veil.Errorf(veil.EINVALID, "The request body must be a JSON object.")
		}
		return veil.Errorf(veil.EINVALID, "The field %q must be a %s.", typ.Field, "string")
	case errors.Is(err, io.EOF):
		return veil.Errorf(veil.EINVALID, "The request body is empty; send a JSON object.")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return veil.Errorf(veil.EINVALID, "The request body is not valid JSON: it ends before the object is complete.")
	default:
		// json's message for an unknown field names the field the client
		// sent; nothing stored is in it.
		return veil.Errorf(veil.EINVALID, "The request body was not understood: %s.", trimJSONPrefix(err.Error()))
	}
}

func trimJSONPrefix(s string) string {
	const p = "json: "
	if len(s) > len(p) && s[:len(p)] == p {
		s = s[len(p):]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// form is a decoded application/x-www-form-urlencoded body, the one way
// the pages read what they are sent. Each field is sent at most once; err
// keeps the first problem met (a body that is no form, a field missing or
// repeated), so a form answers the first error in the order its handler
// reads the fields.
type form struct {
	vals url.Values
	err  error
}

// readForm decodes r's body with the same limits as JSON.
func readForm(r *http.Request) *form {
	body, err := readBody(r, "application/x-www-form-urlencoded")
	if err != nil {
		return &form{err: err}
	}
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return &form{err: veil.Errorf(veil.EINVALID, "The form could not be decoded.")}
	}
	return &form{vals: vals}
}

// field returns the single value of a field the form must have; nil, and
// the problem kept, when it is missing or repeated. A field that is sent
// right is returned even after an earlier problem, so a page can echo it.
func (f *form) field(name string) *string {
	v, err := formValue(f.vals, name)
	if err != nil {
		if f.err == nil {
			f.err = err
		}
		return nil
	}
	return &v
}

// optional is field for a field the form may leave out (nil then).
func (f *form) optional(name string) *string {
	if _, ok := f.vals[name]; !ok {
		return nil
	}
	return f.field(name)
}

// value is field as a string, "" when the field is not right.
func (f *form) value(name string) string {
	if v := f.field(name); v != nil {
		return *v
	}
	return ""
}

// decodeFormFields decodes a form and the named fields of it, each sent
// once, and a proof of work when the page carried a challenge.
func decodeFormFields(r *http.Request, fields []string) (url.Values, map[string]*string, error) {
	f := readForm(r)
	got := map[string]*string{}
	for _, name := range fields {
		if f.err != nil {
			break
		}
		got[name] = f.field(name)
	}
	if f.err == nil {
		if proof := f.optional("proof"); proof != nil {
			got["proof"] = proof
		}
	}
	return f.vals, got, f.err
}

// required returns the value of a decoded field, or EINVALID naming it.
func required(name string, v *string) (string, error) {
	if v == nil {
		return "", veil.Errorf(veil.EINVALID, "The field %q is required.", name)
	}
	return *v, nil
}

// formValue returns the single value of a form field, or EINVALID.
func formValue(vals url.Values, name string) (string, error) {
	vs, ok := vals[name]
	switch {
	case !ok:
		return "", veil.Errorf(veil.EINVALID, "The field %q is required.", name)
	case len(vs) > 1:
		return "", veil.Errorf(veil.EINVALID, "The field %q must be sent once.", name)
	}
	return vs[0], nil
}
