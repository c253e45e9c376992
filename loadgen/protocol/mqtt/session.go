package mqtt

import (
	"encoding/binary"
	"sync/atomic"
	"time"

	"github.com/chatbench/chatbench/loadgen/wsclient"
)

// session is one client's MQTT session.
type session struct {
	conn      *wsclient.Conn
	qos       byte
	keepalive time.Duration
	topic     []byte // length-prefixed, as PUBLISH carries it
	// before and after go around the probe in a PUBLISH payload.
	before, after []byte
	nextID        atomic.Uint32 // QoS 1 packet ids of the client's publishes
	// pending holds the start of a packet whose end is in a later frame
	// (reader goroutine only); ack is the reader's PUBACK buffer.
	pending []byte
	ack     [wsclient.HeaderRoom + 4]byte
}

func (s *session) AppendMessage(dst, text []byte) ([]byte, bool) {
	n := len(s.topic) + len(s.before) + len(text) + len(s.after)
	if s.qos > 0 {
		n += 2
	}
	dst = append(dst, typePublish<<4|s.qos<<1)
	dst = appendLength(dst, n)
	dst = append(dst, s.topic...)
	if s.qos > 0 {
		// Ids 1..65535 in turn: far more than a socket ever has in flight.
		dst = binary.BigEndian.AppendUint16(dst, uint16(s.nextID.Add(1)%65535+1))
	}
	dst = append(dst, s.before...)
	dst = append(dst, text...)
	return append(dst, s.after...), true
}

// Receive hands every PUBLISH payload to deliver and acknowledges QoS 1
// ones; PUBACK, SUBACK and PINGRESP need nothing.
func (s *session) Receive(msg []byte, deliver func([]byte)) error {
	return s.packets(msg, func(head byte, body []byte) error {
		if head>>4 != typePublish {
			return nil
		}
		qos, id, payload, err := publishParts(head, body)
		if err != nil {
			return err
		}
		deliver(payload)
		if qos == 1 {
			return s.puback(id)
		}
		return nil
	})
}

// puback acknowledges the server's QoS 1 PUBLISH id, from the reader's own
// buffer (no allocation per message).
func (s *session) puback(id uint16) error {
	b := s.ack[:]
	b[wsclient.HeaderRoom] = typePuback << 4
	b[wsclient.HeaderRoom+1] = 2
	binary.BigEndian.PutUint16(b[wsclient.HeaderRoom+2:], id)
	return s.conn.WriteBinary(b, uint32(id)*2654435761, time.Now().Add(5*time.Second))
}

// packets calls fn with every whole packet of msg, keeping a split
// packet's start for the next msg (the only copy made).
func (s *session) packets(msg []byte, fn func(head byte, body []byte) error) error {
	if len(s.pending) > 0 {
		msg = append(s.pending, msg...)
		s.pending = nil
	}
	for {
		head, body, rest, whole, err := split(msg)
		if err != nil {
			return err
		}
		if !whole {
			if len(rest) > 0 {
				s.pending = append([]byte(nil), rest...)
			}
			return nil
		}
		if err := fn(head, body); err != nil {
			return err
		}
		msg = rest
	}
}

func (s *session) Keepalive() time.Duration { return s.keepalive }

// SendKeepalive writes PINGREQ.
func (s *session) SendKeepalive(deadline time.Time) error {
	b := make([]byte, wsclient.HeaderRoom+2)
	b[wsclient.HeaderRoom] = typePingreq << 4
	return s.conn.WriteBinary(b, 0x3c6ef372, deadline)
}
