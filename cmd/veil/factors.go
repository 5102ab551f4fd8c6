package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"path/filepath"

	"github.com/veil-id/veil"
)

// FactorsConfig is the [factors] section: the key that seals second
// factors' secrets at rest (TOTP secrets) and keys the hashes of recovery
// codes.
type FactorsConfig struct {
	// Key is 32 bytes in standard base64. Unset, veil keeps a key in
	// factor.key in the data directory, made on first use. It is kept
	// apart from the database on purpose, so that a copy of the database
	// alone gives no one's codes: several instances on one PostgreSQL
	// must share it (set it here, or give them the same file).
	Key secretText `toml:"key"`
}

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
