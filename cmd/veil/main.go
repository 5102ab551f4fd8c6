// Command veil runs the veil account service and its operator tools: serve,
// migrate, user, session, audit, config and probe. Configuration is read here
// and nowhere else; this package wires the adapters to the domain.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
)

// Main is one run of the veil command, with its own streams and environment
// so tests can run it in-process.
type Main struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// stdinIsTerminal reports whether Stdin is a terminal; nil means no.
	StdinIsTerminal func() bool
	// Ready, when set, is called by serve with the URLs once it listens.
	Ready func(publicURL, adminURL string)
}

// command is one subcommand; each lives in its own file.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, m *Main, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "run the account service", runServe},
		{"migrate", "apply database migrations and exit", runMigrate},
		{"user", "add, list, disable, enable, delete accounts, set passwords", runUser},
		{"group", "list groups (accounts join them with veil user group add)", runGroup},
		{"rules", "explain what forward_auth.rules decide for a URL and an account", runRules},
		{"session", "list and revoke sessions", runSession},
		{"outbox", "list and retry mail jobs that could not be sent", runOutbox},
		{"client", "register the applications that sign people in with veil (OpenID Connect)", runClient},
		{"oidc", "manage the OpenID Provider's signing keys", runOIDC},
		{"throttle", "let a locked-out identifier or client address start over", runThrottle},
		{"audit", "print recent audit events with their true reason", runAudit},
		{"config", "print the effective configuration", runConfig},
		{"probe", "measure what a sign-in, sign-up or recovery endpoint leaks about which accounts exist", runProbe},
		{"version", "print the version", runVersion},
	}
}

// exitError carries a specific exit status (probe uses 1 for "leak found").
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

// errUsage marks an error as a usage error (exit 2).
var errUsage = errors.New("usage")

// version, when set at build time with -ldflags "-X main.version=...",
// names the build instead of the module version.
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, StdinIsTerminal: stdinIsTerminal}
	os.Exit(m.Run(ctx, os.Args[1:]))
}

// Run runs one command line and returns the exit status.
func (m *Main) Run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		m.usage(m.Stderr)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help":
		m.usage(m.Stdout)
		return 0
	case "help":
		if len(args) == 1 {
			m.usage(m.Stdout)
			return 0
		}
		// veil help user list is veil user list --help.
		args = append(slices.Clone(args[1:]), "--help")
	case "-version", "--version":
		args = []string{"version"}
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, m, args[1:])
		return m.exitStatus(err)
	}
	fmt.Fprintf(m.Stderr, "veil: unknown command %q\n\n", args[0])
	m.usage(m.Stderr)
	return 2
}

// subcommand picks the subcommand of a command such as user or session from
// args[0]: none prints the usage (exit 2), help prints it to stdout (exit
// 0), and a name not in subs says so with the list, before any flag is read.
func (m *Main) subcommand(cmd, usage string, args []string, subs ...string) (string, error) {
	if len(args) == 0 {
		fmt.Fprintln(m.Stderr, usage)
		return "", &exitError{code: 2}
	}
	switch sub := args[0]; {
	case sub == "-h" || sub == "-help" || sub == "--help" || sub == "help":
		fmt.Fprintln(m.Stdout, usage)
		return "", errHelpShown
	case !slices.Contains(subs, sub):
		fmt.Fprintf(m.Stderr, "veil: unknown %s command %q; the %s commands are %s\n\n%s\n", cmd, sub, cmd, strings.Join(subs, ", "), usage)
		return "", &exitError{code: 2}
	default:
		return sub, nil
	}
}

func (m *Main) exitStatus(err error) int {
	var ee *exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if ee.err != nil {
			fmt.Fprintln(m.Stderr, "veil:", ee.err)
		}
		return ee.code
	case errors.Is(err, errUsage):
		fmt.Fprintln(m.Stderr, "veil:", err)
		return 2
	default:
		fmt.Fprintln(m.Stderr, "veil:", err)
		return 1
	}
}

func (m *Main) usage(w io.Writer) {
	fmt.Fprintln(w, "usage: veil <command> [flags]")
	fmt.Fprintln(w)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'veil <command> --help' for the flags of a command, 'veil --version' for the build.")
}

func usageErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errUsage}, args...)...)
}

func runVersion(ctx context.Context, m *Main, args []string) error {
	fs := m.ownFlags("veil version")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	bi, ok := debug.ReadBuildInfo()
	fmt.Fprintln(m.Stdout, versionLine(version, bi, ok))
	return nil
}

// versionLine names the build: the version set at link time, else the
// module's (a tagged go install, or a pseudo-version from the VCS), the
// commit it was built from, and the Go release.
func versionLine(linked string, bi *debug.BuildInfo, ok bool) string {
	if !ok {
		return "veil " + linked
	}
	v := bi.Main.Version
	if linked != "dev" || v == "" {
		v = linked
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	rev := "revision unknown"
	if r := settings["vcs.revision"]; r != "" {
		rev = "revision " + r
		if t := settings["vcs.time"]; t != "" {
			rev += " " + t
		}
		if settings["vcs.modified"] == "true" {
			rev += " (modified)"
		}
	}
	return fmt.Sprintf("veil %s, %s, %s", v, rev, bi.GoVersion)
}
