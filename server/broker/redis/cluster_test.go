package redisbroker

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chatbench/chatbench/server/broker"
	"github.com/chatbench/chatbench/server/broker/brokertest"
)

// startCluster starts a 3-master Redis Cluster on free loopback ports, in
// temporary directories, and stops it when the test ends.
func startCluster(t *testing.T) []string {
	t.Helper()
	if _, err := exec.LookPath("redis-cli"); err != nil {
		t.Fatalf("redis-cli not installed: %v; install redis-server (scripts/services.sh start)", err)
	}
	var addrs []string
	for range 3 {
		s := startRedis(t, 0, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "2000")
		addrs = append(addrs, s.addr())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "redis-cli", append(append([]string{"--cluster", "create"}, addrs...), "--cluster-yes")...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	// Wait until every node agrees the cluster is ok.
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a})
		ok := waitUntil(15*time.Second, func() bool {
			info, err := c.ClusterInfo(ctx).Result()
			return err == nil && strings.Contains(info, "cluster_state:ok")
		})
		c.Close()
		if !ok {
			t.Fatalf("cluster node %s not ok within 15s", a)
		}
	}
	return addrs
}

// TestCluster starts a real 3-master Redis Cluster and runs, over sharded
// pub/sub (SPUBLISH/SSUBSCRIBE):
//   - Conformance: the shared suite;
//   - SpreadsSubscriptionsOverShards: one node subscribed to rooms on every
//     shard holds a subscription on each master (one per room in total) and
//     receives from all of them.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts a 3-node redis cluster (skipped with -short)")
	}
	addrs := startCluster(t)
	prefix := uniquePrefix(t)
	newNode := func(t *testing.T, id string) broker.Broker {
		b, err := New(Config{ClusterAddrs: addrs, Prefix: prefix, NodeID: id})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	t.Run("Conformance", func(t *testing.T) { brokertest.Run(t, newNode) })
	t.Run("SpreadsSubscriptionsOverShards", func(t *testing.T) { testClusterSpread(t, addrs, prefix, newNode) })
}

func testClusterSpread(t *testing.T, addrs []string, prefix string, newNode brokertest.NewNode) {
	a := brokertest.StartNode(t, newNode, "a")
	b := brokertest.StartNode(t, newNode, "b")
	var rooms []string
	for i := range 30 {
		rooms = append(rooms, "spread-"+itoa(i))
		b.Subscribe(rooms[i])
	}
	brokertest.AwaitSubscribed(t, a, b, rooms...)
	total := int64(0)
	for _, addr := range addrs {
		c := redis.NewClient(&redis.Options{Addr: addr})
		var chans []string
		for _, r := range rooms {
			chans = append(chans, prefix+r)
		}
		// SHARDNUMSUB counts subscribers on this node only.
		res, err := c.Do(context.Background(), append([]any{"pubsub", "shardnumsub"}, toAny(chans)...)...).Slice()
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
		t.Errorf("subscribe errors: %s", fmtStats(s))
	}
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
