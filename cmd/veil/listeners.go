package main

import (
	"fmt"

	"github.com/veil-id/veil/web"
)

// ForwardAuthConfig is the [forward_auth] section.
type ForwardAuthConfig struct {
	// EmailHeader adds Remote-Email to forward-auth answers. Off by
	// default: every app behind the proxy then sees the opaque account ID
	// in Remote-User and never the sign-in address.
	EmailHeader bool `toml:"email_header"`
}

// validateListeners checks what clients, proxies and operators may tell
// the listeners: the one header that names the client.
func (c *Config) validateListeners() error {
	if err := web.CheckClientAddrHeader(c.Server.ClientAddrHeader); err != nil {
		return fmt.Errorf("server.client_addr_header: %w", err)
	}
	return nil
}
