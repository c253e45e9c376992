package rabbitmq

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/chatbench/chatbench/server/broker"
	"github.com/chatbench/chatbench/server/broker/brokertest"
)

// sharedURL returns the URL of the shared test RabbitMQ (CHATBENCH_AMQP_URL
// or the default).
func sharedURL(t *testing.T) string {
	return brokertest.SharedURL(t, "CHATBENCH_AMQP_URL", DefaultURL, func(ctx context.Context, u string) error {
		c, err := amqp.DialConfig(u, amqp.Config{Dial: amqp.DefaultDial(2 * time.Second)})
		if err == nil {
			_ = c.Close()
		}
		return err
	})
}

// factory returns a NewNode making brokers on u, each with the given node ID
// and lifecycle; nodes of one factory share a unique exchange, also
// returned, and deleted when the test ends (exchanges are durable).
func factory(t testing.TB, u string) (brokertest.NewNode, string) {
	return factoryWith(t, Config{URL: u})
}

// guaranteeFactory is factory for nodes in the guarantee mode; their
// durable queues are deleted when the test ends too.
func guaranteeFactory(t testing.TB, u string) (brokertest.NewNode, string) {
	return factoryWith(t, Config{URL: u, Guarantee: true})
}

// factoryWith is factory for nodes configured as cfg (URL, Guarantee).
func factoryWith(t testing.TB, cfg Config) (brokertest.NewNode, string) {
	var b [6]byte
	_, _ = rand.Read(b[:])
	exchange := "chatbench-test-" + hex.EncodeToString(b[:])
	var mu sync.Mutex
	ids := map[string]bool{}
	t.Cleanup(func() {
		c, err := amqp.DialConfig(cfg.URL, amqp.Config{Dial: amqp.DefaultDial(2 * time.Second)})
		if err != nil {
			return // the server may be one the test stopped
		}
		defer c.Close()
		if ch, err := c.Channel(); err == nil {
			_ = ch.ExchangeDelete(exchange, false, false)
			mu.Lock()
			defer mu.Unlock()
			for id := range ids {
				if cfg.Guarantee {
					_, _ = ch.QueueDelete(exchange+"."+id, false, false, false)
				}
			}
		}
	})
	return func(t testing.TB, id string, l broker.Lifecycle) broker.Broker {
		mu.Lock()
		ids[id] = true
		mu.Unlock()
		c := cfg
		c.Exchange, c.NodeID, c.Lifecycle = exchange, id, l
		b, err := New(c)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}, exchange
}
