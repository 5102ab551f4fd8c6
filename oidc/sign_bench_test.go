package oidc

import (
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/pkg/crypto"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// BenchmarkIDTokenSigning is the cost of signing one ID token per
// algorithm, as the token endpoint signs it.
func BenchmarkIDTokenSigning(b *testing.B) {
	for _, alg := range []string{ES256, EdDSA, RS256} {
		b.Run(alg, func(b *testing.B) {
			priv, err := generateKey(alg)
			if err != nil {
				b.Fatal(err)
			}
			signer, err := op.SignerFromKey(opSigningKey{&loadedKey{id: "k", alg: alg, priv: priv}})
			if err != nil {
				b.Fatal(err)
			}
			now := time.Now()
			claims := oidc.NewIDTokenClaims("https://id.example.com", "subject-0123456789abcdef0123456789abcdef012", []string{"client"},
				now.Add(time.Hour), now, "nonce", acrPassword, []string{"pwd"}, "client", 0)
			claims.Name = "Ada Lovelace"
			for b.Loop() {
				if _, err := crypto.Sign(claims, signer); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
