package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// client is one WebSocket connection: a member of exactly one room.
//
// Goroutines: one reader (readLoop) for the connection's lifetime, and a
// writer (writeLoop) that exists only while frames are queued. Fan-out never
// touches the socket: it calls enqueue, which appends under c.mu and starts
// the writer if none runs.
type client struct {
	srv      *Server
	conn     *websocket.Conn
	wire     *wireWriter
	roomName string
	user     string

	// writeFn is c.writeLoop as a func value made once: "go c.writeFn()"
	// starts the writer without allocating a closure per start.
	writeFn func()

	// Owned by the hub (under the room's lock).
	room  *room
	index int

	// lastRead is when the peer last sent anything (data, ping or pong), in
	// Unix nanoseconds; lastPing when the server last queued a ping.
	lastRead atomic.Int64
	lastPing atomic.Int64

	mu      sync.Mutex
	queue   [][]byte // frames waiting for the writer
	spare   [][]byte // the writer's last batch, reused as the next queue
	writing bool     // a writeLoop goroutine is running

	// lastWrite is when the last batch was written (Unix ns). Only writer
	// goroutines use it, one at a time (each starts after the last ended,
	// ordered by mu).
	lastWrite int64
	closed    bool // no more frames are accepted

	// reason is the first reason given for closing; later ones are ignored.
	reason atomic.Pointer[string]

	// limit is the chat-message token bucket (Config.MaxMsgRate); only
	// readLoop uses it.
	limit msgLimiter
}

// enqueue queues a shared frame for the writer. It never blocks on the
// socket. A full queue makes the client a slow consumer: per the slow policy
// the frame is dropped, or the client is closed with 1008. It reports whether
// the frame was queued.
func (c *client) enqueue(frame []byte) bool {
	m := c.srv.m
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	if len(c.queue) >= c.srv.cfg.SendQueue {
		if c.srv.cfg.SlowPolicy == SlowDrop {
			c.mu.Unlock()
			m.droppedQueueFull.Inc()
			return false
		}
		// Disconnect: stop accepting now, close in the background.
		c.closed = true
		dropped := len(c.queue) + 1
		c.queue = nil // release the shared frames now; nothing is queued after closed
		c.mu.Unlock()
		m.droppedSlow.Add(float64(dropped))
		c.closeAsync(discSlowConsumer, websocket.StatusPolicyViolation, "slow consumer")
		return false
	}
	c.queue = append(c.queue, frame)
	start := !c.writing
	c.writing = true
	c.mu.Unlock()
	if start {
		go c.writeFn()
	}
	return true
}

// writeLoop drains the queue, one writev per batch of whatever is queued,
// and exits when the queue is empty.
func (c *client) writeLoop() {
	m := c.srv.m
	delay := c.srv.cfg.WriteDelay
	var prev [][]byte
	for {
		if delay > 0 && time.Now().UnixNano()-c.lastWrite < int64(delay) {
			// A busy socket (its last write was less than a delay ago, so
			// waiting one delay catches at least one more frame): let more
			// frames join this batch and share one system call. Other
			// sockets are written at once. See Config.WriteDelay.
			time.Sleep(delay)
		}
		c.mu.Lock()
		if prev != nil {
			clear(prev) // drop references to shared frames
			c.spare = prev[:0]
		}
		if len(c.queue) == 0 || c.closed {
			c.writing = false
			c.mu.Unlock()
			return
		}
		batch := c.queue
		c.queue, c.spare = c.spare, nil
		c.mu.Unlock()

		frames := len(batch)
		for _, f := range batch {
			if len(f) > 0 && &f[0] == &pingFrame[0] {
				frames--
			}
		}
		n, err := c.wire.writeBatch(net.Buffers(batch))
		m.sentBytes.Add(float64(n))
		if err != nil {
			m.droppedWrite.Add(float64(frames))
			c.closeAsync(discWriteError, websocket.StatusGoingAway, "")
			c.mu.Lock()
			c.writing = false
			c.mu.Unlock()
			return
		}
		c.lastWrite = time.Now().UnixNano()
		m.deliveries.Add(float64(frames))
		m.batchFrames.Observe(float64(len(batch)))
		prev = batch
	}
}

// closeAsync closes the connection in a goroutine of its own (the caller may
// hold hub locks). The first reason wins. StatusGoingAway without a reason
// after a write error closes without a handshake: the socket is unusable.
func (c *client) closeAsync(reason string, code websocket.StatusCode, text string) {
	r := reason
	if !c.reason.CompareAndSwap(nil, &r) {
		return
	}
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	go func() {
		switch reason {
		case discWriteError, discPingTimeout:
			_ = c.conn.CloseNow()
		default:
			_ = c.conn.Close(code, text)
		}
	}()
}

// readLoop reads the client's frames until the connection ends, then
// removes the client from its room. It runs in a goroutine of its own (not
// the HTTP handler's, whose stack is deep) so an idle connection costs a
// small stack.
func (c *client) readLoop() {
	s := c.srv
	defer s.clientDone(c)
	// Allocated on the first message: idle connections never need it.
	var buf *bytes.Buffer
	for {
		typ, r, err := c.conn.Reader(context.Background())
		if err != nil {
			c.readFailed(err)
			return
		}
		now := time.Now().UnixNano()
		c.lastRead.Store(now)
		if buf == nil {
			buf = bytes.NewBuffer(make([]byte, 0, 256))
		}
		buf.Reset()
		if _, err := buf.ReadFrom(r); err != nil {
			c.readFailed(err)
			return
		}
		if int64(buf.Len()) > s.cfg.MaxMessageBytes {
			// The library lets one byte past its limit through.
			c.closeAsync(discTooBig, websocket.StatusMessageTooBig, "message too big")
			continue
		}
		if typ != websocket.MessageText {
			c.closeAsync(discInvalid, websocket.StatusUnsupportedData, "binary frames are not supported: send text")
			continue // read until the close handshake completes
		}
		msg := buf.Bytes()
		if !validText(msg) {
			c.closeAsync(discInvalid, websocket.StatusInvalidFramePayloadData, "text frame is not valid UTF-8")
			continue
		}
		if c.user == "" {
			// The blog's protocol: the first frame is the user name.
			name := string(bytes.TrimSpace(msg))
			if name == "" || len(name) > s.cfg.MaxUserBytes {
				c.closeAsync(discPolicyMessage, websocket.StatusPolicyViolation, "first frame must be a user name of 1 to MaxUserBytes bytes")
				continue
			}
			c.user = name
			continue
		}
		if !c.limit.allow(now) {
			s.m.rejectedRateLimit.Inc()
			if s.cfg.RateLimitPolicy == RateLimitClose {
				c.closeAsync(discRateLimit, websocket.StatusPolicyViolation, "message rate limit exceeded")
			}
			continue
		}
		s.publish(c, msg)
		if buf.Cap() > 64<<10 {
			buf = nil // don't pin a large buffer
		}
	}
}

// readFailed records why the read side ended, unless a reason was set by
// whoever closed the connection first.
func (c *client) readFailed(err error) {
	reason := discReadError
	switch {
	case errors.Is(err, websocket.ErrMessageTooBig):
		reason = discTooBig
	case websocket.CloseStatus(err) != -1, errors.Is(err, io.EOF):
		reason = discClientClose
	}
	r := reason
	c.reason.CompareAndSwap(nil, &r)
	c.mu.Lock()
	c.closed = true
	c.queue = nil
	c.mu.Unlock()
	_ = c.conn.CloseNow()
}
