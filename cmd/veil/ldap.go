package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/ldap"
	"github.com/veil-id/veil/sqlite"
	"github.com/veil-id/veil/sqlstore"
)

func defaultLDAPConfig() LDAPConfig {
	return LDAPConfig{
		StartTLS:       true,
		Filter:         "(mail={identifier})",
		EmailAttribute: "mail",
		NameAttribute:  "displayName",
		PoolSize:       ldap.DefaultPoolSize,
		DialTimeout:    Duration(ldap.DefaultDialTimeout),
		Timeout:        Duration(ldap.DefaultTimeout),
		CacheTTL:       Duration(ldap.DefaultCacheTTL),
		LockoutReserve: ldap.DefaultLockoutReserve,
	}
}

// validate checks the [ldap] section when store.driver = "ldap".
func (lc *LDAPConfig) validate() error {
	u, err := url.Parse(lc.URL)
	switch {
	case lc.URL == "":
		return errors.New("ldap.url is required with store.driver = \"ldap\"")
	case err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "":
		return fmt.Errorf("ldap.url must be ldap://host[:port] or ldaps://host[:port], not %q", lc.URL)
	case lc.BindDN == "" || lc.BaseDN == "":
		return errors.New("ldap.bind_dn and ldap.base_dn are required with store.driver = \"ldap\"")
	case (lc.BindPassword == "") == (lc.BindPasswordFile == ""):
		return errors.New("set one of ldap.bind_password and ldap.bind_password_file")
	case !strings.Contains(lc.Filter, ldap.IdentifierPlaceholder):
		return fmt.Errorf("ldap.filter must contain %s, as in (mail=%s)", ldap.IdentifierPlaceholder, ldap.IdentifierPlaceholder)
	case lc.PoolSize < 1 || lc.DialTimeout <= 0 || lc.Timeout <= 0 || lc.CacheTTL < 0:
		return errors.New("ldap.pool_size, dial_timeout and timeout must be positive, cache_ttl not negative")
	case lc.LockoutReserve < 2:
		// One would leave the person's own browser no failure strangers
		// cannot spend first.
		return errors.New("ldap.lockout_reserve must be at least 2")
	}
	if u.Scheme == "ldap" && !lc.StartTLS && !isLoopbackHost(u.Hostname()) {
		return errors.New("ldap.start_tls may be off only for a directory on loopback: passwords would cross the network in clear text")
	}
	return nil
}

func isLoopbackHost(host string) bool {
	return host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1"
}

// storeConfig builds the directory's configuration, reading the password
// and CA files.
func (lc *LDAPConfig) storeConfig() (ldap.Config, error) {
	pw := string(lc.BindPassword)
	if lc.BindPasswordFile != "" {
		b, err := os.ReadFile(lc.BindPasswordFile)
		if err != nil {
			return ldap.Config{}, fmt.Errorf("ldap.bind_password_file: %w", err)
		}
		pw = strings.TrimRight(string(b), "\r\n")
	}
	var roots *x509.CertPool
	if lc.CAFile != "" {
		pem, err := os.ReadFile(lc.CAFile)
		if err != nil {
			return ldap.Config{}, fmt.Errorf("ldap.ca_file: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return ldap.Config{}, fmt.Errorf("ldap.ca_file: no PEM certificate in %s", lc.CAFile)
		}
	}
	return ldap.Config{
		URL: lc.URL, StartTLS: lc.StartTLS, RootCAs: roots,
		BindDN: lc.BindDN, BindPassword: pw, BaseDN: lc.BaseDN, Filter: lc.Filter,
		EmailAttribute: lc.EmailAttribute, NameAttribute: lc.NameAttribute,
		PoolSize: lc.PoolSize, DialTimeout: time.Duration(lc.DialTimeout), Timeout: time.Duration(lc.Timeout),
		CacheTTL: time.Duration(lc.CacheTTL), PasswordPolicyDN: lc.PasswordPolicyDN, LockoutReserve: lc.LockoutReserve,
		Groups: ldap.GroupConfig{Attribute: lc.GroupAttribute, BaseDN: lc.GroupBaseDN, Filter: lc.GroupFilter, NameAttribute: lc.GroupNameAttribute},
	}, nil
}

// directoryStore is the app's directory (app.directory), nil unless
// store.driver = "ldap".
type directoryStore = ldap.Store

// openDirectoryLocalStore opens veil's own database beside a directory:
// store.dsn is a postgres:// URL or a SQLite path.
func openDirectoryLocalStore(ctx context.Context, cfg *Config) (*sqlstore.DB, error) {
	dsn := string(cfg.Store.DSN)
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return openPostgres(ctx, cfg, dsn)
	}
	if dsn == "" {
		dsn = filepath.Join(cfg.DataDir, "veil.db")
	}
	return sqlite.Open(ctx, dsn)
}

// useDirectory makes the directory the service's accounts and password
// checker when store.driver = "ldap", and turns sign-up and recovery into
// one refusal that says where accounts are managed.
func (a *app) useDirectory(ctx context.Context, sc *veil.ServiceConfig) error {
	if a.cfg.Store.Driver != "ldap" {
		return nil
	}
	lcfg, err := a.cfg.LDAP.storeConfig()
	if err != nil {
		return err
	}
	dir, err := ldap.New(ctx, lcfg)
	if err != nil {
		return err
	}
	a.directory = dir
	sc.Accounts, sc.Checker = dir, dir
	sc.Groups = dir // read-only: groups are managed in the directory too
	// Sign-up and recovery stay wired to veil's own database (its outbox
	// worker finds an empty queue) but every request is refused first.
	sc.ManagedElsewhere = a.managedElsewhere()
	a.warnDirectoryLockout(loginBlockAfter(a.cfg))
	return nil
}

// loginBlockAfter is veil's per-identifier threshold: the failed sign-ins
// for one identifier the throttle lets through before it blocks them
// (throttle.identifier.block_after). Proofs of work before it slow an
// attacker down but do not stop one; the block does.
func loginBlockAfter(cfg *Config) int { return cfg.Throttle.Identifier.BlockAfter }

// warnDirectoryLockout tells the operator, at start, when the directory's
// password policy could lock entries before veil's throttle blocks the
// attempts, or when veil cannot read the policy to know.
func (a *app) warnDirectoryLockout(threshold int) {
	p, ok, err := a.directory.LockoutPolicy()
	switch {
	case !ok && err != nil:
		a.logger.Warn("cannot read the directory's password policy; the lockout guard is off: let the service account read pwdPolicy entries and pwdFailureTime, or set ldap.password_policy_dn", "err", err)
	case !ok:
		a.logger.Info("the directory has no readable password policy that locks entries")
	default:
		if w := ldap.LockoutWarning(threshold, p); w != "" {
			a.logger.Warn(w)
		}
		if w := ldap.ReserveWarning(a.cfg.LDAP.LockoutReserve, p); w != "" {
			a.logger.Warn(w)
		}
	}
}

func (a *app) closeDirectory() {
	if a.directory != nil {
		a.directory.Close()
	}
}

// managedElsewhere is where accounts are managed when they are not veil's
// to manage, or "".
func (a *app) managedElsewhere() string {
	if a.cfg.Store.Driver != "ldap" {
		return ""
	}
	return manageMessage(a.cfg.LDAP.ManageURL)
}

// manageMessage is the answer to every sign-up and recovery on a
// directory: the same whatever the address, since nothing is looked up.
func manageMessage(manageURL string) string {
	if manageURL != "" {
		return "Accounts and passwords are managed in your organization's directory, not here: go to " + manageURL + "."
	}
	return "Accounts and passwords are managed in your organization's directory, not here: ask its administrators."
}
