package throttle

import (
	"context"
	"hash/maphash"
	"math/bits"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/veil-id/veil"
)

// MemoryStore is a veil.ThrottleStore in this process's memory, with a hard
// bound: it allocates, once and at most, the slots its limit pays for, and
// never more, whatever the number of distinct keys it is sent.
//
// When it is full it drops the least recently used key (an LRU with
// expiry), in two segments, as in SLRU: a key starts on probation and is
// promoted to the protected segment once it has PromoteAfter failures or a
// block. A spray of identifiers that fail once each churns through
// probation and never reaches the keys that matter — the victim whose
// failures are piling up. To push one of those out, an attacker must bring
// as many keys as the protected segment holds to PromoteAfter failures
// each, past the per-address limits, the global rate and its proofs of
// work.
//
// Reservations in flight are counted inside each key's entry (see
// generation), so a burst costs no memory beyond the bound either.
//
// Why not a count-min sketch: a sketch never forgets a key, but under a
// spray it overestimates everyone's count, so an attacker could push
// innocent people into challenges and blocks, which is the lockout this
// throttle exists to prevent. Dropping errs the other way, by an amount the
// attacker pays for dearly.
type MemoryStore struct {
	mu      sync.Mutex
	clock   veil.Clock
	seeds   [2]maphash.Seed
	slots   []entry // allocated on first use, never grown
	table   []int32 // open addressing, linear probing: 0 empty, else slot+1
	limit   int     // slots
	used    int32   // slots handed out so far
	free    int32   // head of the free list, -1 when empty
	lists   [2]list // probation, protected
	protect int32   // most entries in the protected segment
	promote uint32
	// floors[class] is the latest expiry of a claim dropped while still
	// live: a claim of that class expiring no later may be a replay.
	floors   [256]int64
	classIDs map[string]uint8
	evicted  int64
	// hold is the Hold of the reservations, in ms (0 until the first).
	hold int64
}

// entry is one key: 56 bytes.
type entry struct {
	k0, k1     uint64
	blocked    int64 // unix ms
	expires    int64 // unix ms
	failures   uint32
	prev, next int32
	// held counts the reservations in flight made in generation gen (0)
	// and in the one before (1); see generation.
	held  [2]uint16
	gen   uint32
	seg   uint8 // probation, protected, or free
	claim bool
	class uint8 // of a claim: the ID of the key's prefix
	_     byte
}

const (
	probation = 0
	protected = 1
	freeSeg   = 2
)

type list struct {
	head, tail int32 // most and least recently used; -1 when empty
	n          int32
}

// MemoryConfig configures a MemoryStore.
type MemoryConfig struct {
	// Limit is the most memory, in bytes, the store may hold.
	Limit int64
	// PromoteAfter failures protect a key from sprays (default 2).
	PromoteAfter int
	Clock        veil.Clock // nil: the system clock
}

// entryBytes is what one key costs: its slot and, at most, four table
// cells (the table has at least two cells per slot, rounded up to a power
// of two).
const entryBytes = int64(unsafe.Sizeof(entry{})) + 4*4

// NewMemoryStore returns an empty store that will hold at most
// cfg.Limit bytes.
func NewMemoryStore(cfg MemoryConfig) *MemoryStore {
	n := max(cfg.Limit/entryBytes, 16)
	s := &MemoryStore{
		clock:    cfg.Clock,
		seeds:    [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		limit:    int(min(n, 1<<30)),
		free:     -1,
		lists:    [2]list{{-1, -1, 0}, {-1, -1, 0}},
		promote:  uint32(max(cfg.PromoteAfter, 1)),
		classIDs: map[string]uint8{"": 0},
	}
	if cfg.PromoteAfter == 0 {
		s.promote = 2
	}
	s.protect = int32(s.limit * 3 / 4)
	if s.clock == nil {
		s.clock = veil.SystemClock{}
	}
	return s
}

var _ veil.ThrottleStore = (*MemoryStore)(nil)

// Bytes returns the memory the store holds now: its slots and table.
func (s *MemoryStore) Bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int64(cap(s.slots))*int64(unsafe.Sizeof(entry{})) + int64(cap(s.table))*4
}

// Limit returns the most bytes the store will hold.
func (s *MemoryStore) Limit() int64 { return int64(s.limit) * entryBytes }

// Len returns the number of keys held, and how many live ones were dropped.
func (s *MemoryStore) Len() (keys int, dropped int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int(s.lists[0].n + s.lists[1].n), s.evicted
}

func (s *MemoryStore) init() {
	if s.slots != nil {
		return
	}
	s.slots = make([]entry, s.limit)
	// The table's zero value is "empty", so its pages cost nothing until
	// keys land in them.
	s.table = make([]int32, 1<<bits.Len(uint(2*s.limit-1)))
}

func (s *MemoryStore) hash(key string) (uint64, uint64) {
	return maphash.String(s.seeds[0], key), maphash.String(s.seeds[1], key)
}

// find returns the slot of a live key and its table cell, or -1 and the
// empty cell where it would go. An expired key is removed on the way.
func (s *MemoryStore) find(k0, k1 uint64, now int64) (int32, int) {
	mask := len(s.table) - 1
	for i := int(k0) & mask; ; i = (i + 1) & mask {
		v := s.table[i]
		if v == 0 {
			return -1, i
		}
		if e := &s.slots[v-1]; e.k0 == k0 && e.k1 == k1 {
			if e.expires <= now {
				s.remove(v-1, i)
				return s.find(k0, k1, now)
			}
			return v - 1, i
		}
	}
}

// cellOf returns the table cell of a stored slot.
func (s *MemoryStore) cellOf(idx int32) int {
	mask := len(s.table) - 1
	for i := int(s.slots[idx].k0) & mask; ; i = (i + 1) & mask {
		if s.table[i] == idx+1 {
			return i
		}
	}
}

// remove frees slot idx held at table cell i, shifting later cells of the
// probe run back so that lookups never stop at a hole (no tombstones).
func (s *MemoryStore) remove(idx int32, i int) {
	e := &s.slots[idx]
	s.unlink(idx)
	e.seg, e.next = freeSeg, s.free
	s.free = idx
	mask := len(s.table) - 1
	s.table[i] = 0
	for j := (i + 1) & mask; s.table[j] != 0; j = (j + 1) & mask {
		home := int(s.slots[s.table[j]-1].k0) & mask
		// Move the cell back unless its home lies cyclically in (i, j].
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			s.table[i], s.table[j] = s.table[j], 0
			i = j
		}
	}
}

// insert stores a new key at cell i (from find), dropping the least
// recently used key first if the store is full.
func (s *MemoryStore) insert(k0, k1 uint64, i int, now int64) int32 {
	var idx int32
	switch {
	case s.free >= 0:
		idx = s.free
		s.free = s.slots[idx].next
	case int(s.used) < s.limit:
		idx = s.used
		s.used++
	default:
		idx = s.evict(now)
		// Removing shifted the table: look for the new key's cell again.
		_, i = s.find(k0, k1, now)
		s.free = s.slots[idx].next
	}
	s.slots[idx] = entry{k0: k0, k1: k1, seg: probation}
	s.table[i] = idx + 1
	s.pushFront(idx, probation)
	return idx
}

// evict drops the least recently used key on probation (or, if there is
// none, in the protected segment) and returns its freed slot.
func (s *MemoryStore) evict(now int64) int32 {
	seg := probation
	if s.lists[probation].n == 0 {
		seg = protected
	}
	idx := s.lists[seg].tail
	e := &s.slots[idx]
	if e.expires > now {
		s.evicted++
		if e.claim {
			s.floors[e.class] = max(s.floors[e.class], e.expires)
		}
	}
	s.remove(idx, s.cellOf(idx))
	return idx
}

// classOf returns the ID of a claim key's class: its prefix up to the
// first colon. Claims of one class are made with one lifetime, so a claim
// expiring no later than a dropped one was issued no later either. Past
// 255 classes, the rest share class 0.
func (s *MemoryStore) classOf(key string) uint8 {
	class, _, _ := strings.Cut(key, ":")
	id, ok := s.classIDs[class]
	if !ok && len(s.classIDs) < 256 {
		id = uint8(len(s.classIDs))
		s.classIDs[class] = id
	}
	return id
}

func (s *MemoryStore) unlink(idx int32) {
	e := &s.slots[idx]
	if e.seg == freeSeg {
		return
	}
	l := &s.lists[e.seg]
	if e.prev >= 0 {
		s.slots[e.prev].next = e.next
	} else {
		l.head = e.next
	}
	if e.next >= 0 {
		s.slots[e.next].prev = e.prev
	} else {
		l.tail = e.prev
	}
	l.n--
}

func (s *MemoryStore) pushFront(idx int32, seg uint8) {
	e := &s.slots[idx]
	l := &s.lists[seg]
	e.seg, e.prev, e.next = seg, -1, l.head
	if l.head >= 0 {
		s.slots[l.head].prev = idx
	} else {
		l.tail = idx
	}
	l.head = idx
	l.n++
}

// touch marks a key as just used, promoting it if it has earned it; the
// protected segment's least recent key goes back on probation when full.
func (s *MemoryStore) touch(idx int32) {
	e := &s.slots[idx]
	seg := e.seg
	if seg == probation && !e.claim && (e.failures >= s.promote || e.blocked > 0) {
		seg = protected
	}
	s.unlink(idx)
	s.pushFront(idx, seg)
	if l := &s.lists[protected]; l.n > s.protect {
		tail := l.tail
		s.unlink(tail)
		s.pushFront(tail, probation)
	}
}

// Reservations are counted per key in generations of Hold: one made in
// generation g (now/Hold) counts until generation g+1 ends, so it lapses
// between Hold and twice Hold after it was made, and its ticket is g. Two
// counters per key stay exact under release, and bounded in memory,
// however many reservations are never settled.
func (s *MemoryStore) generation(now int64) uint32 {
	if s.hold <= 0 {
		return 0
	}
	return uint32(now / s.hold)
}

// roll brings an entry's reservation counters to generation g.
func (e *entry) roll(g uint32) {
	switch e.gen {
	case g:
		return
	case g - 1:
		e.held = [2]uint16{0, e.held[0]}
	default:
		e.held = [2]uint16{}
	}
	e.gen = g
}

func (e *entry) inFlight(g uint32) int64 {
	e.roll(g)
	return int64(e.held[0]) + int64(e.held[1])
}

// record returns what a live entry holds.
func (s *MemoryStore) record(e *entry, g uint32) veil.ThrottleRecord {
	r := veil.ThrottleRecord{Failures: int64(e.failures), InFlight: e.inFlight(g)}
	if e.blocked > 0 {
		r.BlockedUntil = time.UnixMilli(e.blocked)
	}
	return r
}

// lookup returns the live counter of key, or nil, and marks it as used:
// a key that is being tried stays in memory, counted or not.
func (s *MemoryStore) lookup(key string, now int64) *entry {
	k0, k1 := s.hash(key)
	idx, _ := s.find(k0, k1, now)
	if idx < 0 || s.slots[idx].claim {
		return nil
	}
	s.touch(idx)
	return &s.slots[idx]
}

// Records implements veil.ThrottleStore.
func (s *MemoryStore) Records(_ context.Context, keys []string) ([]veil.ThrottleRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	now := s.clock.Now().UnixMilli()
	g := s.generation(now)
	out := make([]veil.ThrottleRecord, len(keys))
	for i, k := range keys {
		if e := s.lookup(k, now); e != nil {
			out[i] = s.record(e, g)
		}
	}
	return out, nil
}

// Reserve implements veil.ThrottleStore under the store's lock.
func (s *MemoryStore) Reserve(_ context.Context, r *veil.ThrottleReservation) (*veil.ThrottleDecision, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	now := s.clock.Now().UnixMilli()
	s.hold = max(r.Hold.Milliseconds(), 1)
	g := s.generation(now)
	d := &veil.ThrottleDecision{Records: make([]veil.ThrottleRecord, len(r.Buckets))}
	for i, b := range r.Buckets {
		if e := s.lookup(b.Key, now); e != nil {
			d.Records[i] = s.record(e, g)
		}
		if b.Prior != "" {
			if e := s.lookup(b.Prior, now); e != nil {
				d.Records[i].Prior = int64(e.failures)
			}
		}
	}
	decide(d, r, now)
	if d.Challenged && !d.Blocked && !d.Busy {
		switch {
		case r.Proof != "" && s.claim(r.Proof, r.ProofUntil.UnixMilli(), now):
			d.Admitted, d.Proved = true, true
		default:
			s.takeTurns(d, r, now)
		}
	}
	if !d.Admitted {
		return d, nil
	}
	for _, b := range r.Buckets {
		idx := s.findOrInsert(b.Key, now)
		e := &s.slots[idx]
		e.roll(g)
		if e.held[0] < ^uint16(0) {
			e.held[0]++
		}
		e.expires = max(e.expires, now+2*s.hold)
		s.touch(idx)
	}
	d.Ticket = strconv.FormatUint(uint64(g), 10)
	return d, nil
}

// decide makes the part of a Reserve decision that needs no writes, from
// the records in d: blocked, busy, or challenged (to be admitted on a
// proof or a slow-lane turn), or else admitted. Redis makes the same
// decision in reserveScript.
func decide(d *veil.ThrottleDecision, r *veil.ThrottleReservation, now int64) {
	var wait int64
	for i, b := range r.Buckets {
		rec := d.Records[i]
		if u := rec.BlockedUntil.UnixMilli(); !rec.BlockedUntil.IsZero() && u > now {
			wait = max(wait, u-now)
		}
		if b.BlockAfter > 0 && rec.InFlight >= max(b.BlockAfter-rec.Failures, 1) {
			d.Busy = true
		}
		d.Challenged = d.Challenged || challenges(b, rec)
	}
	switch {
	case wait > 0:
		d.Blocked, d.Busy, d.RetryAfter = true, false, time.Duration(wait)*time.Millisecond
	case d.Busy:
	case !d.Challenged:
		d.Admitted = true
	}
}

// turnBuckets returns the buckets whose slow-lane turns a challenged
// attempt in d needs: those with turns that challenge it, or, when only
// buckets without turns do (the global one), every bucket with turns.
// A bucket that does not challenge the attempt must not make it wait:
// others trying on their own challenged identifiers from the same
// address would otherwise take the address's turn whenever it came free,
// and a client that waited what it was told would find it taken until
// their identifiers were blocked. Redis makes the same choice in
// reserveScript.
func turnBuckets(d *veil.ThrottleDecision, r *veil.ThrottleReservation) []veil.ThrottleBucket {
	var challenging, all []veil.ThrottleBucket
	for i, b := range r.Buckets {
		if !b.SlowLane {
			continue
		}
		all = append(all, b)
		if challenges(b, d.Records[i]) {
			challenging = append(challenging, b)
		}
	}
	if len(challenging) > 0 {
		return challenging
	}
	return all
}

// takeTurns admits a challenged attempt without a fresh proof if every
// slow-lane bucket's turn is free, taking them all; otherwise it takes
// none, holds them all until the latest taken one is free, and says how
// long that is.
func (s *MemoryStore) takeTurns(d *veil.ThrottleDecision, r *veil.ThrottleReservation, now int64) {
	var wait int64
	turns := turnBuckets(d, r)
	for _, b := range turns {
		k0, k1 := s.hash("slow:" + b.Key)
		if idx, _ := s.find(k0, k1, now); idx >= 0 {
			wait = max(wait, s.slots[idx].expires-now)
		}
	}
	until := now + max(r.SlowLane.Milliseconds(), 1)
	if wait > 0 {
		d.RetryAfter = time.Duration(wait) * time.Millisecond
		until = now + wait // aligned: see ThrottleStore.Reserve
	} else {
		d.Admitted, d.SlowLane = true, true
	}
	for _, b := range turns {
		k0, k1 := s.hash("slow:" + b.Key)
		if idx, _ := s.find(k0, k1, now); idx >= 0 {
			s.slots[idx].expires = max(s.slots[idx].expires, until)
		} else {
			s.claim("slow:"+b.Key, until, now)
		}
	}
}

// Settle implements veil.ThrottleStore under the store's lock.
func (s *MemoryStore) Settle(_ context.Context, st *veil.ThrottleSettlement) ([]veil.ThrottleRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	now := s.clock.Now().UnixMilli()
	g := s.generation(now)
	ticket, err := strconv.ParseUint(st.Ticket, 10, 32)
	if err != nil {
		ticket = uint64(g) + 2 // none, or not ours: nothing to release
	}
	out := make([]veil.ThrottleRecord, len(st.Buckets))
	for i, b := range st.Buckets {
		k0, k1 := s.hash(b.Key)
		idx, cell := s.find(k0, k1, now)
		if idx < 0 && st.Failure {
			idx = s.insert(k0, k1, cell, now)
		}
		if idx < 0 || s.slots[idx].claim {
			continue
		}
		e := &s.slots[idx]
		e.roll(g)
		switch uint32(ticket) {
		case g:
			e.held[0] -= min(e.held[0], 1)
		case g - 1:
			e.held[1] -= min(e.held[1], 1)
		}
		if st.Failure {
			s.fail(e, b, now)
		}
		out[i] = s.record(e, g)
		s.touch(idx)
	}
	return out, nil
}

// fail counts one failure in e and blocks it as b's escalation says.
func (s *MemoryStore) fail(e *entry, b veil.ThrottleBucket, now int64) {
	if e.failures < ^uint32(0) {
		e.failures++
	}
	e.expires = max(e.expires, now+b.TTL.Milliseconds())
	esc := Escalation{BlockAfter: int(b.BlockAfter), BlockFor: b.BlockFor, BlockMax: b.BlockMax}
	if d := esc.blockFor(int64(e.failures)); d > 0 {
		e.blocked = max(e.blocked, now+d.Milliseconds())
		e.expires = max(e.expires, e.blocked)
	}
}

func (s *MemoryStore) findOrInsert(key string, now int64) int32 {
	k0, k1 := s.hash(key)
	idx, cell := s.find(k0, k1, now)
	if idx < 0 {
		idx = s.insert(k0, k1, cell, now)
	}
	return idx
}

// Forget implements veil.ThrottleStore.
func (s *MemoryStore) Forget(_ context.Context, keys ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	now := s.clock.Now().UnixMilli()
	for _, k := range keys {
		k0, k1 := s.hash(k)
		if idx, cell := s.find(k0, k1, now); idx >= 0 {
			s.remove(idx, cell)
		}
	}
	return nil
}

// claim reports whether key is claimed for the first time, and keeps the
// claim until until (unix ms). A claim refused because a live claim of its
// class was dropped (see floors) errs on the safe side: the client is
// asked for a fresh challenge.
func (s *MemoryStore) claim(key string, until, now int64) bool {
	class := s.classOf(key)
	if until <= s.floors[class] {
		return false
	}
	k0, k1 := s.hash(key)
	idx, cell := s.find(k0, k1, now)
	if idx >= 0 {
		return false
	}
	idx = s.insert(k0, k1, cell, now)
	e := &s.slots[idx]
	e.claim, e.class, e.expires = true, class, max(until, now+1)
	return true
}
