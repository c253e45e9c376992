package redisbroker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/chatbench/chatbench/server/broker"
	"github.com/chatbench/chatbench/server/broker/brokertest"
)

// sharedURL returns the URL of the shared test Redis (CHATBENCH_REDIS_URL or
// the default).
func sharedURL(t *testing.T) string {
	return brokertest.SharedURL(t, "CHATBENCH_REDIS_URL", DefaultURL, func(ctx context.Context, u string) error {
		c := redis.NewClient(mustParse(t, u))
		defer c.Close()
		return c.Ping(ctx).Err()
	})
}

func mustParse(t *testing.T, u string) *redis.Options {
	t.Helper()
	o, err := redis.ParseURL(u)
	if err != nil {
		t.Fatalf("redis URL %q: %v", u, err)
	}
	return o
}

// factory returns a NewNode making brokers from base, each with the given
// node ID and lifecycle; nodes of one factory share a unique prefix, also
// returned.
func factory(base Config) (brokertest.NewNode, string) {
	var b [6]byte
	_, _ = rand.Read(b[:])
	base.Prefix = "chatbench-test-" + hex.EncodeToString(b[:]) + ":"
	return func(t testing.TB, id string, l broker.Lifecycle) broker.Broker {
		cfg := base
		cfg.NodeID, cfg.Lifecycle = id, l
		b, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}, base.Prefix
}
