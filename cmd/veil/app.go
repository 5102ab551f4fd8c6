package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
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
	// audit stores the audit events off the answer path; nil until init.
	audit *veil.AuditWriter
}

// auditCloseTimeout bounds the storing of the queued audit events at exit.
const auditCloseTimeout = 5 * time.Second

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
	a.audit = veil.NewAuditWriter(a.db, a.logger)
	all := append(veil.Auditors{&veil.LogAuditor{Logger: a.logger, Log: a.audit}}, auditors...)
	scfg := veil.ServiceConfig{
		Accounts: a.db,
		Sessions: sessions,
		Hasher:   a.hasher,
		Auditor:  all,
		Key:      key,
		Outbox:   a.db,
		SignUps:  a.db,
		Tokens:   a.db,
		Groups:   a.db,

		IdentityCacheTTL: time.Duration(a.cfg.ForwardAuth.CacheTTL),
		Settings:         a.db,
		MailPolicy: veil.MailPolicy{
			BaseURL:       a.cfg.publicURL(),
			SiteName:      a.cfg.Mail.SiteName,
			SignUpTTL:     time.Duration(a.cfg.Mail.SignUpTTL),
			ResetTTL:      time.Duration(a.cfg.Mail.ResetTTL),
			NotifyUnknown: a.cfg.Recovery.NotifyUnknown,

			LoginCodeSignUp: a.cfg.Account.LoginCodeSignUp,
		},
		RecentSignIn: time.Duration(a.cfg.Account.RecentSignIn),
		SessionPolicy: veil.SessionPolicy{
			IdleTimeout:     time.Duration(a.cfg.Session.IdleTimeout),
			AbsoluteTimeout: time.Duration(a.cfg.Session.AbsoluteTimeout),
		},
	}
	if scfg.FactorKey, err = a.factorKey(); err != nil {
		return err
	}
	scfg.Factors = a.db // also for a directory: factors are kept in veil's own database
	if err := a.usePasskeys(&scfg); err != nil {
		return err
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
	if a.audit != nil {
		// After the listeners have drained: every answer's event is queued.
		ctx, cancel := context.WithTimeout(context.Background(), auditCloseTimeout)
		a.audit.Close(ctx)
		cancel()
	}
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

// cmdFlags is one command's flag set. Its positional arguments may come
// before, between or after the flags (package flag alone stops at the first
// one, and `veil user disable bob@example.com --data-dir x` would take
// "--data-dir" for an account), and how many it takes is checked here.
type cmdFlags struct {
	*flag.FlagSet
	m *Main
	// synopsis is the usage line and summary what the command does; the
	// flags are listed below them.
	synopsis, summary string
	// minArgs and maxArgs bound the positional arguments (none by default).
	minArgs, maxArgs int
	args             []string
}

// flagSet returns the flag set of a command with the configuration flags
// every command takes.
func (m *Main) flagSet(name string, withListeners bool) (*cmdFlags, *configFlags) {
	fs := m.ownFlags(name)
	cf := &configFlags{}
	cf.register(fs.FlagSet, withListeners)
	return fs, cf
}

// ownFlags returns a flag set with no configuration flags.
func (m *Main) ownFlags(name string) *cmdFlags {
	fs := &cmdFlags{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), m: m, synopsis: name + " [flags]"}
	for _, c := range commands() {
		if "veil "+c.name == name {
			fs.summary = c.summary
		}
	}
	// Package flag would print errors and usage itself, both to one
	// stream; parseFlags prints them, help to stdout and errors to stderr.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// errHelpShown ends a command whose help was asked for and printed.
var errHelpShown = &exitError{code: 0}

// parseFlags parses args. Help asked for is printed to stdout and ends the
// command with status 0; a bad flag or a wrong number of arguments is a
// usage error (exit 2) that says what was wrong, followed by the usage.
func parseFlags(fs *cmdFlags, args []string) error {
	fs.args = nil
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fs.printUsage(fs.m.Stdout)
			return errHelpShown
		}
		if err != nil {
			return fs.usageError(err.Error())
		}
		rest := fs.FlagSet.Args()
		if len(rest) == 0 {
			break
		}
		if len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			fs.args = append(fs.args, rest...) // after "--" nothing is a flag
			break
		}
		fs.args = append(fs.args, rest[0])
		args = rest[1:]
	}
	switch n := len(fs.args); {
	case n > fs.maxArgs && fs.maxArgs == 0:
		return fs.usageError(fmt.Sprintf("unexpected argument %q", fs.args[0]))
	case n > fs.maxArgs:
		return fs.usageError(fmt.Sprintf("too many arguments (%s)", strings.Join(fs.args, " ")))
	case n < fs.minArgs:
		return fs.usageError("missing argument")
	}
	return nil
}

// usageError prints what was wrong and the usage to stderr.
func (fs *cmdFlags) usageError(msg string) error {
	fmt.Fprintf(fs.m.Stderr, "%s: %s\n\n", fs.Name(), msg)
	fs.printUsage(fs.m.Stderr)
	return &exitError{code: 2}
}

func (fs *cmdFlags) printUsage(w io.Writer) {
	fmt.Fprintf(w, "usage: %s\n", fs.synopsis)
	if fs.summary != "" {
		fmt.Fprintf(w, "\n%s\n", fs.summary)
	}
	empty := true
	fs.VisitAll(func(*flag.Flag) { empty = false })
	if empty {
		return
	}
	fmt.Fprintf(w, "\nflags:\n")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// Args, NArg and Arg are the positional arguments wherever they stood.
func (fs *cmdFlags) Args() []string { return fs.args }
func (fs *cmdFlags) NArg() int      { return len(fs.args) }
func (fs *cmdFlags) Arg(i int) string {
	if i < 0 || i >= len(fs.args) {
		return ""
	}
	return fs.args[i]
}

// enumFlag is a flag whose value is one of a few words; any other is
// refused with the list, instead of being passed on to match nothing.
type enumFlag struct {
	value   string
	allowed []string
}

func (fs *cmdFlags) enum(name, value, usage string, allowed ...string) *string {
	e := &enumFlag{value: value, allowed: allowed}
	fs.Var(e, name, usage+": "+strings.Join(allowed, ", "))
	return &e.value
}

func (e *enumFlag) String() string { return e.value }

func (e *enumFlag) Set(s string) error {
	if !slices.Contains(e.allowed, s) {
		return fmt.Errorf("want one of %s", strings.Join(e.allowed, ", "))
	}
	e.value = s
	return nil
}

// withApp loads the configuration, opens veil's state, runs fn and closes
// the state again.
func (m *Main) withApp(ctx context.Context, cf *configFlags, fn func(*app) error) error {
	return m.openAndRun(ctx, cf, false, fn)
}

// withExistingApp is withApp for the commands that only read, or change what
// is there: a --data-dir that does not exist is refused, not created empty
// (SQLite creates the file and its directory), so a mistyped path does not
// look like a veil without accounts.
func (m *Main) withExistingApp(ctx context.Context, cf *configFlags, fn func(*app) error) error {
	return m.openAndRun(ctx, cf, true, fn)
}

func (m *Main) openAndRun(ctx context.Context, cf *configFlags, mustExist bool, fn func(*app) error) error {
	cfg, err := cf.load(m.Getenv)
	if err != nil {
		return err
	}
	if mustExist {
		if err := storeExists(cfg); err != nil {
			return err
		}
	}
	a, err := openApp(ctx, cfg, m.Stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	return fn(a)
}

// storeExists says when the SQLite database the configuration names is not
// there; other stores are servers that are there or fail to connect.
func storeExists(cfg *Config) error {
	dsn := string(cfg.Store.DSN)
	switch {
	case cfg.Store.Driver == "postgres", strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return nil
	case dsn == sqlite.Memory:
		return nil
	}
	if dsn != "" {
		return missing(dsn, "the database %s does not exist (store.dsn)")
	}
	if err := missing(cfg.DataDir, "the data directory %s does not exist"); err != nil {
		return err
	}
	return missing(filepath.Join(cfg.DataDir, "veil.db"), "there is no veil database at %s yet")
}

// missing says what is missing at path with format, or why it cannot tell.
func missing(path, format string) error {
	_, err := os.Stat(path)
	if errors.Is(err, iofs.ErrNotExist) {
		return fmt.Errorf(format+"; veil migrate or veil serve creates it", path)
	}
	return err
}
