package web_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/web"
)

// faultyAccounts is a core whose sign-in fails as a dependency would:
// login decides what Login does.
type faultyAccounts struct {
	login func(ctx context.Context) error
}

func (f *faultyAccounts) Login(ctx context.Context, req veil.LoginRequest) (*veil.LoginResult, error) {
	return nil, f.login(ctx)
}

func (f *faultyAccounts) Authenticate(ctx context.Context, token string) (*veil.Account, *veil.Session, error) {
	return nil, nil, f.login(ctx)
}

func (f *faultyAccounts) Logout(ctx context.Context, token string, client veil.Client) error {
	return f.login(ctx)
}

// rawAnswer is what a client sees of an answer but Date and its timing.
func rawAnswer(tb testing.TB, res *http.Response) string {
	tb.Helper()
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	res.Header.Del("Date")
	var sb strings.Builder
	res.Header.Write(&sb)
	return res.Status + "\n" + sb.String() + "\n" + string(b)
}

// TestDeadlineAnswersTheOneUnavailable fails sign-in each way a dependency
// can: it answers an error at once, it runs out of the request's time and
// says so, or it ignores the deadline altogether. All three answer the
// same bytes — 503 unavailable with Retry-After — and none later than the
// deadline and a little.
func TestDeadlineAnswersTheOneUnavailable(t *testing.T) {
	const deadline = 300 * time.Millisecond
	down := errors.New("dial tcp 10.0.0.7:5432: connection refused")
	faults := []struct {
		name  string
		login func(ctx context.Context) error
	}{
		{"fails at once", func(ctx context.Context) error {
			return &veil.Error{Code: veil.EUNAVAILABLE, Message: "some other wording", Cause: down}
		}},
		{"honours the deadline", func(ctx context.Context) error {
			<-ctx.Done()
			return &veil.Error{Code: veil.EUNAVAILABLE, Message: "x", Cause: ctx.Err()}
		}},
		{"ignores the deadline", func(ctx context.Context) error {
			time.Sleep(3 * deadline)
			return errors.New("far too late")
		}},
	}
	// The JSON API and the form: whether the handler answers the outage
	// itself or the backstop cuts it off must not show.
	routes := []struct {
		path, contentType, body, want string
	}{
		{"/api/login", "application/json", `{"identifier":"a@example.com","password":"correct horse battery"}`, `"error":"unavailable"`},
		{"/login", "application/x-www-form-urlencoded", "identifier=a%40example.com&password=correct+horse+battery", "This service is unavailable right now."},
	}
	for _, rt := range routes {
		var first string
		for _, f := range faults {
			srv, err := web.NewServer(web.Config{Accounts: &faultyAccounts{login: f.login}, Logger: discardLogger()})
			if err != nil {
				t.Fatal(err)
			}
			ts := httptest.NewServer(web.WithDeadlineAnswer(srv, deadline, srv.WriteUnavailable))
			start := time.Now()
			req, _ := http.NewRequest("POST", ts.URL+rt.path, strings.NewReader(rt.body))
			req.Header.Set("Content-Type", rt.contentType)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			took := time.Since(start)
			got := rawAnswer(t, res)
			ts.Close()
			if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(got, rt.want) || res.Header.Get("Retry-After") == "" {
				t.Errorf("%s %s: %s\nwant 503 with %s and Retry-After", rt.path, f.name, got, rt.want)
			}
			if took > deadline+500*time.Millisecond {
				t.Errorf("%s %s: answered after %v, want within the %v deadline", rt.path, f.name, took, deadline)
			}
			if first == "" {
				first = got
			} else if got != first {
				t.Errorf("%s %s answers differently from a dependency that fails at once:\n%s\n---\n%s", rt.path, f.name, got, first)
			}
		}
	}
}

// TestDeadlineDropsALateAnswer: what a handler wrote before the deadline —
// a cookie, a status — must not leave with the 503 that replaces it.
func TestDeadlineDropsALateAnswer(t *testing.T) {
	h := web.WithDeadline(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "veil_session", Value: "planted"})
		w.WriteHeader(http.StatusOK)
		w.Write([]byte("half an answer"))
		time.Sleep(300 * time.Millisecond)
		w.Write([]byte(" and the rest"))
	}), 100*time.Millisecond)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusServiceUnavailable || len(rec.Result().Cookies()) != 0 || strings.Contains(rec.Body.String(), "half") {
		t.Errorf("late answer: %d, cookies %v, body %q; want the 503 alone", rec.Code, rec.Result().Cookies(), rec.Body.String())
	}
	if rec.Header().Get("X-Frame-Options") != "DENY" {
		t.Errorf("the 503 lacks the headers every answer carries: %v", rec.Header())
	}
	ok := web.WithDeadline(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	}), time.Second)
	rec = httptest.NewRecorder()
	ok.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusTeapot {
		t.Errorf("an answer in time: %d, want it as the handler wrote it", rec.Code)
	}
}

// TestReadiness checks /readyz: the admin listener names every dependency
// and what failed, the public one says 200 or 503 and nothing more, and a
// check that hangs is cut off by the check's timeout.
func TestReadiness(t *testing.T) {
	failing := errors.New("redis: dial tcp 10.0.0.9:6379: i/o timeout")
	hang := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	ok := func(ctx context.Context) error { return nil }
	cases := []struct {
		name       string
		checks     []web.ReadinessCheck
		wantStatus int
		wantAdmin  []string
	}{
		{"all answer", []web.ReadinessCheck{{Name: "store", Check: ok}}, 200, []string{`"status":"ready"`, `"store":{"status":"ok"`}},
		{"the store hangs", []web.ReadinessCheck{{Name: "store", Check: hang}, {Name: "session_redis", Check: ok}}, 503,
			[]string{`"status":"unavailable"`, `"store":{"status":"failing","error":"context deadline exceeded"`, `"session_redis":{"status":"ok"`}},
		{"a degraded throttle", []web.ReadinessCheck{{Name: "store", Check: ok}, {Name: "throttle_redis", Check: func(context.Context) error { return failing }, Degraded: true}}, 200,
			[]string{`"status":"ready"`, `"throttle_redis":{"status":"degraded","error":"` + failing.Error()}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rd := web.NewReadiness(100*time.Millisecond, c.checks...)
			admin := web.NewAdminHandler(web.AdminConfig{Metrics: http.NotFoundHandler(), Ready: rd, Listen: "127.0.0.1:9091"})
			start := time.Now()
			rec := httptest.NewRecorder()
			admin.ServeHTTP(rec, httptest.NewRequest("GET", "http://127.0.0.1:9091/readyz", nil))
			if took := time.Since(start); took > time.Second {
				t.Errorf("admin /readyz took %v, want the check's timeout", took)
			}
			if rec.Code != c.wantStatus {
				t.Errorf("admin /readyz: %d, want %d", rec.Code, c.wantStatus)
			}
			for _, w := range c.wantAdmin {
				if !strings.Contains(rec.Body.String(), w) {
					t.Errorf("admin /readyz: %s\nwant it to hold %s", rec.Body.String(), w)
				}
			}
			public := web.WithReadiness(http.NotFoundHandler(), rd)
			rec = httptest.NewRecorder()
			public.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
			want := "ready\n"
			if c.wantStatus != 200 {
				want = "unavailable\n"
			}
			if rec.Code != c.wantStatus || rec.Body.String() != want {
				t.Errorf("public /readyz: %d %q, want %d %q and no detail", rec.Code, rec.Body.String(), c.wantStatus, want)
			}
		})
	}
}
