package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/password"
)

const userUsage = `usage: veil user <add|list|check|disable|enable|delete|set-password|reset-factors|group> [flags] [EMAIL|ID]

  add EMAIL [--name NAME]   create an account; the password is read from a prompt,
                            or from the first line of stdin when it is not a terminal
  list                      list accounts
  check                     list accounts whose stored address is not in today's
                            normal form (after an upgrade that changed the rules)
  disable EMAIL|ID          disable an account and end its sessions
  enable EMAIL|ID           enable a disabled account
  delete EMAIL|ID           delete an account and its sessions
  set-password EMAIL|ID     set a new password (read like add) and end all sessions
  reset-factors EMAIL|ID    remove the account's authenticator app, passkeys and recovery codes
                            (audited), for a person who lost them
  group add|remove EMAIL|ID GROUP
                            put an account into a group or take it out

Passwords are never taken from the command line, where other users and the
shell history would see them.`

// userSubs are the user commands with their arguments.
var userSubs = []struct{ name, args, summary string }{
	{"add", "EMAIL", "create an account; the password is read from a prompt, or from the first line of stdin"},
	{"list", "", "list accounts"},
	{"check", "", "list accounts whose stored address is not in today's normal form; exit 1 if any"},
	{"disable", "EMAIL|ID", "disable an account and end its sessions"},
	{"enable", "EMAIL|ID", "enable a disabled account"},
	{"delete", "EMAIL|ID", "delete an account and its sessions"},
	{"set-password", "EMAIL|ID", "set a new password (read like add) and end all sessions"},
	{"reset-factors", "EMAIL|ID", "remove the account's authenticator app, passkeys and recovery codes (audited)"},
}

func runUser(ctx context.Context, m *Main, args []string) error {
	if len(args) > 0 && args[0] == "group" {
		return runUserGroup(ctx, m, args[1:]) // group.go
	}
	names := make([]string, len(userSubs))
	for i, u := range userSubs {
		names[i] = u.name
	}
	sub, err := m.subcommand("user", userUsage, args, names...)
	if err != nil {
		return err
	}
	fs, cf := m.flagSet("veil user "+sub, false)
	i := slices.Index(names, sub)
	fs.synopsis, fs.summary = "veil user "+sub+" [flags]", userSubs[i].summary
	if userSubs[i].args != "" {
		fs.synopsis += " " + userSubs[i].args
		fs.minArgs, fs.maxArgs = 1, 1
	}
	var name *string
	if sub == "add" {
		name = fs.String("name", "", "display `name`")
	} else {
		name = new(string)
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	open := m.withExistingApp
	if sub == "add" {
		open = m.withApp // the first account may come before the first serve
	}
	return open(ctx, cf, func(a *app) error {
		return a.userCommand(ctx, m, sub, fs.Arg(0), *name)
	})
}

func (a *app) userCommand(ctx context.Context, m *Main, sub, target, name string) error {
	s := a.service
	var acct *veil.Account
	var err error
	switch sub {
	case "list":
		return a.listUsers(ctx, m.Stdout)
	case "check":
		return a.checkUsers(ctx, m.Stdout)
	case "add":
		var pw string
		if pw, err = m.readNewPassword(); err == nil {
			acct, err = s.AddAccount(ctx, target, name, pw)
		}
	case "set-password":
		var pw string
		if pw, err = m.readNewPassword(); err == nil {
			acct, err = s.SetPassword(ctx, target, pw)
		}
	case "disable", "enable":
		acct, err = s.SetDisabled(ctx, target, sub == "disable")
	case "delete":
		acct, err = s.DeleteAccount(ctx, target)
	case "reset-factors":
		acct, _, err = s.ResetFactors(ctx, target)
	default:
		return usageErrorf("unknown user command %q\n\n%s", sub, userUsage)
	}
	if err != nil {
		return operatorError(err)
	}
	fmt.Fprintf(m.Stdout, "%s: %s (%s)\n", pastTense(sub), acct.Email, acct.ID)
	return nil
}

func pastTense(sub string) string {
	return map[string]string{"add": "added", "set-password": "password set", "disable": "disabled", "enable": "enabled", "delete": "deleted", "reset-factors": "second factors reset"}[sub]
}

// operatorError turns domain errors into plain sentences for the CLI, where
// saying that an account does not exist is fine: only operators run it.
func operatorError(err error) error {
	switch veil.ErrorCode(err) {
	case veil.ENOTFOUND:
		return errors.New("no such account")
	case veil.ECONFLICT:
		return errors.New("an account with that email address already exists")
	case veil.EINVALID:
		return errors.New(veil.ErrorMessage(err))
	}
	return err
}

func (a *app) listUsers(ctx context.Context, w io.Writer) error {
	accts, err := a.service.ListAccounts(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEMAIL\tNAME\tSTATE\tHASH\tCREATED")
	for _, ac := range accts {
		state := "active"
		if ac.Disabled {
			state = "disabled"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", ac.ID, ac.Email, ac.DisplayName, state,
			password.Algorithm(ac.PasswordHash), ac.CreatedAt.UTC().Format("2006-01-02 15:04"))
	}
	return tw.Flush()
}

// readNewPassword reads a password from a prompt (twice, to catch typos) or,
// when stdin is not a terminal, from its first line.
func (m *Main) readNewPassword() (string, error) {
	if m.StdinIsTerminal != nil && m.StdinIsTerminal() {
		pw, err := m.prompt("New password: ")
		if err != nil {
			return "", err
		}
		again, err := m.prompt("Repeat it: ")
		if err != nil {
			return "", err
		}
		if pw != again {
			return "", errors.New("the passwords do not match")
		}
		return pw, veil.CheckNewPassword(pw)
	}
	line, err := bufio.NewReader(io.LimitReader(m.Stdin, veil.MaxPasswordBytes+2)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("reading the password from stdin: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("no password on stdin (give it as the first line)")
	}
	return pw, nil
}

func (m *Main) prompt(label string) (string, error) {
	fmt.Fprint(m.Stderr, label)
	b, err := term.ReadPassword(int(os.Stdin.Fd()))
	fmt.Fprintln(m.Stderr)
	if err != nil {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	return string(b), nil
}

func stdinIsTerminal() bool { return term.IsTerminal(int(os.Stdin.Fd())) }
