package wsclient

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Conn is a minimal RFC 6455 client connection, built for holding many
// sockets cheaply: after the handshake it keeps only the net.Conn, one small
// read buffer used by its single reader goroutine, and a write mutex. Frames
// larger than the read buffer, and messages split over several frames,
// borrow a pooled buffer for as long as they are being read. Senders write
// whole frames from their own buffers.
type Conn struct {
	nc  net.Conn
	wmu sync.Mutex
	buf []byte // read buffer; data is buf[r:w]
	r   int
	w   int
	// Compression is true when permessage-deflate was negotiated (only
	// when offered, see deflate.go).
	Compression bool
	// lastRead is when the reader last got bytes (Unix ns, coarse: see
	// clock.go).
	lastRead atomic.Int64
	// Binary counts binary messages received (their probes are counted
	// too). Only the reader goroutine writes it; read it after ReadLoop ended.
	Binary int64
	// Limit is the largest frame (or reassembled or inflated message)
	// accepted, in bytes; 0 means DefaultReadLimit.
	Limit int64

	// A message split over several frames is reassembled in frag (a
	// pooled buffer, held only until its final frame).
	frag           *[]byte
	fragCompressed bool
	fragBinary     bool
}

// HeaderRoom is the space writers leave before the payload in their
// buffers so the frame header can be put in place without copying.
const HeaderRoom = 14

// DefaultReadLimit bounds the frames (and messages) a Conn accepts when
// Limit is 0: a larger one drops the socket as errkind.FrameTooBig (close 1009)
// without allocating it.
const DefaultReadLimit = 16 << 20

// Opcodes.
const (
	opCont  = 0x0
	opText  = 0x1
	opBin   = 0x2
	opClose = 0x8
	opPing  = 0x9
	opPong  = 0xA
)

func (c *Conn) readLimit() int64 {
	if c.Limit > 0 {
		return c.Limit
	}
	return DefaultReadLimit
}

// NetConn is the connection under the WebSocket.
func (c *Conn) NetConn() net.Conn { return c.nc }

// LastRead is when the reader last got bytes (Unix ns, on the coarse clock).
func (c *Conn) LastRead() int64 { return c.lastRead.Load() }

// MarkRead stamps the connection as heard from at Unix ns t.
func (c *Conn) MarkRead(t int64) { c.lastRead.Store(t) }

var bigBufPool = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// fill reads at least need bytes into buf[r:w], compacting first if needed.
func (c *Conn) fill(need int) error {
	if c.w-c.r >= need {
		return nil
	}
	if c.r > 0 && len(c.buf)-c.r < need {
		c.w = copy(c.buf, c.buf[c.r:c.w])
		c.r = 0
	}
	for c.w-c.r < need {
		n, err := c.nc.Read(c.buf[c.w:])
		c.w += n
		if n > 0 {
			c.lastRead.Store(coarseNow.Load())
		}
		if err != nil && c.w-c.r < need {
			return err
		}
	}
	return nil
}

// frameHead is a parsed frame header.
type frameHead struct {
	fin, compressed bool
	op              byte
	hl              int   // header length
	plen            int64 // payload length
}

// readHead parses the next frame header (it stays in buf), whose first
// two bytes are in buf.
func (c *Conn) readHead() (frameHead, error) {
	b0, b1 := c.buf[c.r], c.buf[c.r+1]
	h := frameHead{fin: b0&0x80 != 0, op: b0 & 0x0f, compressed: b0&0x40 != 0 && c.Compression, hl: 2, plen: int64(b1 & 0x7f)}
	if rsv := b0 & 0x70; rsv != 0 && (rsv != 0x40 || !c.Compression) {
		return h, c.fail(badFrame("reserved bits %#x set without an extension", rsv))
	}
	if b1&0x80 != 0 {
		// RFC 6455 5.1: a client must close on a masked frame from a server.
		return h, c.fail(badFrame("frame from the server is masked"))
	}
	if h.op >= opClose && (h.plen > 125 || !h.fin) {
		return h, c.fail(badFrame("control frame (opcode %d) fragmented or over 125 bytes", h.op))
	}
	switch h.plen {
	case 126:
		h.hl = 4
	case 127:
		h.hl = 10
	}
	if err := c.fill(h.hl); err != nil {
		return h, err
	}
	hb := c.buf[c.r : c.r+h.hl]
	switch h.plen {
	case 126:
		h.plen = int64(binary.BigEndian.Uint16(hb[2:]))
	case 127:
		h.plen = int64(binary.BigEndian.Uint64(hb[2:]))
	}
	if limit := c.readLimit(); h.plen > limit || h.plen < 0 {
		return h, c.fail(frameTooBig(h.plen, limit))
	}
	return h, nil
}

// readPayload returns the payload of the frame whose header is h. It is
// valid until release is called (release may be nil).
func (c *Conn) readPayload(h frameHead) (payload []byte, release func(), err error) {
	n := int(h.plen)
	if h.hl+n <= len(c.buf) {
		if err := c.fill(h.hl + n); err != nil {
			return nil, nil, err
		}
		payload = c.buf[c.r+h.hl : c.r+h.hl+n]
		c.r += h.hl + n
		return payload, nil, nil
	}
	big := bigBufPool.Get().(*[]byte)
	if cap(*big) < n {
		*big = make([]byte, n)
	}
	payload = (*big)[:n]
	k := copy(payload, c.buf[c.r+h.hl:c.w])
	c.r, c.w = 0, 0
	if _, err := io.ReadFull(c.nc, payload[k:]); err != nil {
		bigBufPool.Put(big)
		return nil, nil, err
	}
	return payload, func() { bigBufPool.Put(big) }, nil
}

// ReadLoop reads frames until the connection fails or closes and calls
// onMessage with every text and binary message (payloads are only valid
// during the call). A message split over continuation frames is
// reassembled first, so text split anywhere (inside a probe too) arrives
// whole. It answers pings and closes. Its error is a *CloseError for a
// close from the server, a *ProtocolError for bytes it cannot accept, the
// network's, or the first error onMessage returns (the socket is then
// closed).
func (c *Conn) ReadLoop(onMessage func([]byte) error) error {
	defer c.dropFrag()
	for {
		if c.r == c.w {
			c.r, c.w = 0, 0
		}
		// An idle socket waits here, at the shallowest point of the loop:
		// its goroutine's stack stays at its smallest size.
		if err := c.fill(2); err != nil {
			return err
		}
		h, err := c.readHead()
		if err != nil {
			return err
		}
		payload, release, err := c.readPayload(h)
		if err != nil {
			return err
		}
		switch h.op {
		case opText, opBin, opCont:
			err = c.data(h, payload, onMessage)
		case opPing:
			err = c.writeControl(opPong, payload, time.Now().Add(5*time.Second))
		case opPong:
		case opClose:
			err = c.answerClose(payload)
		default:
			err = c.fail(badFrame("unknown opcode %d", h.op))
		}
		if release != nil {
			release()
		}
		if err != nil {
			return err
		}
	}
}

// data handles one data frame: a whole message, or a fragment of one.
func (c *Conn) data(h frameHead, payload []byte, onMessage func([]byte) error) error {
	if h.op == opBin {
		c.Binary++
	}
	switch {
	case h.op == opCont && c.frag == nil:
		return c.fail(badFrame("continuation frame without a message to continue"))
	case h.op != opCont && c.frag != nil:
		return c.fail(badFrame("new message (opcode %d) before the fragmented one ended", h.op))
	case h.op != opCont && h.fin:
		return c.deliver(payload, h.compressed, onMessage)
	case h.op != opCont: // first fragment
		c.fragBinary = h.op == opBin
		c.frag = bigBufPool.Get().(*[]byte)
		*c.frag = append((*c.frag)[:0], payload...)
		c.fragCompressed = h.compressed
		return nil
	}
	if limit := c.readLimit(); int64(len(*c.frag)+len(payload)) > limit {
		return c.fail(frameTooBig(int64(len(*c.frag)+len(payload)), limit))
	}
	*c.frag = append(*c.frag, payload...)
	if !h.fin {
		return nil
	}
	err := c.deliver(*c.frag, c.fragCompressed, onMessage)
	c.dropFrag()
	return err
}

func (c *Conn) dropFrag() {
	if c.frag != nil {
		bigBufPool.Put(c.frag)
		c.frag = nil
	}
}

// deliver hands one complete message to onMessage, inflated if compressed.
func (c *Conn) deliver(msg []byte, compressed bool, onMessage func([]byte) error) error {
	if !compressed {
		return c.failWith(onMessage(msg))
	}
	// Over the read limit or a corrupt stream: a protocol error like any
	// other (close 1009 or 1002); the handler's own error as it is.
	err := inflateMessage(msg, c.readLimit(), onMessage)
	var he *handlerError
	if errors.As(err, &he) {
		return c.failWith(he.err)
	}
	if err != nil {
		return c.fail(err)
	}
	return nil
}

// failWith closes the socket when the message handler refused a message.
func (c *Conn) failWith(err error) error {
	if err != nil {
		_ = c.nc.Close()
	}
	return err
}

// ReadMessage reads the next whole data message, for a session handshake
// before ReadLoop starts: it answers pings, and returns a close as a
// *CloseError. binary says the message came in binary frames. The message
// is a copy, the caller's to keep. deadline bounds the wait.
func (c *Conn) ReadMessage(deadline time.Time) (msg []byte, binary bool, err error) {
	_ = c.nc.SetReadDeadline(deadline)
	defer func() { _ = c.nc.SetReadDeadline(time.Time{}) }()
	got := false
	for !got {
		if c.r == c.w {
			c.r, c.w = 0, 0
		}
		if err := c.fill(2); err != nil {
			return nil, false, err
		}
		h, err := c.readHead()
		if err != nil {
			return nil, false, err
		}
		payload, release, err := c.readPayload(h)
		if err != nil {
			return nil, false, err
		}
		switch h.op {
		case opText, opBin, opCont:
			bin := h.op == opBin || (h.op == opCont && c.fragBinary)
			err = c.data(h, payload, func(m []byte) error {
				msg, binary, got = bytes.Clone(m), bin, true
				return nil
			})
		case opPing:
			err = c.writeControl(opPong, payload, time.Now().Add(5*time.Second))
		case opPong:
		case opClose:
			err = c.answerClose(payload)
		default:
			err = c.fail(badFrame("unknown opcode %d", h.op))
		}
		if release != nil {
			release()
		}
		if err != nil {
			return nil, false, err
		}
	}
	return msg, binary, nil
}

// answerClose echoes the server's close code and returns it as a *CloseError.
func (c *Conn) answerClose(payload []byte) error {
	code := 1005
	if len(payload) >= 2 {
		code = int(binary.BigEndian.Uint16(payload))
	}
	var p [2]byte
	binary.BigEndian.PutUint16(p[:], uint16(code))
	if code == 1005 {
		_ = c.writeControl(opClose, nil, time.Now().Add(time.Second))
	} else {
		_ = c.writeControl(opClose, p[:], time.Now().Add(time.Second))
	}
	ce := &CloseError{Code: code}
	if len(payload) > 2 {
		ce.Reason = string(payload[2:])
	}
	return ce
}

// buildFrame puts a final, masked frame header in front of the payload
// buf[HeaderRoom:] and masks the payload in place (buf is the caller's
// scratch space and is changed). It returns the frame's bytes.
func buildFrame(op byte, buf []byte, mask uint32) []byte {
	payload := buf[HeaderRoom:]
	n := len(payload)
	var hl int
	switch {
	case n <= 125:
		hl = 6
	case n <= 65535:
		hl = 8
	default:
		hl = 14
	}
	h := buf[HeaderRoom-hl : HeaderRoom]
	h[0] = 0x80 | op
	switch hl {
	case 6:
		h[1] = 0x80 | byte(n)
	case 8:
		h[1] = 0x80 | 126
		binary.BigEndian.PutUint16(h[2:], uint16(n))
	default:
		h[1] = 0x80 | 127
		binary.BigEndian.PutUint64(h[2:], uint64(n))
	}
	binary.LittleEndian.PutUint32(h[hl-4:], mask)
	maskBytes(payload, mask)
	return buf[HeaderRoom-hl:]
}

// writeFrame writes one final frame built from buf (see buildFrame).
func (c *Conn) writeFrame(op byte, buf []byte, mask uint32, deadline time.Time) error {
	f := buildFrame(op, buf, mask)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if !deadline.IsZero() {
		_ = c.nc.SetWriteDeadline(deadline)
	}
	_, err := c.nc.Write(f)
	return err
}

// maskBytes XORs p with the 4-byte key mask (little-endian key bytes).
func maskBytes(p []byte, mask uint32) {
	k := uint64(mask) | uint64(mask)<<32
	i := 0
	for ; i+8 <= len(p); i += 8 {
		binary.LittleEndian.PutUint64(p[i:], binary.LittleEndian.Uint64(p[i:])^k)
	}
	for ; i < len(p); i++ {
		p[i] ^= byte(mask >> (8 * (i & 3)))
	}
}

func (c *Conn) writeControl(op byte, payload []byte, deadline time.Time) error {
	var b [HeaderRoom + 125]byte
	n := copy(b[HeaderRoom:], payload)
	return c.writeFrame(op, b[:HeaderRoom+n], 0x9e3779b9, deadline)
}

// WriteText writes a text frame from a caller's buffer: the payload at
// buf[HeaderRoom:], masked in place with mask (so buf is changed).
func (c *Conn) WriteText(buf []byte, mask uint32, deadline time.Time) error {
	return c.writeFrame(opText, buf, mask, deadline)
}

// WriteBinary is WriteText for a binary frame.
func (c *Conn) WriteBinary(buf []byte, mask uint32, deadline time.Time) error {
	return c.writeFrame(opBin, buf, mask, deadline)
}

// TryPing writes a ping unless a writer holds the socket; it reports
// whether the ping went out.
func (c *Conn) TryPing(deadline time.Time) bool {
	if !c.wmu.TryLock() {
		return false
	}
	defer c.wmu.Unlock()
	var b [HeaderRoom]byte
	_ = c.nc.SetWriteDeadline(deadline)
	_, err := c.nc.Write(buildFrame(opPing, b[:], 0x2545f491))
	return err == nil
}

// Close sends a normal close frame (best effort, bounded) and closes the
// socket. A writer stuck on a full socket is not waited for.
func (c *Conn) Close() {
	if c.wmu.TryLock() {
		var b [HeaderRoom + 2]byte
		binary.BigEndian.PutUint16(b[HeaderRoom:], 1000)
		_ = c.nc.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
		_, _ = c.nc.Write(buildFrame(opClose, b[:], 0x5bd1e995))
		c.wmu.Unlock()
	}
	_ = c.nc.Close()
}

// fail answers a protocol error with a close frame (1009 for a frame over
// the read limit, 1002 otherwise; best effort, bounded), closes the socket
// and returns err.
func (c *Conn) fail(err error) error {
	var pe *ProtocolError
	if errors.As(err, &pe) {
		var p [2]byte
		binary.BigEndian.PutUint16(p[:], pe.closeCode())
		_ = c.writeControl(opClose, p[:], time.Now().Add(time.Second))
		_ = c.nc.Close() // fail the connection: nothing it sends can be trusted
	}
	return err
}
