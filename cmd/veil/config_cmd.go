package main

import (
	"context"
)

func runConfig(ctx context.Context, m *Main, args []string) error {
	if len(args) == 0 || args[0] != "print" {
		return usageErrorf("usage: veil config print [--config FILE] [--data-dir DIR] [--listen ADDR] [--admin-listen ADDR]")
	}
	fs, cf := m.flagSet("veil config print", true)
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	cfg, err := cf.load(m.Getenv)
	if err != nil {
		return err
	}
	b, err := cfg.encode()
	if err != nil {
		return err
	}
	_, err = m.Stdout.Write(b)
	return err
}
