package web_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/password"
	"github.com/veil-id/veil/postgres"
	"github.com/veil-id/veil/postgres/postgrestest"
	"github.com/veil-id/veil/redis"
	"github.com/veil-id/veil/sqlite/sqlitetest"
	"github.com/veil-id/veil/sqlstore"
	"github.com/veil-id/veil/veiltest"
	"github.com/veil-id/veil/web"
)

// benchForwardAuth measures one forward-auth check with a valid session,
// in process (no loopback TCP): the session, its account and the
// account's groups looked up, a group rule decided, the headers written.
// Accounts and groups are in db, sessions in sessions.
func benchForwardAuth(b *testing.B, db *sqlstore.DB, sessions veil.SessionStore) {
	for _, c := range []struct {
		name string
		ttl  time.Duration
	}{{"nocache", 0}, {"cache", veil.DefaultIdentityCacheTTL}} {
		b.Run(c.name, func(b *testing.B) { benchForwardAuthTTL(b, db, sessions, c.ttl) })
	}
}

// benchForwardAuthTTL is one run with the identity cache's TTL (0: off).
func benchForwardAuthTTL(b *testing.B, db *sqlstore.DB, sessions veil.SessionStore, cacheTTL time.Duration) {
	ctx := context.Background()
	hasher, err := password.New(password.Config{Params: testParams, Concurrency: 2})
	if err != nil {
		b.Fatal(err)
	}
	svc, err := veil.NewService(ctx, veil.ServiceConfig{Accounts: db, Sessions: sessions, Hasher: hasher, Groups: db, IdentityCacheTTL: cacheTTL,
		Key: veil.IdentifierKey("bench identifier key 0123456789")})
	if err != nil {
		b.Fatal(err)
	}
	email := "alice-" + cacheTTL.String() + "@example.com"
	acct, err := svc.AddAccount(ctx, email, "Alice", goodPassword)
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := svc.AddToGroup(ctx, acct.ID, "admins"); err != nil {
		b.Fatal(err)
	}
	res, err := svc.Login(ctx, veil.LoginRequest{Identifier: email, Password: goodPassword})
	if err != nil {
		b.Fatal(err)
	}
	rules, err := veil.NewAccessRules(testRules)
	if err != nil {
		b.Fatal(err)
	}
	srv, err := web.NewServer(web.Config{Accounts: svc, AccessRules: rules, Logger: discardLogger(),
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}})
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/api/forward-auth", nil)
	req.RemoteAddr = "192.0.2.1:1234"
	req.Header.Set("Cookie", "veil_session="+res.Token)
	req.Header.Set("X-Original-URL", "https://admin.apps.example.com/page")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("forward-auth = %d %s", w.Code, w.Body)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
}

func BenchmarkForwardAuthSQLite(b *testing.B) {
	db := sqlitetest.MustOpen(b)
	benchForwardAuth(b, db, db)
}

func BenchmarkForwardAuthPostgres(b *testing.B) {
	db, err := postgres.Open(context.Background(), postgrestest.MustCreate(b).DSN)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	benchForwardAuth(b, db, db)
}

// BenchmarkForwardAuthRedis keeps sessions in Redis, accounts and groups
// in SQLite (session.store = "redis").
func BenchmarkForwardAuthRedis(b *testing.B) {
	url := veiltest.RequireServer(b, "VEIL_TEST_REDIS", "Redis")
	var p [6]byte
	rand.Read(p[:])
	prefix := "veil-bench:" + hex.EncodeToString(p[:]) + ":"
	sessions, err := redis.OpenSessionStore(url, redis.Options{Prefix: prefix})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx := context.Background()
		if keys, _ := sessions.Client().Keys(ctx, prefix+"*").Result(); len(keys) > 0 {
			sessions.Client().Del(ctx, keys...)
		}
		sessions.Close()
	})
	benchForwardAuth(b, sqlitetest.MustOpen(b), sessions)
}
