package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/oidc"
	"github.com/veil-id/veil/web"
)

func defaultOIDCConfig() OIDCConfig { return OIDCConfig{SigningAlgorithm: oidc.DefaultAlgorithm} }

// validateOIDC checks the [oidc] section: an issuer, a known algorithm,
// and clients that are whole.
func (c *Config) validateOIDC() error {
	if err := oidc.CheckAlgorithm(c.OIDC.SigningAlgorithm); err != nil {
		return fmt.Errorf("oidc.signing_algorithm must be ES256, EdDSA or RS256, not %q", c.OIDC.SigningAlgorithm)
	}
	if c.OIDC.Enabled && c.Server.PublicURL == "" {
		return errors.New("oidc.enabled needs server.public_url: it is the issuer clients see")
	}
	_, err := c.oidcClients()
	return err
}

// oidcClients turns [[oidc.clients]] into clients, their secrets hashed.
func (c *Config) oidcClients() ([]*oidc.Client, error) {
	var list []*oidc.Client
	seen := map[string]bool{}
	for i, cc := range c.OIDC.Clients {
		secret := string(cc.Secret)
		if cc.SecretFile != "" {
			b, err := os.ReadFile(cc.SecretFile)
			if err != nil {
				return nil, fmt.Errorf("oidc.clients[%d].secret_file: %w", i, err)
			}
			secret = strings.TrimSpace(string(b))
		}
		cl := &oidc.Client{
			ID: cc.ID, Name: cc.Name, RedirectURIs: cc.RedirectURIs, PostLogoutRedirectURIs: cc.PostLogoutRedirectURIs,
			Public: cc.Public, FirstParty: cc.FirstParty, AllowEmail: cc.AllowEmail, PublicSubject: cc.PublicSubject,
			Sector: cc.Sector, SigningAlgorithm: cc.SigningAlgorithm, FromConfig: true,
		}
		if cl.Name == "" {
			cl.Name = cl.ID
		}
		if cc.JWKSFile != "" {
			b, err := os.ReadFile(cc.JWKSFile)
			if err != nil {
				return nil, fmt.Errorf("oidc.clients[%d].jwks_file: %w", i, err)
			}
			cl.JWKS = b
		}
		switch {
		case cl.JWKS != nil && secret != "":
			return nil, fmt.Errorf("oidc.clients[%d] (%s): a client with a jwks_file has no secret", i, cc.ID)
		case cl.JWKS != nil:
		case cc.Public && secret != "":
			return nil, fmt.Errorf("oidc.clients[%d] (%s): a public client has no secret", i, cc.ID)
		case !cc.Public && len(secret) < 16:
			return nil, fmt.Errorf("oidc.clients[%d] (%s): a confidential client needs a secret of at least 16 characters", i, cc.ID)
		case !cc.Public:
			cl.SecretHash = oidc.HashClientSecret(secret)
		}
		if err := oidc.CheckClient(cl); err != nil {
			return nil, fmt.Errorf("oidc.clients[%d] (%s): %s", i, cc.ID, veil.ErrorMessage(err))
		}
		if seen[cl.ID] {
			return nil, fmt.Errorf("oidc.clients: %q is declared twice", cl.ID)
		}
		seen[cl.ID] = true
		list = append(list, cl)
	}
	return list, nil
}

// returnDomains are forward_auth.return_domains, and veil's own host when
// the provider is on: its sign-in page sends browsers back to it.
func (c *Config) returnDomains() []string {
	list := c.ForwardAuth.ReturnDomains
	if u, err := url.Parse(c.Server.PublicURL); c.OIDC.Enabled && err == nil && u.Host != "" {
		list = append(append([]string(nil), list...), strings.ToLower(u.Host))
	}
	return list
}

// oidcKeyFile returns the key that encrypts the signing keys, making it
// on first use.
func (c *Config) oidcKeyFile() ([]byte, error) {
	path := c.OIDC.KeyFile
	if path == "" {
		path = filepath.Join(c.DataDir, "oidc.key")
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		var k [32]byte
		rand.Read(k[:])
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("oidc.key_file: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return c.oidcKeyFile() // another process made it first
		} else if err != nil {
			return nil, fmt.Errorf("oidc.key_file: %w", err)
		}
		_, err = f.WriteString(hex.EncodeToString(k[:]) + "\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("oidc.key_file: %w", err)
		}
		return k[:], nil
	} else if err != nil {
		return nil, fmt.Errorf("oidc.key_file: %w", err)
	}
	k, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(k) != 32 {
		return nil, fmt.Errorf("oidc.key_file %s must hold 64 hexadecimal digits", path)
	}
	return k, nil
}

// newProvider opens the provider on the app's store; sessions is the
// public server, or nil for commands that only manage keys.
func (a *app) newProvider(ctx context.Context, sessions oidc.Sessions) (*oidc.Provider, error) {
	kek, err := a.cfg.oidcKeyFile()
	if err != nil {
		return nil, err
	}
	clients, err := a.cfg.oidcClients()
	if err != nil {
		return nil, err
	}
	issuer := a.cfg.Server.PublicURL
	if issuer == "" {
		issuer = a.cfg.publicURL()
	}
	return oidc.New(ctx, oidc.Config{
		Issuer: issuer, Store: a.db, Accounts: a.service, Sessions: sessions, Secrets: a.db,
		KeyEncryptionKey: kek, Algorithm: a.cfg.OIDC.SigningAlgorithm, Clients: clients, Logger: a.logger,
		Throttle: a.throttleStore(), ClientAddr: web.ClientAddr,
	})
}

// throttleStore is where the token endpoint counts failures: the
// throttle's own store, or none for commands that serve nothing.
func (a *app) throttleStore() veil.ThrottleStore {
	if a.thr == nil {
		return nil
	}
	return a.thr.store
}

// mountOIDC serves the provider on the public server when it is enabled,
// and deletes expired grants now and then.
func (a *app) mountOIDC(ctx context.Context, public *web.Server) error {
	if !a.cfg.OIDC.Enabled {
		return nil
	}
	p, err := a.newProvider(ctx, public)
	if err != nil {
		return err
	}
	p.MountOn(public)
	// zitadel/oidc logs to slog.Default only: its records become the
	// provider's, without secrets.
	oidc.RouteLibraryLogs(a.logger)
	a.logger.Info("serving OpenID Connect", "issuer", p.Issuer(), "algorithm", a.cfg.OIDC.SigningAlgorithm)
	go a.expireEvery(ctx, "OpenID Connect grants", p.ExpireGrants)
	return nil
}

const oidcUsage = `usage: veil oidc <rotate-keys> [flags]

  rotate-keys   make a new signing key; the old ones stay in the key set
                until every token they signed has expired`

func runOIDC(ctx context.Context, m *Main, args []string) error {
	sub, err := m.subcommand("oidc", oidcUsage, args, "rotate-keys")
	if err != nil {
		return err
	}
	fs, cf := m.flagSet("veil oidc "+sub, false)
	fs.synopsis, fs.summary = "veil oidc rotate-keys [flags]", "make a new signing key; the old ones stay in the key set until the tokens they signed expire"
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	return m.withExistingApp(ctx, cf, func(a *app) error {
		p, err := a.newProvider(ctx, nil)
		if err != nil {
			return err
		}
		k, err := p.RotateKeys(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "signing key: %s (%s)\n", k.ID, k.Algorithm)
		return nil
	})
}
