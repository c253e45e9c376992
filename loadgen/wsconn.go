package loadgen

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// wsConn is a minimal RFC 6455 client connection, built for holding many
// sockets cheaply: after the handshake it keeps only the net.Conn, one small
// read buffer used by its single reader goroutine, and a write mutex. Frames
// larger than the read buffer borrow a pooled buffer. It never negotiates
// compression. Senders write whole frames from their own buffers.
type wsConn struct {
	nc  net.Conn
	wmu sync.Mutex
	buf []byte // read buffer; data is buf[r:w]
	r   int
	w   int
	// compression is true when permessage-deflate was negotiated (only
	// when offered, see inflate.go).
	compression bool
	// lastRead is when the reader last got bytes (Unix ns, coarse: see
	// keepalive.go).
	lastRead atomic.Int64
	// binary counts binary frames received (their probes are counted
	// too). Only the reader goroutine writes it; read after it ended.
	binary int64
	// limit is the largest frame (or inflated message) accepted, in bytes;
	// 0 means DefaultReadLimit.
	limit int64
}

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// handshakeError is an upgrade answered with a status other than 101.
type handshakeError struct{ status int }

func (e *handshakeError) Error() string {
	return fmt.Sprintf("websocket upgrade answered HTTP %d", e.status)
}

// dialWS opens a TCP connection with d (for wss://, TLS on it with
// tlsCfg), performs the upgrade for u and returns the connection. ctx bounds
// the whole handshake.
func dialWS(ctx context.Context, d *net.Dialer, u *url.URL, header http.Header, readBuf int, offerDeflate bool, tlsCfg *tls.Config) (*wsConn, error) {
	switch u.Scheme {
	case "ws", "http", "wss", "https":
	default:
		return nil, fmt.Errorf("unsupported scheme %q (want ws:// or wss://)", u.Scheme)
	}
	nc, err := dialTransport(ctx, d, u, tlsCfg)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	c, err := handshake(nc, u, header, readBuf, offerDeflate)
	if !stop() || err != nil {
		nc.Close()
		if err == nil || ctx.Err() != nil {
			err = errors.Join(ctx.Err(), err)
		}
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	return c, nil
}

func handshake(nc net.Conn, u *url.URL, header http.Header, readBuf int, offerDeflate bool) (*wsConn, error) {
	var kb [16]byte
	_, _ = rand.Read(kb[:])
	key := base64.StdEncoding.EncodeToString(kb[:])
	var sb strings.Builder
	sb.WriteString("GET ")
	sb.WriteString(u.RequestURI())
	sb.WriteString(" HTTP/1.1\r\nHost: ")
	sb.WriteString(u.Host)
	sb.WriteString("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ")
	sb.WriteString(key)
	sb.WriteString("\r\n")
	if offerDeflate {
		sb.WriteString("Sec-WebSocket-Extensions: " + deflateOffer + "\r\n")
	}
	for k, vs := range header {
		for _, v := range vs {
			sb.WriteString(k)
			sb.WriteString(": ")
			sb.WriteString(v)
			sb.WriteString("\r\n")
		}
	}
	sb.WriteString("\r\n")
	if _, err := io.WriteString(nc, sb.String()); err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(nc, 1024)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return nil, &handshakeError{status: resp.StatusCode}
	}
	sum := sha1.Sum([]byte(key + wsGUID))
	if resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		return nil, errors.New("websocket upgrade: bad Sec-WebSocket-Accept")
	}
	if readBuf < 64 {
		readBuf = 64
	}
	c := &wsConn{nc: nc, buf: make([]byte, readBuf)}
	if c.compression, err = checkDeflateResponse(resp.Header.Get("Sec-WebSocket-Extensions")); err != nil {
		return nil, err
	}
	if c.compression && !offerDeflate {
		return nil, errors.New("websocket upgrade: server negotiated permessage-deflate that was not offered")
	}
	// Frames the server sent right after the 101 may already be buffered.
	if n := br.Buffered(); n > 0 {
		if n > len(c.buf) {
			c.buf = make([]byte, n)
		}
		c.w, _ = io.ReadFull(br, c.buf[:n])
	}
	return c, nil
}

// Opcodes.
const (
	opCont  = 0x0
	opText  = 0x1
	opBin   = 0x2
	opClose = 0x8
	opPing  = 0x9
	opPong  = 0xA
)

// closeError is a close frame received from the server.
type closeError struct{ code int }

func (e *closeError) Error() string { return fmt.Sprintf("closed by server with status %d", e.code) }

// DefaultReadLimit bounds the frames (and inflated messages) swarm accepts
// when Config.ReadLimit is 0: a larger one drops the socket as
// "frame_too_big" (close 1009) without allocating it.
const DefaultReadLimit = 16 << 20

func (c *wsConn) readLimit() int64 {
	if c.limit > 0 {
		return c.limit
	}
	return DefaultReadLimit
}

var bigBufPool = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// fill reads at least need bytes into buf[r:w], compacting first if needed.
func (c *wsConn) fill(need int) error {
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

// readLoop reads frames until the connection fails or closes and calls
// onData with the payload of every text, binary and continuation frame
// (payloads are only valid during the call). It answers pings and closes.
func (c *wsConn) readLoop(onData func([]byte)) error {
	for {
		if c.r == c.w {
			c.r, c.w = 0, 0
		}
		if err := c.fill(2); err != nil {
			return err
		}
		b0, b1 := c.buf[c.r], c.buf[c.r+1]
		op := b0 & 0x0f
		compressed := b0&0x40 != 0 && c.compression
		masked := b1&0x80 != 0
		plen := int64(b1 & 0x7f)
		if rsv := b0 & 0x70; rsv != 0 && (rsv != 0x40 || !c.compression) {
			return c.fail(badFrame("reserved bits %#x set without an extension", rsv))
		}
		if masked {
			// RFC 6455 5.1: a client must close on a masked frame from a server.
			return c.fail(badFrame("frame from the server is masked"))
		}
		if op >= opClose && (plen > 125 || b0&0x80 == 0) {
			return c.fail(badFrame("control frame (opcode %d) fragmented or over 125 bytes", op))
		}
		hl := 2
		switch plen {
		case 126:
			hl = 4
		case 127:
			hl = 10
		}
		if err := c.fill(hl); err != nil {
			return err
		}
		h := c.buf[c.r : c.r+hl]
		switch plen {
		case 126:
			plen = int64(binary.BigEndian.Uint16(h[2:]))
		case 127:
			plen = int64(binary.BigEndian.Uint64(h[2:]))
		}
		if limit := c.readLimit(); plen > limit || plen < 0 {
			return c.fail(frameTooBig(plen, limit))
		}

		n := int(plen)
		var payload []byte
		var big *[]byte
		if hl+n <= len(c.buf) {
			if err := c.fill(hl + n); err != nil {
				return err
			}
			payload = c.buf[c.r+hl : c.r+hl+n]
			c.r += hl + n
		} else {
			big = bigBufPool.Get().(*[]byte)
			if cap(*big) < n {
				*big = make([]byte, n)
			}
			payload = (*big)[:n]
			k := copy(payload, c.buf[c.r+hl:c.w])
			c.r, c.w = 0, 0
			if _, err := io.ReadFull(c.nc, payload[k:]); err != nil {
				bigBufPool.Put(big)
				return err
			}
		}
		var err error
		switch op {
		case opText, opBin, opCont:
			if op == opBin {
				c.binary++
			}
			if compressed && b0&0x80 != 0 {
				// Over the read limit or a corrupt stream: a protocol
				// error like any other (close 1009 or 1002).
				if err = inflateMessage(payload, c.readLimit(), onData); err != nil {
					err = c.fail(err)
				}
			} else {
				// A compressed message split over several frames is
				// scanned as is: its probes are not found (counted lost).
				onData(payload)
			}
		case opPing:
			err = c.writeControl(opPong, payload, time.Now().Add(5*time.Second))
		case opPong:
		case opClose:
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
			err = &closeError{code: code}
		default:
			err = c.fail(badFrame("unknown opcode %d", op))
		}
		if big != nil {
			bigBufPool.Put(big)
		}
		if err != nil {
			return err
		}
	}
}

// frameHeaderRoom is the space writers leave before the payload in their
// buffers so the header can be put in place without copying.
const frameHeaderRoom = 14

// buildFrame puts a final, masked frame header in front of the payload
// buf[frameHeaderRoom:] and masks the payload in place (buf is the caller's
// scratch space and is changed). It returns the frame's bytes.
func buildFrame(op byte, buf []byte, mask uint32) []byte {
	payload := buf[frameHeaderRoom:]
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
	h := buf[frameHeaderRoom-hl : frameHeaderRoom]
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
	return buf[frameHeaderRoom-hl:]
}

// writeFrame writes one final frame built from buf (see buildFrame).
func (c *wsConn) writeFrame(op byte, buf []byte, mask uint32, deadline time.Time) error {
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

func (c *wsConn) writeControl(op byte, payload []byte, deadline time.Time) error {
	var b [frameHeaderRoom + 125]byte
	n := copy(b[frameHeaderRoom:], payload)
	return c.writeFrame(op, b[:frameHeaderRoom+n], 0x9e3779b9, deadline)
}

// writeText writes a text frame from a caller's buffer laid out as for writeFrame.
func (c *wsConn) writeText(buf []byte, mask uint32, deadline time.Time) error {
	return c.writeFrame(opText, buf, mask, deadline)
}

// close sends a normal close frame (best effort, bounded) and closes the socket.
// A writer stuck on a full socket is not waited for.
func (c *wsConn) close() {
	if c.wmu.TryLock() {
		var b [frameHeaderRoom + 2]byte
		binary.BigEndian.PutUint16(b[frameHeaderRoom:], 1000)
		_ = c.nc.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
		_, _ = c.nc.Write(buildFrame(opClose, b[:], 0x5bd1e995))
		c.wmu.Unlock()
	}
	_ = c.nc.Close()
}

// fail answers a protocol error with a close frame (1009 for a frame over
// the read limit, 1002 otherwise; best effort, bounded), closes the socket
// and returns err.
func (c *wsConn) fail(err error) error {
	var pe *protocolError
	if errors.As(err, &pe) {
		var p [2]byte
		binary.BigEndian.PutUint16(p[:], pe.closeCode())
		_ = c.writeControl(opClose, p[:], time.Now().Add(time.Second))
		_ = c.nc.Close() // fail the connection: nothing it sends can be trusted
	}
	return err
}
