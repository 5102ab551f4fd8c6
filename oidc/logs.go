package oidc

import (
	"context"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
)

// zitadel/oidc logs to slog.Default and nowhere else (its WithLogger
// options are kept for compatibility and do nothing). Its records carry
// what veil keeps out of logs: the client's state in every error, the
// whole error redirect URL, and the parent error of a failure, and it logs
// every malformed request a client sends at Warn or Error. RouteLibraryLogs
// makes them the provider's: at Debug (Warn for what it calls an error,
// whose cause the provider has logged itself at Error), without those
// attributes, to the logger of the provider that served the request.

// libraryPackage prefixes the functions whose records are the library's.
const libraryPackage = "github.com/zitadel/oidc/"

// causes are attributes kept only as the library's own errors, which log
// as groups of a type and a description: any other error may quote input.
var causes = map[string]bool{"parent": true, "error": true}

// withheld are the attributes of the library's records that may hold a
// client's secrets, a code, a token or input the client typed.
var withheld = map[string]bool{
	"state": true, "session_state": true, "url": true,
	"nonce": true, "code": true, "code_verifier": true, "client_secret": true, "client_assertion": true,
	"token": true, "refresh_token": true, "id_token_hint": true, "login_hint": true,
}

type loggerKey struct{}

// perRequest gives the library's records made while h serves a request
// the provider's logger, and the request a memo of the clients it read.
func perRequest(h http.Handler, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(r.Context(), loggerKey{}, logger)
		ctx = context.WithValue(ctx, clientMemoKey{}, &clientMemo{clients: map[string]*Client{}})
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// RouteLibraryLogs makes slog.Default log to logger, with the records of
// zitadel/oidc lowered and stripped of secrets and sent to the logger of
// the provider whose request made them. It replaces the process's default
// logger, so only the command that runs veil calls it.
func RouteLibraryLogs(logger *slog.Logger) {
	slog.SetDefault(slog.New(&libraryLogs{fallback: logger.Handler()}))
}

// libraryLogs is the handler RouteLibraryLogs installs.
type libraryLogs struct {
	fallback slog.Handler
}

func (h *libraryLogs) target(ctx context.Context) slog.Handler {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		if _, loops := l.Handler().(*libraryLogs); !loops { // a provider on slog.Default
			return l.Handler()
		}
	}
	return h.fallback
}

// Enabled cannot tell whose a record is yet: it admits what either kind
// of record could be logged at.
func (h *libraryLogs) Enabled(ctx context.Context, level slog.Level) bool {
	return h.fallback.Enabled(ctx, level) || h.target(ctx).Enabled(ctx, slog.LevelDebug)
}

// WithAttrs and WithGroup serve code that logs through slog.Default with
// attributes of its own; the library never does.
func (h *libraryLogs) WithAttrs(attrs []slog.Attr) slog.Handler { return h.fallback.WithAttrs(attrs) }
func (h *libraryLogs) WithGroup(name string) slog.Handler       { return h.fallback.WithGroup(name) }

func (h *libraryLogs) Handle(ctx context.Context, r slog.Record) error {
	if !fromLibrary(r.PC) {
		if !h.fallback.Enabled(ctx, r.Level) {
			return nil
		}
		return h.fallback.Handle(ctx, r)
	}
	level := slog.LevelDebug
	if r.Level >= slog.LevelError {
		level = slog.LevelWarn
	}
	target := h.target(ctx)
	if !target.Enabled(ctx, level) {
		return nil
	}
	out := slog.NewRecord(r.Time, level, "oidc library: "+r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		if a, ok := withoutSecrets(a); ok {
			out.AddAttrs(a)
		}
		return true
	})
	return target.Handle(ctx, out)
}

func fromLibrary(pc uintptr) bool {
	if pc == 0 {
		return false
	}
	f, _ := runtime.CallersFrames([]uintptr{pc}).Next()
	return strings.HasPrefix(f.Function, libraryPackage)
}

// withoutSecrets drops an attribute that is withheld, and the withheld
// attributes of a group (the library's errors and requests log as groups).
func withoutSecrets(a slog.Attr) (slog.Attr, bool) {
	if withheld[a.Key] {
		return a, false
	}
	v := a.Value.Resolve()
	if v.Kind() != slog.KindGroup {
		return slog.Attr{Key: a.Key, Value: v}, !causes[a.Key]
	}
	var kept []slog.Attr
	for _, g := range v.Group() {
		if g, ok := withoutSecrets(g); ok {
			kept = append(kept, g)
		}
	}
	if len(kept) == 0 {
		return a, false
	}
	return slog.Attr{Key: a.Key, Value: slog.GroupValue(kept...)}, true
}
