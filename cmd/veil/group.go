package main

import (
	"context"
	"fmt"
	"text/tabwriter"
)

const groupUsage = `usage: veil group list [flags]

  list    list the groups that have members, with how many

Accounts join and leave groups with veil user group add|remove EMAIL GROUP.`

func runGroup(ctx context.Context, m *Main, args []string) error {
	if _, err := m.subcommand("group", groupUsage, args, "list"); err != nil {
		return err
	}
	fs, cf := m.flagSet("veil group list", false)
	fs.summary = "list the groups that have members, with how many"
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	return m.withExistingApp(ctx, cf, func(a *app) error {
		groups, err := a.service.ListGroups(ctx)
		if err != nil {
			return operatorError(err)
		}
		tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "GROUP\tMEMBERS")
		for _, g := range groups {
			fmt.Fprintf(tw, "%s\t%d\n", g.Name, g.Members)
		}
		return tw.Flush()
	})
}

const userGroupUsage = `usage: veil user group <add|remove> [flags] EMAIL|ID GROUP

  add EMAIL|ID GROUP      put an account into a group
  remove EMAIL|ID GROUP   take an account out of a group

Group names are lower-case letters, digits and . _ - (upper case is
lowered). A running veil sees the change within forward_auth.cache_ttl.`

// runUserGroup is veil user group add|remove.
func runUserGroup(ctx context.Context, m *Main, args []string) error {
	sub, err := m.subcommand("user group", userGroupUsage, args, "add", "remove")
	if err != nil {
		return err
	}
	fs, cf := m.flagSet("veil user group "+sub, false)
	fs.synopsis = "veil user group " + sub + " [flags] EMAIL|ID GROUP"
	fs.summary = map[string]string{"add": "put an account into a group", "remove": "take an account out of a group"}[sub]
	fs.minArgs, fs.maxArgs = 2, 2
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	return m.withExistingApp(ctx, cf, func(a *app) error {
		change, done := a.service.AddToGroup, "added to"
		if sub == "remove" {
			change, done = a.service.RemoveFromGroup, "removed from"
		}
		acct, group, err := change(ctx, fs.Arg(0), fs.Arg(1))
		if err != nil {
			return operatorError(err)
		}
		fmt.Fprintf(m.Stdout, "%s (%s) %s %s\n", acct.Email, acct.ID, done, group)
		return nil
	})
}
