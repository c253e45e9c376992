package socketio

import (
	"bytes"
	"time"

	"github.com/chatbench/chatbench/loadgen/wsclient"
)

// session is one client's Socket.IO session.
type session struct {
	conn           *wsclient.Conn
	ns             []byte // the namespace prefix of its packets ("" for /)
	prefix, suffix []byte // an event packet around the probe
	// pongBuf is the reader's buffer for pongs (no allocation per ping).
	pongBuf [wsclient.HeaderRoom + 1]byte
}

func (s *session) AppendMessage(dst, text []byte) ([]byte, bool) {
	dst = append(dst, s.prefix...)
	dst = append(dst, text...)
	return append(dst, s.suffix...), false
}

// Receive hands the data of every event on the namespace to deliver and
// answers pings.
func (s *session) Receive(msg []byte, deliver func([]byte)) error {
	return s.packets(msg, func(kind byte, body []byte) error {
		if kind == '2' {
			deliver(body)
		}
		return nil
	})
}

// packets reads the Engine.IO packets in msg (one per WebSocket message in
// Engine.IO 4; a \x1e-separated payload is read too). It answers pings,
// turns closes, disconnects and connect errors into errors, and calls fn
// with the type and body of the Socket.IO packets of the namespace
// (connect '0', event '2', ack '3').
func (s *session) packets(msg []byte, fn func(kind byte, body []byte) error) error {
	for len(msg) > 0 {
		var pkt []byte
		pkt, msg, _ = bytes.Cut(msg, []byte{0x1e})
		if len(pkt) == 0 {
			continue
		}
		switch pkt[0] {
		case '2': // ping
			if err := s.pong(); err != nil {
				return err
			}
		case '1':
			return disconnect("the server closed the Engine.IO session (close packet)")
		case '4':
			if len(pkt) < 2 {
				continue
			}
			body, ours := s.ofNamespace(pkt[2:])
			if !ours {
				continue
			}
			switch pkt[1] {
			case '4':
				return connectError(body)
			case '1':
				return disconnect("the server disconnected the namespace")
			case '0', '2', '3':
				if err := fn(pkt[1], body); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// ofNamespace strips the namespace from a Socket.IO packet's rest and says
// whether it is the session's namespace.
func (s *session) ofNamespace(rest []byte) ([]byte, bool) {
	if len(s.ns) == 0 {
		return rest, len(rest) == 0 || rest[0] != '/'
	}
	if !bytes.HasPrefix(rest, s.ns) {
		return nil, false
	}
	return rest[len(s.ns):], true
}

// pong answers a heartbeat ping.
func (s *session) pong() error {
	b := s.pongBuf[:]
	b[wsclient.HeaderRoom] = '3'
	return s.conn.WriteText(b, 0x4f1bbcdd, time.Now().Add(5*time.Second))
}
