package probe

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Preset is a ready-made target for one endpoint of a known server, relative
// to its base URL.
type Preset struct {
	Name  string
	Kind  string // KindLogin, KindSignup or KindRecover
	About string // what the base URL is, and what is sent
	build func(base string) (*Target, error)
}

// Presets are veil's own endpoints and those of other identity servers,
// each tested against a fake with the shape of the server's answers
// (probe/fakeidp).
var Presets = []Preset{
	{"login", KindLogin, "veil's base URL; POST /api/login with the identifier and a random password",
		jsonPreset("/api/login", LoginBody)},
	{"signup", KindSignup, "veil's base URL; POST /api/signup with the address alone, on first contact",
		jsonPreset("/api/signup", `{"email":"{{identifier}}"}`)},
	{"recover", KindRecover, "veil's base URL; POST /api/recover with the address alone",
		jsonPreset("/api/recover", `{"email":"{{identifier}}"}`)},
	{"authorize", KindLogin, "veil's base URL with its OpenID Provider on; POST /login form-encoded with a return URL to an authorization, as a browser an application sent there",
		authorizePreset},
	{"login-code", KindRecover, "veil's base URL; POST /api/login/code with the address alone (sign-in by mailed code)",
		jsonPreset("/api/login/code", `{"email":"{{identifier}}"}`)},
	{"login-code-confirm", KindLogin, "veil's base URL; POST /api/login/code/confirm with the address and a wrong code (counted like a failed sign-in)",
		jsonPreset("/api/login/code/confirm", `{"email":"{{identifier}}","code":"00000000"}`)},
	{"account-email", "", "veil's base URL; POST /api/account/email from a signed-in account (send its session cookie with --header and its password with --password): existing are addresses other accounts have, missing are free ones",
		jsonPreset("/api/account/email", `{"email":"{{identifier}}","password":"{{password}}"}`)},
	{"passkey", KindLogin, "veil's base URL; POST /api/passkey/login/options with the identifier (identifier-first passkey sign-in)",
		passkeyPreset},
	{"passkey-finish", KindLogin, "veil's base URL; fresh discoverable options for every request, then POST /api/passkey/login/finish with an assertion that cannot verify: identifiers are credential IDs (base64url), existing are registered passkeys' (whose authenticator the probe does not have)",
		passkeyFinishPreset},
	{"kratos-login", KindLogin, "Ory Kratos' public URL; a new API login flow for every request, then the password method",
		kratosPreset("login", `{"method":"password","identifier":"{{identifier}}","password":"{{password}}"}`)},
	{"kratos-registration", KindSignup, "Ory Kratos' public URL; a new API registration flow for every request, then the password method with the email trait, on first contact",
		kratosPreset("registration", `{"method":"password","traits":{"email":"{{identifier}}"},"password":"{{password}}"}`)},
	{"kratos-recovery", KindRecover, "Ory Kratos' public URL; a new API recovery flow for every request, then the code method",
		kratosPreset("recovery", `{"method":"code","email":"{{identifier}}"}`)},
	{"keycloak-login", KindLogin, "the realm's URL (https://host/realms/NAME); the account-console client's login page, fetched for every request, then its form with that page's cookies",
		keycloakPreset},
	{"gotrue-login", KindLogin, "GoTrue's URL (Supabase: https://PROJECT.supabase.co/auth/v1, with --header 'apikey: …'); POST /token?grant_type=password",
		jsonPreset("/token?grant_type=password", `{"email":"{{identifier}}","password":"{{password}}"}`)},
	{"gotrue-recover", KindRecover, "GoTrue's URL; POST /recover with the address",
		jsonPreset("/recover", `{"email":"{{identifier}}"}`)},
	{"authelia-login", KindLogin, "Authelia's URL; POST /api/firstfactor with the username",
		jsonPreset("/api/firstfactor", `{"username":"{{identifier}}","password":"{{password}}","keepMeLoggedIn":false}`)},
}

// PresetNames lists the presets' names.
func PresetNames() []string {
	var names []string
	for _, p := range Presets {
		names = append(names, p.Name)
	}
	return names
}

// PresetTarget returns the target of a preset at baseURL.
func PresetTarget(name, baseURL string) (*Target, error) {
	i := slices.IndexFunc(Presets, func(p Preset) bool { return p.Name == name })
	if i < 0 {
		return nil, fmt.Errorf("unknown preset %q: want one of %s", name, strings.Join(PresetNames(), ", "))
	}
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Contains(baseURL, "{{") {
		return nil, fmt.Errorf("preset %s: base URL %q is not an http(s) URL", name, baseURL)
	}
	p := Presets[i]
	t, err := p.build(strings.TrimRight(baseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("preset %s: %w", name, err)
	}
	t.Name, t.Preset, t.Kind = name, name, p.Kind
	// A sign-up registers what it is sent: measured twice, an address
	// would be compared registered with registered.
	t.FirstContact = p.Kind == KindSignup
	return t, nil
}

// jsonPreset is one JSON POST to base+path.
func jsonPreset(path, body string) func(string) (*Target, error) {
	return func(base string) (*Target, error) {
		return NewTarget(base+path, http.MethodPost, "application/json", body)
	}
}

// authorizeReturn is the return URL the authorize preset's sign-in
// carries: veil's own continuation of an OpenID Connect authorization.
const authorizeReturn = "/oidc/authorize/continue?id=probe&from=login"

// authorizePreset is veil's sign-in form as an OpenID Connect
// authorization sends a browser to it.
func authorizePreset(base string) (*Target, error) {
	return NewTarget(base+"/login", http.MethodPost, "application/x-www-form-urlencoded",
		"identifier={{identifier}}&password={{password}}&rd="+url.QueryEscape(base+authorizeReturn))
}

// passkeyPreset is veil's identifier-first passkey options: every identifier
// has its own credential IDs (its account's or its decoy), so their content
// is scrubbed and their count and lengths are compared (the length
// channel); the challenge is fresh each time (a long token, scrubbed by
// default).
func passkeyPreset(base string) (*Target, error) {
	t, err := NewTarget(base+"/api/passkey/login/options", http.MethodPost, "application/json", `{"identifier":"{{identifier}}"}`)
	if err != nil {
		return nil, err
	}
	// The body's IDs, and the same IDs as bare values where the JSON
	// structure channel compares them.
	t.Scrub = []*regexp.Regexp{regexp.MustCompile(`"id":"[A-Za-z0-9_-]+"`), regexp.MustCompile(`^[A-Za-z0-9_-]{16,}$`)}
	return t, nil
}

// passkeyFinishPreset is veil's passkey finish step, sent what a client
// without the authenticator can send: for the credential ID under test,
// an assertion answering a challenge veil gave out just before (so that
// it is spent and the credential is looked up), with a signature that
// cannot verify. The options asked for are discoverable, the same for
// every identifier; they are a step, and not compared.
func passkeyFinishPreset(base string) (*Target, error) {
	t, err := newTarget(base+"/api/passkey/login/finish", http.MethodPost, "application/json",
		`{"credential":{"id":"{{identifier}}","rawId":"{{identifier}}","type":"public-key","response":`+
			`{"clientDataJSON":"{{client_data}}","authenticatorData":"`+forgedAuthenticatorData(base)+`","signature":"`+
			base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{1}, 70))+`"}}}`, []string{"client_data"})
	if err != nil {
		return nil, err
	}
	options, err := ParseTemplate(base + "/api/passkey/login/options")
	if err != nil {
		return nil, err
	}
	body, err := ParseTemplate("{}")
	if err != nil {
		return nil, err
	}
	t.Steps = []*Step{{Method: http.MethodPost, URL: options, ContentType: "application/json", Body: body,
		Extract: []Extract{{Name: "client_data", JSON: "publicKey.challenge", Transform: func(challenge string) string {
			cd, _ := json.Marshal(map[string]string{"type": "webauthn.get", "challenge": challenge, "origin": base})
			return base64.RawURLEncoding.EncodeToString(cd)
		}}}}}
	return t, nil
}

// forgedAuthenticatorData is authenticator data for base's relying party
// (its host), user present and verified, counter 1: well formed, so that
// the finish step parses the assertion and goes on to its checks.
func forgedAuthenticatorData(base string) string {
	host := base
	if u, err := url.Parse(base); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	rp := sha256.Sum256([]byte(host))
	return base64.RawURLEncoding.EncodeToString(append(rp[:], 0x05, 0, 0, 0, 1))
}

// kratosPreset is an Ory Kratos self-service API flow: GET
// /self-service/FLOW/api creates a flow, whose id the submission names
// (https://www.ory.sh/docs/kratos/self-service, "API flows").
func kratosPreset(flow, body string) func(string) (*Target, error) {
	return func(base string) (*Target, error) {
		init, err := ParseTemplate(base + "/self-service/" + flow + "/api")
		if err != nil {
			return nil, err
		}
		t, err := newTarget(base+"/self-service/"+flow+"?flow={{flow}}", http.MethodPost, "application/json", body, []string{"flow"})
		if err != nil {
			return nil, err
		}
		t.Header.Set("Accept", "application/json")
		t.Steps = []*Step{{URL: init, Header: http.Header{"Accept": {"application/json"}},
			Extract: []Extract{{Name: "flow", JSON: "id"}}}}
		return t, nil
	}
}

// keycloakLoginForm finds the action of Keycloak's login form, in the
// keycloak and keycloak.v2 themes alike.
var keycloakLoginForm = regexp.MustCompile(`<form\b[^>]*\bid="kc-form-login"[^>]*\baction="([^"]*)"`)

// keycloakPreset is Keycloak's browser login: the authorization endpoint
// renders the login page and sets the authentication session's cookies;
// the form posts to a login-actions URL good for that session and tab.
// The session code, tab and execution in the re-rendered page's action
// change on every request and are scrubbed.
func keycloakPreset(realm string) (*Target, error) {
	auth, err := ParseTemplate(realm + "/protocol/openid-connect/auth?client_id=account-console&response_type=code&scope=openid&redirect_uri=" +
		url.QueryEscape(realm+"/account/"))
	if err != nil {
		return nil, err
	}
	t, err := newTarget("{{action}}", http.MethodPost, "application/x-www-form-urlencoded",
		"username={{identifier}}&password={{password}}&credentialId=", []string{"action"})
	if err != nil {
		return nil, err
	}
	t.Steps = []*Step{{URL: auth, KeepCookies: true, Extract: []Extract{{Name: "action", Regex: keycloakLoginForm}}}}
	t.Scrub = []*regexp.Regexp{regexp.MustCompile(`(session_code|tab_id|execution|client_data)=[^&"]*`)}
	return t, nil
}
