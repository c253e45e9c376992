package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"time"

	"github.com/coder/websocket"
)

// readLoop reads the client's frames until the connection ends, then
// removes the client from its room. It runs in a goroutine of its own (not
// the HTTP handler's, whose stack is deep) so an idle connection costs a
// small stack.
//
// Once a close reason is set (a violating frame, a rate-limit close, a
// slow consumer, shutdown), the frames behind it are read and discarded
// until the close handshake ends: nothing sent after a violation reaches
// the room, and nothing after a bad first frame becomes the user name.
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
		if c.reason.Load() != nil {
			if _, err := io.Copy(io.Discard, r); err != nil {
				c.readFailed(err)
				return
			}
			continue
		}
		if buf == nil {
			buf = bytes.NewBuffer(make([]byte, 0, 256))
		}
		buf.Reset()
		if _, err := buf.ReadFrom(r); err != nil {
			c.readFailed(err)
			return
		}
		if d := s.refuseFrame(typ, buf.Bytes()); d != nil {
			c.closeAsync(d)
			continue
		}
		msg := buf.Bytes()
		switch {
		case c.user == "":
			c.takeName(msg)
		case !c.limit.allow(now):
			s.m.rejectedRateLimit.Inc()
			if s.cfg.RateLimitPolicy == RateLimitClose {
				c.closeAsync(discRateLimit)
			}
		default:
			c.sent.add(now)
			s.publish(c, msg)
		}
		if buf.Cap() > 64<<10 {
			buf = nil // don't pin a large buffer
		}
	}
}

// refuseFrame returns why a data frame may not be broadcast, or nil.
func (s *Server) refuseFrame(typ websocket.MessageType, msg []byte) *disconnect {
	switch {
	case int64(len(msg)) > s.cfg.MaxMessageBytes:
		return discTooBig // the library lets one byte past its limit through
	case typ != websocket.MessageText:
		return discBinary
	case !validText(msg):
		return discBadUTF8
	}
	return nil
}

// takeName takes the first frame of a connection that came without
// ?user= as its user name (the blog's protocol) and joins its room: until
// then it receives nothing.
func (c *client) takeName(msg []byte) {
	name := string(bytes.TrimSpace(msg))
	if name == "" || len(name) > c.srv.cfg.MaxUserBytes {
		c.closeAsync(discBadName)
		return
	}
	if c.nameTimer != nil && !c.nameTimer.Stop() {
		return // the name deadline fired first: closing
	}
	c.user = name
	c.srv.hub.join(c)
}

// onControl is called by the WebSocket library, on the reader, for every
// ping and pong the peer sends. A peer past MaxPingRate is closed (1008):
// each control frame costs a read, a callback and, for a ping, a pong
// write, so a flood of them would spend the CPU other clients need.
func (c *client) onControl() bool {
	now := time.Now().UnixNano()
	c.lastRead.Store(now)
	if !c.pingLimit.allow(now) {
		c.closeFromReader(discPingFlood)
		return false
	}
	return c.reason.Load() == nil // no pong once closing
}

// closeFromReader closes the connection at once from the reader's own
// goroutine (inside a library callback, where the library's close would
// deadlock on the read lock the reader holds): the close frame, then the
// socket under the library, so that the reader's next read fails and no
// more of what the peer already sent is processed. For abrupt disconnects
// only.
func (c *client) closeFromReader(d *disconnect) {
	if !c.closing(d) {
		return
	}
	_ = c.wire.writeClose(d.code, d.text)
	c.forceClose()
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
	c.reason.CompareAndSwap(nil, reason)
	c.mu.Lock()
	c.closed = true
	c.queue = nil
	c.mu.Unlock()
	_ = c.conn.CloseNow()
}
