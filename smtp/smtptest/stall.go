package smtptest

import "time"

// Stage is where a stalled transaction hangs.
type Stage int

const (
	// StallAtRecipient hangs before RCPT is answered: the client has sent
	// no data yet, so a client that gives up has delivered nothing.
	StallAtRecipient Stage = iota + 1
	// StallAfterData hangs after the data has been read, before it is
	// answered: a server slow to say 250. The message is kept when the
	// stall ends whatever became of the client, as a server that has
	// queued it does — the case in which a sender cannot know whether its
	// mail went out.
	StallAfterData
)

type stall struct {
	stage   Stage
	n       int
	d       time.Duration
	started chan struct{} // closed when the first stall begins
}

// Stall makes the next n transactions hang at stage for d each (or until
// the server stops), and returns a channel that is closed when the first
// of them begins to hang.
func (s *Server) Stall(stage Stage, n int, d time.Duration) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stall = stall{stage: stage, n: n, d: d, started: make(chan struct{})}
	return s.stall.started
}

// wait hangs the transaction if it is to stall at stage.
func (s *Server) wait(stage Stage) {
	s.mu.Lock()
	st := s.stall
	if st.n <= 0 || st.stage != stage {
		s.mu.Unlock()
		return
	}
	if s.stall.n--; s.stall.started != nil {
		close(s.stall.started)
		s.stall.started = nil
	}
	s.mu.Unlock()
	t := time.NewTimer(st.d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.stopped:
	}
}
