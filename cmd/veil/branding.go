package main

import (
	"cmp"
	"fmt"
	"os"

	"github.com/veil-id/veil/brand"
)

// brand is the checked branding.
func (c *Config) brand() (*brand.Brand, error) {
	b, err := brand.New(brand.Config{
		SiteName:    cmp.Or(c.Branding.SiteName, c.Mail.SiteName),
		LogoURL:     c.Branding.LogoURL,
		AccentColor: c.Branding.AccentColor,
	})
	if err != nil {
		return nil, fmt.Errorf("branding: %w", err)
	}
	return b, nil
}

// validateBranding checks the branding and that the templates directory,
// when set, is a directory.
func (c *Config) validateBranding() error {
	if _, err := c.brand(); err != nil {
		return err
	}
	if d := c.Branding.TemplatesDir; d != "" {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			return fmt.Errorf("branding.templates_dir %q is not a directory", d)
		}
	}
	return nil
}
