package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/veil-id/veil/web"
)

// validateListeners checks what clients, proxies and operators may tell
// the listeners: the one header that names the client, and how an
// operator proves who they are to the admin listener.
func (c *Config) validateListeners() error {
	if err := web.CheckClientAddrHeader(c.Server.ClientAddrHeader); err != nil {
		return fmt.Errorf("server.client_addr_header: %w", err)
	}
	if c.Server.AdminToken != "" && c.Server.AdminTokenFile != "" {
		return fmt.Errorf("server.admin_token and server.admin_token_file: set one of them, not both")
	}
	return nil
}

// adminToken is the admin listener's bearer token: server.admin_token, or
// the first line of server.admin_token_file; "" if neither is set.
func (c *Config) adminToken() (string, error) {
	sc := c.Server
	if sc.AdminTokenFile == "" {
		return string(sc.AdminToken), nil
	}
	b, err := os.ReadFile(sc.AdminTokenFile)
	if err != nil {
		return "", fmt.Errorf("server.admin_token_file: %w", err)
	}
	tok, _, _ := strings.Cut(string(b), "\n")
	if tok = strings.TrimSpace(tok); tok == "" {
		return "", fmt.Errorf("server.admin_token_file %s is empty", sc.AdminTokenFile)
	}
	return tok, nil
}

// newAdminHandler is the admin listener's handler, guarded as the
// configuration says.
func (a *app) newAdminHandler(metricsHandler http.Handler, ready *web.Readiness) (http.Handler, error) {
	token, err := a.cfg.adminToken()
	if err != nil {
		return nil, err
	}
	if token == "" && !listensOnLoopback(a.cfg.Server.AdminListen) {
		a.logger.Warn("the admin listener is not on loopback and has no token: anyone who reaches it reads the audit log and resets the throttle; set server.admin_token or server.admin_token_file")
	}
	return web.NewAdminHandler(web.AdminConfig{Audit: a.audit, Metrics: metricsHandler, Throttle: a.service, Ready: ready,
		Listen: a.cfg.Server.AdminListen, Hosts: a.cfg.Server.AdminHosts, Token: token}), nil
}

// listensOnLoopback reports whether a listen address is on loopback: a
// loopback IP or localhost. A name that resolves there does not count.
func listensOnLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		host = strings.Trim(listen, "[]")
	}
	ip := net.ParseIP(host)
	return strings.EqualFold(host, "localhost") || ip != nil && ip.IsLoopback()
}

// adminRequest is a request to the running serve's admin listener, with
// its token if one is configured.
func adminRequest(ctx context.Context, cfg *Config, method, path string, body io.Reader) (*http.Request, error) {
	token, err := cfg.adminToken()
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+cfg.Server.AdminListen+path, body)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req, nil
}
