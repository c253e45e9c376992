package rabbitmq

import (
	"strconv"
	"testing"
	"time"

	"github.com/chatbench/chatbench/server/broker"
	"github.com/chatbench/chatbench/server/broker/brokertest"
	"github.com/chatbench/chatbench/server/broker/internal/brokerkit"
)

// steadyLifecycle makes the fault tests' nodes notice and recover quickly.
var steadyLifecycle = broker.Lifecycle{
	ReconnectMin: 20 * time.Millisecond, ReconnectMax: 300 * time.Millisecond,
	HealthInterval: 200 * time.Millisecond, HealthTimeout: 500 * time.Millisecond,
}

const (
	steadyRate = 1000                   // messages per second
	steadyTick = 10 * time.Millisecond  // published in bursts of rate*tick
	steadyMax  = 60 * steadyRate        // bound on one run's messages
	steadyTail = 500 * time.Millisecond // publishing goes on this long after the fault
)

// tally is what one steady run published: payloads are the message's index.
type tally struct {
	attempted int // Publish calls
	refused   int // of which Publish returned an error (the caller knows it lost them)
}

// publishSteady publishes to room from a, steadyRate a second, while fault
// runs on the test's goroutine (after a second of traffic before it), and
// for steadyTail after it; bounded by steadyMax messages.
func publishSteady(t *testing.T, a *brokertest.Node, room string, fault func()) tally {
	t.Helper()
	stop := make(chan struct{})
	done := make(chan tally)
	go func() {
		var n tally
		tick := time.NewTicker(steadyTick)
		defer tick.Stop()
		perTick := int(steadyRate * steadyTick / time.Second)
		for n.attempted < steadyMax {
			select {
			case <-stop:
				done <- n
				return
			case <-tick.C:
			}
			for range perTick {
				err := a.Publish(broker.Message{Room: room, Origin: a.ID, Payload: strconv.AppendInt(nil, int64(n.attempted), 10)})
				if err != nil {
					n.refused++
				}
				n.attempted++
			}
		}
		<-stop
		done <- n
	}()
	before := time.NewTimer(time.Second)
	<-before.C // traffic before the fault: a duration, not a state
	t0 := time.Now()
	fault()
	t.Logf("fault took %v", time.Since(t0))
	after := time.NewTimer(steadyTail)
	<-after.C
	close(stop)
	n := <-done
	if n.attempted >= steadyMax {
		t.Fatalf("publishing hit its bound of %d messages", steadyMax)
	}
	return n
}

// awaitEnd publishes an end marker to room until b has it: by order per
// publisher, whatever a published before has then arrived, or never will.
func awaitEnd(t *testing.T, a, b *brokertest.Node, room string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for i := 0; i < 600 && time.Now().Before(deadline); i++ {
		_ = a.Publish(broker.Message{Room: room, Origin: a.ID, Payload: []byte("end")})
		if b.Recorder().Wait(100*time.Millisecond, func() bool { return count(b, room)["end"] > 0 }) {
			return
		}
	}
	t.Fatalf("no end marker reached %s within 60s", b.ID)
}

// count returns how often each payload reached n in room.
func count(n *brokertest.Node, room string) map[string]int {
	c := map[string]int{}
	for _, m := range n.Recorder().Messages(room) {
		c[string(m.Payload)]++
	}
	return c
}

// outcome compares what arrived with what was published: lost are the
// indices published (Publish returned nil or not) that never arrived, dups
// the deliveries beyond the first of an index; foreign counts payloads
// never published.
func outcome(n tally, got map[string]int) (lost, dups, foreign int) {
	for i := range n.attempted {
		k := strconv.Itoa(i)
		switch c := got[k]; {
		case c == 0:
			lost++
		case c > 1:
			dups += c - 1
		}
		delete(got, k)
	}
	delete(got, "end")
	return lost, dups, len(got)
}

// TestFaultsSteady runs the steady-rate fault scenarios on a RabbitMQ node
// of the test's own: a kill -9 and restart, a connection drop from the
// broker's side and a pause (SIGSTOP until the nodes noticed, SIGCONT) in
// the guarantee mode (nothing lost, nothing twice), and the kill in the
// at-most-once mode (its losses, as counted).
func TestFaultsSteady(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts its own rabbitmq node (skipped with -short)")
	}
	node := brokertest.StartRabbit(t)
	t.Run("GuaranteeKillRestart", func(t *testing.T) {
		testGuaranteed(t, node, func(_, _ *brokertest.Node) { node.Kill(t); node.Start(t) })
	})
	t.Run("GuaranteeConnectionDrop", func(t *testing.T) {
		testGuaranteed(t, node, func(_, _ *brokertest.Node) { node.CloseConnections(t) })
	})
	t.Run("GuaranteePause", func(t *testing.T) {
		testGuaranteed(t, node, func(a, b *brokertest.Node) {
			node.Freeze(t)
			defer node.Thaw(t)
			// Paused until both nodes' health checks gave up on it.
			if !brokertest.WaitUntil(10*time.Second, func() bool { return a.Ready() != nil && b.Ready() != nil }) {
				t.Error("a paused broker was not noticed within 10s")
			}
		})
	})
	t.Run("AtMostOnceKillRestart", func(t *testing.T) { testAtMostOnceKill(t, node) })
}

// startSteadyPair starts publisher a and subscriber b on newNode, b
// subscribed to a fresh room (live when it returns).
func startSteadyPair(t *testing.T, newNode brokertest.NewNode) (a, b *brokertest.Node, room string) {
	a = brokertest.StartNodeWith(t, newNode, "a", steadyLifecycle)
	b = brokertest.StartNodeWith(t, newNode, "b", steadyLifecycle)
	room = brokertest.Room(t, "steady")
	b.Subscribe(room)
	brokertest.AwaitSubscribed(t, a, b, room)
	return a, b, room
}

// testGuaranteed: across the fault, every message published at a steady
// 1,000/s reaches the subscriber exactly once, and nothing is counted lost.
func testGuaranteed(t *testing.T, node *brokertest.Rabbit, fault func(a, b *brokertest.Node)) {
	newNode, _ := guaranteeFactory(t, node.URL())
	a, b, room := startSteadyPair(t, newNode)
	n := publishSteady(t, a, room, func() { fault(a, b) })
	awaitEnd(t, a, b, room)
	lost, dups, foreign := outcome(n, count(b, room))
	sa, sb := a.Broker.(*Broker).Stats(), b.Broker.(*Broker).Stats()
	t.Logf("published %d (refused %d): lost %d, duplicates to the handler %d; suppressed duplicates %d; a reconnects %d, b reconnects %d",
		n.attempted, n.refused, lost, dups, sb.Duplicates, sa.Reconnects, sb.Reconnects)
	if n.refused != 0 || lost != 0 || dups != 0 || foreign != 0 {
		t.Errorf("guarantee mode: %d refused, %d lost, %d duplicates, %d unknown of %d published; want all 0",
			n.refused, lost, dups, foreign, n.attempted)
	}
	if sa.Reconnects < 1 || sb.Reconnects < 1 {
		t.Errorf("reconnects a=%d b=%d: the fault did not reach both nodes", sa.Reconnects, sb.Reconnects)
	}
	for _, s := range []brokerkit.Stats{sa, sb} {
		for reason, v := range s.Dropped {
			if v != 0 {
				t.Errorf("dropped{reason=%q} = %d, want 0", reason, v)
			}
		}
	}
}

// testAtMostOnceKill: the at-most-once mode loses messages across a kill
// -9; each Publish that returned an error is counted by the broker's
// metrics, and what was lost beyond them (in flight at the kill, or in the
// subscriber's queue) is what the test's own count finds missing.
func testAtMostOnceKill(t *testing.T, node *brokertest.Rabbit) {
	newNode, _ := factory(t, node.URL())
	a, b, room := startSteadyPair(t, newNode)
	before := a.Broker.(*Broker).Stats()
	n := publishSteady(t, a, room, func() { node.Kill(t); node.Start(t) })
	brokertest.AwaitSubscribed(t, a, b, room) // b's queue is a new one: wait for its binding
	awaitEnd(t, a, b, room)
	lost, dups, foreign := outcome(n, count(b, room))
	sa, sb := a.Broker.(*Broker).Stats(), b.Broker.(*Broker).Stats()
	counted := 0
	for reason, v := range sa.Dropped {
		counted += int(v - before.Dropped[reason])
	}
	for _, v := range sb.Dropped {
		counted += int(v)
	}
	refusedCounted := int(sa.Dropped[brokerkit.DropDown]+sa.Dropped[brokerkit.DropQueueFull]) -
		int(before.Dropped[brokerkit.DropDown]+before.Dropped[brokerkit.DropQueueFull])
	t.Logf("at most once: published %d, arrived %d, lost %d = %d refused by Publish + %d in flight; counted by metrics %d",
		n.attempted, n.attempted-lost, lost, n.refused, lost-n.refused, counted)
	if lost == 0 {
		t.Fatal("the at-most-once mode lost nothing across a kill -9 at 1,000 messages/s")
	}
	if refusedCounted != n.refused {
		t.Errorf("Publish returned %d errors, metrics counted %d (dropped backend_down + publish_queue_full)", n.refused, refusedCounted)
	}
	if counted > lost {
		t.Errorf("metrics count %d lost, more than the %d that did not arrive", counted, lost)
	}
	if dups != 0 || foreign != 0 {
		t.Errorf("%d duplicates and %d unknown payloads arrived", dups, foreign)
	}
}
