package rabbitmq

import (
	"fmt"
	"testing"
)

// TestDedup: each message id passes once, whatever the order of the
// repeats; ids of distinct publishers never collide; a forgotten
// (unseen) id passes again; ids older than the window count as repeats.
func TestDedup(t *testing.T) {
	d := newDedup()
	passed := 0
	for _, seq := range []uint64{1, 2, 3, 5, 4, 3, 1, 5, 6, 2, 9, 7, 8, 9} {
		if !d.seen("p", seq) {
			passed++
		}
	}
	if passed != 9 { // 1..9 once each
		t.Errorf("%d of the sequence passed, want 9 (1 to 9 once)", passed)
	}
	if d.seen("q", 1) {
		t.Error("another publisher's seq 1 taken for a repeat")
	}
	d.unsee("q", 1)
	if d.seen("q", 1) {
		t.Error("an unseen id did not pass again")
	}
	if !d.seen("q", 1) {
		t.Error("the id passed twice after unsee and seen")
	}
	if d.seen("p", 9+dedupWindow) {
		t.Error("a new id far ahead taken for a repeat")
	}
	if !d.seen("p", 9) {
		t.Error("an id a window behind the newest passed")
	}
	if d.seen("p", 10+dedupWindow/2) {
		t.Error("an id inside the window, never seen, taken for a repeat (bits not cleared on the jump)")
	}
}

// TestDedupForgetsLeastRecentPublisher: past dedupPublishers publishers the
// one heard from least recently is forgotten, the others kept.
func TestDedupForgetsLeastRecentPublisher(t *testing.T) {
	d := newDedup()
	for i := range dedupPublishers {
		d.seen(fmt.Sprint(i), 1)
	}
	d.seen("0", 2) // publisher 0 is now the most recent; 1 the least
	d.seen("new", 1)
	if len(d.pubs) != dedupPublishers {
		t.Fatalf("%d publishers tracked, want %d", len(d.pubs), dedupPublishers)
	}
	if _, ok := d.pubs["1"]; ok {
		t.Error("the least recent publisher was kept")
	}
	if !d.seen("0", 1) {
		t.Error("the most recent publisher was forgotten")
	}
}

func TestSplitID(t *testing.T) {
	o := newOutbox("node:a/00ff", 10)
	pub, seq, ok := splitID(o.messageID(42))
	if !ok || pub != "node:a/00ff" || seq != 42 {
		t.Errorf("splitID(%q) = %q %d %v", o.messageID(42), pub, seq, ok)
	}
	for _, bad := range []string{"", "noseq", "p:", "p:x", "p:-1"} {
		if _, _, ok := splitID(bad); ok {
			t.Errorf("splitID(%q) accepted", bad)
		}
	}
}

// A publisher's whole retry buffer resent after newer messages arrived:
// every resend is still new to the filter (none taken for a duplicate),
// however large a buffer is asked for.
func TestDedupReachesAWholeRetryBuffer(t *testing.T) {
	cfg := &Config{Guarantee: true, NodeID: "n", RetryBuffer: 1 << 20}
	newGuarantee(cfg)
	if cfg.RetryBuffer > dedupWindow || cfg.RetryBuffer < DefaultRetryBuffer {
		t.Fatalf("retry buffer %d: want at most the filter's %d and at least the default %d", cfg.RetryBuffer, dedupWindow, DefaultRetryBuffer)
	}
	d := newDedup()
	n := uint64(cfg.RetryBuffer)
	// The newest message arrived first; the buffer's n unconfirmed ones
	// before it (seq 1 .. n-1) are resent after.
	if d.seen("p", n) {
		t.Fatal("first id taken for a repeat")
	}
	for seq := uint64(1); seq < n; seq++ {
		if d.seen("p", seq) {
			t.Fatalf("resend %d of a %d-message retry buffer taken for a duplicate", seq, n)
		}
	}
}
