// Package wstest speaks WebSocket at the byte level, for tests that act as a
// hostile client would: a flooder that writes frames faster than any
// library would, a socket that never reads, frames the libraries refuse to
// send (invalid UTF-8, a close reason that is not UTF-8). Client frames are
// masked with the key 0, so their payload is sent as is.
package wstest

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Opcodes (RFC 6455 5.2).
const (
	OpText   = 0x1
	OpBinary = 0x2
	OpClose  = 0x8
	OpPing   = 0x9
	OpPong   = 0xa
)

// Upgrade dials addr and upgrades to a WebSocket on /ws?query. It returns
// the connection and a reader positioned after the 101 response (it may
// hold the first frames); with any other answer it returns an error that
// includes the status.
func Upgrade(d *net.Dialer, addr, query string) (net.Conn, *bufio.Reader, error) {
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(nc, "GET /ws?%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", query, addr)
	br := bufio.NewReaderSize(nc, 4096)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("upgrade %s: %w", query, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		nc.Close()
		return nil, nil, fmt.Errorf("upgrade %s: status %d", query, resp.StatusCode)
	}
	_ = nc.SetDeadline(time.Time{})
	return nc, br, nil
}

// Frame is one client frame (FIN set, masked with key 0).
func Frame(opcode byte, payload []byte) []byte {
	n := len(payload)
	f := []byte{0x80 | opcode}
	switch {
	case n <= 125:
		f = append(f, 0x80|byte(n))
	case n <= 0xffff:
		f = append(f, 0x80|126, byte(n>>8), byte(n))
	default:
		f = append(f, 0x80|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	f = append(f, 0, 0, 0, 0) // mask key 0
	return append(f, payload...)
}

// Text is a client text frame.
func Text(s string) []byte { return Frame(OpText, []byte(s)) }

// Close is a client close frame with code and reason (raw bytes: a test
// may send one that is not UTF-8).
func Close(code uint16, reason []byte) []byte {
	return Frame(OpClose, append(binary.BigEndian.AppendUint16(nil, code), reason...))
}

// Repeat is n copies of frame in one buffer, to be written in one call.
func Repeat(frame []byte, n int) []byte {
	out := make([]byte, 0, n*len(frame))
	for range n {
		out = append(out, frame...)
	}
	return out
}

// ServerFrame is a frame read from the server.
type ServerFrame struct {
	Opcode  byte
	Payload []byte
}

// CloseCode is the code of a close frame (0 when it has none).
func (f ServerFrame) CloseCode() uint16 {
	if f.Opcode != OpClose || len(f.Payload) < 2 {
		return 0
	}
	return binary.BigEndian.Uint16(f.Payload)
}

// CloseReason is the reason of a close frame.
func (f ServerFrame) CloseReason() []byte {
	if f.Opcode != OpClose || len(f.Payload) < 2 {
		return nil
	}
	return f.Payload[2:]
}

// ReadFrame reads one unfragmented server frame. A masked frame is an error
// (servers do not mask, RFC 6455 5.1).
func ReadFrame(r io.Reader) (ServerFrame, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return ServerFrame{}, err
	}
	if h[1]&0x80 != 0 {
		return ServerFrame{}, errors.New("masked frame from the server")
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return ServerFrame{}, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return ServerFrame{}, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > 1<<26 {
		return ServerFrame{}, fmt.Errorf("frame of %d bytes", n)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		return ServerFrame{}, err
	}
	return ServerFrame{Opcode: h[0] & 0x0f, Payload: p}, nil
}

// ReadUntilClose reads server frames until a close frame, and returns it
// and the text frames before it.
func ReadUntilClose(r io.Reader) (closeFrame ServerFrame, texts []string, err error) {
	for {
		f, err := ReadFrame(r)
		if err != nil {
			return ServerFrame{}, texts, err
		}
		switch f.Opcode {
		case OpClose:
			return f, texts, nil
		case OpText:
			texts = append(texts, string(f.Payload))
		}
	}
}
