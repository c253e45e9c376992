package loadgen

import (
	"context"
	"errors"
	"io"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatbench/chatbench/loadgen/errkind"
	"github.com/chatbench/chatbench/loadgen/wsclient"
)

// client is one socket of the run.
type client struct {
	id  int
	ws  *wsclient.Conn
	rcv receiver
	// dead is set when a write failed; senders skip it. leaving is set
	// when the workload takes it out (churn, a reconnect storm): its end is
	// planned, not a socket lost.
	dead, leaving atomic.Bool
	// joinedAt and leftAt bound its membership of its room (run clock).
	joinedAt int64
	leftAt   atomic.Int64
	// sess is its session in the server's protocol; lastWrite is when it
	// last wrote (Unix ns), for the protocol's keepalives.
	sess      Session
	lastWrite atomic.Int64
}

// ramp opens every client's socket at cfg.Ramp per second.
func (r *run) ramp(ctx context.Context) {
	cfg := r.cfg
	workers := min(len(r.ids), 32)
	var next atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			timer := time.NewTimer(0)
			defer timer.Stop()
			for {
				k := int(next.Add(1) - 1)
				if k >= len(r.ids) {
					return
				}
				i := r.ids[k] // the global number keeps the whole run's ramp schedule
				due := start.Add(time.Duration(float64(i) / cfg.Ramp * float64(time.Second)))
				if !wait(ctx, timer, time.Until(due)) {
					return
				}
				r.connect(ctx, i)
			}
		}()
	}
	wg.Wait()
}

// connect opens client i's socket, opens its session, makes it a room
// member and starts its reader; it reports whether all of that worked.
func (r *run) connect(ctx context.Context, i int) bool { return r.connectTo(ctx, i, i) }

// connectTo is connect on URL number url (modulo the URLs).
func (r *run) connectTo(ctx context.Context, i, url int) bool {
	cfg := r.cfg
	rm := int(cfg.lay.room[i])
	u, err := expandURL(cfg.URLs[url%len(cfg.URLs)], i, rm)
	if err != nil {
		r.addConnErr(errkind.Other)
		return false
	}
	dctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	t0 := time.Now()
	ws, err := wsclient.Dial(dctx, u, wsclient.DialOptions{Dialer: r.dialers[i%len(r.dialers)], Header: cfg.Header, ReadBuffer: cfg.ReadBuffer,
		Compression: cfg.Compression, TLS: cfg.TLS, Limit: cfg.ReadLimit, Subprotocol: subprotocolOf(r.proto)})
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			r.addConnErr(wsclient.Kind(err))
		}
		return false
	}
	sess, err := r.proto.Open(ctx, Setup{Conn: ws, Client: i, Room: rm, User: userName(i), RoomID: roomName(rm),
		Deadline: t0.Add(cfg.ConnectTimeout)})
	if err != nil {
		ws.NetConn().Close()
		if ctx.Err() == nil {
			r.addConnErr(errKind(err))
			r.addReason(errKind(err), err)
		}
		return false
	}
	r.connectHist.Record(nsToUs(int64(time.Since(t0))))
	c := &client{id: i, ws: ws, sess: sess}
	c.lastWrite.Store(time.Now().UnixNano())
	c.leftAt.Store(math.MaxInt64)
	c.joinedAt = r.members.change(i, rm, 1, r.t.now)
	c.rcv = newReceiver(r.t, r.groups[i%len(r.groups)], i, rm, int(r.cfg.lay.talkers[rm]), c.joinedAt)
	c.rcv.trace = cfg.Trace != nil
	if ws.Compression {
		r.compression.Store(true)
	}
	r.ka.reset(i, ws)
	r.clients[i].Store(c)
	r.connected.Add(1)
	r.readers.Add(1)
	go r.read(c, rm)
	return true
}

// read is the one goroutine per socket, started fresh so its stack stays small.
func (r *run) read(c *client, rm int) {
	defer r.readers.Done()
	onMessage := c.rcv.messageErr // raw: straight into the receive path
	if _, raw := c.sess.(*rawSession); !raw {
		deliver := c.rcv.message
		onMessage = func(m []byte) error { return c.sess.Receive(m, deliver) }
	}
	err := c.ws.ReadLoop(onMessage)
	c.leftAt.Store(r.members.change(c.id, rm, -1, r.t.now))
	r.connected.Add(-1)
	if _, raw := c.sess.(*rawSession); raw { // other protocols may speak binary (MQTT)
		r.binary.Add(c.ws.Binary)
	}
	if tr := r.cfg.Trace; tr != nil {
		tr.addCopies(c.rcv.log)
	}
	if r.closing.Load() || c.leaving.Load() {
		return
	}
	if r.cfg.Reconnect.Tries > 0 {
		r.clients[c.id].CompareAndSwap(c, nil) // senders skip it until it is back
		r.readers.Add(1)
		go r.reconnect(c.id, time.Now())
	}
	kind := errKind(err)
	var ce *wsclient.CloseError
	switch {
	case errors.As(err, &ce):
	case r.ka.gone(c.id):
		kind = errkind.PingTimeout
	case errors.Is(err, io.EOF):
		kind = errkind.EOF
	case errors.Is(err, net.ErrClosed) && c.dead.Load():
		kind = errkind.WriteFailed
	}
	r.mu.Lock()
	r.discErrs[kind]++
	r.mu.Unlock()
	r.addReason(kind, err)
}

// addReason keeps the server's words for an error kind, the first seen: a
// protocol's error (a refused login) or a close frame's reason.
func (r *run) addReason(kind errkind.Kind, err error) {
	var pe *ProtocolError
	var ce *wsclient.CloseError
	reason := ""
	switch {
	case errors.As(err, &pe):
		reason = pe.Reason
	case errors.As(err, &ce):
		reason = ce.Reason
	}
	if reason == "" {
		return
	}
	r.mu.Lock()
	if _, ok := r.reasons[kind]; !ok {
		r.reasons[kind] = reason
	}
	r.mu.Unlock()
}

func (r *run) addConnErr(kind errkind.Kind) {
	r.mu.Lock()
	r.connErrs[kind]++
	r.mu.Unlock()
}

// wait waits d on timer (a timer of the caller's, reused) unless ctx ends
// first; it reports whether ctx is still live.
func wait(ctx context.Context, timer *time.Timer, d time.Duration) bool {
	if d > 0 {
		timer.Reset(d)
		select {
		case <-ctx.Done():
		case <-timer.C:
		}
	}
	return ctx.Err() == nil
}

// errKind names the kind of a connect or session error: the protocol's own
// (a *ProtocolError) or the WebSocket's and network's (wsclient.Kind).
func errKind(err error) errkind.Kind {
	var pe *ProtocolError
	if errors.As(err, &pe) {
		return pe.Kind
	}
	return wsclient.Kind(err)
}

// newDialers makes one dialer per source address (one without).
func newDialers(cfg *Config) []*net.Dialer {
	dialers := make([]*net.Dialer, max(1, len(cfg.SourceIPs)))
	for i := range dialers {
		dialers[i] = &net.Dialer{}
		if len(cfg.SourceIPs) > 0 {
			dialers[i].LocalAddr = &net.TCPAddr{IP: cfg.SourceIPs[i].AsSlice()}
			dialers[i].Control = wsclient.BindNoPort
		}
	}
	return dialers
}
