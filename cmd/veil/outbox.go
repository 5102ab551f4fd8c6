package main

import (
	"context"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/veil-id/veil"
)

const outboxUsage = `usage: veil outbox <list|retry> [flags] [ID|--all]

  list [--state dead|pending|done]   list outbox jobs (dead by default)
  retry ID                           send a dead job again
  retry --all                        send every dead job again`

func runOutbox(ctx context.Context, m *Main, args []string) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "retry") {
		fmt.Fprintln(m.Stderr, outboxUsage)
		return &exitError{code: 2}
	}
	sub := args[0]
	fs, cf := m.flagSet("veil outbox "+sub, false)
	state := fs.String("state", veil.JobDead, "which `state` to list")
	all := fs.Bool("all", false, "retry every dead job")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if sub == "retry" && (fs.NArg() == 1) == *all {
		return usageErrorf("give a job ID or --all\n\n%s", outboxUsage)
	}
	return m.withApp(ctx, cf, func(a *app) error {
		if sub == "list" {
			return a.listJobs(ctx, m, *state)
		}
		return a.retryJobs(ctx, m, fs.Arg(0))
	})
}

func (a *app) listJobs(ctx context.Context, m *Main, state string) error {
	jobs, err := a.db.ListJobs(ctx, state, 1000)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tSTATE\tATTEMPTS\tCREATED\tNEXT ATTEMPT\tLAST ERROR")
	for _, j := range jobs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\t%s\n", j.ID, j.Kind, j.State, j.Attempts, fmtTime(j.CreatedAt), fmtTime(j.NextAttemptAt), dash(j.LastError))
	}
	return tw.Flush()
}

// retryJobs makes dead jobs pending again; a running serve sends them.
func (a *app) retryJobs(ctx context.Context, m *Main, id string) error {
	var ids []int64
	if id == "" {
		jobs, err := a.db.ListJobs(ctx, veil.JobDead, 100000)
		if err != nil {
			return err
		}
		for _, j := range jobs {
			ids = append(ids, j.ID)
		}
	} else {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			return usageErrorf("job ID %q is not a number", id)
		}
		ids = append(ids, n)
	}
	for _, n := range ids {
		if err := a.db.RetryJob(ctx, n, time.Now()); err != nil {
			if veil.ErrorCode(err) == veil.ENOTFOUND {
				return fmt.Errorf("no dead job %d", n)
			}
			return err
		}
	}
	fmt.Fprintf(m.Stdout, "%d job(s) queued again\n", len(ids))
	return nil
}
