package main

import (
	"context"
	"fmt"
)

func runMigrate(ctx context.Context, m *Main, args []string) error {
	fs, cf := m.flagSet("veil migrate", false)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := cf.load(m.Getenv)
	if err != nil {
		return err
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "migrations applied (%s)\n", cfg.Store.Driver)
	return nil
}
