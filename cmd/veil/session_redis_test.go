package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/veil-id/veil/postgres/postgrestest"
	"github.com/veil-id/veil/redis"
	"github.com/veil-id/veil/veiltest"
)

// mustSessionRedis returns the variables that keep veil's sessions in the
// Redis of VEIL_TEST_REDIS under a prefix of the test's own, and a store on
// the same keys to look at them directly. Every key under the prefix is
// deleted when tb ends.
func mustSessionRedis(tb testing.TB) (map[string]string, *redis.SessionStore) {
	tb.Helper()
	url := veiltest.RequireServer(tb, "VEIL_TEST_REDIS", "Redis")
	prefix := "veil-test:" + randomHex(6) + ":"
	st, err := redis.OpenSessionStore(url, redis.Options{Prefix: prefix})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx := context.Background()
		if keys, _ := st.Client().Keys(ctx, prefix+"*").Result(); len(keys) > 0 {
			st.Client().Del(ctx, keys...)
		}
		st.Close()
	})
	return map[string]string{"VEIL_SESSION_STORE": "redis", "VEIL_SESSION_REDIS_URL": url, "VEIL_SESSION_REDIS_PREFIX": prefix}, st
}

// sessionCookie signs in at baseURL and returns the session cookie.
func sessionCookie(tb testing.TB, baseURL, identifier, pw string) string {
	tb.Helper()
	got := loginAt(tb, baseURL, identifier, pw, "", "")
	for _, c := range got.cookies {
		if strings.HasPrefix(c, "veil_session=") {
			return c
		}
	}
	tb.Fatalf("sign-in at %s: %d, cookies %q; want 200 with a session cookie", baseURL, got.status, got.cookies)
	return ""
}

// sessionStatus returns what GET /api/session and forward-auth answer for
// cookie, which must agree.
func sessionStatus(tb testing.TB, baseURL, cookie string) int {
	tb.Helper()
	res, _ := httpDo(tb, "GET", baseURL+"/api/session", "", "", cookie)
	fwd, _ := httpDo(tb, "GET", baseURL+"/api/forward-auth", "", "", cookie)
	if fwd.StatusCode != res.StatusCode {
		tb.Errorf("GET /api/session answers %d, forward-auth %d", res.StatusCode, fwd.StatusCode)
	}
	return res.StatusCode
}

// countSessions returns how many sessions the Redis store holds.
func countSessions(tb testing.TB, st *redis.SessionStore) int {
	tb.Helper()
	list, err := st.ListSessions(tb.Context(), "")
	if err != nil {
		tb.Fatalf("ListSessions: %v", err)
	}
	return len(list)
}

// TestSessionsInRedis runs veil with session.store = "redis" on SQLite
// accounts: a session lives in Redis and not in the database, works for
// the API and forward-auth, and every way of ending it ends it in Redis
// itself, before any request could have deleted it on the way.
func TestSessionsInRedis(t *testing.T) {
	vars, st := mustSessionRedis(t)
	// Forward-auth must agree with the store at once here: no identity
	// cache, whose bound TestIdentityCacheBound checks.
	vars["VEIL_FORWARD_AUTH_CACHE_TTL"] = "0s"
	env, dir := testEnv(vars), t.TempDir()
	const pw = "correct horse battery staple"
	if code, out, errOut := runMain(t, env, pw+"\n", "user", "add", "--data-dir", dir, "alice@example.com"); code != 0 {
		t.Fatalf("user add: exit %d\n%s%s", code, out, errOut)
	}
	v := MustRunMain(t, env, dir)
	cli := func(stdin string, args ...string) func(*testing.T, string) {
		return func(t *testing.T, _ string) {
			t.Helper()
			full := append([]string{args[0], args[1], "--data-dir", dir}, args[2:]...)
			if code, out, errOut := runMain(t, env, stdin, full...); code != 0 {
				t.Fatalf("veil %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
			}
		}
	}
	steps := []struct {
		name  string
		end   func(t *testing.T, cookie string)
		after func(t *testing.T, cookie string) // makes the next sign-in possible
	}{
		{"user disable", cli("", "user", "disable", "alice@example.com"), cli("", "user", "enable", "alice@example.com")},
		{"user set-password", cli(pw+"\n", "user", "set-password", "alice@example.com"), nil},
		{"session revoke --account", cli("", "session", "revoke", "--account", "alice@example.com"), nil},
		{"session revoke SESSION", func(t *testing.T, _ string) {
			_, out, _ := runMain(t, env, "", "session", "list", "--data-dir", dir)
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != 2 {
				t.Fatalf("session list: want one session:\n%s", out)
			}
			cli("", "session", "revoke", strings.Fields(lines[1])[0])(t, "")
		}, nil},
		{"logout", func(t *testing.T, cookie string) {
			if res, body := httpDo(t, "POST", v.url+"/api/logout", "", "", cookie); res.StatusCode != http.StatusNoContent {
				t.Fatalf("logout: %d %s", res.StatusCode, body)
			}
		}, nil},
		{"user delete", cli("", "user", "delete", "alice@example.com"), nil},
	}
	for i, step := range steps {
		cookie := sessionCookie(t, v.url, "alice@example.com", pw)
		if got := sessionStatus(t, v.url, cookie); got != 200 {
			t.Fatalf("before %s: the session answers %d, want 200", step.name, got)
		}
		if i == 0 {
			checkOnlyInRedis(t, env, dir)
		}
		if n := countSessions(t, st); n != 1 {
			t.Fatalf("before %s: Redis holds %d sessions, want 1", step.name, n)
		}
		step.end(t, cookie)
		if n := countSessions(t, st); n != 0 {
			t.Errorf("after %s: Redis holds %d sessions, want none", step.name, n)
		}
		if got := sessionStatus(t, v.url, cookie); got != 401 {
			t.Errorf("after %s: the session answers %d, want 401", step.name, got)
		}
		if step.after != nil {
			step.after(t, cookie)
		}
	}
}

// checkOnlyInRedis checks that `veil session list` shows the one session
// with session.store = "redis" and none in the database.
func checkOnlyInRedis(t *testing.T, env func(string) string, dir string) {
	t.Helper()
	code, out, errOut := runMain(t, env, "", "session", "list", "--data-dir", dir)
	if code != 0 || strings.Count(out, "\n") != 2 {
		t.Errorf("session list (redis): exit %d, want one session:\n%s%s", code, out, errOut)
	}
	inDatabase := func(k string) string {
		if strings.HasPrefix(k, "VEIL_SESSION_") {
			return ""
		}
		return env(k)
	}
	code, out, errOut = runMain(t, inDatabase, "", "session", "list", "--data-dir", dir)
	if code != 0 || strings.Count(out, "\n") != 1 {
		t.Errorf("session list (database): exit %d, want no session:\n%s%s", code, out, errOut)
	}
}

// TestTwoInstancesShareRedisSessions runs two `veil serve` processes on one
// PostgreSQL schema with their sessions in one Redis: a session made on
// one works on the other, from Redis (the database holds none), and a
// logout on either ends it on both.
func TestTwoInstancesShareRedisSessions(t *testing.T) {
	vars, st := mustSessionRedis(t)
	vars["VEIL_STORE_DRIVER"] = "postgres"
	vars["VEIL_STORE_DSN"] = postgrestest.MustCreate(t).DSN
	env := testEnv(vars)
	const pw = "correct horse battery staple"
	if code, out, errOut := runMain(t, env, pw+"\n", "user", "add", "--data-dir", t.TempDir(), "alice@example.com"); code != 0 {
		t.Fatalf("user add: exit %d\n%s%s", code, out, errOut)
	}
	var procEnv []string
	for _, k := range []string{"VEIL_PASSWORD_MEMORY_KIB", "VEIL_PASSWORD_ITERATIONS", "VEIL_LOGIN_FLOOR"} {
		procEnv = append(procEnv, k+"="+env(k))
	}
	for k, v := range vars {
		procEnv = append(procEnv, k+"="+v)
	}
	_, a := startVeilProcess(t, procEnv, t.TempDir())
	_, b := startVeilProcess(t, procEnv, t.TempDir())

	steps := []struct{ signIn, logout string }{{a, b}, {b, a}}
	for _, s := range steps {
		cookie := sessionCookie(t, s.signIn, "alice@example.com", pw)
		if got := sessionStatus(t, s.logout, cookie); got != 200 {
			t.Errorf("a session made on %s answers %d on %s, want 200", s.signIn, got, s.logout)
		}
		if n := countSessions(t, st); n != 1 {
			t.Errorf("Redis holds %d sessions, want 1", n)
		}
		inDatabase := testEnv(map[string]string{"VEIL_STORE_DRIVER": "postgres", "VEIL_STORE_DSN": vars["VEIL_STORE_DSN"]})
		if code, out, errOut := runMain(t, inDatabase, "", "session", "list", "--data-dir", t.TempDir()); code != 0 || strings.Count(out, "\n") != 1 {
			t.Errorf("session list (database): exit %d, want no session:\n%s%s", code, out, errOut)
		}
		if res, body := httpDo(t, "POST", s.logout+"/api/logout", "", "", cookie); res.StatusCode != http.StatusNoContent {
			t.Fatalf("logout on %s: %d %s", s.logout, res.StatusCode, body)
		}
		if got := sessionStatus(t, s.signIn, cookie); got != 401 {
			t.Errorf("after a logout on %s the session answers %d on %s, want 401", s.logout, got, s.signIn)
		}
	}
}

// TestSessionStoreConfig checks session.store's validation, and that a
// Redis URL that cannot be used fails every command with an error that
// does not repeat it (it may hold a password).
func TestSessionStoreConfig(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"bad store", map[string]string{"VEIL_SESSION_STORE": "memcached"}, nil, `session.store must be database or redis, not "memcached"`},
		{"redis without url", map[string]string{"VEIL_SESSION_STORE": "redis"}, nil, "session.redis_url is required"},
		{"zero timeout", map[string]string{"VEIL_SESSION_STORE": "redis", "VEIL_SESSION_REDIS_URL": "redis://127.0.0.1:6379/0", "VEIL_SESSION_REDIS_TIMEOUT": "0s"}, nil, "session.redis_timeout"},
		{"not a redis url", map[string]string{"VEIL_SESSION_STORE": "redis", "VEIL_SESSION_REDIS_URL": "http://:hunter2@example.com"}, []string{"user", "add", "--data-dir", t.TempDir(), "x@example.com"}, "session.redis_url: redis: the URL is not a valid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if args == nil {
				args = []string{"config", "print"}
			}
			code, _, errOut := runMain(t, testEnv(tt.env), "", args...)
			if code == 0 || !strings.Contains(errOut, tt.want) || strings.Contains(errOut, "hunter2") {
				t.Errorf("exit %d, stderr %q; want an error with %q and no password", code, errOut, tt.want)
			}
		})
	}
	code, out, errOut := runMain(t, testEnv(nil), "", "config", "print")
	if code != 0 || !strings.Contains(out, `store = "database"`) || !strings.Contains(out, `redis_prefix = "veil:session:"`) {
		t.Errorf("config print: exit %d, want session.store = \"database\" and the default prefix:\n%s%s", code, out, errOut)
	}
}
