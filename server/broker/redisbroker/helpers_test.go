package redisbroker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chatbench/chatbench/server/broker"
	"github.com/chatbench/chatbench/server/broker/brokertest"
)

// sharedURL returns the URL of the shared test Redis (CHATBENCH_REDIS_URL or
// the default). Under -short it skips; otherwise an unreachable server fails
// the test with how to start it.
func sharedURL(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs redis-server (skipped with -short)")
	}
	u := os.Getenv("CHATBENCH_REDIS_URL")
	if u == "" {
		u = DefaultURL
	}
	c := redis.NewClient(mustParse(t, u))
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis not reachable at %s: %v\nstart it with: scripts/services.sh start (or redis-server --bind 127.0.0.1 --port 6379)", u, err)
	}
	return u
}

func mustParse(t *testing.T, u string) *redis.Options {
	t.Helper()
	o, err := redis.ParseURL(u)
	if err != nil {
		t.Fatalf("redis URL %q: %v", u, err)
	}
	return o
}

func uniquePrefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "chatbench-test-" + hex.EncodeToString(b[:]) + ":"
}

// factory returns a NewNode making brokers from base, each with the given
// node ID and lifecycle; nodes of one factory share a unique prefix.
func factory(base Config) brokertest.NewNode {
	base.Prefix = uniquePrefix()
	return func(t testing.TB, id string, l broker.Lifecycle) broker.Broker {
		cfg := base
		cfg.NodeID, cfg.Lifecycle = id, l
		b, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
}
