package veil

import (
	"context"
	"time"
)

// ChangeEmailRequest is what a signed-in person sends to move her account
// to another address: the address and her password (Reauthentication).
type ChangeEmailRequest struct {
	Reauthentication
	Email string
	// TargetProof is a proof of work for the target address's throttle,
	// once an answer asked for one.
	TargetProof string
}

// RequestEmailChange queues a change of the signed-in account's address
// and answers the same whether or not the new address has an account: it
// never looks the address up. The worker mails a confirmation link to a
// free address, or to an address that has an account a notice that says
// so to its owner; the requester learns nothing. The password is checked
// like a sign-in (reauthenticate); the new address is throttled like a
// sign-up, per target address and client address, so nobody can flood an
// address with links through it.
func (s *Service) RequestEmailChange(ctx context.Context, req ChangeEmailRequest) (err error) {
	to, err := NormalizeIdentifier(req.Email)
	if err != nil {
		return err
	}
	if err := CheckPassword(req.Password); err != nil {
		return err
	}
	if err := s.settingsReady(); err != nil {
		return err
	}
	ev := &Event{Kind: EventEmailChange, Outcome: OutcomeFailure, ClientAddr: req.Client.Addr}
	defer func() { ev.Time = s.cfg.Clock.Now(); s.cfg.Auditor.RecordEvent(ctx, ev) }()
	acct, _, err := s.reauthenticate(ctx, req.Reauthentication, ev)
	if err != nil {
		return err
	}
	adm, err := s.throttleRequest(ctx, ActionSignUp, EventEmailChange, to, req.Client, req.TargetProof)
	if err != nil {
		ev.Reason = throttleReason(err)
		return err
	}
	defer func() { s.settleRequest(ctx, adm, err) }()
	// The job keeps the typed address only until it is done (SubjectHash).
	if err := s.enqueue(ctx, &Job{Kind: JobEmailChange, Subject: accountJobSubject(acct.ID, to), SubjectHash: s.cfg.Key.Hash(to), Lang: req.Client.Lang}); err != nil {
		ev.Reason = ReasonError
		return err
	}
	ev.Outcome, ev.Reason = OutcomeSuccess, ReasonNone
	return nil
}

// AddressLink is what a browser sends when it follows a link mailed about
// an address change.
type AddressLink struct {
	Token  string
	Client Client
	// SessionToken and DeviceCookie are the browser's own, if it has them
	// (moveDevice).
	SessionToken string
	DeviceCookie string
}

// LinkResult is what following such a link leaves in the browser.
type LinkResult struct {
	// DeviceCookie, when not "", replaces the browser's device cookie:
	// it is the one the browser had, bound to the account's new address.
	DeviceCookie  string
	DeviceExpires time.Time
}

// DeviceRebinder is implemented by a Throttle whose device cookies can
// follow an account to another identifier.
type DeviceRebinder interface {
	// RebindDevice returns cookie bound to the identifier hash to instead
	// of from, and its expiry; "" unless cookie is a live device cookie
	// for from.
	RebindDevice(cookie, from, to string) (string, time.Time)
}

// ConfirmEmailChange follows a confirmation link mailed to a new address:
// the account moves to it, its reset links and other confirmation links
// die, and the old address is told, with a link to undo the change
// (EmailUndoTTL). Any token that is malformed, unknown, used or expired,
// or whose address has an account by now, gets the one invalid-token
// answer. It needs no session: the link may be opened on another device;
// a browser signed in to the account keeps its device standing
// (moveDevice).
func (s *Service) ConfirmEmailChange(ctx context.Context, l AddressLink) (*LinkResult, error) {
	if err := s.settingsReady(); err != nil {
		return nil, err
	}
	ev := &Event{Kind: EventEmailConfirm, Outcome: OutcomeFailure, Reason: ReasonInvalidToken, ClientAddr: l.Client.Addr}
	defer func() { ev.Time = s.cfg.Clock.Now(); s.cfg.Auditor.RecordEvent(ctx, ev) }()
	acct, t, err := s.accountOfToken(ctx, l.Token, TokenEmailConfirm)
	if err != nil {
		return nil, err
	}
	ev.AccountID, ev.IdentifierHash = acct.ID, s.cfg.Key.Hash(t.Email)
	old := acct.Email
	if err := s.moveAccount(ctx, acct, t.Email, ev); err != nil {
		return nil, err
	}
	if err := s.cfg.Settings.DeleteAccountTokensOf(ctx, acct.ID, TokenEmailConfirm); err != nil {
		ev.Reason = ReasonError
		return nil, unavailable("voiding confirmation links", err)
	}
	if err := s.enqueue(ctx, &Job{Kind: JobEmailChanged, Subject: accountJobSubject(acct.ID, old), SubjectHash: s.cfg.Key.Hash(old), Lang: l.Client.Lang}); err != nil {
		ev.Reason = ReasonError
		return nil, err
	}
	ev.Outcome, ev.Reason = OutcomeSuccess, ReasonNone
	return s.moveDevice(ctx, l, acct.ID, old, acct.Email), nil
}

// UndoEmailChange follows the undo link mailed to the old address: the
// account moves back to it, and every session ends and every mailed link
// dies, since whoever made the change may hold them. The owner then signs
// in (or resets her password) with the old address; the browser that
// followed the link, if it was signed in, keeps its device standing
// (moveDevice).
func (s *Service) UndoEmailChange(ctx context.Context, l AddressLink) (*LinkResult, error) {
	if err := s.settingsReady(); err != nil {
		return nil, err
	}
	ev := &Event{Kind: EventEmailUndo, Outcome: OutcomeFailure, Reason: ReasonInvalidToken, ClientAddr: l.Client.Addr}
	defer func() { ev.Time = s.cfg.Clock.Now(); s.cfg.Auditor.RecordEvent(ctx, ev) }()
	acct, t, err := s.accountOfToken(ctx, l.Token, TokenEmailUndo)
	if err != nil {
		return nil, err
	}
	ev.AccountID, ev.IdentifierHash = acct.ID, s.cfg.Key.Hash(t.Email)
	res := &LinkResult{}
	if left := acct.Email; left != t.Email {
		if err := s.moveAccount(ctx, acct, t.Email, ev); err != nil {
			return nil, err
		}
		// Before the sessions end: the browser's own proves it is hers.
		res = s.moveDevice(ctx, l, acct.ID, left, t.Email)
	}
	if err := s.cfg.Settings.DeleteAccountTokensOf(ctx, acct.ID, ""); err != nil {
		ev.Reason = ReasonError
		return nil, unavailable("voiding mailed links", err)
	}
	if _, err := s.RevokeSessions(ctx, acct.ID); err != nil {
		ev.Reason = ReasonError
		return nil, unavailable("ending sessions", err)
	}
	ev.Outcome, ev.Reason = OutcomeSuccess, ReasonNone
	return res, nil
}

// moveDevice rebinds the device cookie of the browser that followed a
// link to the address its account moved to, so that past a lockout of
// that address the person's own browser keeps the standing it had for the
// old one. Only a browser signed in to the account whose cookie was live
// for the address left gets one: the link proves only a mailbox, and
// gives a browser without that standing none.
func (s *Service) moveDevice(ctx context.Context, l AddressLink, accountID string, from, to Identifier) *LinkResult {
	res := &LinkResult{}
	d, ok := s.cfg.Throttle.(DeviceRebinder)
	if !ok || l.DeviceCookie == "" {
		return res
	}
	// Without the session (or the store to find it) the change stands;
	// the browser only keeps its old cookie.
	if acct, _, err := s.Authenticate(ctx, l.SessionToken); err != nil || acct.ID != accountID {
		return res
	}
	res.DeviceCookie, res.DeviceExpires = d.RebindDevice(l.DeviceCookie, s.cfg.Key.Hash(from), s.cfg.Key.Hash(to))
	return res
}

// accountOfToken spends an account token of one purpose and returns its
// account; errInvalidToken for anything that is not a live token of a
// live, enabled account.
func (s *Service) accountOfToken(ctx context.Context, token, purpose string) (*Account, *AccountToken, error) {
	hash, err := ParseToken(token)
	if err != nil {
		return nil, nil, err
	}
	t, err := s.cfg.Settings.ConsumeAccountToken(ctx, hash, purpose, s.cfg.Clock.Now())
	if ErrorCode(err) == ENOTFOUND {
		return nil, nil, errInvalidToken
	} else if err != nil {
		return nil, nil, unavailable("consuming a token", err)
	}
	acct, err := s.cfg.Accounts.FindAccountByID(ctx, t.AccountID)
	if ErrorCode(err) == ENOTFOUND || (err == nil && acct.Disabled) {
		return nil, nil, errInvalidToken
	} else if err != nil {
		return nil, nil, unavailable("finding the account of a link", err)
	}
	return acct, t, nil
}

// moveAccount gives acct the address to and voids its reset links, which
// went to the address it had.
func (s *Service) moveAccount(ctx context.Context, acct *Account, to Identifier, ev *Event) error {
	switch err := s.cfg.Settings.ChangeEmail(ctx, acct.ID, acct.Email, to); ErrorCode(err) {
	case "":
	case ECONFLICT:
		ev.Reason = ReasonTakenAddress
		return errInvalidToken
	case ENOTFOUND: // changed or deleted meanwhile
		return errInvalidToken
	default:
		ev.Reason = ReasonError
		return unavailable("changing the address", err)
	}
	acct.Email = to
	if err := s.cfg.Tokens.DeleteAccountTokens(ctx, acct.ID, TokenReset); err != nil {
		ev.Reason = ReasonError
		return unavailable("voiding reset links", err)
	}
	return nil
}
