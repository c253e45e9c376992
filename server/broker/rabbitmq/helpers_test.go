package rabbitmq

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/chatbench/chatbench/server/broker"
	"github.com/chatbench/chatbench/server/broker/brokertest"
)

// sharedURL returns the URL of the shared test RabbitMQ (CHATBENCH_AMQP_URL
// or the default). Under -short it skips; otherwise an unreachable server
// fails the test with how to start it.
func sharedURL(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs rabbitmq-server (skipped with -short)")
	}
	u := os.Getenv("CHATBENCH_AMQP_URL")
	if u == "" {
		u = DefaultURL
	}
	c, err := amqp.DialConfig(u, amqp.Config{Dial: amqp.DefaultDial(2 * time.Second)})
	if err != nil {
		t.Fatalf("rabbitmq not reachable at %s: %v\nstart it with: scripts/services.sh start (or rabbitmq-server)", u, err)
	}
	_ = c.Close()
	return u
}

// factory returns a NewNode making brokers on u, each with the given node ID
// and lifecycle; nodes of one factory share a unique exchange, deleted when
// the test ends (exchanges are durable).
func factory(t *testing.T, u string) brokertest.NewNode {
	var b [6]byte
	_, _ = rand.Read(b[:])
	exchange := "chatbench-test-" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		c, err := amqp.DialConfig(u, amqp.Config{Dial: amqp.DefaultDial(2 * time.Second)})
		if err != nil {
			return // the server may be one the test stopped
		}
		defer c.Close()
		if ch, err := c.Channel(); err == nil {
			_ = ch.ExchangeDelete(exchange, false, false)
		}
	})
	return func(t testing.TB, id string, l broker.Lifecycle) broker.Broker {
		b, err := New(Config{URL: u, Exchange: exchange, NodeID: id, Lifecycle: l})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
}
