package stomp

import (
	"time"

	"github.com/chatbench/chatbench/loadgen/wsclient"
)

// session is one client's STOMP session.
type session struct {
	conn           *wsclient.Conn
	every          time.Duration // negotiated client heart-beat (0: none)
	prefix, suffix []byte        // a SEND frame around the probe
}

var eol = []byte{'\n'}

func (s *session) AppendMessage(dst, text []byte) ([]byte, bool) {
	dst = append(dst, s.prefix...)
	dst = append(dst, text...)
	return append(dst, s.suffix...), false
}

// Receive hands every MESSAGE body to deliver; heart-beats and receipts
// are dropped, an ERROR ends the session.
func (s *session) Receive(msg []byte, deliver func([]byte)) error {
	for {
		f, rest, ok, err := next(msg)
		if err != nil || !ok {
			return err
		}
		switch string(f.command) {
		case "MESSAGE":
			deliver(f.body)
		case "ERROR":
			return errorOf(f)
		}
		msg = rest
	}
}

func (s *session) Keepalive() time.Duration { return s.every }

// SendKeepalive writes a heart-beat: one EOL.
func (s *session) SendKeepalive(deadline time.Time) error {
	if s.every == 0 {
		return nil
	}
	var buf [wsclient.HeaderRoom + 1]byte
	copy(buf[wsclient.HeaderRoom:], eol)
	return s.conn.WriteText(buf[:], 0x5f3759df, deadline)
}
