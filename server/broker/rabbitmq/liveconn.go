package rabbitmq

import (
	"net"

	"github.com/chatbench/chatbench/server/broker/internal/brokerkit"
)

// liveConn is an AMQP connection's socket that notes when the server last
// sent anything, heartbeats included: what the health check watches.
type liveConn struct {
	net.Conn
	live brokerkit.Liveness
}

// Read implements net.Conn.
func (c *liveConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.live.Heard()
	}
	return n, err
}
