package server

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// client is one WebSocket connection: once named, a member of exactly one
// room.
//
// Goroutines: one reader (readLoop, in reader.go) for the connection's
// lifetime, and a writer (writeLoop) that exists only while frames are
// queued. Fan-out never touches the socket: it calls enqueue, which appends
// under c.mu and starts the writer if none runs.
type client struct {
	srv      *Server
	conn     *websocket.Conn
	wire     *wireWriter
	roomName string
	user     string // empty until named; written only by the reader

	// writeFn is c.writeLoop as a func value made once: "go c.writeFn()"
	// starts the writer without allocating a closure per start.
	writeFn func()

	// Owned by the hub (under the room's lock); room is nil until joined.
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
	// hasRoom is made by enqueueWait while it waits for room in a full queue,
	// and closed (and cleared) when the writer takes a batch or the client
	// closes; stalled is set when such a wait timed out and cleared when
	// the writer has emptied the queue: a stalled client is not waited for.
	hasRoom chan struct{}
	stalled bool

	// reason is the first reason given for closing; later ones are ignored.
	// Once it is set, nothing the client sends is broadcast.
	reason atomic.Pointer[disconnect]

	// Token buckets for chat messages (Config.MaxMsgRate) and control
	// frames (Config.MaxPingRate); only the reader uses them.
	limit     msgLimiter
	pingLimit msgLimiter
	// sent counts the messages this client published lately: the hub reads
	// it to find who floods a congested room (see findFlooder).
	sent sendMeter
	// nameTimer closes a connection that does not name itself in time
	// (Config.NameTimeout); nil once named or when named by ?user=.
	nameTimer *time.Timer
}

func newClient(s *Server, roomName, user string) *client {
	c := &client{srv: s, roomName: roomName, user: user,
		limit:     newMsgLimiter(s.cfg.MaxMsgRate, burstFor(s.cfg.MaxMsgRate, s.cfg.MaxMsgBurst)),
		pingLimit: newMsgLimiter(s.cfg.MaxPingRate, burstFor(s.cfg.MaxPingRate, 0)),
	}
	c.writeFn = c.writeLoop
	return c
}

// enqueueResult is what enqueue did with a frame.
type enqueueResult int8

const (
	queued      enqueueResult = iota
	queueClosed               // the client takes no more frames
	queueFull                 // the send queue is full: the caller decides (see hub.overflow)
)

// enqueue queues a shared frame for the writer. It never blocks on the
// socket and never drops: a full queue is reported to the caller, who
// applies the slow-consumer decision.
func (c *client) enqueue(frame []byte) enqueueResult {
	return c.enqueueUpTo(frame, c.srv.cfg.SendQueue)
}

// enqueueUpTo is enqueue with a queue of limit frames.
func (c *client) enqueueUpTo(frame []byte, limit int) enqueueResult {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return queueClosed
	}
	if len(c.queue) >= limit {
		c.mu.Unlock()
		return queueFull
	}
	c.queue = append(c.queue, frame)
	start := !c.writing
	c.writing = true
	c.mu.Unlock()
	if start {
		go c.writeFn()
	}
	return queued
}

// enqueueWait is enqueue for a frame that may wait (from a broker.Waiter).
// Such frames take only the first half of the send queue (waitLimit): the
// rest stays free for the frames of the node's own clients, which never
// wait. While that half is full the frame waits for the writer to take a
// batch, for wait at most. When that was not enough, the client is
// stalled: the frame, and later ones until its writer has emptied the
// queue, are enqueued as any other (queueFull when the whole queue is
// full), so a client that cannot keep up holds its node's broker back at
// most wait each time it falls behind.
func (c *client) enqueueWait(frame []byte, wait time.Duration) enqueueResult {
	limit := c.waitLimit()
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if r := c.enqueueUpTo(frame, limit); r != queueFull {
			return r
		}
		c.mu.Lock()
		switch {
		case c.closed:
			c.mu.Unlock()
			return queueClosed
		case c.stalled:
			c.mu.Unlock()
			return c.enqueue(frame)
		case len(c.queue) < limit:
			c.mu.Unlock() // the writer took a batch meanwhile
			continue
		}
		if c.hasRoom == nil {
			c.hasRoom = make(chan struct{})
		}
		room := c.hasRoom
		c.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(wait)
		}
		select {
		case <-room:
		case <-timer.C:
			c.mu.Lock()
			c.stalled = true
			c.mu.Unlock()
			return c.enqueue(frame)
		}
	}
}

// waitLimit is the part of the send queue frames that may wait can take:
// half of it (at least 1).
func (c *client) waitLimit() int { return max(1, c.srv.cfg.SendQueue/2) }

// madeRoom wakes enqueueWait: the writer took a batch, or the client
// closed. Called with c.mu held.
func (c *client) madeRoom() {
	if c.hasRoom != nil {
		close(c.hasRoom)
		c.hasRoom = nil
	}
}

// queueLen is how many frames wait for the writer.
func (c *client) queueLen() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue)
}

// slow applies the slow-consumer policy to a client whose queue was full
// for one more frame: drop the frame, or stop accepting frames, release
// those queued and close with 1008.
func (c *client) slow() {
	m := c.srv.m
	if c.srv.cfg.SlowPolicy == SlowDrop {
		m.droppedQueueFull.Inc()
		return
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	dropped := len(c.queue) + 1
	c.queue = nil // release the shared frames now; nothing is queued after closed
	c.mu.Unlock()
	m.droppedSlow.Add(float64(dropped))
	c.closeAsync(discSlowConsumer)
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
			c.writing, c.stalled = false, false // caught up: frames may wait for it again
			c.mu.Unlock()
			return
		}
		batch := c.queue
		c.queue, c.spare = c.spare, nil
		c.madeRoom()
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
			c.closeAsync(discWriteError)
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

// closeAsync closes the connection for reason d in a goroutine of its own
// (the caller may hold hub locks). The first reason wins. An abrupt
// disconnect closes the socket without waiting for the close handshake,
// after a best-effort close frame when it has a code.
func (c *client) closeAsync(d *disconnect) {
	if !c.closing(d) {
		return
	}
	go func() {
		if d.abrupt {
			if d.code != 0 {
				_ = c.wire.writeClose(d.code, d.text)
			}
			_ = c.conn.CloseNow()
			return
		}
		_ = c.conn.Close(d.code, d.text)
	}()
}

// closing records d as the reason the connection closes, if it is the
// first, and stops the queue from taking frames. It reports whether d was
// the first: only the first closes.
func (c *client) closing(d *disconnect) bool {
	if !c.reason.CompareAndSwap(nil, d) {
		return false
	}
	c.mu.Lock()
	c.closed = true
	c.madeRoom()
	c.mu.Unlock()
	return true
}

// forceClose closes the socket under the WebSocket library, ending a close
// handshake in progress at once (shutdown past its timeout).
func (c *client) forceClose() { _ = c.wire.raw.Close() }
