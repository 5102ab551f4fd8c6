package veil

import (
	"bytes"
	"context"
	"crypto/sha256"
	"time"
)

// SessionInfo is one session as its own account's owner sees it: never
// its token or the token's hash, only a public ID derived from the hash.
type SessionInfo struct {
	ID         string // PublicSessionID
	Current    bool   // the session that asked
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	ClientAddr string // as stored: an IPv4 address or an IPv6 /64
	UserAgent  string
}

// PublicSessionID names a session to its owner. It is derived from the
// stored hash of the token by another hash, so it can neither be turned
// back into the token nor used as a cookie.
func PublicSessionID(idHash []byte) string {
	h := sha256.New()
	h.Write([]byte("veil public session id v1\x00"))
	h.Write(idHash)
	return idEncoding.EncodeToString(h.Sum(nil)[:16])
}

var errInvalidSessionID = &Error{Code: EINVALID, Message: "The session ID is malformed."}

// checkPublicSessionID refuses what PublicSessionID cannot give.
func checkPublicSessionID(id string) error {
	if len(id) != idEncoding.EncodedLen(16) {
		return errInvalidSessionID
	}
	if b, err := idEncoding.DecodeString(id); err != nil || idEncoding.EncodeToString(b) != id {
		return errInvalidSessionID
	}
	return nil
}

// AccountSessions returns the sessions of the signed-in account, newest
// first, the one of sessionToken marked Current.
func (s *Service) AccountSessions(ctx context.Context, sessionToken string) ([]*SessionInfo, error) {
	acct, cur, err := s.Authenticate(ctx, sessionToken)
	if err != nil {
		return nil, err
	}
	sessions, err := s.cfg.Sessions.ListSessions(ctx, acct.ID)
	if err != nil {
		return nil, unavailable("listing sessions", err)
	}
	now := s.cfg.Clock.Now()
	out := make([]*SessionInfo, 0, len(sessions))
	for _, o := range sessions {
		// Expired sessions are refused anyway; they are not where one is
		// signed in.
		if !now.Before(o.ExpiresAt) || !now.Before(o.LastSeenAt.Add(s.cfg.SessionPolicy.IdleTimeout)) {
			continue
		}
		out = append(out, &SessionInfo{
			ID: PublicSessionID(o.IDHash), Current: bytes.Equal(o.IDHash, cur.IDHash),
			CreatedAt: o.CreatedAt, LastSeenAt: o.LastSeenAt, ExpiresAt: o.ExpiresAt,
			ClientAddr: o.ClientAddr, UserAgent: o.UserAgent,
		})
	}
	return out, nil
}

// EndSession ends the signed-in account's session with public ID id. It
// looks only among that account's own sessions, so no ID can end anyone
// else's, and an ID it does not find is no error: the session is gone
// either way. A malformed ID is EINVALID.
func (s *Service) EndSession(ctx context.Context, sessionToken, id string, client Client) error {
	if err := checkPublicSessionID(id); err != nil {
		return err
	}
	acct, _, err := s.Authenticate(ctx, sessionToken)
	if err != nil {
		return err
	}
	sessions, err := s.cfg.Sessions.ListSessions(ctx, acct.ID)
	if err != nil {
		return unavailable("listing sessions", err)
	}
	for _, o := range sessions {
		if PublicSessionID(o.IDHash) == id {
			if err := s.cfg.Sessions.DeleteSession(ctx, o.IDHash); err != nil {
				return unavailable("ending a session", err)
			}
			s.cfg.Auditor.RecordEvent(ctx, &Event{Time: s.cfg.Clock.Now(), Kind: EventSessionRevoked, Outcome: OutcomeSuccess, AccountID: acct.ID, ClientAddr: client.Addr})
		}
	}
	return nil
}

// EndOtherSessions ends every session of the signed-in account but the
// one asking, and returns how many it ended.
func (s *Service) EndOtherSessions(ctx context.Context, sessionToken string) (int, error) {
	acct, cur, err := s.Authenticate(ctx, sessionToken)
	if err != nil {
		return 0, err
	}
	return s.endOtherSessions(ctx, acct.ID, cur.IDHash)
}
