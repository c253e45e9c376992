package server

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
)

// Buffer sizes of an accepted connection. net/http hands a hijacked
// connection two 4 KiB buffers; keeping them would cost 8 KiB per idle
// connection. The read buffer only has to hold frame headers and small
// messages (larger payloads are read straight into the message buffer); the
// write buffer only carries control frames written by the WebSocket library
// (close, pong: at most 2+125 bytes, so each stays one write). Data frames
// bypass it: the server writes complete frames itself with writev.
const (
	connReadBufferSize  = 512
	connWriteBufferSize = 128
)

// errCloseSent is returned by writeBatch after a close frame went out: RFC
// 6455 forbids data frames after it.
var errCloseSent = errors.New("close frame already sent")

// wireWriter owns the write side of one socket. It serialises the two
// writers of a connection: the library, which writes control frames through
// Write, and the connection's writer goroutine, which writes batches of
// complete data frames through writeBatch. Each call writes whole frames, so
// frames never interleave.
type wireWriter struct {
	conn    net.Conn
	raw     net.Conn // the socket under conn (under TLS), for a close that cannot wait
	timeout time.Duration

	// coalesce: conn has no writev (TLS), batches are copied into one
	// buffer and written with one Write (see writeCoalesced).
	coalesce bool

	mu        sync.Mutex
	closeSent bool
	deadline  time.Time   // the write deadline set on conn
	bufs      net.Buffers // the batch being written; a field so it does not escape per call
}

// Write is the library's path to the socket (control frames, already
// complete: the library flushes its small buffer once per frame).
//
// The library answers a peer's close frame by echoing its code and reason;
// a reason that is not valid UTF-8 (RFC 6455 7.1.6) is not echoed: the
// answer is then 1007 without a reason.
func (w *wireWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(p) > 0 && p[0]&opcodeOf == opClose {
		w.closeSent = true
		if len(p) > 4 && !utf8.Valid(p[4:]) {
			w.armDeadline()
			_, err := w.conn.Write(closeFrame(1007, ""))
			return len(p), err
		}
	}
	w.armDeadline()
	return w.conn.Write(p)
}

// writeClose writes a close frame (code, text) unless one was sent: for a
// close that does not wait for the peer's answer.
func (w *wireWriter) writeClose(code websocket.StatusCode, text string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closeSent {
		return errCloseSent
	}
	w.closeSent = true
	w.armDeadline()
	_, err := w.conn.Write(closeFrame(code, text))
	return err
}

// writeBatch writes complete frames with one writev system call (more when
// the kernel takes them in parts), bounded by the write timeout. frames is
// consumed.
func (w *wireWriter) writeBatch(frames net.Buffers) (int64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closeSent {
		return 0, errCloseSent
	}
	w.armDeadline()
	if w.coalesce {
		return w.writeCoalesced(frames)
	}
	w.bufs = frames
	n, err := w.bufs.WriteTo(w.conn)
	w.bufs = nil
	return n, err
}

// armDeadline makes sure a write starting now has between half the write
// timeout and the whole of it to finish. Setting a deadline costs a runtime
// timer update (about 6% of the server's CPU at 300k deliveries/s when done
// per batch), so it is renewed only when less than half of it is left.
// Called with w.mu held.
func (w *wireWriter) armDeadline() {
	if w.timeout <= 0 {
		return
	}
	now := time.Now()
	if w.deadline.Sub(now) < w.timeout/2 {
		w.deadline = now.Add(w.timeout)
		_ = w.conn.SetWriteDeadline(w.deadline)
	}
}

// hijackWriter wraps the http.ResponseWriter given to the upgrade handler so
// that the WebSocket library gets small buffers of ours (see
// connReadBufferSize) and writes through a wireWriter.
type hijackWriter struct {
	http.ResponseWriter
	writeTimeout time.Duration

	// Set by Hijack.
	wire *wireWriter
}

// Hijack implements http.Hijacker.
func (h *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := h.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("response writer cannot be hijacked")
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, fmt.Errorf("hijack: %w", err)
	}
	// A hijacked connection has left the pending budget (its ConnState
	// hook released it): unwrap it, so that a plain TCP socket is a
	// *net.TCPConn again and batches go out with writev.
	if pc, ok := conn.(*pendingConn); ok {
		pc.p.release(pc)
		conn = pc.Conn
	}
	raw := conn
	if tc, ok := conn.(*tls.Conn); ok {
		raw = tc.NetConn()
	}
	// Bytes the client sent right after its request (pipelined frames) are
	// already in net/http's buffer: keep them ahead of the socket. The
	// library re-wraps the returned conn for reading, so the bytes must
	// live in the conn, not in the bufio.Reader.
	var rc net.Conn = conn
	if n := brw.Reader.Buffered(); n > 0 {
		early := make([]byte, n)
		if _, err := io.ReadFull(brw.Reader, early); err != nil {
			conn.Close()
			return nil, nil, fmt.Errorf("hijack: read buffered bytes: %w", err)
		}
		rc = &earlyConn{Conn: conn, early: early}
	}
	h.wire = &wireWriter{conn: conn, raw: raw, timeout: h.writeTimeout, coalesce: needsCoalescing(conn)}
	return rc, bufio.NewReadWriter(
		bufio.NewReaderSize(rc, connReadBufferSize),
		bufio.NewWriterSize(h.wire, connWriteBufferSize),
	), nil
}

// earlyConn is a net.Conn whose first reads return bytes that arrived before
// the hijack.
type earlyConn struct {
	net.Conn
	early []byte
}

func (c *earlyConn) Read(p []byte) (int, error) {
	if len(c.early) > 0 {
		n := copy(p, c.early)
		c.early = c.early[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// Unwrap lets http.ResponseController reach the original writer.
func (h *hijackWriter) Unwrap() http.ResponseWriter { return h.ResponseWriter }
