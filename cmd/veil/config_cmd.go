package main

import (
	"context"
	"fmt"
)

const configUsage = `usage: veil config print [flags]

  print    the effective configuration: defaults, then the file, then the
           environment, then flags`

func runConfig(ctx context.Context, m *Main, args []string) error {
	if _, err := m.subcommand("config", configUsage, args, "print"); err != nil {
		return err
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
	// Printing needs no database, so a missing one is a note, not a failure:
	// before the first serve, what it would run with is the point.
	if err := storeExists(cfg); err != nil {
		fmt.Fprintln(m.Stderr, "veil: note:", err)
	}
	_, err = m.Stdout.Write(b)
	return err
}
