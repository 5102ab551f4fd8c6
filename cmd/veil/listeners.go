package main

import (
	"fmt"

	"github.com/veil-id/veil/web"
)

// validateListeners checks what clients, proxies and operators may tell
// the listeners: the one header that names the client.
func (c *Config) validateListeners() error {
	if err := web.CheckClientAddrHeader(c.Server.ClientAddrHeader); err != nil {
		return fmt.Errorf("server.client_addr_header: %w", err)
	}
	return nil
}
