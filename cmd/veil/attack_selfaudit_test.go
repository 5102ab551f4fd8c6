package main

import (
	"crypto/rand"
	"encoding/base64"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/probe"
)

// TestSelfAuditPasskeyFinish runs veil probe's passkey-finish preset
// against the passkey finish step under the automatic floor (which holds
// it to web.NoHashFloor): forged assertions on fresh challenges for the
// credential IDs of registered passkeys against credential IDs no passkey
// has, of the same length. A registered one costs two lookups more (its
// account, the signature check) before the same 401; no channel may show
// it. The no-hash floor's misses are on the admin metrics, and logged.
func TestSelfAuditPasskeyFinish(t *testing.T) {
	v, withKey, _ := mustRunPasskeyVeil(t, "auto")
	target, err := probe.PresetTarget("passkey-finish", v.url)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	for i := range withKey {
		target.Exists = append(target.Exists, b64(storedCredentialID(i)))
		target.Missing = append(target.Missing, b64([]byte(rand.Text()[:len(storedCredentialID(i))])))
	}
	const n = 150
	runAuditPlan(t, "SQLite (passkey finish)", n, probe.Plan{Probes: []probe.Probe{auditProbe(target, n)}}, 2*time.Minute)
	// The preset must reach what it audits: each existing credential's
	// signature check, each missing one's failed lookup, behind spent
	// challenges (a preset that no longer matches would measure veil's
	// refusal of bad input, and pass while auditing nothing). At 9 in 10:
	// past the lenient throttle's block_after, a credential is allowed one
	// attempt in flight, and the probe's concurrent ones get the 429.
	_, m := httpDo(t, "GET", v.adminURL+"/metrics", "", "", "")
	for _, reason := range []string{veil.ReasonWrongPasskey, veil.ReasonUnknownCredential} {
		name := `veil_events_total{kind="login",outcome="failure",reason="` + reason + `"}`
		if got := metricValue(m, name); got < 0.9*n {
			t.Errorf("%s = %v after the audit, want at least 9 in 10 of %d: the preset does not reach the finish step's checks", name, got, n)
		}
	}
	misses := metricValue(m, "veil_time_floor_no_hash_exceeded_total")
	if misses < 0 {
		t.Fatal("admin /metrics has no veil_time_floor_no_hash_exceeded_total")
	}
	t.Logf("veil_time_floor_no_hash_exceeded_total = %v after %d finish steps", misses, 2*n)
}
