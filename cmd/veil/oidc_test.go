package main

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/veil-id/veil/oidc/oidctest"
	"golang.org/x/oauth2"
)

// printedValue returns the value of a "name: value" line of out.
func printedValue(t *testing.T, out, name string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, name+": "); ok {
			return v
		}
	}
	t.Fatalf("no %s line in:\n%s", name, out)
	return ""
}

func TestClientCommands(t *testing.T) {
	dir := t.TempDir()
	env := testEnv(nil)
	run := func(args ...string) (int, string) {
		t.Helper()
		full := append([]string{args[0], args[1], "--data-dir", dir}, args[2:]...)
		code, out, errOut := runMain(t, env, "", full...)
		return code, out + errOut
	}
	code, out := run("client", "add", "--redirect-uri", "https://app.example/cb", "Grafana")
	if code != 0 {
		t.Fatalf("client add: exit %d:\n%s", code, out)
	}
	id, secret := printedValue(t, out, "client_id"), printedValue(t, out, "client_secret")
	if len(secret) < 40 {
		t.Errorf("client_secret %q is too short", secret)
	}
	code, out = run("client", "add", "--public", "--first-party", "--redirect-uri", "http://127.0.0.1:7000/cb", "CLI")
	if code != 0 || strings.Contains(out, "client_secret") {
		t.Errorf("client add --public: exit %d, want no secret:\n%s", code, out)
	}
	jwks := dir + "/jwks.json"
	os.WriteFile(jwks, []byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"k1"}]}`), 0o600)
	code, out = run("client", "add", "--jwks-file", jwks, "--redirect-uri", "https://svc.example/cb", "Service")
	if code != 0 || strings.Contains(out, "client_secret") {
		t.Errorf("client add --jwks-file: exit %d, want no secret:\n%s", code, out)
	}
	if code, show := run("client", "show", printedValue(t, out, "client_id")); code != 0 || !strings.Contains(show, "private_key_jwt") {
		t.Errorf("client show of a private_key_jwt client: exit %d:\n%s", code, show)
	}
	bad := dir + "/private.json"
	os.WriteFile(bad, []byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}]}`), 0o600)
	if code, out := run("client", "add", "--jwks-file", bad, "--redirect-uri", "https://svc.example/cb", "Leaky"); code != 2 || !strings.Contains(out, "public signing keys only") {
		t.Errorf("client add with a private key in its JWKS: exit %d, want 2:\n%s", code, out)
	}
	steps := []struct {
		args     []string
		wantCode int
		want     string
	}{
		{[]string{"client", "list"}, 0, "Grafana"},
		{[]string{"client", "show", id}, 0, "redirect_uris: https://app.example/cb"},
		{[]string{"client", "rotate-secret", id}, 0, "client_secret: "},
		{[]string{"client", "add", "NoRedirect"}, 2, "--redirect-uri"},
		{[]string{"client", "add", "--redirect-uri", "http://app.example/cb", "Plain"}, 2, "plain http off loopback"},
		{[]string{"client", "add", "--redirect-uri", "https://app.example/cb#x", "Frag"}, 2, "fragment"},
		{[]string{"client", "show", "nope"}, 1, "no such client"},
		{[]string{"client", "add", "--signing-algorithm", "HS256", "--redirect-uri", "https://app.example/cb", "Weak"}, 2, "Signing algorithm"},
		{[]string{"client", "show", id}, 0, "signing_algorithm: ES256 (the default)"},
		{[]string{"client", "remove", id}, 0, "removed client"},
		{[]string{"client", "remove", id}, 1, "no such client"},
		{[]string{"client", "frobnicate", "x"}, 2, "unknown client command"},
	}
	for _, s := range steps {
		code, out := run(s.args...)
		if code != s.wantCode || !strings.Contains(out, s.want) {
			t.Errorf("veil %s: exit %d, want %d with %q:\n%s", strings.Join(s.args, " "), code, s.wantCode, s.want, out)
		}
		if strings.Contains(out, secret) {
			t.Errorf("veil %s printed the old secret again", strings.Join(s.args, " "))
		}
	}
	code, out = run("oidc", "rotate-keys")
	if code != 0 || !strings.Contains(out, "signing key: ") {
		t.Errorf("oidc rotate-keys: exit %d:\n%s", code, out)
	}
}

// freeAddr returns a loopback address nobody listens on now.
func freeAddr(t *testing.T) string { t.Helper(); return "127.0.0.1:" + strconv.Itoa(freePort(t)) }

// wikiClientTOML is a configuration with OIDC on at issuer and one
// first-party client, the wiki, coming back to an address nobody serves.
func wikiClientTOML(issuer string) string {
	return `
[server]
public_url = "` + issuer + `"
[oidc]
enabled = true
[[oidc.clients]]
id = "wiki"
name = "The wiki"
secret = "a-long-enough-wiki-secret"
redirect_uris = ["http://127.0.0.1:1/callback"]
first_party = true
`
}

// TestServeOIDC: veil serve with [oidc] on, a client from the CLI and one
// from the configuration, each signing a person in through go-oidc.
func TestServeOIDC(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	issuer := "http://" + addr
	cfgFile := dir + "/veil.toml"
	if err := os.WriteFile(cfgFile, []byte(wikiClientTOML(issuer)), 0o600); err != nil {
		t.Fatal(err)
	}
	env := testEnv(map[string]string{"VEIL_CONFIG": cfgFile})
	if code, out, errOut := runMain(t, env, "correct horse battery\n", "user", "add", "--data-dir", dir, "--name", "Ada", "ada@example.com"); code != 0 {
		t.Fatalf("user add: %d %s%s", code, out, errOut)
	}
	_, out, _ := runMain(t, env, "", "client", "add", "--data-dir", dir, "--first-party", "--redirect-uri", "http://127.0.0.1:1/callback", "App")
	id, secret := printedValue(t, out, "client_id"), printedValue(t, out, "client_secret")
	mustRunMainOn(t, env, dir, addr)

	b := oidctest.NewBrowser(t)
	for i, c := range [][2]string{{id, secret}, {"wiki", "a-long-enough-wiki-secret"}} {
		p, err := gooidc.NewProvider(context.Background(), issuer)
		if err != nil {
			t.Fatal(err)
		}
		conf := oauth2.Config{ClientID: c[0], ClientSecret: c[1], Endpoint: p.Endpoint(), RedirectURL: "http://127.0.0.1:1/callback", Scopes: []string{"openid", "profile"}}
		verifier := oauth2.GenerateVerifier()
		page := b.Get(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
		if i == 0 {
			page = b.SignInForm(page, "ada@example.com", "correct horse battery")
		}
		back := page.RedirectedTo(t)
		if back.Query().Get("code") == "" {
			t.Fatalf("client %s: no code in %s", c[0], back)
		}
		tok, err := conf.Exchange(context.Background(), back.Query().Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("client %s: Exchange: %v", c[0], err)
		}
		idt, err := p.Verifier(&gooidc.Config{ClientID: c[0]}).Verify(context.Background(), tok.Extra("id_token").(string))
		if err != nil {
			t.Fatalf("client %s: Verify: %v", c[0], err)
		}
		var cl struct{ Name string }
		idt.Claims(&cl)
		if cl.Name != "Ada" {
			t.Errorf("client %s: name = %q, want Ada", c[0], cl.Name)
		}
	}
}
