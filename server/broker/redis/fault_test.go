package redisbroker

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chatbench/chatbench/server/broker"
	"github.com/chatbench/chatbench/server/broker/brokertest"
	"github.com/chatbench/chatbench/server/broker/internal/brokerkit"
)

// TestFaultServerRestart kills a dedicated redis-server under two nodes and
// starts it again on the same port: both notice (Ready, up gauge), Publish
// fails and is counted while it is down, both reconnect by themselves,
// re-subscribe every wanted room (including one added, and minus one removed,
// while Redis was down), and delivery resumes.
func TestFaultServerRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts its own redis-server (skipped with -short)")
	}
	srv := startRedis(t, 0)
	prefix := uniquePrefix(t)
	newNode := func(t *testing.T, id string) broker.Broker {
		b, err := New(Config{URL: srv.url(), Prefix: prefix, NodeID: id,
			ReconnectMin: 20 * time.Millisecond, ReconnectMax: 300 * time.Millisecond, HealthCheck: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a := brokertest.StartNode(t, newNode, "a")
	b := brokertest.StartNode(t, newNode, "b")
	ab, bb := a.Broker.(*Broker), b.Broker.(*Broker)
	room, added, removed := "kept", "added-while-down", "removed-while-down"
	b.Subscribe(room)
	b.Subscribe(removed)
	brokertest.AwaitSubscribed(t, a, b, room, removed)

	srv.stop()
	for _, n := range []*Broker{ab, bb} {
		if !waitUntil(5*time.Second, func() bool { return n.Ready() != nil && !n.Stats().Up }) {
			t.Fatalf("%s: still ready 5s after redis-server was killed: %s", n.cfg.NodeID, fmtStats(n.Stats()))
		}
	}
	t.Logf("while down, Ready = %v", bb.Ready())
	before := ab.Stats()
	const lost = 3
	for range lost {
		if err := a.Publish(context.Background(), broker.Message{Room: room, Origin: "a", Payload: []byte("lost")}); err == nil {
			t.Fatal("Publish succeeded while Redis was down")
		}
	}
	after := ab.Stats()
	if d := after.Errors[brokerkit.OpPublish] - before.Errors[brokerkit.OpPublish]; d != lost {
		t.Errorf("errors{op=publish} grew by %d, want %d", d, lost)
	}
	if d := after.Dropped[brokerkit.DropDown] - before.Dropped[brokerkit.DropDown]; d != lost {
		t.Errorf("dropped{reason=backend_down} grew by %d, want %d", d, lost)
	}
	b.Subscribe(added)
	b.Unsubscribe(removed)

	srv.start() // same port, empty server: no subscriptions survive
	for _, n := range []*Broker{ab, bb} {
		if !waitUntil(10*time.Second, func() bool { return n.Ready() == nil }) {
			t.Fatalf("%s: not ready 10s after redis-server restarted: %v", n.cfg.NodeID, n.Ready())
		}
		if s := n.Stats(); s.Reconnects < 1 || !s.Up || s.Errors[brokerkit.OpReceive] < 1 {
			t.Errorf("%s: after restart stats %s, want reconnects>=1, up, errors{receive}>=1", n.cfg.NodeID, fmtStats(s))
		}
	}
	// Delivery resumes in the kept room and works in the room added while
	// down: the node re-subscribed on the new server by itself.
	brokertest.AwaitSubscribed(t, a, b, room, added)
	if err := a.Publish(context.Background(), broker.Message{Room: room, Origin: "a", Payload: []byte("back")}); err != nil {
		t.Fatal(err)
	}
	if !b.Recorder().Wait(5*time.Second, func() bool { return len(b.Recorder().Messages(room)) == 1 }) {
		t.Fatalf("no delivery after restart; got %d", len(b.Recorder().Messages(room)))
	}
	if got := b.Recorder().Messages(room); string(got[0].Payload) != "back" {
		t.Errorf("got %q, want the message sent after restart (messages sent while down are lost, not replayed)", got[0].Payload)
	}
	rc := redis.NewClient(&redis.Options{Addr: srv.addr()})
	defer rc.Close()
	n, err := rc.PubSubNumSub(context.Background(), prefix+room, prefix+added, prefix+removed).Result()
	if err != nil {
		t.Fatal(err)
	}
	if n[prefix+room] != 1 || n[prefix+added] != 1 || n[prefix+removed] != 0 {
		t.Errorf("subscribers on the restarted server = %v, want kept=1 added=1 removed=0", n)
	}
}

// TestFaultServerHang freezes a dedicated redis-server (SIGSTOP: the TCP
// connection stays open but nothing answers, like a network partition): the
// health check notices within a few periods, Ready reports down, and after
// SIGCONT the node reconnects and delivery resumes. An idle but healthy
// connection, before the freeze, is not mistaken for a dead one.
func TestFaultServerHang(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts its own redis-server (skipped with -short)")
	}
	srv := startRedis(t, 0)
	prefix := uniquePrefix(t)
	const hc = 200 * time.Millisecond
	newNode := func(t *testing.T, id string) broker.Broker {
		b, err := New(Config{URL: srv.url(), Prefix: prefix, NodeID: id, HealthCheck: hc,
			ReconnectMin: 20 * time.Millisecond, ReconnectMax: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a := brokertest.StartNode(t, newNode, "a")
	b := brokertest.StartNode(t, newNode, "b")
	bb := b.Broker.(*Broker)
	room := "hang"
	b.Subscribe(room)
	brokertest.AwaitSubscribed(t, a, b, room)

	// Idle for several health-check periods: PINGs keep it alive.
	idle := time.NewTimer(5 * hc)
	<-idle.C
	if err := bb.Ready(); err != nil || bb.Stats().Errors[brokerkit.OpReceive] != 0 {
		t.Fatalf("idle healthy connection declared dead: %v %s", err, fmtStats(bb.Stats()))
	}

	if err := srv.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	defer func() {
		if !resumed {
			_ = srv.cmd.Process.Signal(syscall.SIGCONT)
		}
	}()
	t0 := time.Now()
	if !waitUntil(5*time.Second, func() bool { return bb.Ready() != nil }) {
		t.Fatalf("frozen server not noticed within 5s (health check %v)", hc)
	}
	t.Logf("frozen server noticed after %v: %v", time.Since(t0), bb.Ready())
	_ = srv.cmd.Process.Signal(syscall.SIGCONT)
	resumed = true
	if !waitUntil(10*time.Second, func() bool { return bb.Ready() == nil }) {
		t.Fatalf("not ready 10s after SIGCONT: %v", bb.Ready())
	}
	brokertest.AwaitSubscribed(t, a, b, room)
	if s := bb.Stats(); s.Reconnects < 1 {
		t.Errorf("reconnects = %d, want >= 1", s.Reconnects)
	}
}
