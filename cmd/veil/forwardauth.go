package main

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/veil-id/veil/web"
)

// validateForwardAuth checks forward_auth.return_domains and
// session.cookie_domain: a cookie for a domain veil is not on would never
// come back to it.
func (c *Config) validateForwardAuth() error {
	if err := web.CheckReturnDomains(c.ForwardAuth.ReturnDomains); err != nil {
		return fmt.Errorf("forward_auth.return_domains: %w", err)
	}
	d := c.Session.CookieDomain
	if err := web.CheckCookieDomain(d); err != nil {
		return fmt.Errorf("session.cookie_domain: %w", err)
	}
	if u, err := url.Parse(c.Server.PublicURL); d != "" && c.Server.PublicURL != "" && err == nil {
		if h := strings.ToLower(u.Hostname()); h != d && !strings.HasSuffix(h, "."+d) {
			return fmt.Errorf("session.cookie_domain %q does not cover server.public_url's host %q", d, h)
		}
	}
	return nil
}

// loginURL is where forward-auth sends a browser to sign in: veil's own
// /login under server.public_url, or on the app's host when veil has none.
func (c *Config) loginURL() string {
	if c.Server.PublicURL == "" {
		return "/login"
	}
	return strings.TrimRight(c.Server.PublicURL, "/") + "/login"
}
