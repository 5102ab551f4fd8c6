package veil

import "time"

// Event is one audited thing that happened to an identifier or account:
// what happened (Kind), how it ended (Outcome) and why (Reason).
type Event struct {
	Time           time.Time
	Kind           string
	Outcome        string
	Reason         string
	IdentifierHash string // IdentifierKey.Hash; never the identifier itself
	AccountID      string
	ClientAddr     string
}

// OperatorAddr is the ClientAddr of events an operator caused on the
// machine that runs veil (the CLI), where there is no client address.
const OperatorAddr = "cli"

// Event kinds: what happened.
const (
	// Sessions.
	EventLogin          = "login"
	EventLogout         = "logout"
	EventSessionRevoked = "session_revoked"
	EventThrottleReset  = "throttle_reset" // an operator cleared throttle counters

	// What an operator did to an account from the CLI (admin.go).
	EventAccountAdded    = "account_added"
	EventPasswordSet     = "password_set"
	EventAccountDisabled = "account_disabled"
	EventAccountEnabled  = "account_enabled"
	EventAccountDeleted  = "account_deleted"

	// The mail flows.
	EventSignUp        = "signup"
	EventSignUpConfirm = "signup_confirm"
	EventRecover       = "recover"
	EventPasswordReset = "password_reset"
	EventMail          = "mail"

	// The account flows.
	EventDisplayName     = "display_name"
	EventPasswordChange  = "password_change"
	EventEmailChange     = "email_change"
	EventEmailConfirm    = "email_confirm"
	EventEmailUndo       = "email_undo"
	EventAccountDelete   = "account_delete"
	EventLoginCode       = "login_code"
	EventLoginCodeSignIn = "login_code_signin"

	// Second factors.
	EventSecondFactor  = "second_factor"  // the second step of a sign-in
	EventFactorAdded   = "factor_added"   // reason: the method
	EventFactorRemoved = "factor_removed" // reason: the method
	EventRecoveryCodes = "recovery_codes" // new recovery codes were made
	EventFactorsReset  = "factors_reset"  // an operator removed every factor
)

// Outcomes: how an event ended.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
	// OutcomePending is a sign-in whose password was right and whose
	// second factor is still to come.
	OutcomePending = "pending"
)

// Reasons: the truth about a failure, for the audit log and the admin metrics
// only. None of them ever reaches a public answer.
const (
	ReasonNone              = ""
	ReasonUnknownIdentifier = "unknown_identifier"
	ReasonWrongPassword     = "wrong_password"
	ReasonDisabled          = "disabled"
	ReasonLocked            = "locked"      // the directory has locked the account
	ReasonExpired           = "expired"     // the password or account has expired
	ReasonMustChange        = "must_change" // the directory requires a new password first
	ReasonAmbiguous         = "ambiguous"   // several directory entries match the identifier
	ReasonThrottled         = "throttled"   // a temporary block
	ReasonOverloaded        = "overloaded"
	ReasonError             = "error"
	// ReasonChallengeRequired is an attempt held back until it brings a
	// proof of work.
	ReasonChallengeRequired = "challenge_required"

	// The mail flows.
	ReasonNewAddress    = "new_address"
	ReasonTakenAddress  = "taken_address"
	ReasonInvalidToken  = "invalid_token"
	ReasonNotifyUnknown = "notified_unknown"
	// ReasonCodeSignUp: a sign-in code for an unknown address became a
	// sign-up (MailPolicy.LoginCodeSignUp).
	ReasonCodeSignUp = "code_signup"

	// Second factors.
	ReasonSecondFactorRequired = "second_factor_required"
	ReasonWrongCode            = "wrong_code"
	ReasonReusedCode           = "reused_code"
	ReasonWrongRecoveryCode    = "wrong_recovery_code"
	ReasonNoFactor             = "no_factor"
	ReasonExpiredSignIn        = "expired_sign_in"
	ReasonUnknownCredential    = "unknown_credential" // no passkey has the credential ID
	ReasonWrongPasskey         = "wrong_passkey"      // the assertion did not verify
)

// Second-factor methods, as POST /api/login names them; the reason of a
// factor event is its method.
const (
	MethodTOTP         = "totp"
	MethodRecoveryCode = "recovery_code"
	MethodPasskey      = "passkey" // as a second factor or alone
)
