package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/password"
	"github.com/veil-id/veil/redis"
	"github.com/veil-id/veil/sqlite"
	"github.com/veil-id/veil/sqlstore"
)

// app is veil's state opened from a configuration: what every command that
// touches accounts needs.
type app struct {
	cfg     *Config
	logger  *slog.Logger
	db      *sqlstore.DB
	hasher  *password.Hasher
	key     veil.IdentifierKey
	service *veil.Service
	// directory holds the accounts when store.driver = "ldap" (ldap.go).
	directory *directoryStore
	// thr throttles sign-in (throttle.go).
	thr *appThrottle
	// sessionRedis holds the sessions when session.store = "redis"
	// (session_store.go); nil when they are in db.
	sessionRedis *redis.SessionStore
}

// identifierKeyName names the secret that keys identifier hashes. It lives in
// the database so every instance on one database shares it.
const identifierKeyName = "identifier_key"

// openApp opens the store (applying migrations), the hasher and the service.
// auditors receive events in addition to the log and the audit table.
func openApp(ctx context.Context, cfg *Config, logOut io.Writer, auditors ...veil.Auditor) (*app, error) {
	a := &app{cfg: cfg, logger: newLogger(cfg.Log, logOut)}
	db, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	a.db = db
	if err := a.init(ctx, auditors); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

func (a *app) init(ctx context.Context, auditors []veil.Auditor) error {
	if err := a.db.Migrate(ctx); err != nil {
		return fmt.Errorf("applying migrations: %w", err)
	}
	key, err := a.db.LoadOrCreateSecret(ctx, identifierKeyName, 32)
	if err != nil {
		return fmt.Errorf("loading the identifier key: %w", err)
	}
	a.key = key
	if a.hasher, err = newHasher(a.cfg.Password); err != nil {
		return err
	}
	sessions, err := a.openSessionStore()
	if err != nil {
		return err
	}
	all := append(veil.Auditors{&veil.LogAuditor{Logger: a.logger, Log: a.db}}, auditors...)
	scfg := veil.ServiceConfig{
		Accounts: a.db,
		Sessions: sessions,
		Hasher:   a.hasher,
		Auditor:  all,
		Key:      key,
		Outbox:   a.db,
		SignUps:  a.db,
		Tokens:   a.db,
		MailPolicy: veil.MailPolicy{
			BaseURL:       a.cfg.publicURL(),
			SiteName:      a.cfg.Mail.SiteName,
			SignUpTTL:     time.Duration(a.cfg.Mail.SignUpTTL),
			ResetTTL:      time.Duration(a.cfg.Mail.ResetTTL),
			NotifyUnknown: a.cfg.Recovery.NotifyUnknown,
		},
		SessionPolicy: veil.SessionPolicy{
			IdleTimeout:     time.Duration(a.cfg.Session.IdleTimeout),
			AbsoluteTimeout: time.Duration(a.cfg.Session.AbsoluteTimeout),
		},
	}
	if err := a.useDirectory(ctx, &scfg); err != nil {
		return err
	}
	if a.thr, err = a.newThrottle(ctx); err != nil {
		return err
	}
	scfg.Throttle = a.thr.throttle
	a.service, err = veil.NewService(ctx, scfg)
	return err
}

func (a *app) Close() error {
	a.closeDirectory()
	a.thr.close()
	a.closeSessionStore()
	return a.db.Close()
}

func openStore(ctx context.Context, cfg *Config) (*sqlstore.DB, error) {
	switch cfg.Store.Driver {
	case "postgres":
		return openPostgres(ctx, cfg, string(cfg.Store.DSN))
	case "ldap":
		return openDirectoryLocalStore(ctx, cfg)
	default:
		path := string(cfg.Store.DSN)
		if path == "" {
			path = filepath.Join(cfg.DataDir, "veil.db")
		}
		return sqlite.Open(ctx, path)
	}
}

func newHasher(pc PasswordConfig) (*password.Hasher, error) {
	concurrency := pc.Concurrency
	if concurrency <= 0 {
		concurrency = runtime.NumCPU()
	}
	return password.New(password.Config{
		Params:          password.Params{Memory: pc.MemoryKiB, Iterations: pc.Iterations, Parallelism: pc.Parallelism},
		Concurrency:     concurrency,
		Queue:           pc.Queue,
		MemoryBudgetKiB: pc.MemoryBudgetMiB * 1024,
		ReturnIdleAfter: idleMemoryReturn,
	})
}

func newLogger(lc LogConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(lc.Level)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(lc.Format, "json") {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// flagSet returns the flag set of a command with the configuration flags
// every command takes.
func (m *Main) flagSet(name string, withListeners bool) (*flag.FlagSet, *configFlags) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	cf := &configFlags{}
	cf.register(fs, withListeners)
	return fs, cf
}

// parseFlags parses args; a bad flag is a usage error (exit 2), after
// package flag has printed what was wrong.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return &exitError{code: 2}
	}
	return nil
}

// withApp loads the configuration, opens veil's state, runs fn and closes
// the state again.
func (m *Main) withApp(ctx context.Context, cf *configFlags, fn func(*app) error) error {
	cfg, err := cf.load(m.Getenv)
	if err != nil {
		return err
	}
	a, err := openApp(ctx, cfg, m.Stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	return fn(a)
}
