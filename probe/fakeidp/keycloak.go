package fakeidp

import (
	"fmt"
	"html"
	"net/http"
	"strings"
	"sync"
	"time"
)

// KeycloakConfig configures the Keycloak fake.
type KeycloakConfig struct {
	Realm  string // "master" unless set
	Exists []string
	// Hash is how long checking a password takes. Keycloak runs a dummy
	// hash for unknown usernames, so both classes take it unless
	// NoDummyHash is set.
	Hash        time.Duration
	NoDummyHash bool
}

// Keycloak imitates Keycloak's browser login: GET
// /realms/R/protocol/openid-connect/auth renders the login page, sets
// AUTH_SESSION_ID and KC_RESTART and puts a session code, execution,
// client and tab id in the form's action
// (/realms/R/login-actions/authenticate?…); the form's POST without that
// session's cookie is 400 "Cookie not found", with a stale code 400 "Page
// has expired", and a wrong password re-renders the page with "Invalid
// username or password." and a new session code.
func Keycloak(cfg KeycloakConfig) http.Handler {
	if cfg.Realm == "" {
		cfg.Realm = "master"
	}
	kc := &keycloak{cfg: cfg, accounts: NewAccounts(cfg.Exists), sessions: map[string]*kcSession{}}
	prefix := "/realms/" + cfg.Realm
	return routes(map[string]http.HandlerFunc{"GET " + prefix + "/protocol/openid-connect/auth": kc.auth,
		"POST " + prefix + "/login-actions/authenticate": kc.authenticate})
}

type keycloak struct {
	cfg      KeycloakConfig
	accounts Accounts

	mu       sync.Mutex
	sessions map[string]*kcSession // by AUTH_SESSION_ID
}

type kcSession struct {
	tab, code, execution, client string
}

func (kc *keycloak) auth(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != "account-console" || q.Get("response_type") != "code" || !strings.HasSuffix(q.Get("redirect_uri"), "/realms/"+kc.cfg.Realm+"/account/") {
		kc.page(w, http.StatusBadRequest, "We are sorry...", `<p id="kc-error-message" class="instruction">Invalid parameter: redirect_uri</p>`)
		return
	}
	id := uuid() + "." + "keycloak-0"
	s := &kcSession{tab: randomString(11, base64URL), code: randomString(43, base64URL), execution: uuid(), client: "account-console"}
	kc.mu.Lock()
	kc.sessions[id] = s
	kc.mu.Unlock()
	path := "/realms/" + kc.cfg.Realm + "/"
	http.SetCookie(w, &http.Cookie{Name: "AUTH_SESSION_ID", Value: id, Path: path, HttpOnly: true, SameSite: http.SameSiteNoneMode, Secure: r.TLS != nil})
	http.SetCookie(w, &http.Cookie{Name: "KC_RESTART", Value: "eyJhbGciOiJIUzUxMiJ9." + randomString(420, base64URL), Path: path, HttpOnly: true})
	kc.loginPage(w, r, s, "", "")
}

func (kc *keycloak) authenticate(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie("AUTH_SESSION_ID")
	q := r.URL.Query()
	kc.mu.Lock()
	var s *kcSession
	if err == nil {
		s = kc.sessions[c.Value]
	}
	fresh := s != nil && q.Get("session_code") == s.code && q.Get("tab_id") == s.tab && q.Get("execution") == s.execution && q.Get("client_id") == s.client
	if fresh {
		s.code = randomString(43, base64URL) // a code is good for one action
	}
	kc.mu.Unlock()
	switch {
	case s == nil:
		kc.page(w, http.StatusBadRequest, "We are sorry...", `<p id="kc-error-message" class="instruction">Cookie not found. Please make sure cookies are enabled in your browser.</p>`)
		return
	case !fresh:
		kc.page(w, http.StatusBadRequest, "Page has expired", `<p id="instruction1" class="instruction">To restart the login process <a id="loginRestartLink" href="#">Click here</a>.</p>`)
		return
	}
	username := r.PostFormValue("username")
	if kc.accounts.has(username) || !kc.cfg.NoDummyHash {
		time.Sleep(kc.cfg.Hash)
	}
	kc.loginPage(w, r, s, username, "Invalid username or password.")
}

// loginPage renders the login form, with an error and the username typed
// when set.
func (kc *keycloak) loginPage(w http.ResponseWriter, r *http.Request, s *kcSession, username, errMsg string) {
	action := fmt.Sprintf("%s/realms/%s/login-actions/authenticate?session_code=%s&execution=%s&client_id=%s&tab_id=%s",
		baseURL(r), kc.cfg.Realm, s.code, s.execution, s.client, s.tab)
	var b strings.Builder
	if errMsg != "" {
		fmt.Fprintf(&b, `<div class="alert-error pf-m-danger"><span id="input-error" class="kc-feedback-text" aria-live="polite">%s</span></div>`, html.EscapeString(errMsg))
	}
	fmt.Fprintf(&b, `<form id="kc-form-login" class="pf-v5-c-form" onsubmit="login.disabled = true; return true;" action="%s" method="post" novalidate="novalidate">
<input tabindex="1" id="username" class="pf-v5-c-form-control" name="username" value="%s" type="text" autocomplete="username" autofocus aria-invalid="%v"/>
<input tabindex="2" id="password" class="pf-v5-c-form-control" name="password" type="password" autocomplete="current-password" aria-invalid="%v"/>
<input type="hidden" id="id-hidden-input" name="credentialId"/>
<button tabindex="4" class="pf-v5-c-button pf-m-primary pf-m-block" name="login" id="kc-login" type="submit">Sign In</button>
</form>`, html.EscapeString(action), html.EscapeString(username), errMsg != "", errMsg != "")
	kc.page(w, http.StatusOK, "Sign in to your account", b.String())
}

func (kc *keycloak) page(w http.ResponseWriter, status int, title, content string) {
	h := w.Header()
	h.Set("Content-Type", "text/html;charset=utf-8")
	h.Set("Cache-Control", "no-store, must-revalidate, max-age=0")
	h.Set("Content-Security-Policy", "frame-src 'self'; frame-ancestors 'self'; object-src 'none';")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<!DOCTYPE html>
<html class="login-pf" lang="en"><head><meta charset="utf-8"><title>Sign in to %s</title></head>
<body><div class="login-pf-page"><h1 id="kc-page-title">%s</h1>
%s
</div></body></html>
`, html.EscapeString(kc.cfg.Realm), html.EscapeString(title), content)
}
