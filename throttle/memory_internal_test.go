package throttle

import (
	"strconv"
	"testing"
	"time"
)

// TestMemoryClaimsSurviveEviction checks that dropping a live claim never
// lets its token be spent again.
func TestMemoryClaimsSurviveEviction(t *testing.T) {
	st := NewMemoryStore(MemoryConfig{Limit: 16 * 64})
	st.init()
	now := time.Now().UnixMilli()
	until := now + time.Hour.Milliseconds()
	if !st.claim("pow:first", until, now) {
		t.Fatal("first claim refused")
	}
	for i := range 100 {
		st.claim("pow:"+strconv.Itoa(i), until+int64(i+1), now)
	}
	if st.claim("pow:first", until, now) {
		t.Error("a claim dropped from memory was granted again")
	}
	if !st.claim("slow:other-class", now+time.Minute.Milliseconds(), now) {
		t.Error("a dropped claim of one class refused a claim of another")
	}
}
