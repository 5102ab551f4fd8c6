package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	iofs "io/fs"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/passkey"
	"github.com/veil-id/veil/web"
)

// factorKeyFile is the file in the data directory that holds the factor
// key when the configuration has none.
const factorKeyFile = "factor.key"

// factorKey returns the configured factor key, or the one in the data
// directory, creating it (readable by the owner only) if there is none.
func (a *app) factorKey() (veil.FactorKey, error) {
	if a.cfg.Factors.Key != "" {
		key, err := base64.StdEncoding.DecodeString(string(a.cfg.Factors.Key))
		if err != nil || len(key) != veil.FactorKeySize {
			return nil, fmt.Errorf("factors.key must be %d bytes in base64 (openssl rand -base64 32)", veil.FactorKeySize)
		}
		return key, nil
	}
	path := filepath.Join(a.cfg.DataDir, factorKeyFile)
	key, err := readFactorKey(path)
	if !errors.Is(err, iofs.ErrNotExist) {
		return key, err
	}
	if err := os.MkdirAll(a.cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the data directory for the factor key: %w", err)
	}
	fresh := make([]byte, veil.FactorKeySize)
	rand.Read(fresh)
	// O_EXCL: of two processes starting at once, one writes the key and
	// the other reads it.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, iofs.ErrExist) {
		return readFactorKey(path)
	} else if err != nil {
		return nil, fmt.Errorf("creating the factor key: %w", err)
	}
	_, err = f.Write([]byte(base64.StdEncoding.EncodeToString(fresh) + "\n"))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("writing the factor key %s: %w", path, err)
	}
	return fresh, nil
}

func readFactorKey(path string) (veil.FactorKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	key, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(b)))
	if err != nil || len(key) != veil.FactorKeySize {
		return nil, fmt.Errorf("the factor key %s is not %d bytes in base64", path, veil.FactorKeySize)
	}
	return key, nil
}

// passkeyConfig is the relying party of passkeys: factors.passkey_rp_id
// and factors.passkey_origins, or the host and origin of server.public_url
// (of the listen address without one). WebAuthn takes no IP address as a
// relying party, so a loopback address means localhost: browse to
// http://localhost:PORT to use passkeys on a development machine.
func (c *Config) passkeyConfig() (passkey.Config, error) {
	u, err := url.Parse(c.publicURL())
	if err != nil || u.Host == "" {
		return passkey.Config{}, fmt.Errorf("passkeys need server.public_url (or factors.passkey_rp_id and factors.passkey_origins)")
	}
	host := u.Hostname()
	rpID, origins := host, []string{u.Scheme + "://" + u.Host}
	anyPort := false
	if ip, err := netip.ParseAddr(host); err == nil {
		anyPort = u.Scheme == "http" // a development veil, maybe on a port chosen at start
		rpID = "localhost"
		if !ip.IsLoopback() && !ip.IsUnspecified() {
			rpID = ""
		}
		port := u.Port()
		if port != "" {
			port = ":" + port
		}
		origins = append(origins, u.Scheme+"://localhost"+port)
	}
	if c.Factors.PasskeyRPID != "" {
		rpID = c.Factors.PasskeyRPID
	}
	if len(c.Factors.PasskeyOrigins) > 0 {
		origins, anyPort = c.Factors.PasskeyOrigins, false
	}
	if rpID == "" {
		return passkey.Config{}, fmt.Errorf("passkeys cannot be bound to the IP address %s: set server.public_url to a host name, or factors.passkey_rp_id", host)
	}
	return passkey.Config{RPID: rpID, Origins: origins, DisplayName: c.Mail.SiteName, AnyLocalhostPort: anyPort && rpID == "localhost"}, nil
}

// usePasskeys turns passkeys on in sc. Without a relying party they stay
// off, with a warning: everything else works without them.
func (a *app) usePasskeys(sc *veil.ServiceConfig) error {
	pc, err := a.cfg.passkeyConfig()
	if err != nil {
		a.logger.Warn("passkeys are off", "why", err.Error())
		return nil
	}
	cer, err := passkey.New(pc)
	if err != nil {
		return err
	}
	sc.Passkeys, sc.Ceremonies = a.db, cer
	return nil
}

// passkeys is the service's passkeys for the web server, nil when off.
func (a *app) passkeys() web.Passkeys {
	if !a.service.PasskeysEnabled() {
		return nil
	}
	return a.service
}
