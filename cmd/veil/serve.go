package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/metrics"
	"github.com/veil-id/veil/web"
)

func runServe(ctx context.Context, m *Main, args []string) error {
	fs, cf := m.flagSet("veil serve", true)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := cf.load(m.Getenv)
	if err != nil {
		return err
	}
	met := metrics.New()
	a, err := openApp(ctx, cfg, m.Stderr, met)
	if err != nil {
		return err
	}
	defer a.Close()
	return a.serve(ctx, m, met)
}

// serve runs veil until ctx ends: it builds the public server and the
// admin server, opens their listeners, starts the background work and
// serves.
func (a *app) serve(ctx context.Context, m *Main, met *metrics.Metrics) error {
	defer a.applyMemoryLimit()()
	floor, err := a.newFloor(ctx, met)
	if err != nil {
		return err
	}
	a.instrument(ctx, met, floor)
	ms, err := a.newMail()
	if err != nil {
		return err
	}
	public, err := a.newPublicServer(ctx, floor)
	if err != nil {
		return err
	}
	ready := a.readiness()
	admin, err := a.newAdminHandler(met.Handler(), ready)
	if err != nil {
		return err
	}
	pubLn, adminLn, err := a.listen()
	if err != nil {
		return err
	}
	a.announce(m, pubLn, adminLn, floor, ms)
	stopBackground := a.startBackground(ctx, ms)
	err = a.runServers(ctx, pubLn, a.withFaultBounds(ms.withDevMail(public), public, ready), adminLn, admin)
	// The store stays open until the worker has finished or given back
	// the send in progress (within the shutdown timeout, like requests).
	stopBackground()
	return err
}

// instrument registers the gauges of the admin listener's metrics and
// checks the shared stores once, so a misconfigured one shows at start.
func (a *app) instrument(ctx context.Context, met *metrics.Metrics, floor *web.Floor) {
	floor.OnExceeded(met.FloorExceeded)
	floor.OnLookupExceeded(met.LookupFloorExceeded)
	floor.OnNoHashExceeded(met.NoHashFloorExceeded)
	a.registerGauges(met, floor)
	a.registerThrottleGauges(met)
	a.checkThrottleStore(ctx)
	a.checkSessionStore(ctx)
}

// newPublicServer builds the public listener's handler: the pages and API
// of package web under floor, with OpenID Connect mounted when it is on.
func (a *app) newPublicServer(ctx context.Context, floor *web.Floor) (*web.Server, error) {
	rules, err := a.cfg.accessRules() // forward_auth.rules (rules.go)
	if err != nil {
		return nil, err
	}
	proxies, err := web.ParseTrustedProxies(a.cfg.Server.TrustedProxies)
	if err != nil {
		return nil, err
	}
	b, err := a.cfg.brand()
	if err != nil {
		return nil, err
	}
	public, err := web.NewServer(web.Config{
		Brand:            b,
		TemplatesDir:     a.cfg.Branding.TemplatesDir,
		Accounts:         a.service,
		MailFlows:        a.service,
		Factors:          a.service,
		Passkeys:         a.passkeys(),
		Settings:         a.service,
		Floor:            floor,
		SecureCookies:    a.secureCookies(),
		TrustedOrigins:   a.cfg.Server.TrustedOrigins,
		TrustedProxies:   proxies,
		ClientAddrHeader: a.cfg.Server.ClientAddrHeader,
		ForwardAuthEmail: a.cfg.ForwardAuth.EmailHeader,
		ReturnDomains:    a.cfg.returnDomains(),
		LoginURL:         a.cfg.loginURL(),
		CookieDomain:     a.cfg.Session.CookieDomain,
		ManagedElsewhere: a.managedElsewhere(),
		AccessRules:      rules,
		Logger:           a.logger,
	})
	if err != nil {
		return nil, err
	}
	if err := a.mountOIDC(ctx, public); err != nil {
		return nil, err
	}
	return public, nil
}

// listen opens the public and the admin listener.
func (a *app) listen() (public, admin net.Listener, err error) {
	public, err = net.Listen("tcp", a.cfg.Server.Listen)
	if err != nil {
		return nil, nil, fmt.Errorf("public listener: %w", err)
	}
	admin, err = net.Listen("tcp", a.cfg.Server.AdminListen)
	if err != nil {
		public.Close()
		return nil, nil, fmt.Errorf("admin listener: %w", err)
	}
	return public, admin, nil
}

// announce tells whoever started veil where it listens and what to do
// first, logs how it runs, and warns about what must not reach production.
func (a *app) announce(m *Main, pubLn, adminLn net.Listener, floor *web.Floor, ms *mailSetup) {
	scheme := "http"
	if a.cfg.Server.TLSCertFile != "" {
		scheme = "https"
	}
	pubURL := scheme + "://" + pubLn.Addr().String()
	adminURL := "http://" + adminLn.Addr().String()
	fmt.Fprintf(m.Stdout, "veil is listening on %s (admin: %s, store: %s)\n", pubURL, adminURL, a.cfg.Store.Driver)
	a.printFirstSteps(m.Stdout, pubURL)
	a.logger.Info("serving", "url", pubURL, "admin", adminURL, "store", a.cfg.Store.Driver, "sessions", a.cfg.Session.Store,
		"secure_cookies", a.secureCookies(), "floor", floorDescription(a.cfg, floor), "hash_concurrency", a.hasher.Limits().Concurrency, "hash_queue", a.hasher.Limits().Queue)
	if l := a.hasher.Limits(); l.Concurrency < l.RequestedConcurrency {
		a.logger.Warn("password hashing concurrency lowered to fit the memory budget", "requested", l.RequestedConcurrency, "running", l.Concurrency, "budget_mib", a.cfg.Password.MemoryBudgetMiB)
	}
	if !isLoopback(adminLn.Addr()) {
		a.logger.Warn("the admin listener is not on loopback: its metrics and audit log reveal which sign-ins were for unknown identifiers; keep it private")
	}
	if m.Ready != nil {
		m.Ready(pubURL, adminURL)
	}
	if ms.devmail != nil {
		a.logger.Warn("MAIL IS NOT SENT: mail.driver = \"dev\" keeps every mail in the database and shows it at " + pubURL + "/dev/mail to browsers on this machine. Set mail.driver = \"smtp\" before real people use this server.")
	}
}

// startBackground starts the outbox worker and the deletion of expired
// records; the function it returns stops the worker and waits for it.
func (a *app) startBackground(ctx context.Context, ms *mailSetup) (stop func()) {
	worker := a.service.NewWorker(veil.WorkerConfig{Renderer: ms.renderer, Mailer: ms.mailer, Logger: a.logger,
		BaseBackoff: time.Duration(a.cfg.Mail.RetryBackoff), MaxAttempts: a.cfg.Mail.MaxAttempts,
		Lease: time.Duration(a.cfg.Mail.Lease), Grace: time.Duration(a.cfg.Server.ShutdownTimeout)})
	wctx, stopWorker := context.WithCancel(ctx)
	workerDone := make(chan struct{})
	go func() { defer close(workerDone); worker.Run(wctx) }()
	go a.deleteExpired(ctx)
	return func() {
		stopWorker()
		<-workerDone
	}
}

// runServers serves both listeners until ctx ends, then shuts down
// gracefully: in-flight requests finish, within the shutdown timeout.
func (a *app) runServers(ctx context.Context, pubLn net.Listener, public http.Handler, adminLn net.Listener, admin http.Handler) error {
	sc := a.cfg.Server
	pub := &http.Server{
		Handler:           public,
		ReadHeaderTimeout: web.ReadHeaderTimeout,
		ReadTimeout:       time.Duration(sc.ReadTimeout),
		WriteTimeout:      time.Duration(sc.WriteTimeout),
		IdleTimeout:       time.Duration(sc.IdleTimeout),
		MaxHeaderBytes:    32 << 10,
	}
	adm := &http.Server{Handler: admin, ReadHeaderTimeout: web.ReadHeaderTimeout, ReadTimeout: web.ReadTimeout, WriteTimeout: web.WriteTimeout}
	errc := make(chan error, 2)
	go func() {
		if sc.TLSCertFile != "" {
			errc <- pub.ServeTLS(pubLn, sc.TLSCertFile, sc.TLSKeyFile)
		} else {
			errc <- pub.Serve(pubLn)
		}
	}()
	go func() { errc <- adm.Serve(adminLn) }()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	a.logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Duration(sc.ShutdownTimeout))
	defer cancel()
	errs := []error{pub.Shutdown(sctx), adm.Shutdown(sctx)}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func floorDescription(cfg *Config, f *web.Floor) string {
	if cfg.Login.Floor == "auto" {
		return "auto: lookups " + f.Lookup().Round(10*time.Microsecond).String() + ", answers " + f.Duration().Round(time.Millisecond).String()
	}
	return f.Duration().String()
}

// secureCookies decides whether the session cookie is Secure (and
// __Host-prefixed). Only plain HTTP on loopback, with no https public URL,
// goes without: anywhere else veil is presumably behind a TLS proxy.
func (a *app) secureCookies() bool {
	sc := a.cfg.Server
	switch sc.SecureCookies {
	case "true":
		return true
	case "false":
		return false
	}
	if sc.TLSCertFile != "" || strings.HasPrefix(sc.PublicURL, "https://") {
		return true
	}
	host, _, err := net.SplitHostPort(sc.Listen)
	if err != nil {
		return true
	}
	ip := net.ParseIP(host)
	return !(host == "localhost" || (ip != nil && ip.IsLoopback()))
}

func isLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

func (a *app) registerGauges(met *metrics.Metrics, floor *web.Floor) {
	met.Gauge("veil_audit_events_queued", "Audit events waiting to be stored: they are written in the background, in batches, so that no answer waits for them.", func() float64 {
		return float64(a.audit.Queued())
	})
	met.Counter("veil_audit_events_dropped_total", "Audit events not stored: the queue was full or the store failed (each is also logged).", func() float64 {
		return float64(a.audit.Dropped())
	})
	met.Gauge("veil_password_hashes_running", "Password hashes running now.", func() float64 {
		r, _ := a.hasher.Stats()
		return float64(r)
	})
	met.Gauge("veil_password_hashes_waiting", "Password hashes waiting for the pool.", func() float64 {
		_, w := a.hasher.Stats()
		return float64(w)
	})
	met.Gauge("veil_time_floor_seconds", "The sign-in answer floor now (0 while every stored hash is current: the lookup floor covers the rest).", func() float64 {
		return floor.Duration().Seconds()
	})
	met.Gauge("veil_password_verify_hold_seconds", "The least time a verification keeps its hashing slot (0 while every stored hash is current): the slowest stored kind's cost, so the sign-ins queued behind it wait alike.", func() float64 {
		return a.hasher.VerificationHold().Seconds()
	})
	met.Gauge("veil_time_floor_lookup_seconds", "The sign-in lookup floor now: the time from the start of the password check to the start of the hash, alike for every identifier.", func() float64 {
		return floor.Lookup().Seconds()
	})
}

// deleteExpired deletes expired sessions, tokens and pending sign-ups now
// and then, so their tables do not grow without bound.
func (a *app) deleteExpired(ctx context.Context) {
	a.expireEvery(ctx, "sessions, tokens and sign-ups", a.service.DeleteExpired)
}

// expireEvery runs expire now and every ten minutes until ctx ends, and
// logs what it deleted.
func (a *app) expireEvery(ctx context.Context, what string, expire func(context.Context) (int, error)) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		if n, err := expire(ctx); err != nil && ctx.Err() == nil {
			a.logger.Error("expiring "+what, "err", err)
		} else if n > 0 {
			a.logger.Info("expired "+what, "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// printFirstSteps tells whoever started veil where its data is, where people
// sign in, and how accounts come to be.
func (a *app) printFirstSteps(w io.Writer, listening string) {
	public := strings.TrimRight(a.cfg.Server.PublicURL, "/")
	if public == "" {
		public = listening
	}
	fmt.Fprintf(w, "  data directory: %s\n  sign in at:     %s/login\n", a.cfg.DataDir, public)
	if a.directory != nil {
		fmt.Fprintln(w, "  accounts:       the directory's entries sign in; veil creates none")
		return
	}
	fmt.Fprintf(w, "  add an account: veil user add --data-dir %s you@example.com (the password is read from stdin), or sign up at %s/signup\n",
		a.cfg.DataDir, public)
}
