package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
)

const configUsage = `usage: veil config print [flags]

  print    the effective configuration: defaults, then the file, then the
           environment, then flags; then, as comments, what veil derives
           from it (the database, the public URL, the hashing pool)`

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
	if _, err = m.Stdout.Write(b); err != nil {
		return err
	}
	return printDerived(m.Stdout, cfg)
}

// printDerived writes, as TOML comments, the values veil computes from cfg
// where the configuration leaves them to it, so that the printed file stays
// one that can be used as it is.
func printDerived(w io.Writer, cfg *Config) error {
	dsn := cfg.Store.DSN
	if cfg.Store.Driver == "sqlite" && dsn == "" {
		dsn = secretURL(filepath.Join(cfg.DataDir, "veil.db"))
	}
	shown, _ := dsn.MarshalText()
	lines := [][2]string{
		{"store", cfg.Store.Driver + " " + string(shown)},
		{"public URL", cfg.publicURL()},
	}
	if h, err := newHasher(cfg.Password); err != nil {
		lines = append(lines, [2]string{"hashing", "refused: " + err.Error()})
	} else {
		l := h.Limits()
		pool := fmt.Sprintf("concurrency %d, queue %d, %d KiB a hash", l.Concurrency, l.Queue, l.HashMemoryKiB)
		if l.Concurrency < l.RequestedConcurrency {
			pool += fmt.Sprintf(" (%d asked; the memory budget fits %d)", l.RequestedConcurrency, l.Concurrency)
		}
		lines = append(lines, [2]string{"hashing", pool})
		if l.MemoryBudgetKiB > 0 {
			limit := processMemoryLimit(cfg, l, 0)
			lines = append(lines, [2]string{"memory limit", fmt.Sprintf("about %d MiB (Go's, less the binary's own pages at start)", limit>>20)})
		}
	}
	floor := cfg.Login.Floor
	if floor == "auto" {
		floor = "auto: timed at start from the lookup and the stored hash parameters"
	}
	lines = append(lines, [2]string{"time floor", floor})
	if _, err := fmt.Fprintln(w, "\n# Derived when veil starts with this configuration:"); err != nil {
		return err
	}
	for _, l := range lines {
		if _, err := fmt.Fprintf(w, "#   %-13s %s\n", l[0], l[1]); err != nil {
			return err
		}
	}
	return nil
}
