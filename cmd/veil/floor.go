package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/metrics"
	"github.com/veil-id/veil/password"
	"github.com/veil-id/veil/web"
)

// How the automatic floor is derived from what a verification costs.
const (
	// floorRuns verifications of each parameter set are timed; their
	// median is its cost (a median: one stall of the machine must not
	// raise every answer until the next calibration).
	floorRuns = 5
	// floorSlack is added to the answer floor while imported hashes
	// remain, for the lookup and the answer's own work.
	floorSlack = time.Millisecond
	// The lookup floor (web.Floor.SetLookup) is lookupFactor times a
	// decoy lookup's median cost, and at least lookupMin: a hit reads one
	// row more than a miss, a small part of a lookup's round trip, and
	// lookups past the floor are counted
	// (veil_time_floor_lookup_exceeded_total). It is all the padding a
	// sign-in gets while every stored hash is current: the hash that
	// follows is the same for everyone, and each microsecond of it is
	// paid by every sign-in of a client that waits for its answer.
	lookupFactor = 2
	lookupMin    = 250 * time.Microsecond
	// floorMargin is how far the floor stays above the slowest stored
	// kind of hash while slower (or faster) imported hashes remain: their
	// answers must not pass the floor when the machine is a little slower
	// than at calibration, or the passing ones would tell them apart.
	floorMargin = 1.25
	// holdMargin is how far above the slowest stored kind's cost every
	// verification keeps its hashing slot while other kinds remain
	// (password.Hasher.SetVerificationHold). It lies below floorMargin,
	// so that an answer held this long and then written still leaves
	// before the floor: it would otherwise count as a miss.
	holdMargin = 1.1
)

// floorCalibrator keeps an automatic floor at the slowest verification a
// stored account can cause: it times a verification of every parameter
// set the store holds (or, on a directory, a decoy sign-in there), again
// whenever the set of parameters changes (an import, the last old hash
// rehashed at sign-in) and every period.
type floorCalibrator struct {
	floor  *web.Floor
	hasher *password.Hasher
	store  veil.HashParamsStore // nil on a directory
	// signIn times a decoy sign-in's password check (Service.TimeDecoySignIn).
	signIn  func(ctx context.Context) (veil.SignInCost, error)
	ceiling time.Duration
	poll    time.Duration // how often the store's parameter sets are read
	period  time.Duration // how often everything is timed again
	met     *metrics.Metrics
	logger  *slog.Logger

	sets    []string // the parameter sets of the last calibration
	timedAt time.Time
}

// calibrate sets the floor from fresh timings and remembers sets.
func (c *floorCalibrator) calibrate(ctx context.Context, sets []string) error {
	var want, lookup time.Duration
	var current string // the current policy's parameter set, on a store
	costs := map[string]time.Duration{}
	// The first decoy sign-in warms the store's caches and prepared
	// statements, which every later sign-in finds warm: it is not timed.
	if _, err := c.signIn(ctx); err != nil {
		return fmt.Errorf("calibrating the time floor: a decoy sign-in: %w", err)
	}
	signIns := make([]veil.SignInCost, floorRuns)
	for i := range signIns {
		var err error
		if signIns[i], err = c.signIn(ctx); err != nil {
			return fmt.Errorf("calibrating the time floor: a decoy sign-in: %w", err)
		}
	}
	if c.store == nil {
		// A directory: its search and bind cannot be timed entry by
		// entry, so the floor covers the slowest decoy sign-in with room
		// for the round trips' spread.
		want = directoryFloor(signIns)
		costs["directory"] = want
	} else {
		lookups := make([]time.Duration, len(signIns))
		for i, si := range signIns {
			lookups[i] = si.Lookup
		}
		slices.Sort(lookups)
		lookup = max(lookupMin, lookupFactor*lookups[len(lookups)/2])
		current = c.hasher.CurrentHashParams()
		for _, set := range append([]string{current}, sets...) {
			if _, done := costs[set]; done {
				continue
			}
			d, err := medianOf(floorRuns, func() (time.Duration, error) { return c.hasher.TimeVerification(ctx, set) })
			if err != nil {
				return fmt.Errorf("calibrating the time floor: %w", err)
			}
			costs[set] = d
		}
		want = floorFor(costs, current)
	}
	if want > c.ceiling {
		c.logger.Warn("the time floor is capped below the slowest verification a stored account can cause: such accounts answer later than others; rehash them or raise login.floor_max",
			"needed", want.Round(time.Millisecond), "floor_max", c.ceiling)
		want = c.ceiling
	}
	if c.met != nil {
		c.met.SetVerifyCosts(costs)
	}
	if old := c.floor.Duration(); old != want {
		c.logger.Info("time floor calibrated", "floor", want.Round(10*time.Microsecond), "was", old.Round(10*time.Microsecond),
			"lookup_floor", lookup.Round(10*time.Microsecond), "parameter_sets", len(costs))
	}
	if c.store != nil {
		// Every verification keeps its pool slot as long as the slowest
		// stored kind would (password.Hasher.SetVerificationHold), so
		// the sign-ins queued behind it wait alike: 0 while every
		// stored hash is current.
		c.hasher.SetVerificationHold(holdFor(costs, current, want))
	}
	c.floor.SetLookup(lookup)
	c.floor.Set(want)
	c.sets, c.timedAt = sets, time.Now()
	return nil
}

// floorFor returns the answer floor for the verification cost of each
// stored parameter set, the current policy's (the decoy's) among them.
// While every stored hash is current, an unknown identifier and an account
// cost the same hash, and the lookup floor alone covers the lookup: the
// answer floor is 0. Otherwise it must cover the slowest set with room to
// spare. A malformed stored hash ("") costs the decoy's work, like the
// current set.
func floorFor(costs map[string]time.Duration, current string) time.Duration {
	uniform := true
	var slowest time.Duration
	for set, d := range costs {
		if set != current && set != "" {
			uniform = false
		}
		slowest = max(slowest, d)
	}
	if uniform {
		return 0
	}
	return time.Duration(float64(slowest)*floorMargin) + floorSlack
}

// holdFor returns the verification hold for the costs of the stored
// parameter sets under an answer floor of floor: none while every stored
// hash is current (floor 0), the slowest set with holdMargin otherwise,
// and always below the floor.
func holdFor(costs map[string]time.Duration, current string, floor time.Duration) time.Duration {
	if floorFor(costs, current) == 0 {
		return 0
	}
	var slowest time.Duration
	for _, d := range costs {
		slowest = max(slowest, d)
	}
	return min(time.Duration(float64(slowest)*holdMargin), time.Duration(float64(floor)*holdMargin/floorMargin))
}

// run keeps the floor calibrated until ctx ends.
func (c *floorCalibrator) run(ctx context.Context) {
	t := time.NewTicker(c.poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := c.refresh(ctx); err != nil && ctx.Err() == nil {
			// The floor keeps its value: a failing store or a full pool
			// is no reason to lower it.
			c.logger.Error("recalibrating the time floor", "err", err)
		}
	}
}

// refresh recalibrates if the stored parameter sets changed or the period
// has passed.
func (c *floorCalibrator) refresh(ctx context.Context) error {
	sets, err := c.storedSets(ctx)
	if err != nil {
		return err
	}
	if slices.Equal(sets, c.sets) && time.Since(c.timedAt) < c.period {
		return nil
	}
	return c.calibrate(ctx, sets)
}

func (c *floorCalibrator) storedSets(ctx context.Context) ([]string, error) {
	if c.store == nil {
		return nil, nil
	}
	sets, err := c.store.PasswordHashParams(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the stored password hash parameters: %w", err)
	}
	slices.Sort(sets)
	return sets, nil
}

// medianOf runs timed n times and returns the median duration.
func medianOf(n int, timed func() (time.Duration, error)) (time.Duration, error) {
	ds := make([]time.Duration, 0, n)
	for range n {
		d, err := timed()
		if err != nil {
			return 0, err
		}
		ds = append(ds, d)
	}
	slices.Sort(ds)
	return ds[len(ds)/2], nil
}

// newFloor builds the sign-in time floor: fixed, off, or automatic — then
// calibrated now and kept calibrated by a goroutine until ctx ends.
func (a *app) newFloor(ctx context.Context, met *metrics.Metrics) (*web.Floor, error) {
	auto, fixed, _ := a.cfg.floor()
	if !auto {
		return web.NewFloor(fixed), nil
	}
	floor := web.NewFloor(0)
	c := &floorCalibrator{
		floor: floor, hasher: a.hasher, ceiling: time.Duration(a.cfg.Login.FloorMax),
		poll: time.Duration(a.cfg.Login.FloorPoll), period: time.Duration(a.cfg.Login.FloorRecalibrate),
		met: met, logger: a.logger,
	}
	c.signIn = a.service.TimeDecoySignIn
	if a.directory == nil {
		c.store = a.db
	}
	sets, err := c.storedSets(ctx)
	if err != nil {
		return nil, fmt.Errorf("calibrating the time floor: %w", err)
	}
	if err := c.calibrate(ctx, sets); err != nil {
		return nil, err
	}
	go c.run(ctx)
	return floor, nil
}

// directoryFloor is the floor for a directory from its decoy sign-ins: the
// slowest, half again, and 10ms, for the round trips' spread.
func directoryFloor(signIns []veil.SignInCost) time.Duration {
	var slowest time.Duration
	for _, si := range signIns {
		slowest = max(slowest, si.Work)
	}
	return slowest*3/2 + 10*time.Millisecond
}
