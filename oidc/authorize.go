package oidc

import (
	"bytes"
	"context"
	"embed"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/veil-id/veil"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

//go:embed templates/*.html
var templateFiles embed.FS

var pageTemplate = template.Must(template.ParseFS(templateFiles, "templates/page.html"))

// pageCSP allows veil's stylesheet and forms to veil only.
const pageCSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

type pageData struct {
	Title, Error string
	// Continue is where the browser goes next (a meta refresh and a
	// link): after a form post, a redirect chain to the client would be
	// held by the form's form-action, which names veil alone.
	Continue   string
	Consent    bool
	ClientName string
	Scopes     []string
	RequestID  string
}

func (p *Provider) renderPage(w http.ResponseWriter, status int, d pageData) {
	var buf bytes.Buffer
	if err := pageTemplate.ExecuteTemplate(&buf, "page", d); err != nil {
		p.logger.Error("oidc: rendering a page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// requestError answers a sign-in request that cannot go back to its client.
func (p *Provider) requestError(w http.ResponseWriter, e *oidc.Error) {
	status := http.StatusBadRequest
	if e.ErrorType == oidc.ServerError {
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "5")
	}
	p.renderPage(w, status, pageData{Title: "Sign-in request", Error: e.Description})
}

// amrPassword is the amr of a sign-in with a password (RFC 8176).
var amrPassword = []string{"pwd"}

// singleQuery returns the one value of a query parameter, or "".
func singleQuery(r *http.Request, name string) string {
	v := r.URL.Query()[name]
	if len(v) != 1 || len(v[0]) > 128 {
		return ""
	}
	return v[0]
}

// continueAuth is where the sign-in page sends the browser back (and
// where op would send it with a new auth request, were it not for
// inlineContinue).
func (p *Provider) continueAuth(w http.ResponseWriter, r *http.Request) {
	ar, client, ok := p.findRequest(w, r, singleQuery(r, "id"))
	if !ok {
		return
	}
	p.proceed(w, r, ar, client, singleQuery(r, "from") == "login")
}

// proceed takes an auth request on: a browser whose session is fresh
// enough for it gets its code (after consent if needed), any other goes to
// /login, which returns to continueAuth.
func (p *Provider) proceed(w http.ResponseWriter, r *http.Request, ar *AuthRequest, client *Client, afterForm bool) {
	acct, sess, err := p.sessions.SignedIn(r)
	if veil.ErrorCode(err) == veil.EUNAVAILABLE {
		p.requestError(w, errorOf(p.storage.fault(r.Context(), "reading the session", err)))
		return
	}
	if err != nil || !p.answers(ar, client, acct, sess) {
		if slices.Contains(ar.Prompt, oidc.PromptNone) {
			p.toClient(w, r, ar, oidc.ErrLoginRequired().WithDescription("The person is not signed in."))
			return
		}
		back := p.issuer + pathContinue + "?" + url.Values{"id": {ar.ID}, "from": {"login"}}.Encode()
		http.Redirect(w, r, p.login+"?"+url.Values{"rd": {back}}.Encode(), http.StatusSeeOther)
		return
	}
	if !client.FirstParty {
		granted, err := p.storage.store.FindConsent(r.Context(), acct.ID, client.ID)
		if err != nil {
			p.requestError(w, errorOf(p.storage.fault(r.Context(), "finding consent", err)))
			return
		}
		if !scopesCovered(granted, ar.Scopes) || slices.Contains(ar.Prompt, oidc.PromptConsent) {
			if slices.Contains(ar.Prompt, oidc.PromptNone) {
				p.toClient(w, r, ar, &oidc.Error{ErrorType: "consent_required", Description: "The person has not consented."})
				return
			}
			p.renderPage(w, http.StatusOK, pageData{Title: "Allow " + client.Name + "?", Consent: true, ClientName: client.Name, Scopes: ar.Scopes, RequestID: ar.ID})
			return
		}
	}
	p.complete(w, r, ar, client, acct, sess, afterForm)
}

// findRequest loads a live auth request and its client, or answers.
func (p *Provider) findRequest(w http.ResponseWriter, r *http.Request, id string) (*AuthRequest, *Client, bool) {
	if id == "" {
		p.requestError(w, errRequestGone)
		return nil, nil, false
	}
	ar, err := p.storage.store.FindAuthRequest(r.Context(), id)
	if veil.ErrorCode(err) == veil.ENOTFOUND || err == nil && (!p.now().Before(ar.ExpiresAt) || ar.Done) {
		p.requestError(w, errRequestGone)
		return nil, nil, false
	} else if err != nil {
		p.requestError(w, errorOf(p.storage.fault(r.Context(), "finding an auth request", err)))
		return nil, nil, false
	}
	client, err := p.storage.findClient(r.Context(), ar.ClientID)
	if err != nil {
		p.requestError(w, errRequestGone)
		return nil, nil, false
	}
	return ar, client, true
}

// answers reports whether a signed-in session may answer a request: it
// is fresh enough, and with prompt=none it is the person an id_token_hint
// names (without prompt=none a sign-in as someone else is what happens).
func (p *Provider) answers(ar *AuthRequest, client *Client, acct *veil.Account, sess *veil.Session) bool {
	if !p.fresh(ar, sess) {
		return false
	}
	return !slices.Contains(ar.Prompt, oidc.PromptNone) || ar.HintSubject == "" || ar.HintSubject == p.storage.subject(client, acct.ID)
}

// fresh reports whether a session may answer a request: one started after
// the request was made always may (that is the sign-in it asked for);
// an older one only within max_age (prompt=login makes max_age 0).
func (p *Provider) fresh(ar *AuthRequest, sess *veil.Session) bool {
	if sess == nil {
		return false
	}
	if !sess.CreatedAt.Before(ar.CreatedAt) {
		return true
	}
	if ar.MaxAge < 0 {
		return true
	}
	return p.now().Sub(sess.CreatedAt) <= time.Duration(ar.MaxAge)*time.Second
}

// complete gives the request its code and sends the browser back to the
// client: op makes the code, and SaveAuthCode records it with who signed
// in, in one write. After a form post the browser goes on from a page,
// not a redirect: a redirect chain to the client would be held by the
// sign-in form's form-action, which names veil alone.
func (p *Provider) complete(w http.ResponseWriter, r *http.Request, ar *AuthRequest, client *Client, acct *veil.Account, sess *veil.Session, afterForm bool) {
	done := *ar
	done.AccountID, done.AuthTime, done.AMR, done.Done = acct.ID, sess.CreatedAt, amrPassword, true
	a := &authRequest{r: &done, subject: p.storage.subject(client, acct.ID)}
	r = r.WithContext(context.WithValue(r.Context(), completionKey{}, &completion{accountID: acct.ID, authTime: sess.CreatedAt, amr: amrPassword}))
	if a.GetResponseMode() == oidc.ResponseModeFormPost {
		op.AuthResponseCode(w, r, a, p.op)
		return
	}
	next, err := op.BuildAuthResponseCallbackURL(r.Context(), a, p.op)
	if err != nil {
		p.requestError(w, errorOf(err))
		return
	}
	if !afterForm {
		http.Redirect(w, r, next, http.StatusFound)
		return
	}
	p.renderPage(w, http.StatusOK, pageData{Title: "Signed in", Continue: next})
}

// inlineContinue runs op's authorization endpoint and, where op would
// send the browser to its login URL with the request it just stored,
// takes the request on at once: one redirect and one read fewer.
//
// Where the store fails on the way (storing the request, reading the
// session, the consent, the signing keys, saving the code), the browser
// goes back to the client with temporarily_unavailable (errUnavailable),
// whatever op or proceed would have answered: op calls it server_error, or
// login_required when the keys that check an id_token_hint cannot be read.
// That needs a redirect URI checked against the client: one op sent the
// browser to, or the stored request's. A client the store cannot find has
// none, and keeps cleanErrors' 503.
func (p *Provider) inlineContinue(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		created, faulted := &createdRequest{}, new(atomic.Bool)
		ctx := context.WithValue(r.Context(), createdKey{}, created)
		r = r.WithContext(context.WithValue(ctx, faultKey{}, faulted))
		aw := &authorizeWriter{w: w, created: created, faulted: faulted, header: http.Header{}}
		h.ServeHTTP(aw, r)
		if aw.caught {
			aw = &authorizeWriter{w: w, faulted: faulted, header: http.Header{}}
			p.proceed(aw, r, created.r, created.client, false)
		}
		if !aw.held {
			return
		}
		if checked := created.r != nil || aw.status/100 == 3; checked {
			if ar, err := op.ParseAuthorizeRequest(r, p.op.Decoder()); err == nil {
				op.AuthRequestError(w, r, ar, errUnavailable(), p.op)
				return
			}
		}
		aw.flush()
	})
}

// createdRequest is the auth request CreateAuthRequest stored, with its
// client, for inlineContinue.
type createdRequest struct {
	r      *AuthRequest
	client *Client
}

type createdKey struct{}

// authorizeWriter stands between the authorization endpoint and the
// browser. It holds back op's redirect to the login URL of the request op
// created (caught), and any answer begun after the store failed (held),
// which inlineContinue replaces; everything else goes through. Headers are
// its own until the answer goes through, so that a held answer leaves none
// behind.
type authorizeWriter struct {
	w       http.ResponseWriter
	created *createdRequest // nil: nothing to catch
	faulted *atomic.Bool
	header  http.Header
	status  int
	caught  bool
	held    bool
	body    bytes.Buffer // a held answer's, for flush
}

func (a *authorizeWriter) Header() http.Header { return a.header }

func (a *authorizeWriter) WriteHeader(status int) {
	if a.status != 0 {
		return
	}
	a.status = status
	switch {
	case a.created != nil && a.created.r != nil && status == http.StatusFound &&
		a.header.Get("Location") == pathContinue+"?id="+url.QueryEscape(a.created.r.ID):
		a.caught = true
	case a.faulted.Load():
		a.held = true
	default:
		a.pass()
		a.w.WriteHeader(status)
	}
}

func (a *authorizeWriter) Write(b []byte) (int, error) {
	if a.status == 0 {
		a.WriteHeader(http.StatusOK)
	}
	switch {
	case a.caught:
		return len(b), nil
	case a.held:
		if a.body.Len() < 64<<10 {
			a.body.Write(b)
		}
		return len(b), nil
	}
	return a.w.Write(b)
}

// pass copies the answer's headers to the browser's.
func (a *authorizeWriter) pass() {
	h := a.w.Header()
	for k, v := range a.header {
		h[k] = v
	}
}

// flush sends a held answer as it was written.
func (a *authorizeWriter) flush() {
	a.pass()
	a.w.WriteHeader(a.status)
	a.w.Write(a.body.Bytes())
}

// toClient sends an error back to the client's (checked) redirect URI.
func (p *Provider) toClient(w http.ResponseWriter, r *http.Request, ar *AuthRequest, e *oidc.Error) {
	op.AuthRequestError(w, r, &authRequest{r: ar}, e, p.op)
}

// consent takes the consent form: allow records the scopes and goes on,
// deny sends access_denied to the client.
func (p *Provider) consent(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil || len(r.PostForm["id"]) != 1 || len(r.PostForm["decision"]) != 1 {
		p.requestError(w, oidc.ErrInvalidRequest().WithDescription("The consent form is malformed."))
		return
	}
	ar, client, ok := p.findRequest(w, r, r.PostForm.Get("id"))
	if !ok {
		return
	}
	acct, sess, err := p.sessions.SignedIn(r)
	if veil.ErrorCode(err) == veil.EUNAVAILABLE {
		p.requestError(w, errorOf(p.storage.fault(r.Context(), "reading the session", err)))
		return
	} else if err != nil || !p.fresh(ar, sess) {
		p.requestError(w, oidc.ErrLoginRequired().WithDescription("You are no longer signed in; start again from the application."))
		return
	}
	switch r.PostForm.Get("decision") {
	case "allow":
		if err := p.storage.store.SaveConsent(r.Context(), acct.ID, client.ID, ar.Scopes, p.now()); err != nil {
			p.requestError(w, errorOf(p.storage.fault(r.Context(), "saving consent", err)))
			return
		}
		p.complete(w, r, ar, client, acct, sess, true)
	case "deny":
		e := oidc.ErrAccessDenied().WithDescription("The person did not allow it.")
		e.State = ar.State
		next, err := op.AuthResponseURL(ar.RedirectURI, oidc.ResponseType(ar.ResponseType), oidc.ResponseMode(ar.ResponseMode), e, p.op.Encoder())
		if err != nil {
			p.requestError(w, errRequestGone)
			return
		}
		_ = p.storage.store.DeleteAuthRequest(r.Context(), ar.ID)
		p.renderPage(w, http.StatusOK, pageData{Title: "Not allowed", Continue: next})
	default:
		p.requestError(w, oidc.ErrInvalidRequest().WithDescription("The consent form is malformed."))
	}
}
