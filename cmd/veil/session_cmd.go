package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/veil-id/veil"
)

const sessionUsage = `usage: veil session <list|revoke> [flags] [ARG]

  list [EMAIL|ID]           list sessions, of one account or all
  revoke SESSION            end one session (by the ID prefix 'list' shows)
  revoke --account EMAIL|ID end every session of an account`

func runSession(ctx context.Context, m *Main, args []string) error {
	sub, err := m.subcommand("session", sessionUsage, args, "list", "revoke")
	if err != nil {
		return err
	}
	fs, cf := m.flagSet("veil session "+sub, false)
	fs.maxArgs = 1
	account := new(string)
	if sub == "list" {
		fs.synopsis, fs.summary = "veil session list [flags] [EMAIL|ID]", "list sessions, of one account or all"
	} else {
		fs.synopsis = "veil session revoke [flags] SESSION | --account EMAIL|ID"
		fs.summary = "end one session (by the ID prefix 'list' shows), or every session of an account"
		account = fs.String("account", "", "revoke every session of this `account` (email or ID)")
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if sub == "revoke" && (fs.NArg() == 1) == (*account != "") {
		return fs.usageError("give a session or --account, not both")
	}
	return m.withExistingApp(ctx, cf, func(a *app) error {
		switch {
		case sub == "list":
			return a.listSessions(ctx, m, fs.Arg(0))
		case *account != "":
			return a.revokeAccountSessions(ctx, m, *account)
		default:
			return a.revokeSession(ctx, m, fs.Arg(0))
		}
	})
}

func (a *app) revokeAccountSessions(ctx context.Context, m *Main, who string) error {
	acct, err := a.service.FindAccount(ctx, who)
	if err != nil {
		return operatorError(err)
	}
	n, err := a.service.RevokeSessions(ctx, acct.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "revoked %d session(s) of %s\n", n, acct.Email)
	return nil
}

// sessionHandle is how operators name a session: a prefix of the hex of its
// stored hash. The token itself is never known to the server.
func sessionHandle(s *veil.Session) string { return hex.EncodeToString(s.IDHash)[:16] }

func (a *app) listSessions(ctx context.Context, m *Main, who string) error {
	accountID := ""
	if who != "" {
		acct, err := a.service.FindAccount(ctx, who)
		if err != nil {
			return operatorError(err)
		}
		accountID = acct.ID
	}
	sessions, err := a.service.ListSessions(ctx, accountID)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SESSION\tACCOUNT\tCREATED\tLAST SEEN\tEXPIRES\tCLIENT")
	for _, s := range sessions {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", sessionHandle(s), s.AccountID,
			fmtTime(s.CreatedAt), fmtTime(s.LastSeenAt), fmtTime(s.ExpiresAt), s.ClientAddr)
	}
	return tw.Flush()
}

func (a *app) revokeSession(ctx context.Context, m *Main, prefix string) error {
	prefix = strings.ToLower(prefix)
	if len(prefix) < 8 {
		return usageErrorf("give at least 8 characters of the session ID")
	}
	sessions, err := a.service.ListSessions(ctx, "")
	if err != nil {
		return err
	}
	var match []*veil.Session
	for _, s := range sessions {
		if strings.HasPrefix(hex.EncodeToString(s.IDHash), prefix) {
			match = append(match, s)
		}
	}
	switch len(match) {
	case 0:
		return fmt.Errorf("no session starts with %s", prefix)
	case 1:
		if err := a.service.RevokeSession(ctx, match[0]); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "revoked session %s of account %s\n", sessionHandle(match[0]), match[0].AccountID)
		return nil
	default:
		return fmt.Errorf("%d sessions start with %s; give more of the ID", len(match), prefix)
	}
}
