package brokertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/chatbench/chatbench/server/broker"
)

// Node is a started broker with a recording Handler.
type Node struct {
	broker.Broker
	ID  string
	rec *Recorder
}

// Recorder records what a Handler received, except probes.
type Recorder struct {
	mu     sync.Mutex
	byRoom map[string][]broker.Message
	probes map[string]int
	wake   chan struct{}
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder {
	return &Recorder{byRoom: map[string][]broker.Message{}, probes: map[string]int{}, wake: make(chan struct{}, 1)}
}

// Handle is a broker.Handler.
func (r *Recorder) Handle(m broker.Message) {
	r.mu.Lock()
	if m.Origin == probeOrigin {
		r.probes[m.Room]++
	} else {
		r.byRoom[m.Room] = append(r.byRoom[m.Room], m)
	}
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Messages returns a copy of what room received (probes excluded).
func (r *Recorder) Messages(room string) []broker.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]broker.Message(nil), r.byRoom[room]...)
}

// Probes returns how many probes room received.
func (r *Recorder) Probes(room string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.probes[room]
}

// Wait waits until cond holds or d passes, re-checking at every delivery (and
// at least every 50 ms). It reports whether cond held.
func (r *Recorder) Wait(d time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-r.wake:
		case <-tick.C:
		case <-deadline.C:
			return cond()
		}
	}
	return true
}

// StartNode creates a node with newNode and the default lifecycle, starts
// it with a Recorder and closes it when the test ends.
func StartNode(t testing.TB, newNode NewNode, id string) *Node {
	t.Helper()
	return StartNodeWith(t, newNode, id, broker.Lifecycle{})
}

// StartNodeWith is StartNode with lifecycle settings l.
func StartNodeWith(t testing.TB, newNode NewNode, id string, l broker.Lifecycle) *Node {
	t.Helper()
	n := &Node{Broker: newNode(t, id, l), ID: id, rec: NewRecorder()}
	t.Cleanup(func() { _ = n.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Start(ctx, id, n.rec.Handle); err != nil {
		t.Fatalf("start %s: %v", id, err)
	}
	return n
}

// startTwo starts nodes a and b with lifecycle l, b subscribed to rooms
// (live when it returns).
func startTwo(t testing.TB, newNode NewNode, l broker.Lifecycle, rooms ...string) (a, b *Node) {
	t.Helper()
	a = StartNodeWith(t, newNode, "a", l)
	b = StartNodeWith(t, newNode, "b", l)
	for _, r := range rooms {
		b.Subscribe(r)
	}
	AwaitSubscribed(t, a, b, rooms...)
	return a, b
}

// Recorder returns the node's recorder.
func (n *Node) Recorder() *Recorder { return n.rec }

// Room returns a room name unique to this test run.
func Room(t testing.TB, name string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s/%s/%s", t.Name(), name, hex.EncodeToString(b[:]))
}

// AwaitSubscribed publishes probes from pub to each room until sub has
// received at least one in every room: proof that sub's subscriptions are
// live. It fails the test after waitFor.
func AwaitSubscribed(t testing.TB, pub, sub *Node, rooms ...string) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for i := 0; time.Now().Before(deadline) && i < 1000; i++ {
		missing := 0
		for _, room := range rooms {
			if sub.rec.Probes(room) == 0 {
				missing++
				_ = pub.Publish(broker.Message{Room: room, Origin: probeOrigin, Payload: []byte("probe")})
			}
		}
		if missing == 0 {
			return
		}
		sub.rec.Wait(50*time.Millisecond, func() bool {
			for _, room := range rooms {
				if sub.rec.Probes(room) == 0 {
					return false
				}
			}
			return true
		})
	}
	for _, room := range rooms {
		if sub.rec.Probes(room) == 0 {
			t.Fatalf("%s never received a probe in room %q published by %s within %v: subscription not applied", sub.ID, room, pub.ID, waitFor)
		}
	}
}

func mustPublish(t testing.TB, n *Node, m broker.Message) {
	t.Helper()
	if err := n.Publish(m); err != nil {
		t.Fatalf("%s publish to %q: %v", n.ID, m.Room, err)
	}
}

// waitCount waits until room on n has at least want messages.
func waitCount(t testing.TB, n *Node, room string, want int) []broker.Message {
	t.Helper()
	n.rec.Wait(waitFor, func() bool { return len(n.rec.Messages(room)) >= want })
	got := n.rec.Messages(room)
	if len(got) < want {
		t.Fatalf("%s got %d messages in %q, want %d (within %v)", n.ID, len(got), room, want, waitFor)
	}
	return got
}
