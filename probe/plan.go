package probe

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// LoginBody is veil's own sign-in body, the default template.
const LoginBody = `{"identifier":"{{identifier}}","password":"{{password}}"}`

// Presets are veil's own endpoints, relative to its base URL.
var Presets = map[string]struct{ Path, Body string }{
	"login":   {"/api/login", LoginBody},
	"signup":  {"/api/signup", `{"email":"{{identifier}}"}`}, // sign-up takes only the address
	"recover": {"/api/recover", `{"email":"{{identifier}}"}`},
	// Sign-in by mailed code: asking for one, and trying one (a wrong
	// code, counted like a failed sign-in).
	"login-code":         {"/api/login/code", `{"email":"{{identifier}}"}`},
	"login-code-confirm": {"/api/login/code/confirm", `{"email":"{{identifier}}","code":"00000000"}`},
	// An address change from a signed-in account (send its session cookie
	// with --header and its password with --password): exists are
	// addresses other accounts have, missing are free ones.
	"account-email": {"/api/account/email", `{"email":"{{identifier}}","password":"{{password}}"}`},
}

// PresetNames lists the presets, for messages.
const PresetNames = "login, signup, recover, login-code, login-code-confirm or account-email"

// PresetTarget returns the target for one of veil's endpoints.
func PresetTarget(name, baseURL string) (*Target, error) {
	p, ok := Presets[name]
	if !ok {
		return nil, fmt.Errorf("unknown preset %q: want %s", name, PresetNames)
	}
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("preset %s: base URL %q is not an http(s) URL", name, baseURL)
	}
	full, err := ParseTemplate(strings.TrimRight(baseURL, "/") + p.Path)
	if err != nil {
		return nil, err
	}
	body, _ := ParseTemplate(p.Body)
	// A sign-up registers what it is sent: measured twice, an address
	// would be compared registered with registered.
	return &Target{Name: name, Preset: name, URL: full, Method: http.MethodPost, ContentType: "application/json",
		Body: body, Header: http.Header{}, FirstContact: name == "signup"}, nil
}

// MissingFor makes identifiers that cannot have accounts, one per existing
// identifier: the same domain (an application may treat domains
// differently) and a random local part of the same length (at least 8
// characters, 36⁸ choices, so that it cannot collide with a real account),
// so the two classes differ in nothing but existence, not even in request
// length when the existing local parts are 8 characters or longer.
func MissingFor(exists []string) []string {
	var out []string
	for _, id := range exists {
		local, domain, ok := strings.Cut(id, "@")
		if ok {
			out = append(out, randomLetters(max(len(local), 8))+"@"+domain)
		} else {
			out = append(out, randomLetters(max(len(local), 8)))
		}
	}
	return out
}

// RandomPassword returns a password no account has: long, random, and
// mixed enough to pass any sign-up policy.
func RandomPassword() string {
	const chars = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 24)
	for i := range b {
		b[i] = chars[rand.IntN(len(chars))]
	}
	return "Pr0be-" + string(b) + "!"
}

// planFile is the TOML form of a plan. Top-level keys are defaults for
// every [[endpoint]].
type planFile struct {
	Alpha       float64        `toml:"alpha"`
	BaseURL     string         `toml:"base_url"`
	Exists      []string       `toml:"exists"`
	Missing     []string       `toml:"missing"`
	N           int            `toml:"n"`
	Warmup      *int           `toml:"warmup"` // 0 is no warm-up, not the default
	Rate        *float64       `toml:"rate"`
	Concurrency int            `toml:"concurrency"`
	Timeout     string         `toml:"timeout"`
	Pairs       bool           `toml:"pairs"`
	Insecure    bool           `toml:"insecure"`
	Endpoints   []planEndpoint `toml:"endpoint"`
	Headers     []string       `toml:"headers"`
	Scrub       []string       `toml:"scrub"`
	Ignore      []string       `toml:"ignore_headers"`
}

type planEndpoint struct {
	Name           string   `toml:"name"`
	Preset         string   `toml:"preset"`
	BaseURL        string   `toml:"base_url"`
	URL            string   `toml:"url"`
	Method         string   `toml:"method"`
	ContentType    string   `toml:"content_type"`
	Body           *string  `toml:"body"`
	Password       string   `toml:"password"`
	Headers        []string `toml:"headers"`
	Scrub          []string `toml:"scrub"`
	Ignore         []string `toml:"ignore_headers"`
	NoDefaultScrub bool     `toml:"no_default_scrub"`
	FirstContact   bool     `toml:"first_contact"`
	Exists         []string `toml:"exists"`
	Missing        []string `toml:"missing"`
	N              int      `toml:"n"`
	Pairs          *bool    `toml:"pairs"`
}

// ParsePlan reads a TOML plan file, for example:
//
//	base_url = "http://127.0.0.1:8080"
//	exists = ["alice@example.com", "bob@example.com"]
//	n = 2000
//	rate = 0
//
//	[[endpoint]]
//	preset = "login"
//
//	[[endpoint]]
//	name = "legacy form"
//	url = "http://127.0.0.1:8081/login"
//	content_type = "application/x-www-form-urlencoded"
//	body = "user={{identifier}}&pass={{password}}"
//	scrub = ['name="csrf" value="[^"]*"']
//
//	[[endpoint]]
//	name = "invitations"
//	url = "http://127.0.0.1:8081/invite"
//	body = '{"email":"{{identifier}}"}'
//	missing = ["probe-{{fresh}}@example.com"] # a new address every request
//
// Unknown keys are errors, so a typo cannot silently change a measurement.
func ParsePlan(r io.Reader) (*Plan, error) {
	src, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return nil, err
	}
	var f planFile
	md, err := toml.NewDecoder(bytes.NewReader(src)).Decode(&f)
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	if keys := md.Undecoded(); len(keys) > 0 {
		return nil, fmt.Errorf("plan: unknown key %q", keys[0].String())
	}
	if len(f.Endpoints) == 0 {
		return nil, errors.New("plan: no [[endpoint]]")
	}
	opts, err := f.options()
	if err != nil {
		return nil, err
	}
	plan := &Plan{Alpha: f.Alpha}
	for i, e := range f.Endpoints {
		p, err := f.probe(e, opts)
		if err != nil {
			return nil, fmt.Errorf("plan: endpoint %d: %w", i+1, err)
		}
		plan.Probes = append(plan.Probes, p)
	}
	return plan, nil
}

func (f *planFile) options() (Options, error) {
	o := DefaultOptions
	if f.Alpha < 0 || f.Alpha >= 1 {
		return o, fmt.Errorf("plan: alpha %g is not in (0, 1)", f.Alpha)
	}
	if f.N != 0 {
		o.N = f.N
	}
	if f.Warmup != nil {
		o.Warmup = *f.Warmup
	}
	if f.Rate != nil {
		o.Rate = *f.Rate
	}
	if f.Concurrency != 0 {
		o.Concurrency = f.Concurrency
	}
	if f.Timeout != "" {
		d, err := time.ParseDuration(f.Timeout)
		if err != nil || d <= 0 {
			return o, fmt.Errorf("plan: timeout %q is not a positive duration", f.Timeout)
		}
		o.Timeout = d
	}
	o.Pairs, o.Insecure = f.Pairs, f.Insecure
	return o, nil
}

func (f *planFile) probe(e planEndpoint, o Options) (Probe, error) {
	t, err := endpointTarget(e, f.BaseURL)
	if err != nil {
		return Probe{}, err
	}
	t.Exists = firstNonEmpty(e.Exists, f.Exists)
	t.Missing = firstNonEmpty(e.Missing, f.Missing)
	if len(t.Missing) == 0 {
		t.Missing = MissingFor(t.Exists)
	}
	if e.Password != "" {
		t.Password = e.Password
	}
	for _, h := range append(append([]string(nil), f.Headers...), e.Headers...) {
		name, value, err := ParseHeader(h)
		if err != nil {
			return Probe{}, err
		}
		t.Header.Add(name, value)
	}
	if t.Scrub, err = CompileScrub(append(append([]string(nil), f.Scrub...), e.Scrub...)); err != nil {
		return Probe{}, err
	}
	t.IgnoreHeaders = append(append([]string(nil), f.Ignore...), e.Ignore...)
	t.NoDefaultScrub = e.NoDefaultScrub
	t.FirstContact = t.FirstContact || e.FirstContact
	if e.N != 0 {
		o.N = e.N
	}
	if e.Pairs != nil {
		o.Pairs = *e.Pairs
	}
	p := Probe{Target: t, Options: o}
	return p, p.Validate()
}

// endpointTarget builds the request part of an endpoint: a preset, or a URL
// with method, content type and body.
func endpointTarget(e planEndpoint, baseURL string) (*Target, error) {
	var t *Target
	var err error
	switch {
	case e.Preset != "" && e.URL != "":
		return nil, errors.New("give a preset or a url, not both")
	case e.Preset != "":
		if e.BaseURL != "" {
			baseURL = e.BaseURL
		}
		if t, err = PresetTarget(e.Preset, baseURL); err != nil {
			return nil, err
		}
	case e.URL != "":
		body := LoginBody
		if e.Body != nil {
			body = *e.Body
		}
		if t, err = NewTarget(e.URL, e.Method, e.ContentType, body); err != nil {
			return nil, err
		}
	default:
		return nil, errors.New("no preset and no url")
	}
	if e.Name != "" {
		t.Name = e.Name
	}
	t.Password = RandomPassword()
	return t, nil
}

// NewTarget builds a target from a URL, method, content type and body
// template, with the defaults the CLI documents: POST, JSON.
func NewTarget(rawURL, method, contentType, body string) (*Target, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("url %q is not an http(s) URL", rawURL)
	}
	ut, err := ParseTemplate(rawURL)
	if err != nil {
		return nil, err
	}
	if method == "" {
		method = http.MethodPost
	}
	if contentType == "" {
		contentType = "application/json"
	}
	t := &Target{URL: ut, Method: strings.ToUpper(method), ContentType: contentType, Header: http.Header{}}
	if body != "" {
		if t.Body, err = ParseTemplate(body); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// CompileScrub compiles scrub patterns.
func CompileScrub(patterns []string) ([]*regexp.Regexp, error) {
	var out []*regexp.Regexp
	for _, p := range patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("scrub pattern %q: %w", p, err)
		}
		if re.MatchString("") {
			return nil, fmt.Errorf("scrub pattern %q matches the empty string", p)
		}
		out = append(out, re)
	}
	return out, nil
}

func firstNonEmpty(a, b []string) []string {
	if len(a) > 0 {
		return a
	}
	return b
}
