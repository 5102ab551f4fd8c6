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

  list [--state dead|pending|leased|done]   list outbox jobs (dead by default;
                                            pending includes the leased ones)
  retry ID                                  send a dead job again
  retry --all                               send every dead job again

A job whose subject was a typed address shows only the address's keyed hash
(the audit log's identifier hash); once it is done or dead the address is
erased, and such a dead job cannot be retried.`

func runOutbox(ctx context.Context, m *Main, args []string) error {
	sub, err := m.subcommand("outbox", outboxUsage, args, "list", "retry")
	if err != nil {
		return err
	}
	fs, cf := m.flagSet("veil outbox "+sub, false)
	state, all := new(string), new(bool)
	if sub == "list" {
		fs.summary = "list outbox jobs; pending includes the leased ones"
		state = fs.enum("state", veil.JobDead, "which `state` to list", veil.JobDead, veil.JobPending, veil.JobLeased, veil.JobDone)
	} else {
		fs.synopsis, fs.summary = "veil outbox retry [flags] ID | --all", "send dead jobs again (a running serve sends them)"
		fs.maxArgs = 1
		all = fs.Bool("all", false, "retry every dead job")
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if sub == "retry" && (fs.NArg() == 1) == *all {
		return fs.usageError("give a job ID or --all")
	}
	return m.withExistingApp(ctx, cf, func(a *app) error {
		if sub == "list" {
			return a.listJobs(ctx, m, *state)
		}
		return a.retryJobs(ctx, m, fs.Arg(0))
	})
}

func (a *app) listJobs(ctx context.Context, m *Main, state string) error {
	stored := state
	if state == veil.JobLeased {
		stored = veil.JobPending
	}
	jobs, err := a.db.ListJobs(ctx, stored, 1000)
	if err != nil {
		return err
	}
	now := time.Now()
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tSTATE\tATTEMPTS\tCREATED\tNEXT ATTEMPT\tLEASED UNTIL\tSUBJECT\tLAST ERROR")
	for _, j := range jobs {
		shown, leasedUntil := j.State, "-"
		if j.LeasedAt(now) {
			shown, leasedUntil = veil.JobLeased, fmtTime(j.LeasedUntil)
		} else if state == veil.JobLeased {
			continue
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", j.ID, j.Kind, shown, j.Attempts,
			fmtTime(j.CreatedAt), fmtTime(j.NextAttemptAt), leasedUntil, jobSubject(j), dash(j.LastError))
	}
	return tw.Flush()
}

// jobSubject shows what a job is about without the address anyone typed:
// its keyed hash, which the audit log records too, or an ID.
func jobSubject(j *veil.Job) string {
	if j.SubjectHash != "" {
		return "hash:" + j.SubjectHash
	}
	return dash(j.Subject)
}

// retryJobs makes dead jobs pending again; a running serve sends them.
func (a *app) retryJobs(ctx context.Context, m *Main, id string) error {
	var ids []int64
	erased := 0
	if id == "" {
		jobs, err := a.db.ListJobs(ctx, veil.JobDead, 100000)
		if err != nil {
			return err
		}
		for _, j := range jobs {
			if j.Erased() {
				erased++
				continue
			}
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
			switch veil.ErrorCode(err) {
			case veil.ENOTFOUND:
				return fmt.Errorf("no dead job %d", n)
			case veil.ECONFLICT:
				return fmt.Errorf("job %d: its address was erased when it died; the person must ask again", n)
			}
			return err
		}
	}
	fmt.Fprintf(m.Stdout, "%d job(s) queued again\n", len(ids))
	if erased > 0 {
		fmt.Fprintf(m.Stdout, "%d dead job(s) left alone: their addresses were erased\n", erased)
	}
	return nil
}
