package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/metrics"
	"github.com/veil-id/veil/redis"
	"github.com/veil-id/veil/throttle"
	"github.com/veil-id/veil/web"
)

func escalationConfig(e throttle.Escalation) EscalationConfig {
	return EscalationConfig{e.ChallengeAfter, e.BlockAfter, Duration(e.BlockFor), Duration(e.BlockMax)}
}

func (e EscalationConfig) escalation() throttle.Escalation {
	return throttle.Escalation{ChallengeAfter: e.ChallengeAfter, BlockAfter: e.BlockAfter, BlockFor: time.Duration(e.BlockFor), BlockMax: time.Duration(e.BlockMax)}
}

func defaultThrottleConfig() ThrottleConfig {
	p := throttle.DefaultPolicy
	login, signup, recover := p.Actions[veil.ActionLogin], p.Actions[veil.ActionSignUp], p.Actions[veil.ActionRecover]
	return ThrottleConfig{
		Store:                    "memory",
		RedisPrefix:              "veil:throttle:",
		RedisTimeout:             Duration(500 * time.Millisecond),
		OnStoreError:             "memory",
		MemoryLimit:              32 << 20,
		ForgetAfter:              Duration(p.ForgetAfter),
		PowDifficulty:            p.PowDifficulty,
		PowTTL:                   Duration(p.PowTTL),
		SlowLane:                 Duration(p.SlowLane),
		DeviceTTL:                Duration(p.DeviceTTL),
		GlobalChallengePerMinute: login.GlobalChallengePerMinute,
		Identifier:               escalationConfig(login.Subject),
		Address:                  escalationConfig(login.Address),
		Device:                   escalationConfig(login.Device),
		SignUpEmail:              escalationConfig(signup.Subject),
		SignUpAddress:            escalationConfig(signup.Address),
		RecoverEmail:             escalationConfig(recover.Subject),
		RecoverAddress:           escalationConfig(recover.Address),
	}
}

func (tc ThrottleConfig) policy() throttle.Policy {
	return throttle.Policy{
		Actions: map[string]throttle.ActionPolicy{
			veil.ActionLogin: {
				Subject: tc.Identifier.escalation(), Address: tc.Address.escalation(), Device: tc.Device.escalation(),
				GlobalChallengePerMinute: tc.GlobalChallengePerMinute,
			},
			veil.ActionSignUp:  {Subject: tc.SignUpEmail.escalation(), Address: tc.SignUpAddress.escalation()},
			veil.ActionRecover: {Subject: tc.RecoverEmail.escalation(), Address: tc.RecoverAddress.escalation()},
		},
		ForgetAfter:   time.Duration(tc.ForgetAfter),
		PowDifficulty: tc.PowDifficulty,
		PowTTL:        time.Duration(tc.PowTTL),
		SlowLane:      time.Duration(tc.SlowLane),
		DeviceTTL:     time.Duration(tc.DeviceTTL),
	}
}

// validateThrottle checks [throttle] and server.trusted_proxies.
func (c *Config) validateThrottle() error {
	tc := c.Throttle
	switch tc.Store {
	case "memory":
	case "redis":
		if tc.RedisURL == "" {
			return fmt.Errorf("throttle.redis_url is required with throttle.store = \"redis\"")
		}
	default:
		return fmt.Errorf("throttle.store must be memory or redis, not %q", tc.Store)
	}
	if tc.OnStoreError != "memory" && tc.OnStoreError != "closed" {
		return fmt.Errorf("throttle.on_store_error must be memory or closed, not %q", tc.OnStoreError)
	}
	if tc.MemoryLimit < 1<<20 {
		return fmt.Errorf("throttle.memory_limit must be at least 1MiB")
	}
	if err := tc.policy().Validate(); err != nil {
		return err
	}
	_, err := web.ParseTrustedProxies(c.Server.TrustedProxies)
	return err
}

// throttleSecretName names the secret that signs challenges and device
// cookies; in the database, so every instance on it shares the secret.
const throttleSecretName = "throttle_key"

// appThrottle is the throttle of an app and what it is made of.
type appThrottle struct {
	throttle *throttle.Throttle
	store    veil.ThrottleStore // what throttle keeps its counters in
	memory   *throttle.MemoryStore
	redis    *redis.ThrottleStore // nil unless throttle.store = "redis"
}

// newThrottle builds the throttle the configuration asks for. It does not
// reach Redis yet: commands that never sign anyone in never connect.
func (a *app) newThrottle(ctx context.Context) (*appThrottle, error) {
	tc := a.cfg.Throttle
	secret, err := a.db.LoadOrCreateSecret(ctx, throttleSecretName, 32)
	if err != nil {
		return nil, fmt.Errorf("loading the throttle key: %w", err)
	}
	t := &appThrottle{memory: throttle.NewMemoryStore(throttle.MemoryConfig{Limit: int64(tc.MemoryLimit)})}
	var store veil.ThrottleStore = t.memory
	if tc.Store == "redis" {
		if t.redis, err = redis.Open(string(tc.RedisURL), redis.Options{Prefix: tc.RedisPrefix, Timeout: time.Duration(tc.RedisTimeout)}); err != nil {
			return nil, err
		}
		store = t.redis
		if tc.OnStoreError == "memory" {
			store = &throttle.FallbackStore{Primary: t.redis, Fallback: t.memory, Logger: a.logger, OnFailure: t.countFallbackFailures}
		}
	}
	t.store = store
	t.throttle, err = throttle.New(throttle.Config{Store: store, Policy: tc.policy(), Secret: secret, Logger: a.logger})
	if err != nil {
		t.close()
		return nil, err
	}
	return t, nil
}

func (t *appThrottle) close() {
	if t != nil && t.redis != nil {
		t.redis.Close()
	}
}

// checkThrottleStore says at start whether Redis answers; serving goes on
// either way, as on_store_error says.
func (a *app) checkThrottleStore(ctx context.Context) {
	if a.thr == nil || a.thr.redis == nil {
		return
	}
	if err := a.thr.redis.Ping(ctx); err != nil {
		a.logger.Warn("throttle: Redis does not answer", "on_store_error", a.cfg.Throttle.OnStoreError, "err", err)
	}
}

// registerThrottleGauges exposes the throttle's true state on the admin
// listener: how many attempts were admitted, challenged and blocked, and
// the memory store's size against its bound.
func (a *app) registerThrottleGauges(met *metrics.Metrics) {
	st := a.thr.throttle.Stats()
	for name, c := range map[string]interface{ Load() int64 }{
		"admitted": &st.Admitted, "trusted_device": &st.Trusted, "proved": &st.Proved, "slow_lane": &st.SlowLane,
		"challenged": &st.Challenged, "blocked": &st.Blocked, "uncounted": &st.Uncounted, "released": &st.Released,
		"store_failures": &st.StoreFailures,
	} {
		met.Counter("veil_throttle_"+name+"_total", "Throttle decisions since start: "+strings.ReplaceAll(name, "_", " ")+".", func() float64 { return float64(c.Load()) })
	}
	met.Gauge("veil_throttle_memory_bytes", "Bytes held by the in-memory throttle store.", func() float64 { return float64(a.thr.memory.Bytes()) })
	met.Gauge("veil_throttle_memory_limit_bytes", "The in-memory throttle store's bound (throttle.memory_limit).", func() float64 { return float64(a.thr.memory.Limit()) })
	met.Gauge("veil_throttle_memory_keys", "Keys held by the in-memory throttle store.", func() float64 { n, _ := a.thr.memory.Len(); return float64(n) })
	met.Counter("veil_throttle_memory_dropped_total", "Live keys the in-memory store dropped to stay in its bound.", func() float64 { _, d := a.thr.memory.Len(); return float64(d) })
}

// ByteSize is a size in bytes written as "32MiB", "512KiB", "1GB" or a
// plain number of bytes.
type ByteSize int64

var byteUnits = []struct {
	suffix string
	n      int64
}{{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"b", 1}}

func (b ByteSize) MarshalText() ([]byte, error) {
	for _, u := range []struct {
		suffix string
		n      int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if b != 0 && int64(b)%u.n == 0 {
			return []byte(strconv.FormatInt(int64(b)/u.n, 10) + u.suffix), nil
		}
	}
	return []byte(strconv.FormatInt(int64(b), 10)), nil
}

func (b *ByteSize) UnmarshalText(text []byte) error {
	s := strings.ToLower(strings.TrimSpace(string(text)))
	mult := int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.n
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<50)/mult {
		return fmt.Errorf("invalid size %q (write it like 32MiB or 1GiB)", text)
	}
	*b = ByteSize(n * mult)
	return nil
}

const throttleUsage = `usage: veil throttle reset [--address IP] [IDENTIFIER] [flags]

Lets an identifier, a client address, or both, start over with the
throttle: failures, blocks and slow-lane turns are forgotten for sign-in,
sign-up and recovery. For a person locked out by someone else's guesses
(a device cookie usually gets them in without this). It asks the running
veil serve through its admin listener (server.admin_listen), so it works
with the in-memory store as well as with Redis. The reset is audited.`

func runThrottle(ctx context.Context, m *Main, args []string) error {
	if _, err := m.subcommand("throttle", throttleUsage, args, "reset"); err != nil {
		return err
	}
	fs, cf := m.flagSet("veil throttle reset", true)
	fs.synopsis, fs.maxArgs = "veil throttle reset [flags] [IDENTIFIER]", 1
	address := fs.String("address", "", "client `IP` address to reset (an IPv6 address resets its /64)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() == 0 && *address == "" {
		return fs.usageError("give an identifier, --address, or both")
	}
	cfg, err := cf.load(m.Getenv)
	if err != nil {
		return err
	}
	body, _ := json.Marshal(map[string]string{"identifier": fs.Arg(0), "address": *address})
	req, err := adminRequest(ctx, cfg, http.MethodPost, "/throttle/reset", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("is veil serve running? its admin listener at %s does not answer: %w", cfg.Server.AdminListen, err)
	}
	defer res.Body.Close()
	var answer struct {
		Message string `json:"message"`
		Address string `json:"address"`
	}
	json.NewDecoder(io.LimitReader(res.Body, 64<<10)).Decode(&answer)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("throttle reset: %s: %s", res.Status, answer.Message)
	}
	var what []string
	if fs.Arg(0) != "" {
		what = append(what, fs.Arg(0))
	}
	if answer.Address != "" {
		what = append(what, answer.Address)
	}
	fmt.Fprintf(m.Stdout, "reset: %s\n", strings.Join(what, ", "))
	return nil
}
