// Package wire holds what every protocol adapter does with its socket
// besides chat messages: writing its own frames (handshakes, heartbeats,
// acks) and reading the server's answers during the handshake.
package wire

import (
	"errors"
	"time"

	"github.com/chatbench/chatbench/loadgen/wsclient"
)

// mask is the masking key of the adapters' own frames (RFC 6455 asks for
// unpredictable keys against proxy cache poisoning, which a load
// generator talking to its own servers need not fear; senders vary theirs).
const mask = 0x6b8b4567

// Write sends payload in one text frame (binary: a binary frame). It
// copies payload, so it allocates: for a protocol's own rare traffic.
func Write(c *wsclient.Conn, payload []byte, binary bool, deadline time.Time) error {
	buf := make([]byte, wsclient.HeaderRoom, wsclient.HeaderRoom+len(payload))
	buf = append(buf, payload...)
	if binary {
		return c.WriteBinary(buf, mask, deadline)
	}
	return c.WriteText(buf, mask, deadline)
}

// WriteString is Write for a text frame.
func WriteString(c *wsclient.Conn, payload string, deadline time.Time) error {
	buf := make([]byte, wsclient.HeaderRoom, wsclient.HeaderRoom+len(payload))
	buf = append(buf, payload...)
	return c.WriteText(buf, mask, deadline)
}

// CloseReason is the server's close frame in err, if err is one: the
// protocols that say why they end a session in the close frame (Centrifuge)
// turn it into their own error.
func CloseReason(err error) (*wsclient.CloseError, bool) {
	var ce *wsclient.CloseError
	ok := errors.As(err, &ce)
	return ce, ok
}
