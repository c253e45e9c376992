package server

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chatbench/chatbench/server/broker"
)

// stuckClient is a client whose writer never runs (writeFn does nothing,
// so the queue only grows) with a send queue of sendQueue; the test takes
// batches itself with takeBatch.
func stuckClient(sendQueue int) *client {
	c := &client{srv: &Server{cfg: Config{SendQueue: sendQueue}}}
	c.writeFn = func() {}
	return c
}

// takeBatch does what the writer does when it takes a batch: empties the
// queue and wakes a waiting enqueueWait. It returns how many frames it took.
func takeBatch(c *client) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.queue)
	c.queue = nil
	c.madeRoom()
	return n
}

// waiting reports whether an enqueueWait is waiting for room.
func waiting(c *client) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hasRoom != nil
}

// awaitWaiting waits (bounded) until an enqueueWait waits for room.
func awaitWaiting(t *testing.T, c *client) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !waiting(c) {
		if time.Now().After(deadline) {
			t.Fatal("enqueueWait did not wait for room within 5s")
		}
		time.Sleep(time.Millisecond) // polling the client's state, the signal itself
	}
}

// A frame from a broker that lets the Handler wait takes half the send
// queue, then waits for the writer instead of being refused; the other half
// stays free for the node's own clients' frames.
func TestEnqueueWaitWaitsForTheWriterInHalfTheQueue(t *testing.T) {
	c := stuckClient(8)
	for i := range 4 {
		if r := c.enqueueWait([]byte{byte(i)}, time.Minute); r != queued {
			t.Fatalf("frame %d of the first half: %v, want queued at once", i, r)
		}
	}
	done := make(chan enqueueResult)
	go func() { done <- c.enqueueWait([]byte{4}, time.Minute) }()
	awaitWaiting(t, c)
	// Meanwhile a local frame still finds room (the other half).
	for i := range 4 {
		if r := c.enqueue([]byte{byte(10 + i)}); r != queued {
			t.Fatalf("local frame %d with the waiting half full: %v, want queued", i, r)
		}
	}
	if r := c.enqueue([]byte{99}); r != queueFull {
		t.Fatalf("local frame past the whole queue: %v, want queueFull", r)
	}
	if n := takeBatch(c); n != 8 {
		t.Fatalf("writer took %d frames, want 8", n)
	}
	if r := <-done; r != queued {
		t.Fatalf("waiting frame after the writer took a batch: %v, want queued", r)
	}
	if c.queueLen() != 1 || c.queue[0][0] != 4 {
		t.Fatalf("queue %v, want just the frame that waited", c.queue)
	}
}

// A writer that does not make room within the wait: the frame is enqueued
// as any other (in the half kept for local frames), the client is stalled,
// and later frames do not wait for it until its writer has emptied the
// queue (taking a batch is not enough: it may be behind still).
func TestEnqueueWaitGivesUpOnAStalledWriter(t *testing.T) {
	c := stuckClient(4)
	for i := range 2 {
		_ = c.enqueueWait([]byte{byte(i)}, time.Minute)
	}
	if r := c.enqueueWait([]byte{2}, 10*time.Millisecond); r != queued {
		t.Fatalf("frame after the wait: %v, want queued in the free half", r)
	}
	start := time.Now()
	if r := c.enqueueWait([]byte{3}, time.Minute); r != queued {
		t.Fatalf("next frame to a stalled client: %v, want queued without waiting", r)
	}
	if r := c.enqueueWait([]byte{4}, time.Minute); r != queueFull {
		t.Fatalf("frame past the whole queue of a stalled client: %v, want queueFull", r)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("frames to a stalled client waited %v", d)
	}
	takeBatch(c)
	if !isStalled(c) {
		t.Fatal("no longer stalled after one batch: want stalled until the writer emptied the queue")
	}
	// The writer finds the queue empty and ends (what writeLoop does).
	c.mu.Lock()
	c.writing, c.stalled = false, false
	c.mu.Unlock()
	c.writeFn = func() {}
	for i := range 2 {
		if r := c.enqueueWait([]byte{byte(i)}, time.Minute); r != queued {
			t.Fatalf("frame %d after catching up: %v, want queued", i, r)
		}
	}
	done := make(chan enqueueResult)
	go func() { done <- c.enqueueWait([]byte{9}, time.Minute) }()
	awaitWaiting(t, c) // waited for again
	takeBatch(c)
	if r := <-done; r != queued {
		t.Fatalf("waiting frame: %v, want queued", r)
	}
}

func isStalled(c *client) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stalled
}

// A client that closes wakes a frame waiting for it.
func TestEnqueueWaitEndsWhenTheClientCloses(t *testing.T) {
	c := stuckClient(2)
	_ = c.enqueueWait([]byte{0}, time.Minute)
	done := make(chan enqueueResult)
	go func() { done <- c.enqueueWait([]byte{1}, time.Minute) }()
	awaitWaiting(t, c)
	c.closing(discClientClose)
	if r := <-done; r != queueClosed {
		t.Fatalf("waiting frame after close: %v, want queueClosed", r)
	}
}

// A broker frame waits for all of a room's slow members together, not for
// each in turn: three members whose writers never take a batch hold the
// broadcast for one wait, not three.
func TestBroadcastWaitWaitsOnceForAllSlowMembers(t *testing.T) {
	h := newHub(broker.NewMemory(broker.NewBus()), newMetrics(prometheus.NewRegistry()))
	var members []*client
	for range 3 {
		c := stuckClient(2)
		c.roomName = "r"
		h.join(c)
		if r := c.enqueueWait([]byte{0}, time.Minute); r != queued { // fills the half a broker frame may take
			t.Fatalf("first frame: %v", r)
		}
		members = append(members, c)
	}
	const wait = 300 * time.Millisecond
	start := time.Now()
	n := h.broadcastWait("r", []byte{1}, wait)
	took := time.Since(start)
	if n != 3 || took < wait || took > 2*wait {
		t.Fatalf("queued for %d of 3 in %v: want 3 after one wait of %v (not one per member: %v)", n, took, wait, 3*wait)
	}
	for i, c := range members {
		if !isStalled(c) {
			t.Errorf("member %d not stalled after the wait ran out", i)
		}
	}
}
