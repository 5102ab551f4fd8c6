package main

// The sections of Config, in the order of its fields: every key veil reads
// is declared here. Their defaults are in DefaultConfig; the code that
// reads a section lives in the file its comment names.

// ServerConfig configures the listeners.
type ServerConfig struct {
	Listen          string   `toml:"listen"`
	AdminListen     string   `toml:"admin_listen"`
	PublicURL       string   `toml:"public_url"`
	SecureCookies   string   `toml:"secure_cookies"`
	TrustedOrigins  []string `toml:"trusted_origins"`
	TLSCertFile     string   `toml:"tls_cert_file"`
	TLSKeyFile      string   `toml:"tls_key_file"`
	ReadTimeout     Duration `toml:"read_timeout"`
	WriteTimeout    Duration `toml:"write_timeout"`
	IdleTimeout     Duration `toml:"idle_timeout"`
	ShutdownTimeout Duration `toml:"shutdown_timeout"`
	// RequestTimeout is every request's deadline, which every database,
	// Redis and directory call honours; past it the answer is the one 503
	// (faults.go).
	RequestTimeout Duration `toml:"request_timeout"`
	// TrustedProxies may say who the client is in ClientAddrHeader
	// (addresses or CIDR prefixes).
	TrustedProxies []string `toml:"trusted_proxies"`

	// What clients, proxies and operators may tell veil (listeners.go).
	ClientAddrHeader string     `toml:"client_addr_header"`
	AdminHosts       []string   `toml:"admin_hosts"`
	AdminToken       secretText `toml:"admin_token"`
	AdminTokenFile   string     `toml:"admin_token_file"`
}

// StoreConfig chooses the database.
type StoreConfig struct {
	Driver string    `toml:"driver"`
	DSN    secretURL `toml:"dsn"`
}

// LDAPConfig is the [ldap] section: the directory that holds the accounts
// when store.driver = "ldap". Sessions, the audit log and veil's secrets
// stay in veil's own database, named by store.dsn: a SQLite path (default
// <data_dir>/veil.db) or a postgres:// URL.
type LDAPConfig struct {
	URL              string     `toml:"url"`
	StartTLS         bool       `toml:"start_tls"`
	CAFile           string     `toml:"ca_file"`
	BindDN           string     `toml:"bind_dn"`
	BindPassword     secretText `toml:"bind_password"`
	BindPasswordFile string     `toml:"bind_password_file"`
	BaseDN           string     `toml:"base_dn"`
	Filter           string     `toml:"filter"`
	EmailAttribute   string     `toml:"email_attribute"`
	NameAttribute    string     `toml:"name_attribute"`
	PoolSize         int        `toml:"pool_size"`
	DialTimeout      Duration   `toml:"dial_timeout"`
	Timeout          Duration   `toml:"timeout"`
	CacheTTL         Duration   `toml:"cache_ttl"`
	PasswordPolicyDN string     `toml:"password_policy_dn"`
	LockoutReserve   int        `toml:"lockout_reserve"`
	// Where people's groups are (ldap.GroupConfig): an attribute of
	// their entries (memberOf), a search of the groups, or both.
	GroupAttribute     string `toml:"group_attribute"`
	GroupBaseDN        string `toml:"group_base_dn"`
	GroupFilter        string `toml:"group_filter"`
	GroupNameAttribute string `toml:"group_name_attribute"`
	// ManageURL is where people create accounts and reset passwords: veil
	// cannot, and says so, pointing there, on sign-up and recovery.
	ManageURL string `toml:"manage_url"`
}

// PasswordConfig is the password hashing policy and its resource bounds.
type PasswordConfig struct {
	MemoryKiB       uint32 `toml:"memory_kib"`
	Iterations      uint32 `toml:"iterations"`
	Parallelism     uint8  `toml:"parallelism"`
	Concurrency     int    `toml:"concurrency"`
	Queue           int    `toml:"queue"`
	MemoryBudgetMiB uint64 `toml:"memory_budget_mib"` // running hashes at their real size, and one as headroom for garbage
	MemoryBaseMiB   uint64 `toml:"memory_base_mib"`   // veil besides hashing and the throttle store; sets Go's memory limit (memory.go)
}

// LoginConfig configures sign-in.
type LoginConfig struct {
	Floor    string   `toml:"floor"`
	FloorMax Duration `toml:"floor_max"`
	// The automatic floor reads the stored hash parameters every
	// floor_poll and times them again when they change, and every
	// floor_recalibrate in any case.
	FloorPoll        Duration `toml:"floor_poll"`
	FloorRecalibrate Duration `toml:"floor_recalibrate"`
}

// SessionConfig configures sessions.
type SessionConfig struct {
	IdleTimeout     Duration `toml:"idle_timeout"`
	AbsoluteTimeout Duration `toml:"absolute_timeout"`
	// Store is where sessions live: "database" (veil's own SQL database)
	// or "redis" (session_store.go).
	Store        string    `toml:"store"`
	RedisURL     secretURL `toml:"redis_url"`
	RedisPrefix  string    `toml:"redis_prefix"`
	RedisTimeout Duration  `toml:"redis_timeout"`
	// CookieDomain makes one session cookie cover a domain and every name
	// under it (validateForwardAuth).
	CookieDomain string `toml:"cookie_domain"`
}

// MailConfig configures the mail of sign-up and recovery.
type MailConfig struct {
	Driver    string   `toml:"driver"`
	From      string   `toml:"from"`
	SiteName  string   `toml:"site_name"`
	SignUpTTL Duration `toml:"signup_ttl"`
	ResetTTL  Duration `toml:"reset_ttl"`
	// RetryBackoff is the first wait after a failed send, doubled after
	// each further failure up to an hour; MaxAttempts sends are tried
	// before a job is kept as dead.
	RetryBackoff Duration `toml:"retry_backoff"`
	MaxAttempts  int      `toml:"max_attempts"`
	// Lease is how long a worker holds a job it has claimed: a process
	// killed mid-send leaves it to run out before another sends the job.
	// It must outlast a send (smtp.timeout). SIGTERM gives leases back.
	Lease Duration `toml:"lease"`
}

// SMTPConfig configures the smtp mail driver.
type SMTPConfig struct {
	Host         string     `toml:"host"`
	Port         int        `toml:"port"`
	Username     string     `toml:"username"`
	Password     secretText `toml:"password"`
	PasswordFile string     `toml:"password_file"`
	TLS          string     `toml:"tls"`
	HelloName    string     `toml:"hello_name"`
	Timeout      Duration   `toml:"timeout"`
}

// RecoveryConfig configures password recovery.
type RecoveryConfig struct {
	NotifyUnknown bool `toml:"notify_unknown"`
}

// AccountConfig configures the pages where people manage their accounts.
type AccountConfig struct {
	// LoginCodeSignUp mails an address without an account that asks for
	// a sign-in code the sign-up link instead of nothing.
	LoginCodeSignUp bool `toml:"login_code_signup"`
	// RecentSignIn is how long after signing in a session may delete its
	// account without entering the password again; 0 always asks for it.
	RecentSignIn Duration `toml:"recent_sign_in"`
}

// LogConfig configures the operator's log.
type LogConfig struct {
	Level  string `toml:"level"`
	Format string `toml:"format"`
}

// ThrottleConfig is the [throttle] section: where counters live and the
// policy (see throttle.DefaultPolicy for why the defaults are what they are).
type ThrottleConfig struct {
	Store        string    `toml:"store"` // memory or redis
	RedisURL     secretURL `toml:"redis_url"`
	RedisPrefix  string    `toml:"redis_prefix"`
	RedisTimeout Duration  `toml:"redis_timeout"`
	// OnStoreError: "memory" counts in this process while Redis fails;
	// "closed" answers every throttled request 503 until it is back.
	OnStoreError             string           `toml:"on_store_error"`
	MemoryLimit              ByteSize         `toml:"memory_limit"`
	ForgetAfter              Duration         `toml:"forget_after"`
	PowDifficulty            int              `toml:"pow_difficulty"`
	PowTTL                   Duration         `toml:"pow_ttl"`
	SlowLane                 Duration         `toml:"slow_lane"`
	DeviceTTL                Duration         `toml:"device_ttl"`
	GlobalChallengePerMinute int              `toml:"global_challenge_per_minute"`
	Identifier               EscalationConfig `toml:"identifier"`
	Address                  EscalationConfig `toml:"address"`
	Device                   EscalationConfig `toml:"device"`
	SignUpEmail              EscalationConfig `toml:"signup_email"`
	SignUpAddress            EscalationConfig `toml:"signup_address"`
	RecoverEmail             EscalationConfig `toml:"recover_email"`
	RecoverAddress           EscalationConfig `toml:"recover_address"`
}

// EscalationConfig is one key's escalation: a proof of work after
// challenge_after failures, a block after block_after, for block_for,
// doubling with each further failure up to block_max.
type EscalationConfig struct {
	ChallengeAfter int      `toml:"challenge_after"`
	BlockAfter     int      `toml:"block_after"`
	BlockFor       Duration `toml:"block_for"`
	BlockMax       Duration `toml:"block_max"`
}

// ForwardAuthConfig is the [forward_auth] section.
type ForwardAuthConfig struct {
	// EmailHeader adds Remote-Email to forward-auth answers. Off by
	// default: every app behind the proxy then sees the opaque account ID
	// in Remote-User and never the sign-in address.
	EmailHeader bool `toml:"email_header"`
	// ReturnDomains are where a sign-in may send the browser back to
	// (config.go, validateForwardAuth).
	ReturnDomains []string `toml:"return_domains"`
	// Rules say who may enter which app (rules.go).
	Rules []AccessRuleConfig `toml:"rules"`
	// CacheTTL is how long a check may answer a valid session from
	// memory: how late, at most, another instance sees a sign-out or a
	// revocation (veil.DefaultIdentityCacheTTL). 0 turns it off.
	CacheTTL Duration `toml:"cache_ttl"`
}

// AccessRuleConfig is one [[forward_auth.rules]] table: a host and path
// prefix, and either access = "bypass" | "signed_in" or group = [...].
type AccessRuleConfig struct {
	Host        string   `toml:"host"`
	Path        string   `toml:"path"`
	Access      string   `toml:"access"`
	Group       []string `toml:"group"`
	EmailHeader bool     `toml:"email_header"`
}

// OIDCConfig configures veil as an OpenID Provider (package oidc).
type OIDCConfig struct {
	// Enabled serves the provider; server.public_url is its issuer.
	Enabled bool `toml:"enabled"`
	// SigningAlgorithm signs ID tokens: ES256, EdDSA or RS256.
	SigningAlgorithm string `toml:"signing_algorithm"`
	// KeyFile holds the key (64 hex digits) that encrypts the signing keys
	// in the database; made on first start if missing. Every instance on
	// one database needs the same file. Default: <data_dir>/oidc.key.
	KeyFile string `toml:"key_file"`
	// Clients are applications declared here rather than with `veil
	// client add`.
	Clients []OIDCClientConfig `toml:"clients"`
}

// OIDCClientConfig is one [[oidc.clients]].
type OIDCClientConfig struct {
	ID         string     `toml:"id"`
	Name       string     `toml:"name"`
	Secret     secretText `toml:"secret"`
	SecretFile string     `toml:"secret_file"`
	// JWKSFile holds the client's JSON Web Key Set (public keys): it
	// authenticates with private_key_jwt instead of a secret.
	JWKSFile               string   `toml:"jwks_file"`
	RedirectURIs           []string `toml:"redirect_uris"`
	PostLogoutRedirectURIs []string `toml:"post_logout_redirect_uris"`
	Public                 bool     `toml:"public"`
	FirstParty             bool     `toml:"first_party"`
	AllowEmail             bool     `toml:"allow_email"`
	PublicSubject          bool     `toml:"public_subject"`
	Sector                 string   `toml:"sector"`
	SigningAlgorithm       string   `toml:"signing_algorithm"`
}

// BrandingConfig is the [branding] section: how the pages and the mails
// look, without forking a template.
type BrandingConfig struct {
	// SiteName names the service in page titles, the page header and mail
	// subjects; "" takes mail.site_name.
	SiteName string `toml:"site_name"`
	// LogoURL is shown above the card: a path on veil's own origin or an
	// https URL (whose origin the pages' CSP then admits for images).
	// Mails never show it: they load nothing remote.
	LogoURL string `toml:"logo_url"`
	// AccentColor is the colour of buttons and links, #rgb or #rrggbb;
	// the text on it and the links' shade are computed for WCAG AA
	// contrast.
	AccentColor string `toml:"accent_color"`
	// TemplatesDir holds page templates that replace veil's own of the
	// same name (web/templates); "" uses veil's.
	TemplatesDir string `toml:"templates_dir"`
}

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
	// PasskeyRPID and PasskeyOrigins name the relying party of passkeys
	// (see passkeyConfig); unset, they come from server.public_url.
	PasskeyRPID    string   `toml:"passkey_rp_id"`
	PasskeyOrigins []string `toml:"passkey_origins"`
}
