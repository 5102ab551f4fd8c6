package web

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/veil-id/veil"
)

// TestForm pins how the one form decoder reads fields: a missing or
// repeated field is EINVALID, the first problem in reading order wins,
// and a field sent right is returned even after an earlier problem.
func TestForm(t *testing.T) {
	read := func(body string) *form {
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return readForm(r)
	}
	f := read("a=1&b=2&b=3&d=4")
	if v := f.field("a"); v == nil || *v != "1" || f.err != nil {
		t.Fatalf("field(a) = %v, err %v; want 1", v, f.err)
	}
	if v := f.field("b"); v != nil || veil.ErrorMessage(f.err) != `The field "b" must be sent once.` {
		t.Fatalf("field(b) = %v, err %v; want nil and the repeated-field error", v, f.err)
	}
	if v := f.field("c"); v != nil || veil.ErrorMessage(f.err) != `The field "b" must be sent once.` {
		t.Errorf("field(c) after b = %v, err %v; want nil, and b's error kept", v, f.err)
	}
	if v := f.field("d"); v == nil || *v != "4" {
		t.Errorf("field(d) after an error = %v; want 4", v)
	}
	if v := f.optional("e"); v != nil {
		t.Errorf("optional(e) = %v; want nil", v)
	}
	g := read("x=1")
	if v := g.optional("missing"); v != nil || g.err != nil {
		t.Errorf("optional(missing) = %v, err %v; want nil, no error", v, g.err)
	}
	if got := g.value("missing"); got != "" || veil.ErrorCode(g.err) != veil.EINVALID {
		t.Errorf("value(missing) = %q, err %v; want \"\", EINVALID", got, g.err)
	}
	bad := httptest.NewRequest("POST", "/", strings.NewReader("a=%zz"))
	bad.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	h := readForm(bad)
	if v := h.field("a"); v != nil || veil.ErrorMessage(h.err) != "The form could not be decoded." {
		t.Errorf("a malformed body: field = %v, err %v; want the decoding error", v, h.err)
	}
}
