package throttle

import (
	"time"

	"github.com/veil-id/veil"
)

var _ veil.DeviceIssuer = (*Throttle)(nil)

// IssueDevice implements veil.DeviceIssuer: a device cookie for subject,
// as a successful sign-in leaves one, for a browser that proved the
// mailbox and set the password in one step (a confirmed sign-up). ""
// when sign-in has no device policy. The cookies of prior for other
// subjects are carried along.
func (t *Throttle) IssueDevice(subject, prior string) (string, time.Time) {
	if t.policy.Actions[veil.ActionLogin].Device == (Escalation{}) {
		return "", time.Time{}
	}
	now := t.clock.Now()
	expires := now.Add(t.policy.DeviceTTL)
	return t.devices.carry(t.devices.issue(subject, expires), prior, subject, now), expires
}

var _ veil.DeviceRebinder = (*Throttle)(nil)

// RebindDevice implements veil.DeviceRebinder: the device cookie of a
// browser whose account moved from one identifier to another, bound to the
// new one with the same expiry and device bucket; "" unless cookie is a
// live device cookie for from, or when sign-in has no device policy.
func (t *Throttle) RebindDevice(cookie, from, to string) (string, time.Time) {
	if t.policy.Actions[veil.ActionLogin].Device == (Escalation{}) {
		return "", time.Time{}
	}
	return t.devices.rebind(cookie, from, to, t.clock.Now())
}
