package brokertest

import (
	"errors"
	"testing"
	"time"

	"github.com/chatbench/chatbench/server/broker"
	"github.com/chatbench/chatbench/server/broker/internal/brokerkit"
)

// faultLifecycle makes the fault suite's nodes notice and recover quickly.
var faultLifecycle = broker.Lifecycle{
	ReconnectMin: 20 * time.Millisecond, ReconnectMax: 300 * time.Millisecond,
	HealthInterval: 200 * time.Millisecond, HealthTimeout: 500 * time.Millisecond,
}

// statser is what the networked brokers add to broker.Broker.
type statser interface {
	broker.Broker
	Stats() brokerkit.Stats
}

// RunFaults runs the fault scenarios as subtests of t on nodes made by
// newNode, whose backend is p (started, and left running):
//   - Restart: p stops under two nodes and starts again;
//   - Freeze: p stops answering (SIGSTOP) and resumes.
func RunFaults(t *testing.T, p Process, newNode NewNode) {
	t.Run("Restart", func(t *testing.T) { testRestart(t, p, newNode) })
	t.Run("Freeze", func(t *testing.T) { testFreeze(t, p, newNode) })
}

// startPair starts nodes a and b with faultLifecycle, b subscribed to rooms.
func startPair(t *testing.T, newNode NewNode, rooms ...string) (a, b *Node, sa, sb statser) {
	t.Helper()
	a, b = startTwo(t, newNode, faultLifecycle, rooms...)
	return a, b, a.Broker.(statser), b.Broker.(statser)
}

// testRestart: both nodes notice the loss (Ready, up gauge); Publish fails
// and is counted while the backend is down; both reconnect by themselves and
// subscribe every wanted room again (including one added, and minus one
// removed, while the backend was down), and delivery resumes.
func testRestart(t *testing.T, p Process, newNode NewNode) {
	kept, added, removed := Room(t, "kept"), Room(t, "added"), Room(t, "removed")
	a, b, sa, sb := startPair(t, newNode, kept, removed)

	t0 := time.Now()
	p.Stop(t)
	t.Logf("backend stopped in %v", time.Since(t0))
	for _, n := range []statser{sa, sb} {
		if !WaitUntil(10*time.Second, func() bool { return n.Ready() != nil && !n.Stats().Up }) {
			t.Fatalf("still ready 10s after the backend stopped: %+v", n.Stats())
		}
	}
	t.Logf("while down, Ready = %v", sb.Ready())
	before := sa.Stats()
	const lost = 3
	for range lost {
		if err := a.Publish(broker.Message{Room: kept, Origin: "a", Payload: []byte("lost")}); !errors.Is(err, broker.ErrNotReady) {
			t.Fatalf("Publish while the backend was down = %v, want ErrNotReady", err)
		}
	}
	after := sa.Stats()
	if d := after.Errors[brokerkit.OpPublish] - before.Errors[brokerkit.OpPublish]; d != lost {
		t.Errorf("errors{op=publish} grew by %d, want %d", d, lost)
	}
	if d := after.Dropped[brokerkit.DropDown] - before.Dropped[brokerkit.DropDown]; d != lost {
		t.Errorf("dropped{reason=backend_down} grew by %d, want %d", d, lost)
	}
	b.Subscribe(added)
	b.Unsubscribe(removed)

	t0 = time.Now()
	p.Start(t)
	t.Logf("backend restarted in %v", time.Since(t0))
	for _, n := range []statser{sa, sb} {
		if !WaitUntil(15*time.Second, func() bool { return n.Ready() == nil }) {
			t.Fatalf("not ready 15s after the backend restarted: %v", n.Ready())
		}
		s := n.Stats()
		if s.Reconnects < 1 || !s.Up || s.Errors[brokerkit.OpReceive]+s.Errors[brokerkit.OpHealth] < 1 || s.Down <= 0 {
			t.Errorf("after restart stats %+v, want reconnects>=1, up, errors{receive or health}>=1, down time > 0", s)
		}
	}
	AwaitSubscribed(t, a, b, kept, added)
	mustPublish(t, a, broker.Message{Room: removed, Origin: "a", Payload: []byte("must not arrive")})
	mustPublish(t, a, broker.Message{Room: kept, Origin: "a", Payload: []byte("back")})
	if got := waitCount(t, b, kept, 1); len(got) != 1 || string(got[0].Payload) != "back" {
		t.Errorf("kept got %d messages, first %q; want only the one sent after the restart (those sent while down are lost, not replayed)", len(got), got[0].Payload)
	}
	// Rooms may take different paths (dispatchers, cluster shards), so
	// nothing orders removed after kept: watch it a little.
	b.rec.Wait(quiet, func() bool { return len(b.rec.Messages(removed)) > 0 })
	if got := b.rec.Messages(removed); len(got) != 0 {
		t.Errorf("a room unsubscribed while down still got %d messages after the reconnect", len(got))
	}
}

// testFreeze: an idle but healthy connection is not mistaken for a dead one;
// a frozen backend is noticed by the health check within its interval plus
// its timeout, the outage counted from the start of the failed check; after
// the thaw the nodes reconnect and delivery resumes.
func testFreeze(t *testing.T, p Process, newNode NewNode) {
	room := Room(t, "freeze")
	a, b, _, sb := startPair(t, newNode, room)

	// Idle for several health checks: they pass. (Absence has no signal.)
	idle := time.NewTimer(5 * faultLifecycle.HealthInterval)
	<-idle.C
	if s := sb.Stats(); sb.Ready() != nil || s.Errors[brokerkit.OpHealth] != 0 || s.Reconnects != 0 {
		t.Fatalf("idle healthy connection declared dead: %v %+v", sb.Ready(), s)
	}

	p.Freeze(t)
	thawed := false
	defer func() {
		if !thawed {
			p.Thaw(t)
		}
	}()
	t0 := time.Now()
	if !WaitUntil(10*time.Second, func() bool { return sb.Ready() != nil }) {
		t.Fatalf("frozen backend not noticed within 10s (health check every %v, timeout %v)",
			faultLifecycle.HealthInterval, faultLifecycle.HealthTimeout)
	}
	noticed, s := time.Since(t0), sb.Stats()
	t.Logf("frozen backend noticed after %v: %v", noticed, sb.Ready())
	if bound := faultLifecycle.HealthInterval + faultLifecycle.HealthTimeout + time.Second; noticed > bound {
		t.Errorf("noticed after %v, want within %v (interval + timeout + 1s of scheduling)", noticed, bound)
	}
	if s.Errors[brokerkit.OpHealth] < 1 || s.Up {
		t.Errorf("stats %+v, want errors{health}>=1 and down", s)
	}
	if s.Down < faultLifecycle.HealthTimeout {
		t.Errorf("down %v when noticed, want >= the check's timeout %v: the outage counts from the failed check's start", s.Down, faultLifecycle.HealthTimeout)
	}
	p.Thaw(t)
	thawed = true
	if !WaitUntil(15*time.Second, func() bool { return sb.Ready() == nil }) {
		t.Fatalf("not ready 15s after the thaw: %v", sb.Ready())
	}
	AwaitSubscribed(t, a, b, room)
	if s := sb.Stats(); s.Reconnects < 1 {
		t.Errorf("reconnects = %d, want >= 1", s.Reconnects)
	}
}
