package veil

import (
	"context"
	"slices"
	"strings"
)

// Groups say who may enter an app behind the proxy (see AccessRules). An
// account's groups come from veil's own database (GroupStore, managed with
// the CLI) or from the directory the accounts are in (a GroupReader only).

// MaxGroupNameLength bounds a group name in bytes.
const MaxGroupNameLength = 64

// GroupReader tells which groups accounts belong to.
type GroupReader interface {
	// AccountGroups returns the names of the groups account accountID is
	// in, sorted; none (and no error) for an account in no group or one
	// that does not exist.
	AccountGroups(ctx context.Context, accountID string) ([]string, error)
	// ListGroups returns every group that has a member, sorted by name.
	ListGroups(ctx context.Context) ([]Group, error)
}

// GroupStore is a GroupReader that veil itself writes.
type GroupStore interface {
	GroupReader
	// AddAccountGroup puts account accountID into group; no error if it is
	// there already, ENOTFOUND if there is no such account.
	AddAccountGroup(ctx context.Context, accountID, group string) error
	// RemoveAccountGroup takes account accountID out of group and reports
	// whether it was in it.
	RemoveAccountGroup(ctx context.Context, accountID, group string) (bool, error)
}

// Group is a group name and how many accounts are in it.
type Group struct {
	Name    string
	Members int
}

// NormalizeGroupName returns the stored form of a group name: lower case,
// ASCII letters, digits, '.', '_' and '-', starting with a letter or digit,
// at most MaxGroupNameLength bytes. The alphabet keeps names safe in the
// comma-separated Remote-Groups header and in a TOML rule without quoting
// surprises; EINVALID for anything else.
func NormalizeGroupName(s string) (string, error) {
	s = strings.ToLower(s)
	if s == "" || len(s) > MaxGroupNameLength {
		return "", Errorf(EINVALID, "A group name has 1 to %d characters.", MaxGroupNameLength)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case (c == '.' || c == '_' || c == '-') && i > 0:
		default:
			return "", Errorf(EINVALID, "A group name has only letters a-z, digits and . _ - (not first).")
		}
	}
	return s, nil
}

// GroupNames normalizes names from an outside source (a directory), drops
// the ones that do not fit NormalizeGroupName and returns the rest sorted
// and without repeats.
func GroupNames(names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		if g, err := NormalizeGroupName(n); err == nil {
			out = append(out, g)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// errNoGroupStore answers the group commands when groups are read from
// elsewhere (a directory) or not kept at all.
var errNoGroupStore = Errorf(EINVALID, "Groups are managed in the directory, not in veil.")

// AccountGroups returns the groups of an account, for the access rules;
// none when veil keeps no groups.
func (s *Service) AccountGroups(ctx context.Context, accountID string) ([]string, error) {
	if s.cfg.Groups == nil {
		return nil, nil
	}
	g, err := s.cfg.Groups.AccountGroups(ctx, accountID)
	if err != nil {
		return nil, unavailable("finding groups", err)
	}
	return g, nil
}

// The operator's group commands; like the rest of admin.go they may say
// whether an account exists.

// AddToGroup puts the account for an email address or ID into group.
func (s *Service) AddToGroup(ctx context.Context, emailOrID, group string) (*Account, string, error) {
	return s.changeGroup(ctx, emailOrID, group, func(gs GroupStore, id, g string) error {
		return gs.AddAccountGroup(ctx, id, g)
	})
}

// RemoveFromGroup takes the account for an email address or ID out of
// group; EINVALID if it was not in it (ENOTFOUND is for the account).
func (s *Service) RemoveFromGroup(ctx context.Context, emailOrID, group string) (*Account, string, error) {
	return s.changeGroup(ctx, emailOrID, group, func(gs GroupStore, id, g string) error {
		ok, err := gs.RemoveAccountGroup(ctx, id, g)
		if err == nil && !ok {
			err = Errorf(EINVALID, "The account is not in the group %s.", g)
		}
		return err
	})
}

func (s *Service) changeGroup(ctx context.Context, emailOrID, group string, change func(GroupStore, string, string) error) (*Account, string, error) {
	gs, ok := s.cfg.Groups.(GroupStore)
	if !ok {
		return nil, "", errNoGroupStore
	}
	g, err := NormalizeGroupName(group)
	if err != nil {
		return nil, "", err
	}
	acct, err := s.FindAccount(ctx, emailOrID)
	if err != nil {
		return nil, "", err
	}
	return acct, g, change(gs, acct.ID, g)
}

// ListGroups returns every group with a member.
func (s *Service) ListGroups(ctx context.Context) ([]Group, error) {
	if s.cfg.Groups == nil {
		return []Group{}, nil
	}
	return s.cfg.Groups.ListGroups(ctx)
}
