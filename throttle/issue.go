package throttle

import (
	"time"

	"github.com/veil-id/veil"
)

var _ veil.DeviceIssuer = (*Throttle)(nil)

// IssueDevice implements veil.DeviceIssuer: a device cookie for subject,
// as a successful sign-in leaves one, for a browser that proved the
// mailbox and set the password in one step (a confirmed sign-up). ""
// when sign-in has no device policy.
func (t *Throttle) IssueDevice(subject string) (string, time.Time) {
	if t.policy.Actions[veil.ActionLogin].Device == (Escalation{}) {
		return "", time.Time{}
	}
	expires := t.clock.Now().Add(t.policy.DeviceTTL)
	return t.devices.issue(subject, expires), expires
}
