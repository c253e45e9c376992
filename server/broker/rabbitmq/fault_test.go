package rabbitmq

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/chatbench/chatbench/server/broker"
	"github.com/chatbench/chatbench/server/broker/brokertest"
	"github.com/chatbench/chatbench/server/broker/internal/brokerkit"
)

// TestFaultNodeRestart stops a dedicated RabbitMQ node (its own node name,
// ports and data directory; the shared node on 5672 is never touched) under
// two brokers and starts it again on the same ports: both notice (Ready, up
// gauge), Publish fails and is counted while it is down, both reconnect by
// themselves and re-declare the exchange, their queues and every wanted
// binding (including one added, and minus one removed, while the node was
// down), and delivery resumes.
func TestFaultNodeRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts its own rabbitmq node (skipped with -short)")
	}
	node := startRabbitNode(t)
	newNode := factory(node.url(), "chatbench-fault", func(c *Config) {
		c.ReconnectMin, c.ReconnectMax = 50*time.Millisecond, 300*time.Millisecond
		c.Heartbeat = time.Second
	})
	a := brokertest.StartNode(t, newNode, "a")
	b := brokertest.StartNode(t, newNode, "b")
	ab, bb := a.Broker.(*Broker), b.Broker.(*Broker)
	room, added, removed := "kept", "added-while-down", "removed-while-down"
	b.Subscribe(room)
	b.Subscribe(removed)
	brokertest.AwaitSubscribed(t, a, b, room, removed)

	t0 := time.Now()
	node.stop()
	t.Logf("node stopped in %v", time.Since(t0))
	for _, n := range []*Broker{ab, bb} {
		if !waitUntil(10*time.Second, func() bool { return n.Ready() != nil && !n.Stats().Up }) {
			t.Fatalf("%s: still ready 10s after the node stopped: %+v", n.cfg.NodeID, n.Stats())
		}
	}
	t.Logf("while down, Ready = %v", bb.Ready())
	before := ab.Stats()
	const lost = 3
	for range lost {
		if err := a.Publish(context.Background(), broker.Message{Room: room, Origin: "a", Payload: []byte("lost")}); err == nil {
			t.Fatal("Publish succeeded while RabbitMQ was down")
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

	t0 = time.Now()
	node.start()
	t.Logf("node restarted in %v", time.Since(t0))
	for _, n := range []*Broker{ab, bb} {
		if !waitUntil(10*time.Second, func() bool { return n.Ready() == nil }) {
			t.Fatalf("%s: not ready 10s after the node restarted: %v", n.cfg.NodeID, n.Ready())
		}
		if s := n.Stats(); s.Reconnects < 1 || !s.Up || s.Errors[brokerkit.OpReceive] < 1 {
			t.Errorf("%s: after restart stats %+v, want reconnects>=1, up, errors{receive}>=1", n.cfg.NodeID, s)
		}
	}
	brokertest.AwaitSubscribed(t, a, b, room, added)
	// One publisher channel and one queue keep order: once the marker in
	// "kept" arrives, a message to "removed" sent before it would have too.
	for _, m := range []broker.Message{
		{Room: removed, Origin: "a", Payload: []byte("must not arrive")},
		{Room: room, Origin: "a", Payload: []byte("back")},
	} {
		if err := a.Publish(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	if !b.Recorder().Wait(5*time.Second, func() bool { return len(b.Recorder().Messages(room)) == 1 }) {
		t.Fatalf("no delivery after restart; got %d", len(b.Recorder().Messages(room)))
	}
	if got := b.Recorder().Messages(room); string(got[0].Payload) != "back" {
		t.Errorf("got %q, want the message sent after restart", got[0].Payload)
	}
	if got := b.Recorder().Messages(removed); len(got) != 0 {
		t.Errorf("room unsubscribed while down still delivered %d messages after reconnect", len(got))
	}
}

// TestFaultNodeHang freezes a dedicated RabbitMQ node (SIGSTOP: connections
// stay open but nothing answers, like a network partition): missed AMQP
// heartbeats make the broker report down, and after SIGCONT it reconnects
// and delivery resumes.
func TestFaultNodeHang(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts its own rabbitmq node (skipped with -short)")
	}
	node := startRabbitNode(t)
	newNode := factory(node.url(), "chatbench-hang", func(c *Config) {
		c.ReconnectMin, c.ReconnectMax = 50*time.Millisecond, 300*time.Millisecond
		c.Heartbeat = time.Second
	})
	a := brokertest.StartNode(t, newNode, "a")
	b := brokertest.StartNode(t, newNode, "b")
	bb := b.Broker.(*Broker)
	room := "hang"
	b.Subscribe(room)
	brokertest.AwaitSubscribed(t, a, b, room)

	pidText, err := os.ReadFile(filepath.Join(node.dir, "pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(string(trimSpace(pidText)))
	if err != nil {
		t.Fatal(err)
	}
	proc, err := os.FindProcess(pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := proc.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	defer func() {
		if !resumed {
			_ = proc.Signal(syscall.SIGCONT)
		}
	}()
	t0 := time.Now()
	if !waitUntil(10*time.Second, func() bool { return bb.Ready() != nil }) {
		t.Fatal("frozen node not noticed within 10s (heartbeat 1s)")
	}
	t.Logf("frozen node noticed after %v: %v", time.Since(t0), bb.Ready())
	_ = proc.Signal(syscall.SIGCONT)
	resumed = true
	if !waitUntil(15*time.Second, func() bool { return bb.Ready() == nil }) {
		t.Fatalf("not ready 15s after SIGCONT: %v", bb.Ready())
	}
	brokertest.AwaitSubscribed(t, a, b, room)
	if s := bb.Stats(); s.Reconnects < 1 {
		t.Errorf("reconnects = %d, want >= 1", s.Reconnects)
	}
}
