package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/veil-id/veil/web"
)

func runAudit(ctx context.Context, m *Main, args []string) error {
	fs, cf := m.flagSet("veil audit", false)
	limit := fs.Int("n", 50, "how many recent events")
	asJSON := fs.Bool("json", false, "print JSON lines, with the keys of the admin listener's /audit")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *limit <= 0 || *limit > 100000 {
		return fs.usageError("-n must be between 1 and 100000")
	}
	return m.withExistingApp(ctx, cf, func(a *app) error { return a.printAudit(ctx, m, *limit, *asJSON) })
}

func (a *app) printAudit(ctx context.Context, m *Main, limit int, asJSON bool) error {
	events, err := a.db.ListEvents(ctx, limit)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(m.Stdout)
		for _, e := range events {
			if err := enc.Encode(web.NewAuditEventBody(e)); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tEVENT\tOUTCOME\tREASON\tIDENTIFIER HASH\tACCOUNT\tCLIENT")
	for _, e := range events {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", fmtTime(e.Time), e.Kind, e.Outcome,
			dash(e.Reason), dash(e.IdentifierHash), dash(e.AccountID), dash(e.ClientAddr))
	}
	return tw.Flush()
}

func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
