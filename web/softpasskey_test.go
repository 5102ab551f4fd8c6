package web_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/veil-id/veil"
)

// softPasskey is a passkey held in the test: an ES256 key registered to
// an account as go-webauthn records it, signing assertions as an
// authenticator that verified its user would, for the RP of withPasskeys.
type softPasskey struct {
	key        *ecdsa.PrivateKey
	credID     []byte
	userHandle []byte
	count      uint32
}

// mustAddSoftPasskey registers a soft passkey with credID to acct.
func (ts *testServer) mustAddSoftPasskey(tb testing.TB, acct *veil.Account, credID string) *softPasskey {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	pub, err := key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		tb.Fatal(err)
	}
	cose, err := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
		Curve:         int64(webauthncose.P256), XCoord: pub[1:33], YCoord: pub[33:],
	})
	if err != nil {
		tb.Fatal(err)
	}
	record, err := json.Marshal(webauthn.Credential{ID: []byte(credID), PublicKey: cose, AttestationType: "none",
		Flags: webauthn.CredentialFlags{UserPresent: true, UserVerified: true}})
	if err != nil {
		tb.Fatal(err)
	}
	p := &veil.Passkey{ID: veil.NewAccountID(), AccountID: acct.ID, CredentialID: []byte(credID), Name: "soft", Credential: record, CreatedAt: time.Now()}
	if err := ts.db.CreatePasskey(context.Background(), p); err != nil {
		tb.Fatal(err)
	}
	return &softPasskey{key: key, credID: []byte(credID), userHandle: []byte(acct.ID)}
}

// finishBody is the body of POST /api/passkey/login/finish answering
// challenge with a good signature.
func (p *softPasskey) finishBody(tb testing.TB, challenge string) string {
	tb.Helper()
	b64 := base64.RawURLEncoding.EncodeToString
	client, _ := json.Marshal(map[string]string{"type": "webauthn.get", "challenge": challenge, "origin": "http://localhost"})
	rp := sha256.Sum256([]byte("localhost"))
	p.count++
	auth := binary.BigEndian.AppendUint32(append(rp[:], 0x05), p.count) // user present and verified
	clientHash := sha256.Sum256(client)
	digest := sha256.Sum256(append(append([]byte(nil), auth...), clientHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, p.key, digest[:])
	if err != nil {
		tb.Fatal(err)
	}
	cred, _ := json.Marshal(map[string]any{
		"id": b64(p.credID), "rawId": b64(p.credID), "type": "public-key",
		"response": map[string]string{"clientDataJSON": b64(client), "authenticatorData": b64(auth), "signature": b64(sig), "userHandle": b64(p.userHandle)},
	})
	return `{"credential":` + string(cred) + `}`
}
