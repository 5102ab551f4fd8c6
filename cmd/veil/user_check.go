package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
)

// errIdentifierIssues makes `veil user check` exit 1 when it found
// something, so a script or an upgrade runbook can stop on it.
var errIdentifierIssues = &exitError{code: 1}

// checkUsers lists the accounts whose stored address today's rules of
// identifiers would not make (veil.Service.CheckIdentifiers): what each
// normalizes to, and the account that already has that address. The
// operator decides what to keep — disable or delete a twin by its ID.
func (a *app) checkUsers(ctx context.Context, w io.Writer) error {
	issues, err := a.service.CheckIdentifiers(ctx)
	if err != nil {
		return err
	}
	if len(issues) == 0 {
		fmt.Fprintln(w, "every stored address is in its normal form")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTORED EMAIL\tTODAY\tSAME MAILBOX AS")
	for _, is := range issues {
		today, twin := string(is.Normal), "-"
		if today == "" {
			today = "refused: " + is.Refusal
		}
		if is.Twin != nil {
			twin = is.Twin.ID
		}
		fmt.Fprintf(tw, "%s\t%q\t%s\t%s\n", is.Account.ID, is.Account.Email, today, twin)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "%d account(s) cannot be reached by any spelling of their address; see README, \"One mailbox, one identifier\"\n", len(issues))
	return errIdentifierIssues
}
