package probe

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Paired mode ("timeless timing", Van Goethem et al., USENIX Security 2020):
// two requests, one of each class, are written in one TCP write on one
// HTTP/2 connection, so they reach the server together and network jitter
// affects both alike; which answer starts first is the signal. Which class
// goes first in the packet is random per pair, so the order the packet
// imposes cancels out of the test.

// PairOutcome is one measured pair.
type PairOutcome struct {
	ExistsSentFirst     bool // exists's frames came first in the packet
	ExistsAnsweredFirst bool // exists's response HEADERS arrived first
	// Gap is when the second-sent request's answer began minus when the
	// first-sent one's did, as read by the client.
	Gap time.Duration
}

const (
	pairRecvWindow = 1 << 20 // per stream: answers up to this size never stall
	pairConnWindow = 1 << 30
)

// pairConn is a client HTTP/2 connection driven frame by frame, in one
// goroutine.
type pairConn struct {
	conn       net.Conn
	fr         *http2.Framer
	out        bytes.Buffer // frames waiting for one write
	hbuf       bytes.Buffer
	henc       *hpack.Encoder
	scheme     string
	authority  string
	next       uint32 // next stream id
	sendWindow int64  // connection-level send window
	peerWindow int64  // the server's initial stream window
	maxFrame   int
	received   int64 // DATA bytes since the last connection WINDOW_UPDATE
}

func dialPair(ctx context.Context, u *url.URL, o Options) (*pairConn, error) {
	host := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	d := net.Dialer{Timeout: o.Timeout}
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "https" {
		tc := tls.Client(conn, &tls.Config{ServerName: u.Hostname(), NextProtos: []string{"h2", "http/1.1"}, InsecureSkipVerify: o.Insecure})
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, err
		}
		// http/1.1 is offered too, so that a server without h2 completes
		// the handshake and gets the clear errNoH2, not a TLS alert.
		if tc.ConnectionState().NegotiatedProtocol != "h2" {
			conn.Close()
			return nil, errNoH2
		}
		conn = tc
	}
	pc := &pairConn{conn: conn, scheme: u.Scheme, authority: u.Host, next: 1,
		sendWindow: 65535, peerWindow: 65535, maxFrame: 16384}
	pc.fr = http2.NewFramer(&pc.out, conn)
	pc.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	pc.henc = hpack.NewEncoder(&pc.hbuf)
	if err := pc.handshake(o.Timeout); err != nil {
		conn.Close()
		return nil, err
	}
	return pc, nil
}

// handshake sends the preface and our settings and waits for the server's.
func (pc *pairConn) handshake(timeout time.Duration) error {
	pc.out.WriteString(http2.ClientPreface)
	pc.fr.WriteSettings(http2.Setting{ID: http2.SettingEnablePush, Val: 0},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: pairRecvWindow})
	pc.fr.WriteWindowUpdate(0, pairConnWindow-65535)
	if err := pc.flush(); err != nil {
		return err
	}
	pc.conn.SetReadDeadline(time.Now().Add(timeout))
	for {
		f, err := pc.fr.ReadFrame()
		if err != nil {
			return errNoH2
		}
		if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
			return pc.control(f)
		}
	}
}

func (pc *pairConn) flush() error {
	_, err := pc.conn.Write(pc.out.Bytes())
	pc.out.Reset()
	return err
}

func (pc *pairConn) Close() error { return pc.conn.Close() }

// control handles a connection-level frame; GOAWAY ends the connection.
func (pc *pairConn) control(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.SettingsFrame:
		if f.IsAck() {
			return nil
		}
		f.ForeachSetting(func(s http2.Setting) error {
			switch s.ID {
			case http2.SettingInitialWindowSize:
				pc.peerWindow = int64(s.Val)
			case http2.SettingMaxFrameSize:
				pc.maxFrame = int(s.Val)
			}
			return nil
		})
		pc.fr.WriteSettingsAck()
		return pc.flush()
	case *http2.PingFrame:
		if !f.IsAck() {
			pc.fr.WritePing(true, f.Data)
			return pc.flush()
		}
	case *http2.WindowUpdateFrame:
		if f.StreamID == 0 {
			pc.sendWindow += int64(f.Increment)
		}
	case *http2.GoAwayFrame:
		return errGoAway
	}
	return nil
}

var errGoAway = errors.New("server closed the HTTP/2 connection (GOAWAY)")

// pairRequest is one side of a pair, rendered.
type pairRequest struct {
	header []hpack.HeaderField
	body   []byte
}

func renderPairRequest(t *Target, identifier string, fl flow, scheme, authority string) (pairRequest, error) {
	req, err := newRequest(context.Background(), t, identifier, fl)
	if err != nil {
		return pairRequest{}, err
	}
	var body []byte
	if t.Body != nil {
		body = t.Body.renderBody(t.ContentType, values{identifier: identifier, password: t.Password, vars: fl.vars})
	}
	if req.Host != "" {
		authority = req.Host
	}
	// Never-indexed literals keep the HPACK dynamic table empty, so both
	// requests of a pair encode the same way whichever goes first.
	f := func(k, v string) hpack.HeaderField { return hpack.HeaderField{Name: k, Value: v, Sensitive: true} }
	fields := []hpack.HeaderField{f(":method", req.Method), f(":scheme", scheme),
		f(":authority", authority), f(":path", req.URL.RequestURI())}
	for k, vs := range req.Header {
		for _, v := range vs {
			fields = append(fields, f(http.CanonicalHeaderKey(k), v))
		}
	}
	fields = append(fields, f("content-length", strconv.Itoa(len(body))))
	for i := 4; i < len(fields); i++ {
		fields[i].Name = lowerASCII(fields[i].Name)
	}
	return pairRequest{fields, body}, nil
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// pairAnswer is what came back on one stream.
type pairAnswer struct {
	answer
	headersAt time.Duration // since the write, when HEADERS arrived
	endAt     time.Duration // when the stream ended
	gotHeader bool
	ended     bool
}

// roundTrip writes both requests in one write and reads until both answers
// are complete. first is the index of the request whose HEADERS came first.
func (pc *pairConn) roundTrip(reqs [2]pairRequest, timeout time.Duration) (answers [2]pairAnswer, first int, err error) {
	pc.conn.SetReadDeadline(time.Now().Add(timeout))
	ids, err := pc.writePair(reqs)
	if err != nil {
		return answers, 0, err
	}
	start := time.Now()
	if err := pc.flush(); err != nil {
		return answers, 0, err
	}
	first = -1
	for !answers[0].ended || !answers[1].ended {
		f, err := pc.fr.ReadFrame()
		if err != nil {
			return answers, 0, err
		}
		i := 0
		switch f.Header().StreamID {
		case ids[0]:
		case ids[1]:
			i = 1
		case 0:
			if err := pc.control(f); err != nil {
				return answers, 0, err
			}
			continue
		default:
			continue
		}
		if err := pc.onStreamFrame(&answers[i], f, time.Since(start)); err != nil {
			return answers, 0, err
		}
		if first < 0 && answers[i].gotHeader {
			first = i
		}
	}
	return answers, first, nil
}

// writePair queues both requests' frames, HEADERS then DATA, waiting first
// for enough send window.
func (pc *pairConn) writePair(reqs [2]pairRequest) (ids [2]uint32, err error) {
	need := int64(len(reqs[0].body) + len(reqs[1].body))
	for _, r := range reqs {
		if int64(len(r.body)) > pc.peerWindow {
			return ids, fmt.Errorf("request body of %d bytes exceeds the server's stream window", len(r.body))
		}
	}
	for pc.sendWindow < need {
		if err := pc.readControl(); err != nil {
			return ids, err
		}
	}
	ids = [2]uint32{pc.next, pc.next + 2}
	pc.next += 4
	for i, r := range reqs {
		pc.hbuf.Reset()
		for _, f := range r.header {
			pc.henc.WriteField(f)
		}
		pc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: ids[i], BlockFragment: pc.hbuf.Bytes(),
			EndStream: len(r.body) == 0, EndHeaders: true})
	}
	for i, r := range reqs {
		pc.writeData(ids[i], r.body)
	}
	pc.sendWindow -= need
	return ids, nil
}

func (pc *pairConn) readControl() error {
	f, err := pc.fr.ReadFrame()
	if err != nil {
		return err
	}
	return pc.control(f)
}

func (pc *pairConn) writeData(id uint32, body []byte) {
	for len(body) > 0 {
		n := min(len(body), pc.maxFrame)
		pc.fr.WriteData(id, n == len(body), body[:n])
		body = body[n:]
	}
}

func (pc *pairConn) onStreamFrame(a *pairAnswer, f http2.Frame, at time.Duration) error {
	switch f := f.(type) {
	case *http2.MetaHeadersFrame:
		if !a.gotHeader {
			a.gotHeader, a.headersAt = true, at
			a.status, _ = strconv.Atoi(f.PseudoValue("status"))
			a.header = http.Header{}
			for _, hf := range f.RegularFields() {
				a.header.Add(http.CanonicalHeaderKey(hf.Name), hf.Value)
			}
		}
		a.ended = f.StreamEnded()
	case *http2.DataFrame:
		if len(a.body)+len(f.Data()) <= maxBody {
			a.body = append(a.body, f.Data()...)
		}
		pc.received += int64(f.Length)
		if pc.received > pairConnWindow/2 {
			pc.fr.WriteWindowUpdate(0, uint32(pc.received))
			pc.received = 0
			if err := pc.flush(); err != nil {
				return err
			}
		}
		a.ended = f.StreamEnded()
	case *http2.RSTStreamFrame:
		return fmt.Errorf("server reset the stream: %v", f.ErrCode)
	}
	if a.ended {
		a.endAt = at
	}
	return nil
}
