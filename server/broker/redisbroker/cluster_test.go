package redisbroker

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/chatbench/chatbench/server/broker/brokertest"
)

// TestCluster starts a real 3-master Redis Cluster and runs, over sharded
// pub/sub (SPUBLISH/SSUBSCRIBE):
//   - Conformance: the shared suite;
//   - SpreadsSubscriptionsOverShards: one node subscribed to rooms on every
//     shard holds a subscription on each master (one per room in total) and
//     receives from all of them;
//   - Faults: the fault suite, every node of the cluster stopped or frozen
//     at once.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts a 3-node redis cluster (skipped with -short)")
	}
	c := brokertest.StartRedisCluster(t)
	newNode, prefix := factory(Config{ClusterAddrs: c.Addrs()})
	t.Run("Conformance", func(t *testing.T) { brokertest.Run(t, newNode) })
	t.Run("SpreadsSubscriptionsOverShards", func(t *testing.T) { testClusterSpread(t, c.Addrs(), prefix, newNode) })
	t.Run("Faults", func(t *testing.T) { brokertest.RunFaults(t, c, newNode) })
}

func testClusterSpread(t *testing.T, addrs []string, prefix string, newNode brokertest.NewNode) {
	a := brokertest.StartNode(t, newNode, "a")
	b := brokertest.StartNode(t, newNode, "b")
	var rooms []string
	var chans []any
	for i := range 30 {
		room := fmt.Sprint("spread-", i)
		rooms, chans = append(rooms, room), append(chans, prefix+room)
		b.Subscribe(room)
	}
	brokertest.AwaitSubscribed(t, a, b, rooms...)
	total := int64(0)
	for _, addr := range addrs {
		c := redis.NewClient(&redis.Options{Addr: addr})
		// SHARDNUMSUB counts subscribers on this node only.
		res, err := c.Do(context.Background(), append([]any{"pubsub", "shardnumsub"}, chans...)...).Slice()
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		node := int64(0)
		for i := 1; i < len(res); i += 2 {
			node += res[i].(int64)
		}
		if node == 0 {
			t.Errorf("shard %s has no subscriptions: rooms not spread", addr)
		}
		total += node
	}
	if total != int64(len(rooms)) {
		t.Errorf("%d shard subscriptions in the cluster, want %d (one per room)", total, len(rooms))
	}
	if s := b.Broker.(*Broker).Stats(); s.Errors["subscribe"] != 0 {
		t.Errorf("subscribe errors: %+v", s)
	}
}
