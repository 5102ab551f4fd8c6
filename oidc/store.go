package oidc

import "github.com/veil-id/veil"

// The provider's state is declared in package veil (oidcstore.go), where
// the store that keeps it (package sqlstore) finds it without importing
// the provider; here it goes by its short names.
type (
	// Client is an application that signs its users in with veil.
	Client = veil.OIDCClient
	// AuthRequest is an authorization request between the authorization
	// endpoint and the token endpoint.
	AuthRequest = veil.OIDCAuthRequest
	// AccessToken is an issued access token.
	AccessToken = veil.OIDCAccessToken
	// RefreshToken is one link of a refresh token family.
	RefreshToken = veil.OIDCRefreshToken
	// SigningKey is one key the provider signs tokens with.
	SigningKey = veil.OIDCSigningKey
	// Store keeps everything of the provider that several instances
	// share; package sqlstore implements it.
	Store = veil.OIDCStore
)
