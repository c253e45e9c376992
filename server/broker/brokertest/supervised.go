package brokertest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/chatbench/chatbench/server/broker"
	"github.com/chatbench/chatbench/server/broker/internal/brokerkit"
)

// RunSupervised runs, as subtests of t, what the networked brokers share
// beyond the conformance suite: the bounded queues and what they count, and
// dispatch through lanes.
func RunSupervised(t *testing.T, newNode NewNode) {
	t.Run("PublishBeforeStart", func(t *testing.T) { testPublishBeforeStart(t, newNode) })
	t.Run("PublishQueueFull", func(t *testing.T) { testPublishQueueFull(t, newNode) })
	t.Run("SlowHandlerDropsAndCounts", func(t *testing.T) { testSlowHandler(t, newNode) })
	t.Run("OwnMessagesTakeNoQueuePlace", func(t *testing.T) { testOwnTakeNoPlace(t, newNode) })
	t.Run("StuckRoomStallsOnlyItsDispatcher", func(t *testing.T) { testStuckRoom(t, newNode) })
}

func testPublishBeforeStart(t *testing.T, newNode NewNode) {
	b := newNode(t, "a", broker.Lifecycle{})
	defer b.Close()
	if err := b.Publish(broker.Message{Room: "r"}); !errors.Is(err, broker.ErrNotReady) {
		t.Errorf("Publish before Start = %v, want ErrNotReady", err)
	}
}

// testPublishQueueFull: with a one-message queue, a burst overflows it;
// every overflow is an error to the caller (ErrQueueFull) and is counted.
func testPublishQueueFull(t *testing.T, newNode NewNode) {
	n := StartNodeWith(t, newNode, "a", broker.Lifecycle{PublishQueue: 1})
	full := 0
	for i := 0; i < 100000 && full < 10; i++ {
		err := n.Publish(broker.Message{Room: "q", Origin: "a", Payload: []byte("x")})
		if errors.Is(err, broker.ErrQueueFull) {
			full++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if full == 0 {
		t.Fatal("a one-message queue never filled during a 100000-message burst")
	}
	s := n.Broker.(statser).Stats()
	if s.Dropped[brokerkit.DropQueueFull] != uint64(full) || s.Errors[brokerkit.OpPublish] != uint64(full) {
		t.Errorf("%d ErrQueueFull returned, counted dropped=%d errors=%d", full, s.Dropped[brokerkit.DropQueueFull], s.Errors[brokerkit.OpPublish])
	}
}

// held is a Handler that records every message and blocks on the one with
// payload "hold" until released.
type held struct {
	mu      sync.Mutex
	got     []broker.Message
	entered chan struct{} // closed when "hold" arrives
	release chan struct{}
}

func newHeld() *held { return &held{entered: make(chan struct{}), release: make(chan struct{})} }

func (h *held) handle(m broker.Message) {
	if string(m.Payload) == "hold" {
		close(h.entered)
		<-h.release
	}
	h.mu.Lock()
	h.got = append(h.got, m)
	h.mu.Unlock()
}

// payloads returns what room got, from "hold" on.
func (h *held) payloads(room string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, m := range h.got {
		if m.Room == room && (len(out) > 0 || string(m.Payload) == "hold") {
			out = append(out, string(m.Payload))
		}
	}
	return out
}

func (h *held) count(room string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, m := range h.got {
		if m.Room == room {
			n++
		}
	}
	return n
}

// startHeld starts node "sub" with a held Handler and lifecycle l,
// subscribed to room, and gets the Handler stuck on "hold" published by pub
// in room. Pub's probes went first in the same room, so the dispatcher's
// queue is empty then.
func startHeld(t *testing.T, newNode NewNode, pub *Node, room string, l broker.Lifecycle) (statser, *held) {
	t.Helper()
	sub := newNode(t, "sub", l).(statser)
	h := newHeld()
	t.Cleanup(func() {
		select {
		case <-h.release:
		default:
			close(h.release)
		}
		_ = sub.Close()
	})
	if err := sub.Start(context.Background(), "sub", h.handle); err != nil {
		t.Fatal(err)
	}
	sub.Subscribe(room)
	probe(t, pub, h, room)
	mustPublish(t, pub, broker.Message{Room: room, Origin: "pub", Payload: []byte("hold")})
	select {
	case <-h.entered:
	case <-time.After(waitFor):
		t.Fatalf("the held message never reached the Handler within %v", waitFor)
	}
	return sub, h
}

// probe publishes probes from pub to room until h got one.
func probe(t *testing.T, pub *Node, h *held, room string) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for h.count(room) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("subscription to %q never delivered within %v", room, waitFor)
		}
		mustPublish(t, pub, broker.Message{Room: room, Origin: "pub", Payload: []byte("probe")})
		WaitUntil(50*time.Millisecond, func() bool { return h.count(room) > 0 })
	}
}

// waitDropped waits until sub counted exactly want deliver-queue drops.
func waitDropped(t *testing.T, sub statser, want uint64) {
	t.Helper()
	dropped := func() uint64 { return sub.Stats().Dropped[brokerkit.DropDeliverFull] }
	if !WaitUntil(waitFor, func() bool { return dropped() >= want }) || dropped() != want {
		t.Fatalf("dropped %d with the Handler stuck, want %d", dropped(), want)
	}
}

// releaseAndExpect lets the Handler go on, publishes want's last payload
// from pub, and checks that room's payloads from "hold" on are want.
func (h *held) releaseAndExpect(t *testing.T, pub *Node, room string, want ...string) {
	t.Helper()
	close(h.release)
	last := want[len(want)-1]
	mustPublish(t, pub, broker.Message{Room: room, Origin: "pub", Payload: []byte(last)})
	done := func() bool { p := h.payloads(room); return len(p) > 0 && p[len(p)-1] == last }
	WaitUntil(waitFor, done)
	if got := h.payloads(room); !slices.Equal(got, want) {
		t.Fatalf("handled %q, want %q", got, want)
	}
}

// testSlowHandler: a Handler that blocks does not block the reader: of 300
// messages sent behind the held one, the queue of 4 keeps 4 and the other
// 296 are dropped and counted; the node stays ready; delivery resumes once
// the Handler does.
func testSlowHandler(t *testing.T, newNode NewNode) {
	pub := StartNode(t, newNode, "pub")
	room := Room(t, "slow")
	sub, h := startHeld(t, newNode, pub, room, broker.Lifecycle{DeliverQueue: 4})
	const n = 300
	for i := range n {
		mustPublish(t, pub, broker.Message{Room: room, Origin: "pub", Payload: fmt.Append(nil, i)})
	}
	waitDropped(t, sub, n-4)
	if err := sub.Ready(); err != nil {
		t.Fatalf("Ready with a slow handler: %v", err)
	}
	h.releaseAndExpect(t, pub, room, "hold", "0", "1", "2", "3", "after")
}

// testOwnTakeNoPlace: with the Handler stuck and a queue of 4, the node's
// own 50 messages, echoed back by the backend, take no place: of the 6
// foreign-origin messages the node publishes after them, 4 are queued and 2
// dropped (were the own ones queued, 52 would be dropped).
func testOwnTakeNoPlace(t *testing.T, newNode NewNode) {
	pub := StartNode(t, newNode, "pub")
	room := Room(t, "own")
	sub, h := startHeld(t, newNode, pub, room, broker.Lifecycle{DeliverQueue: 4})
	for i := range 50 {
		if err := sub.Publish(broker.Message{Room: room, Origin: "sub", Payload: fmt.Appendf(nil, "own-%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 6 {
		if err := sub.Publish(broker.Message{Room: room, Origin: "z", Payload: fmt.Appendf(nil, "z%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	waitDropped(t, sub, 2) // the last two: every message of sub was read
	h.releaseAndExpect(t, pub, room, "hold", "z0", "z1", "z2", "z3", "end")
}

// testStuckRoom: while the Handler is stuck on one room, a room of the other
// dispatcher is still delivered.
func testStuckRoom(t *testing.T, newNode NewNode) {
	pub := StartNode(t, newNode, "pub")
	stuck := Room(t, "stuck")
	free := ""
	for i := 0; free == ""; i++ {
		if r := fmt.Sprint(stuck, "-free-", i); brokerkit.LaneOf(r, 2) != brokerkit.LaneOf(stuck, 2) {
			free = r
		}
	}
	sub, h := startHeld(t, newNode, pub, stuck, broker.Lifecycle{Dispatchers: 2})
	sub.Subscribe(free)
	probe(t, pub, h, free) // fails the test if free gets nothing
}

// StartFails starts b, which must fail within 4 s with an error containing
// every one of mentions; Ready and Publish must fail after it.
func StartFails(t *testing.T, b broker.Broker, mentions ...string) error {
	t.Helper()
	defer b.Close()
	t0 := time.Now()
	err := b.Start(context.Background(), "a", func(broker.Message) {})
	if err == nil {
		t.Fatal("Start succeeded")
	}
	if d := time.Since(t0); d > 4*time.Second {
		t.Errorf("Start took %v, want < 4s", d)
	}
	for _, want := range mentions {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if b.Ready() == nil {
		t.Error("Ready() = nil after a failed Start")
	}
	if err := b.Publish(broker.Message{Room: "r"}); !errors.Is(err, broker.ErrNotReady) {
		t.Errorf("Publish after a failed Start = %v, want ErrNotReady", err)
	}
	return err
}

// LintMetrics checks a broker's collector, registered on reg: it passes
// client_golang's linter, exposes every series (6 ops + reconnects + up +
// down seconds + 5 reasons) with backend label backend, down and with no
// reconnect yet.
func LintMetrics(t *testing.T, reg *prometheus.Registry, c prometheus.Collector, backend string) {
	t.Helper()
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	n, err := testutil.GatherAndCount(reg)
	if err != nil {
		t.Fatal(err)
	}
	if n != 14 {
		t.Errorf("gathered %d series, want 14", n)
	}
	want := fmt.Sprintf(`
# HELP chatbench_backend_reconnects_total Successful reconnections to the backend after the connection was lost.
# TYPE chatbench_backend_reconnects_total counter
chatbench_backend_reconnects_total{backend=%[1]q} 0
# HELP chatbench_backend_up 1 while the backend is connected, 0 otherwise.
# TYPE chatbench_backend_up gauge
chatbench_backend_up{backend=%[1]q} 0
`, backend)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "chatbench_backend_reconnects_total", "chatbench_backend_up"); err != nil {
		t.Error(err)
	}
}
