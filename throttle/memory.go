package throttle

import (
	"context"
	"hash/maphash"
	"math/bits"
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
}

// entry is one key: 48 bytes.
type entry struct {
	k0, k1     uint64
	blocked    int64 // unix ms
	expires    int64 // unix ms
	failures   uint32
	prev, next int32
	seg        uint8 // probation, protected, or free
	claim      bool
	class      uint8 // of a claim: the ID of the key's prefix
	_          byte
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

// Records implements veil.ThrottleStore.
func (s *MemoryStore) Records(_ context.Context, keys []string) ([]veil.ThrottleRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	now := s.clock.Now().UnixMilli()
	out := make([]veil.ThrottleRecord, len(keys))
	for i, k := range keys {
		k0, k1 := s.hash(k)
		idx, _ := s.find(k0, k1, now)
		if idx < 0 || s.slots[idx].claim {
			continue
		}
		e := &s.slots[idx]
		out[i].Failures = int64(e.failures)
		if e.blocked > 0 {
			out[i].BlockedUntil = time.UnixMilli(e.blocked)
		}
		s.touch(idx)
	}
	return out, nil
}

// AddFailures implements veil.ThrottleStore.
func (s *MemoryStore) AddFailures(_ context.Context, incs []veil.ThrottleIncrement) ([]int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	now := s.clock.Now().UnixMilli()
	out := make([]int64, len(incs))
	for i, inc := range incs {
		idx := s.findOrInsert(inc.Key, now)
		e := &s.slots[idx]
		if e.failures < ^uint32(0) {
			e.failures++
		}
		e.expires = max(e.expires, now+inc.TTL.Milliseconds())
		out[i] = int64(e.failures)
		s.touch(idx)
	}
	return out, nil
}

func (s *MemoryStore) findOrInsert(key string, now int64) int32 {
	k0, k1 := s.hash(key)
	idx, cell := s.find(k0, k1, now)
	if idx < 0 {
		idx = s.insert(k0, k1, cell, now)
	}
	return idx
}

// Block implements veil.ThrottleStore.
func (s *MemoryStore) Block(_ context.Context, key string, until time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	now := s.clock.Now().UnixMilli()
	idx := s.findOrInsert(key, now)
	e := &s.slots[idx]
	e.blocked = max(e.blocked, until.UnixMilli())
	e.expires = max(e.expires, e.blocked)
	s.touch(idx)
	return nil
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

// Claim implements veil.ThrottleStore. A claim refused because a live claim
// of its class was dropped (see floors) errs on the safe side: the client
// is asked for a fresh challenge.
func (s *MemoryStore) Claim(_ context.Context, key string, until time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	now := s.clock.Now().UnixMilli()
	u, class := until.UnixMilli(), s.classOf(key)
	if u <= s.floors[class] {
		return false, nil
	}
	k0, k1 := s.hash(key)
	idx, cell := s.find(k0, k1, now)
	if idx >= 0 {
		return false, nil
	}
	idx = s.insert(k0, k1, cell, now)
	e := &s.slots[idx]
	e.claim, e.class, e.expires = true, class, max(u, now+1)
	return true, nil
}
