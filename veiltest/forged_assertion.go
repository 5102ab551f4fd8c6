package veiltest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
)

// ForgedPasskeyAssertion is the body of a passkey sign-in's finish step
// that a client could send for credID without the authenticator: well
// formed, answering challenge at origin for the relying party localhost,
// with a signature that cannot verify.
func ForgedPasskeyAssertion(origin, challenge string, credID []byte) string {
	b64 := base64.RawURLEncoding.EncodeToString
	client, _ := json.Marshal(map[string]string{"type": "webauthn.get", "challenge": challenge, "origin": origin})
	rp := sha256.Sum256([]byte("localhost"))
	auth := append(rp[:], 0x05, 0, 0, 0, 1)
	cred, _ := json.Marshal(map[string]any{
		"id": b64(credID), "rawId": b64(credID), "type": "public-key",
		"response": map[string]string{"clientDataJSON": b64(client), "authenticatorData": b64(auth), "signature": b64(bytes.Repeat([]byte{1}, 70))},
	})
	return `{"credential":` + string(cred) + `}`
}
