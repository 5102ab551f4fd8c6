package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/oidc"
)

const clientUsage = `usage: veil client <add|list|show|remove|rotate-secret> [flags] [NAME|ID]

  add --redirect-uri URI [--public] [--first-party] [--jwks-file FILE] NAME
                       register an application; prints client_id: and, for a
                       confidential client without a JWKS, client_secret:
                       (shown once)
  list                 list the applications
  show ID              show one application
  remove ID            remove an application with its grants
  rotate-secret ID     give a confidential application a new secret (printed once)

Applications can also be declared in the configuration ([[oidc.clients]]).`

// stringList is a flag that may be given several times.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func runClient(ctx context.Context, m *Main, args []string) error {
	sub, err := m.subcommand("client", clientUsage, args, "add", "list", "show", "remove", "rotate-secret")
	if err != nil {
		return err
	}
	fs, cf := m.flagSet("veil client "+sub, false)
	var redirects, logouts stringList
	var public, firstParty, allowEmail, publicSubject *bool
	var signingAlg, jwksFile *string
	switch sub {
	case "add":
		fs.synopsis, fs.summary = "veil client add --redirect-uri URI [flags] NAME", "register an application and print its client_id and client_secret"
		fs.minArgs, fs.maxArgs = 1, 1
		fs.Var(&redirects, "redirect-uri", "a redirect `URI`, matched exactly (repeat for more)")
		fs.Var(&logouts, "post-logout-redirect-uri", "a `URI` the application may send people to after signing out (repeat for more)")
		public = fs.Bool("public", false, "the application cannot keep a secret (a browser or mobile app): PKCE only")
		firstParty = fs.Bool("first-party", false, "the application is yours: its users are not asked to consent")
		allowEmail = fs.Bool("allow-email", false, "the application may receive the email address (with the email scope)")
		publicSubject = fs.Bool("public-subject", false, "give the application the account ID as subject instead of a pairwise one")
		signingAlg = fs.String("signing-algorithm", "", "sign the application's ID tokens with `ALG` (ES256, EdDSA or RS256) instead of oidc.signing_algorithm")
		jwksFile = fs.String("jwks-file", "", "the application authenticates with private_key_jwt, signing with a key of the JSON Web Key Set in `FILE` (public keys), instead of a secret")
	case "list":
		fs.synopsis, fs.summary = "veil client list [flags]", "list the applications"
	default:
		fs.synopsis = "veil client " + sub + " [flags] ID"
		fs.summary = map[string]string{"show": "show one application", "remove": "remove an application with its grants",
			"rotate-secret": "give a confidential application a new secret (printed once)"}[sub]
		fs.minArgs, fs.maxArgs = 1, 1
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if sub == "add" && len(redirects) == 0 {
		return fs.usageError("give at least one --redirect-uri")
	}
	run := m.withExistingApp
	if sub == "add" {
		run = m.withApp
	}
	return run(ctx, cf, func(a *app) error {
		switch sub {
		case "add":
			c := &oidc.Client{ID: oidc.NewClientID(), Name: fs.Arg(0), RedirectURIs: redirects, PostLogoutRedirectURIs: logouts,
				Public: *public, FirstParty: *firstParty, AllowEmail: *allowEmail, PublicSubject: *publicSubject,
				SigningAlgorithm: *signingAlg, CreatedAt: time.Now()}
			if *jwksFile != "" {
				if c.JWKS, err = os.ReadFile(*jwksFile); err != nil {
					return fmt.Errorf("--jwks-file: %w", err)
				}
			}
			return a.addClient(ctx, m, c)
		case "list":
			return a.listClients(ctx, m)
		case "show":
			return a.showClient(ctx, m, fs.Arg(0))
		case "remove":
			if err := a.db.DeleteClient(ctx, fs.Arg(0)); err != nil {
				return clientError(err)
			}
			fmt.Fprintf(m.Stdout, "removed client %s\n", fs.Arg(0))
			return nil
		default:
			return a.rotateClientSecret(ctx, m, fs.Arg(0))
		}
	})
}

func clientError(err error) error {
	switch veil.ErrorCode(err) {
	case veil.ENOTFOUND:
		return errors.New("no such client (clients from [[oidc.clients]] are changed in the configuration)")
	case veil.EINVALID, veil.ECONFLICT:
		return errors.New(veil.ErrorMessage(err))
	}
	return err
}

func (a *app) addClient(ctx context.Context, m *Main, c *oidc.Client) error {
	secret := ""
	if !c.Public && c.JWKS == nil {
		secret, c.SecretHash = oidc.NewClientSecret()
	}
	if err := oidc.CheckClient(c); err != nil {
		return usageErrorf("%s", veil.ErrorMessage(err))
	}
	if err := a.db.CreateClient(ctx, c); err != nil {
		return clientError(err)
	}
	fmt.Fprintf(m.Stdout, "client_id: %s\n", c.ID)
	if secret != "" {
		fmt.Fprintf(m.Stdout, "client_secret: %s\n", secret)
	}
	return nil
}

// allClients lists the configured clients and then the stored ones.
func (a *app) allClients(ctx context.Context) ([]*oidc.Client, error) {
	configured, err := a.cfg.oidcClients()
	if err != nil {
		return nil, err
	}
	stored, err := a.db.ListClients(ctx)
	if err != nil {
		return nil, err
	}
	return append(configured, stored...), nil
}

func clientKind(c *oidc.Client) string {
	kind := "confidential"
	if c.Public {
		kind = "public"
	} else if c.JWKS != nil {
		kind = "confidential,private_key_jwt"
	}
	if c.FirstParty {
		kind += ",first-party"
	}
	if c.FromConfig {
		kind += ",config"
	}
	return kind
}

func (a *app) listClients(ctx context.Context, m *Main) error {
	list, err := a.allClients(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT ID\tNAME\tKIND\tREDIRECT URIS")
	for _, c := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.ID, c.Name, clientKind(c), strings.Join(c.RedirectURIs, " "))
	}
	return tw.Flush()
}

func (a *app) showClient(ctx context.Context, m *Main, id string) error {
	list, err := a.allClients(ctx)
	if err != nil {
		return err
	}
	for _, c := range list {
		if c.ID != id {
			continue
		}
		subject := "pairwise"
		if c.PublicSubject {
			subject = "public (account ID)"
		} else if c.Sector != "" {
			subject = "pairwise, sector " + c.Sector
		}
		alg := c.SigningAlgorithm
		if alg == "" {
			alg = a.cfg.OIDC.SigningAlgorithm + " (the default)"
		}
		fmt.Fprintf(m.Stdout, "client_id: %s\nname: %s\nkind: %s\nredirect_uris: %s\npost_logout_redirect_uris: %s\nemail: %v\nsubject: %s\nsigning_algorithm: %s\n",
			c.ID, c.Name, clientKind(c), strings.Join(c.RedirectURIs, " "), strings.Join(c.PostLogoutRedirectURIs, " "), c.AllowEmail, subject, alg)
		return nil
	}
	return clientError(veil.Errorf(veil.ENOTFOUND, "no such client"))
}

func (a *app) rotateClientSecret(ctx context.Context, m *Main, id string) error {
	c, err := a.db.FindClient(ctx, id)
	if err != nil {
		return clientError(err)
	}
	if c.Public || c.JWKS != nil {
		return errors.New("a public client, or one with a JWKS, has no secret")
	}
	secret, hash := oidc.NewClientSecret()
	if err := a.db.ReplaceClientSecret(ctx, id, hash); err != nil {
		return clientError(err)
	}
	fmt.Fprintf(m.Stdout, "client_id: %s\nclient_secret: %s\n", id, secret)
	return nil
}
