// Package metrics exposes veil's counters to Prometheus on the admin
// listener. It counts audit events by their true reason, so it must never be
// served on the public listener: a public count of unknown-identifier
// failures would itself tell an attacker which guesses missed.
package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/veil-id/veil"
)

// Metrics holds veil's collectors in a registry of its own.
type Metrics struct {
	reg           *prometheus.Registry
	events        *prometheus.CounterVec
	floorExceeded prometheus.Counter
	lookupOver    prometheus.Counter
	noHashOver    prometheus.Counter
	verifyCost    *prometheus.GaugeVec
}

var _ veil.Auditor = (*Metrics)(nil)

// New returns metrics registered with Go runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "veil_events_total",
			Help: "Audited events by kind, outcome and true reason.",
		}, []string{"kind", "outcome", "reason"}),
		floorExceeded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "veil_time_floor_exceeded_total",
			Help: "Sign-ins whose account work (from the password check, without queue waits) took longer than the time floor: timing samples the floor did not cover.",
		}),
		lookupOver: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "veil_time_floor_lookup_exceeded_total",
			Help: "Sign-ins whose account lookup took longer than the lookup floor: their hash began late, by what the lookup cost.",
		}),
		noHashOver: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "veil_time_floor_no_hash_exceeded_total",
			Help: "Answers of routes whose account work is lookups and no hash (passkey options and finish, a second factor, a mailed code) that took longer than their floor (web.NoHashFloor, or the answer floor when higher): timing samples the floor did not cover.",
		}),
		verifyCost: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "veil_password_verify_seconds",
			Help: "What verifying a stored hash of each parameter set cost at the last calibration of the time floor (the directory's decoy sign-in on a directory).",
		}, []string{"params"}),
	}
	m.reg.MustRegister(m.events, m.floorExceeded, m.lookupOver, m.noHashOver, m.verifyCost,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// RecordEvent implements veil.Auditor.
func (m *Metrics) RecordEvent(ctx context.Context, e *veil.Event) {
	reason := e.Reason
	if reason == "" {
		reason = "none"
	}
	m.events.WithLabelValues(e.Kind, e.Outcome, reason).Inc()
}

// FloorExceeded counts one answer later than the floor.
func (m *Metrics) FloorExceeded(time.Duration) { m.floorExceeded.Inc() }

// LookupFloorExceeded counts one lookup longer than the lookup floor.
func (m *Metrics) LookupFloorExceeded(time.Duration) { m.lookupOver.Inc() }

// NoHashFloorExceeded counts one answer of a route without a hash later
// than its floor.
func (m *Metrics) NoHashFloorExceeded(time.Duration) { m.noHashOver.Inc() }

// SetVerifyCosts replaces the calibrated cost of each parameter set ("" is
// a malformed stored hash, which costs the decoy's work).
func (m *Metrics) SetVerifyCosts(costs map[string]time.Duration) {
	m.verifyCost.Reset()
	for set, d := range costs {
		if set == "" {
			set = "malformed"
		}
		m.verifyCost.WithLabelValues(set).Set(d.Seconds())
	}
}

// Gauge registers a gauge read from fn at every scrape.
func (m *Metrics) Gauge(name, help string, fn func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn))
}

// Counter registers a counter read from fn at every scrape; fn must never
// decrease (Prometheus' rate() takes a drop for a restart).
func (m *Metrics) Counter(name, help string, fn func() float64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, fn))
}

// Handler serves the exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
