package main

import (
	"bytes"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/password"
	"github.com/veil-id/veil/smtp"
	"github.com/veil-id/veil/web"
)

// Config is veil's whole configuration. Every key can be set in the TOML
// file, overridden from the environment as VEIL_<SECTION>_<KEY> (VEIL_<KEY>
// at the top level), and the most common ones from flags.
type Config struct {
	DataDir  string         `toml:"data_dir" comment:"where the embedded database and other state live"`
	Server   ServerConfig   `toml:"server"`
	Store    StoreConfig    `toml:"store"`
	LDAP     LDAPConfig     `toml:"ldap"`
	Password PasswordConfig `toml:"password"`
	Login    LoginConfig    `toml:"login"`
	Session  SessionConfig  `toml:"session"`
	Mail     MailConfig     `toml:"mail"`
	SMTP     SMTPConfig     `toml:"smtp"`
	Recovery RecoveryConfig `toml:"recovery"`
	Account  AccountConfig  `toml:"account"`
	Log      LogConfig      `toml:"log"`
	Throttle ThrottleConfig `toml:"throttle"`

	ForwardAuth ForwardAuthConfig `toml:"forward_auth"` // listeners.go
	OIDC        OIDCConfig        `toml:"oidc"`         // oidc.go
	Branding    BrandingConfig    `toml:"branding"`     // branding.go
	Factors     FactorsConfig     `toml:"factors"`      // factors.go
}

// Duration is a time.Duration written as "30s" in TOML and the environment.
type Duration time.Duration

func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q (write it like 30s, 15m or 24h)", b)
	}
	*d = Duration(v)
	return nil
}

// DefaultConfig is what veil runs with when nothing is configured. Where
// the domain or an adapter has a default, it is taken from there.
func DefaultConfig() Config {
	pw, mp, wk := password.DefaultParams, veil.DefaultMailPolicy, veil.DefaultWorkerConfig
	return Config{
		DataDir: "./veil-data",
		Server: ServerConfig{
			Listen:          "127.0.0.1:8080",
			AdminListen:     "127.0.0.1:9091",
			SecureCookies:   "auto",
			ReadTimeout:     Duration(web.ReadTimeout),
			WriteTimeout:    Duration(web.WriteTimeout),
			IdleTimeout:     Duration(web.IdleTimeout),
			ShutdownTimeout: Duration(15 * time.Second),

			ClientAddrHeader: "X-Forwarded-For",
			RequestTimeout:   Duration(defaultRequestTimeout),
		},
		Store:    StoreConfig{Driver: "sqlite"},
		LDAP:     defaultLDAPConfig(),
		Password: PasswordConfig{MemoryKiB: pw.Memory, Iterations: pw.Iterations, Parallelism: pw.Parallelism, MemoryBudgetMiB: 1024, MemoryBaseMiB: 48},
		Login:    LoginConfig{Floor: "auto", FloorMax: Duration(2 * time.Second), FloorPoll: Duration(5 * time.Second), FloorRecalibrate: Duration(10 * time.Minute)},
		Session:  defaultSessionConfig(),
		Log:      LogConfig{Level: "info", Format: "text"},
		Mail: MailConfig{Driver: "dev", From: "veil <no-reply@localhost>", SiteName: mp.SiteName, SignUpTTL: Duration(mp.SignUpTTL), ResetTTL: Duration(mp.ResetTTL),
			RetryBackoff: Duration(wk.BaseBackoff), MaxAttempts: wk.MaxAttempts, Lease: Duration(wk.Lease)},
		SMTP:     SMTPConfig{Port: 587, TLS: "starttls", Timeout: Duration(smtp.DefaultTimeout)},
		Throttle: defaultThrottleConfig(),
		Account:  AccountConfig{RecentSignIn: Duration(veil.DefaultRecentSignIn)},
		OIDC:     defaultOIDCConfig(),

		ForwardAuth: ForwardAuthConfig{CacheTTL: Duration(veil.DefaultIdentityCacheTTL)},
	}
}

// configFlags are the flags every command that opens veil's state takes.
type configFlags struct {
	configFile  string
	dataDir     string
	listen      string
	adminListen string
}

func (f *configFlags) register(fs *flag.FlagSet, withListeners bool) {
	fs.StringVar(&f.configFile, "config", "", "TOML configuration `file` (also VEIL_CONFIG)")
	fs.StringVar(&f.dataDir, "data-dir", "", "`directory` for the embedded database (default ./veil-data)")
	if withListeners {
		fs.StringVar(&f.listen, "listen", "", "public listener `address` (default 127.0.0.1:8080)")
		fs.StringVar(&f.adminListen, "admin-listen", "", "admin listener `address` for metrics and audit (default 127.0.0.1:9091)")
	}
}

// load builds the effective configuration: defaults, then the file, then
// the environment, then flags.
func (f *configFlags) load(getenv func(string) string) (*Config, error) {
	cfg := DefaultConfig()
	path := f.configFile
	if path == "" {
		path = getenv("VEIL_CONFIG")
	}
	if path != "" {
		if err := loadConfigFile(path, &cfg); err != nil {
			return nil, err
		}
	}
	if err := applyEnv(reflect.ValueOf(&cfg).Elem(), "VEIL", getenv); err != nil {
		return nil, err
	}
	for dst, v := range map[*string]string{&cfg.DataDir: f.dataDir, &cfg.Server.Listen: f.listen, &cfg.Server.AdminListen: f.adminListen} {
		if v != "" {
			*dst = v
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

func loadConfigFile(path string, cfg *Config) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading configuration: %w", err)
	}
	md, err := toml.Decode(string(b), cfg)
	if err != nil {
		return fmt.Errorf("configuration %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return fmt.Errorf("configuration %s: unknown key %q", path, und[0].String())
	}
	return nil
}

// applyEnv sets every field of v whose VEIL_ name is in the environment.
func applyEnv(v reflect.Value, prefix string, getenv func(string) string) error {
	t := v.Type()
	for i := range t.NumField() {
		field, fv := t.Field(i), v.Field(i)
		name := prefix + "_" + strings.ToUpper(strings.Split(field.Tag.Get("toml"), ",")[0])
		if field.Type.Kind() == reflect.Struct && field.Type != reflect.TypeFor[Duration]() {
			if err := applyEnv(fv, name, getenv); err != nil {
				return err
			}
			continue
		}
		raw := getenv(name)
		if raw == "" {
			continue
		}
		if err := setFromString(fv, raw); err != nil {
			return fmt.Errorf("environment %s: %w", name, err)
		}
	}
	return nil
}

func setFromString(fv reflect.Value, raw string) error {
	if u, ok := fv.Addr().Interface().(interface{ UnmarshalText([]byte) error }); ok {
		return u.UnmarshalText([]byte(raw))
	}
	switch fv.Kind() {
	case reflect.String:
		fv.SetString(raw)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", raw)
		}
		fv.SetInt(n)
	case reflect.Uint8, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(raw, 10, fv.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not a whole number that fits", raw)
		}
		fv.SetUint(n)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("%q is not true or false", raw)
		}
		fv.SetBool(b)
	case reflect.Slice:
		if fv.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("is a list of tables: set it in the configuration file")
		}
		var items []string
		for _, s := range strings.Split(raw, ",") {
			if s = strings.TrimSpace(s); s != "" {
				items = append(items, s)
			}
		}
		fv.Set(reflect.ValueOf(items))
	default:
		return fmt.Errorf("unsupported type %s", fv.Type())
	}
	return nil
}

func (c *Config) validate() error {
	switch c.Store.Driver {
	case "sqlite", "postgres":
	case "ldap":
		if err := c.LDAP.validate(); err != nil {
			return err
		}
	default:
		return fmt.Errorf("store.driver must be sqlite, postgres or ldap, not %q", c.Store.Driver)
	}
	if c.Store.Driver == "postgres" && c.Store.DSN == "" {
		return fmt.Errorf("store.dsn is required with store.driver = \"postgres\"")
	}
	switch c.Server.SecureCookies {
	case "auto", "true", "false":
	default:
		return fmt.Errorf("server.secure_cookies must be auto, true or false, not %q", c.Server.SecureCookies)
	}
	if (c.Server.TLSCertFile == "") != (c.Server.TLSKeyFile == "") {
		return fmt.Errorf("server.tls_cert_file and server.tls_key_file go together")
	}
	if _, _, err := c.floor(); err != nil {
		return err
	}
	if err := c.validateRequestTimeout(); err != nil {
		return err
	}
	if c.Account.RecentSignIn < 0 {
		return fmt.Errorf("account.recent_sign_in must not be negative (0 always asks for the password)")
	}
	if c.Login.FloorPoll <= 0 || c.Login.FloorRecalibrate <= 0 {
		return fmt.Errorf("login.floor_poll and login.floor_recalibrate must be positive")
	}
	switch c.Mail.Driver {
	case "dev":
	case "smtp":
		if c.SMTP.Host == "" {
			return fmt.Errorf("smtp.host is required with mail.driver = \"smtp\"")
		}
	default:
		return fmt.Errorf("mail.driver must be dev or smtp, not %q", c.Mail.Driver)
	}
	if c.Mail.SignUpTTL <= 0 || c.Mail.ResetTTL <= 0 || c.Mail.RetryBackoff <= 0 || c.Mail.MaxAttempts <= 0 {
		return fmt.Errorf("mail.signup_ttl, mail.reset_ttl, mail.retry_backoff and mail.max_attempts must be positive")
	}
	if c.Mail.Lease <= c.SMTP.Timeout || c.Mail.Lease <= 0 {
		return fmt.Errorf("mail.lease (%v) must be longer than smtp.timeout (%v): a send still running when its lease ends is sent again", time.Duration(c.Mail.Lease), time.Duration(c.SMTP.Timeout))
	}
	if err := c.validateThrottle(); err != nil {
		return err
	}
	if err := c.validateBranding(); err != nil {
		return err
	}
	if err := c.validateListeners(); err != nil {
		return err
	}
	if c.Session.IdleTimeout <= 0 || c.Session.AbsoluteTimeout <= 0 {
		return fmt.Errorf("session timeouts must be positive")
	}
	// The logger would fall back to info and text, hiding the typo.
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Log.Level)); err != nil {
		return fmt.Errorf("log.level must be debug, info, warn or error, not %q", c.Log.Level)
	}
	if !strings.EqualFold(c.Log.Format, "text") && !strings.EqualFold(c.Log.Format, "json") {
		return fmt.Errorf("log.format must be text or json, not %q", c.Log.Format)
	}
	if _, err := c.accessRules(); err != nil {
		return err
	}
	if err := c.validateForwardAuth(); err != nil {
		return err
	}
	if err := c.validateOIDC(); err != nil {
		return err
	}
	return c.validateSessionStore()
}

// floor interprets login.floor: "auto", "off", or a duration.
func (c *Config) floor() (auto bool, fixed time.Duration, err error) {
	switch c.Login.Floor {
	case "auto":
		return true, 0, nil
	case "off", "0":
		return false, 0, nil
	}
	d, err := time.ParseDuration(c.Login.Floor)
	if err != nil || d < 0 {
		return false, 0, fmt.Errorf("login.floor must be auto, off or a duration like 250ms, not %q", c.Login.Floor)
	}
	return false, d, nil
}

// encode writes the configuration as TOML.
func (c *Config) encode() ([]byte, error) {
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(c); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// secretText is a password in the configuration: read like any string,
// printed by `veil config print` as "(set)", so it never reaches a
// terminal or a log by that way.
type secretText string

func (s secretText) MarshalText() ([]byte, error) {
	if s == "" {
		return []byte{}, nil
	}
	return []byte("(set)"), nil
}

func (s *secretText) UnmarshalText(b []byte) error { *s = secretText(b); return nil }

// secretURL is a URL or DSN that may hold a password (store.dsn, the Redis
// URLs): read like any string, printed by `veil config print` with the
// password replaced by "xxxxx".
type secretURL string

var dsnPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)

func (s secretURL) MarshalText() ([]byte, error) {
	if u, err := url.Parse(string(s)); err == nil && u.User != nil {
		return []byte(u.Redacted()), nil
	}
	// A key=value DSN (host=... password=...), or text url cannot parse.
	return []byte(dsnPassword.ReplaceAllString(string(s), "${1}xxxxx")), nil
}

func (s *secretURL) UnmarshalText(b []byte) error { *s = secretURL(b); return nil }
