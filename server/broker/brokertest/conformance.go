// Package brokertest is the conformance suite every broker.Broker passes.
//
// A backend's test calls Run with a NewNode function that returns a fresh,
// unstarted node connected to the same backend as every other node it
// returns (the same Bus for memory, the same server and prefix for redis,
// the same exchange for rabbitmq):
//
//	func TestConformance(t *testing.T) {
//		bus := broker.NewBus()
//		brokertest.Run(t, func(testing.TB, string, broker.Lifecycle) broker.Broker { return broker.NewMemory(bus) })
//	}
//
// The networked brokers also pass RunSupervised (queues, drops, dispatch)
// and RunFaults (a backend of the test's own stopped, restarted, frozen and
// thawed under the nodes: StartRedis, StartRedisCluster, StartRabbit).
//
// Rooms are unique per test (the test name plus a random suffix), so runs
// sharing one server never see each other's messages. Subscribe is
// asynchronous, so the suite waits for it by a signal: it publishes probe
// messages until one arrives (bounded in count and time). Only checks that
// something does NOT arrive use a bounded quiet window, since absence has no
// signal.
package brokertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatbench/chatbench/server/broker"
)

// NewNode returns a new, unstarted broker node named id, sharing a backend
// with the other nodes of the same test, with lifecycle settings l (the
// memory broker has none and ignores it). The suite starts it, with id as
// its node ID, and closes it.
type NewNode func(t testing.TB, id string, l broker.Lifecycle) broker.Broker

const (
	// probeOrigin marks the suite's subscription probes; recorders skip them.
	probeOrigin = "brokertest-probe"
	// waitFor bounds every wait for a delivery.
	waitFor = 10 * time.Second
	// quiet is how long a check that nothing arrives watches.
	quiet = 300 * time.Millisecond
)

// Run runs the conformance suite as subtests of t.
func Run(t *testing.T, newNode NewNode) {
	t.Run("StartReady", func(t *testing.T) { testStartReady(t, newNode) })
	t.Run("DeliversToSubscribedNode", func(t *testing.T) { testDelivers(t, newNode) })
	t.Run("OnlySubscribedRooms", func(t *testing.T) { testOnlySubscribed(t, newNode) })
	t.Run("UnsubscribeStopsDelivery", func(t *testing.T) { testUnsubscribe(t, newNode) })
	t.Run("ResubscribeAfterUnsubscribe", func(t *testing.T) { testResubscribe(t, newNode) })
	t.Run("PayloadAndOriginExact", func(t *testing.T) { testPayloads(t, newNode) })
	t.Run("RoomNamesWithSpecialCharacters", func(t *testing.T) { testSpecialRooms(t, newNode) })
	t.Run("ManyRooms", func(t *testing.T) { testManyRooms(t, newNode) })
	t.Run("OrderPerPublisher", func(t *testing.T) { testOrder(t, newNode) })
	t.Run("ConcurrentSubscribeUnsubscribe", func(t *testing.T) { testConcurrentSubs(t, newNode) })
	t.Run("SubscribeBeforeStart", func(t *testing.T) { testSubscribeBeforeStart(t, newNode) })
	t.Run("CloseIdempotentPublishAfterClose", func(t *testing.T) { testClose(t, newNode) })
	t.Run("OwnMessagesNotDelivered", func(t *testing.T) { testOwnMessages(t, newNode) })
}

func testStartReady(t *testing.T, newNode NewNode) {
	a := StartNode(t, newNode, "a")
	ok := a.rec.Wait(waitFor, func() bool { return a.Ready() == nil })
	if !ok {
		t.Fatalf("Ready after Start: %v", a.Ready())
	}
	if a.Name() == "" {
		t.Fatal("Name is empty")
	}
}

func testDelivers(t *testing.T, newNode NewNode) {
	room := Room(t, "r")
	a, b := startTwo(t, newNode, broker.Lifecycle{}, room)
	const n = 20
	for i := range n {
		mustPublish(t, a, broker.Message{Room: room, Origin: "a", Payload: fmt.Appendf(nil, `{"i":%d}`, i)})
	}
	got := waitCount(t, b, room, n)
	for i, m := range got[:n] {
		if m.Room != room || m.Origin != "a" || string(m.Payload) != fmt.Sprintf(`{"i":%d}`, i) {
			t.Fatalf("message %d = {%q %q %q}", i, m.Room, m.Origin, m.Payload)
		}
	}
	if len(got) != n {
		t.Fatalf("got %d messages, want %d (duplicates?)", len(got), n)
	}
}

func testOnlySubscribed(t *testing.T, newNode NewNode) {
	a := StartNode(t, newNode, "a")
	b := StartNode(t, newNode, "b")
	yes, no := Room(t, "yes"), Room(t, "no")
	b.Subscribe(yes)
	AwaitSubscribed(t, a, b, yes)
	// A subscribed to "no" too: the message exists on the backend, but B
	// must not get it. (A publishes it as if from another node, "x", so that
	// A itself gets it.)
	a.Subscribe(no)
	AwaitSubscribed(t, b, a, no)
	for i := range 5 {
		mustPublish(t, a, broker.Message{Room: no, Origin: "x", Payload: fmt.Appendf(nil, "no-%d", i)})
	}
	mustPublish(t, a, broker.Message{Room: yes, Origin: "a", Payload: []byte("marker")})
	waitCount(t, b, yes, 1)
	waitCount(t, a, no, 5) // the "no" messages were published and delivered to A
	b.rec.Wait(quiet, func() bool { return len(b.rec.Messages(no)) > 0 })
	if got := b.rec.Messages(no); len(got) != 0 {
		t.Fatalf("B received %d messages for a room it never subscribed", len(got))
	}
}

func testUnsubscribe(t *testing.T, newNode NewNode) {
	a := StartNode(t, newNode, "a")
	b := StartNode(t, newNode, "b")
	// The shared {hash tag} puts both rooms in one Redis Cluster slot, so
	// one subscriber connection carries both and the order argument below
	// holds on every backend.
	tag := "{" + Room(t, "tag") + "}"
	room, other := Room(t, "left")+tag, Room(t, "other")+tag
	b.Subscribe(room)
	AwaitSubscribed(t, a, b, room)
	mustPublish(t, a, broker.Message{Room: room, Origin: "a", Payload: []byte("before")})
	waitCount(t, b, room, 1)

	b.Unsubscribe(room)
	// Changes apply in call order: once "other" is live, the unsubscribe
	// before it was applied too.
	b.Subscribe(other)
	AwaitSubscribed(t, a, b, other)
	for i := range 5 {
		mustPublish(t, a, broker.Message{Room: room, Origin: "a", Payload: fmt.Appendf(nil, "after-%d", i)})
	}
	mustPublish(t, a, broker.Message{Room: other, Origin: "a", Payload: []byte("marker")})
	waitCount(t, b, other, 1)
	b.rec.Wait(quiet, func() bool { return len(b.rec.Messages(room)) > 1 })
	if got := b.rec.Messages(room); len(got) != 1 {
		t.Fatalf("B got %d messages in %q after unsubscribing, want only the 1 before", len(got)-1, room)
	}
}

func testResubscribe(t *testing.T, newNode NewNode) {
	a := StartNode(t, newNode, "a")
	b := StartNode(t, newNode, "b")
	room := Room(t, "r")
	b.Subscribe(room)
	b.Unsubscribe(room)
	b.Subscribe(room)
	b.Unsubscribe(room)
	b.Subscribe(room) // last call wins
	AwaitSubscribed(t, a, b, room)
	mustPublish(t, a, broker.Message{Room: room, Origin: "a", Payload: []byte("x")})
	waitCount(t, b, room, 1)
}

func testPayloads(t *testing.T, newNode NewNode) {
	a := StartNode(t, newNode, "a")
	b := StartNode(t, newNode, "b")
	room := Room(t, "p")
	b.Subscribe(room)
	AwaitSubscribed(t, a, b, room)

	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	big := make([]byte, 64<<10)
	_, _ = rand.Read(big)
	payloads := [][]byte{
		[]byte(`{"user":"ü","room":"r","message":"héllo \"w\" \u2603"}`),
		all,
		{0, 0, 0},
		{0xff, 0xfe, 0x80, 0xc0}, // invalid UTF-8
		[]byte("x"),
		big,
	}
	origins := []string{"a", "node-ä/1:2", strings.Repeat("o", 200), "a", "a", "a"}
	for i, p := range payloads {
		mustPublish(t, a, broker.Message{Room: room, Origin: origins[i], Payload: p})
	}
	got := waitCount(t, b, room, len(payloads))
	for i, m := range got {
		if i >= len(payloads) {
			t.Fatalf("extra message %d", i)
		}
		if !bytes.Equal(m.Payload, payloads[i]) {
			t.Errorf("payload %d: got %d bytes, want %d bytes, not byte-exact", i, len(m.Payload), len(payloads[i]))
		}
		if m.Origin != origins[i] {
			t.Errorf("origin %d = %q, want %q", i, m.Origin, origins[i])
		}
		if m.Room != room {
			t.Errorf("room %d = %q, want %q", i, m.Room, room)
		}
	}
}

func testSpecialRooms(t *testing.T, newNode NewNode) {
	a := StartNode(t, newNode, "a")
	b := StartNode(t, newNode, "b")
	base := Room(t, "s")
	// Characters with meaning to some backend: topic wildcards and
	// separators (AMQP), glob patterns (Redis PSUBSCRIBE), spaces, Unicode.
	subscribed := []string{base + ".*", base + ".#", base + "#", base + " sp ace", base + "/ü☃", base + "?[a]"}
	notSubscribed := []string{base + ".x", base + ".x.y", base + "x", base + "/ü", base + "a"}
	for _, r := range subscribed {
		b.Subscribe(r)
	}
	AwaitSubscribed(t, a, b, subscribed...)
	for _, r := range notSubscribed {
		mustPublish(t, a, broker.Message{Room: r, Origin: "a", Payload: []byte("wrong " + r)})
	}
	for _, r := range subscribed {
		mustPublish(t, a, broker.Message{Room: r, Origin: "a", Payload: []byte("right " + r)})
	}
	for _, r := range subscribed {
		got := waitCount(t, b, r, 1)
		if string(got[0].Payload) != "right "+r {
			t.Errorf("room %q got %q", r, got[0].Payload)
		}
	}
	b.rec.Wait(quiet, func() bool { return false })
	for _, r := range notSubscribed {
		if got := b.rec.Messages(r); len(got) != 0 {
			t.Errorf("room %q (not subscribed) got %d messages: room names leak into matching", r, len(got))
		}
	}
	for _, r := range subscribed {
		if got := b.rec.Messages(r); len(got) != 1 {
			t.Errorf("room %q got %d messages, want 1", r, len(got))
		}
	}
}

func testManyRooms(t *testing.T, newNode NewNode) {
	a := StartNode(t, newNode, "a")
	b := StartNode(t, newNode, "b")
	const n = 300
	rooms := make([]string, n)
	base := Room(t, "m")
	for i := range rooms {
		rooms[i] = fmt.Sprintf("%s-%d", base, i)
		b.Subscribe(rooms[i])
	}
	AwaitSubscribed(t, a, b, rooms...)
	for i, r := range rooms {
		mustPublish(t, a, broker.Message{Room: r, Origin: "a", Payload: fmt.Appendf(nil, "%d", i)})
	}
	for i, r := range rooms {
		got := waitCount(t, b, r, 1)
		if len(got) != 1 || string(got[0].Payload) != fmt.Sprint(i) {
			t.Fatalf("room %d: got %d messages, first %q", i, len(got), got[0].Payload)
		}
	}
}

func testOrder(t *testing.T, newNode NewNode) {
	a := StartNode(t, newNode, "a")
	c := StartNode(t, newNode, "c")
	b := StartNode(t, newNode, "b")
	room := Room(t, "o")
	b.Subscribe(room)
	AwaitSubscribed(t, a, b, room)
	AwaitSubscribed(t, c, b, room)
	const n = 500
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, p := range []*Node{a, c} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				if err := p.Publish(broker.Message{Room: room, Origin: p.ID, Payload: fmt.Appendf(nil, "%d", i)}); err != nil {
					errs <- fmt.Errorf("%s publish %d: %w", p.ID, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := waitCount(t, b, room, 2*n)
	next := map[string]int{}
	for _, m := range got {
		want := next[m.Origin]
		if string(m.Payload) != fmt.Sprint(want) {
			t.Fatalf("from %s: got %q, want %d: order per publisher not kept", m.Origin, m.Payload, want)
		}
		next[m.Origin]++
	}
	if next["a"] != n || next["c"] != n {
		t.Fatalf("got a=%d c=%d, want %d each", next["a"], next["c"], n)
	}
}

func testConcurrentSubs(t *testing.T, newNode NewNode) {
	a := StartNode(t, newNode, "a")
	b := StartNode(t, newNode, "b")
	base := Room(t, "c")
	const workers, rooms, rounds = 8, 10, 50
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				r := fmt.Sprintf("%s-%d-%d", base, w, i%rooms)
				b.Subscribe(r)
				b.Unsubscribe(r)
			}
		}()
	}
	wg.Wait()
	// Final state: worker 0's rooms subscribed, everything else not.
	final := make([]string, rooms)
	for i := range final {
		final[i] = fmt.Sprintf("%s-0-%d", base, i)
		b.Subscribe(final[i])
	}
	AwaitSubscribed(t, a, b, final...)
	gone := fmt.Sprintf("%s-1-0", base)
	mustPublish(t, a, broker.Message{Room: gone, Origin: "a", Payload: []byte("gone")})
	mustPublish(t, a, broker.Message{Room: final[0], Origin: "a", Payload: []byte("marker")})
	waitCount(t, b, final[0], 1)
	b.rec.Wait(quiet, func() bool { return len(b.rec.Messages(gone)) > 0 })
	if len(b.rec.Messages(gone)) != 0 {
		t.Fatal("message delivered for a room whose last call was Unsubscribe")
	}
}

func testSubscribeBeforeStart(t *testing.T, newNode NewNode) {
	a := StartNode(t, newNode, "a")
	room := Room(t, "early")
	b := &Node{Broker: newNode(t, "b", broker.Lifecycle{}), ID: "b", rec: NewRecorder()}
	t.Cleanup(func() { _ = b.Close() })
	b.Subscribe(room)
	if err := b.Start(context.Background(), "b", b.rec.Handle); err != nil {
		t.Fatalf("start: %v", err)
	}
	AwaitSubscribed(t, a, b, room)
	mustPublish(t, a, broker.Message{Room: room, Origin: "a", Payload: []byte("x")})
	waitCount(t, b, room, 1)
}

func testClose(t *testing.T, newNode NewNode) {
	a := StartNode(t, newNode, "a")
	a.Subscribe(Room(t, "r"))
	if err := a.Close(); err != nil {
		t.Fatalf("first Close: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	err := a.Publish(broker.Message{Room: Room(t, "r"), Origin: "a", Payload: []byte("x")})
	if !errors.Is(err, broker.ErrClosed) {
		t.Fatalf("Publish after Close = %v, want broker.ErrClosed", err)
	}
	// Subscribe and Unsubscribe after Close must not block or panic.
	a.Subscribe("x")
	a.Unsubscribe("x")
}

// testOwnMessages: a node subscribed to a room it publishes to never gets its
// own messages back (it delivered them locally), but gets the others'.
func testOwnMessages(t *testing.T, newNode NewNode) {
	room := Room(t, "own")
	_, b := startTwo(t, newNode, broker.Lifecycle{}, room)
	for i := range 5 {
		mustPublish(t, b, broker.Message{Room: room, Origin: "b", Payload: fmt.Appendf(nil, "own-%d", i)})
	}
	// Published after b's own by the same node: once it arrives, b's own
	// messages were received and dropped (order per publisher).
	mustPublish(t, b, broker.Message{Room: room, Origin: "x", Payload: []byte("marker")})
	got := waitCount(t, b, room, 1)
	if len(got) != 1 || got[0].Origin != "x" {
		t.Fatalf("b got %d messages, first from %q: want only the marker, not its own", len(got), got[0].Origin)
	}
}
