package main

import (
	"cmp"
	"fmt"
	"os"

	"github.com/veil-id/veil/brand"
)

// BrandingConfig is the [branding] section: how the pages and the mails
// look, without forking a template.
type BrandingConfig struct {
	// SiteName names the service in page titles, the page header and mail
	// subjects; "" takes mail.site_name.
	SiteName string `toml:"site_name"`
	// LogoURL is shown above the card: a path on veil's own origin or an
	// https URL (whose origin the pages' CSP then admits for images).
	// Mails never show it: they load nothing remote.
	LogoURL string `toml:"logo_url"`
	// AccentColor is the colour of buttons and links, #rgb or #rrggbb;
	// the text on it and the links' shade are computed for WCAG AA
	// contrast.
	AccentColor string `toml:"accent_color"`
	// TemplatesDir holds page templates that replace veil's own of the
	// same name (web/templates); "" uses veil's.
	TemplatesDir string `toml:"templates_dir"`
}

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
