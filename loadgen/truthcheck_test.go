package loadgen_test

import (
	"bytes"
	"context"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/chatbench/chatbench/loadgen"
)

// Tests of the oracle itself: its counting on a write log whose answer is
// worked out by hand, and its frames read by another WebSocket implementation.

// TestTruthCounter: room A has a0 (the sender), a1 and a2; b0 is in room B.
// a0 sends P1, P2, P3 (due 10, 20, 30). What was written:
//
//	a0: P1 P2 P3        the echo
//	a1: P2 P1 P2 P3 P3  P1 dropped, then resent late (a delivery, out of order); P2 again (duplicate); P3 twice (duplicate)
//	a2: P1 P3           P2 lost
//	b0: P2              misrouted
func TestTruthCounter(t *testing.T) {
	a0, a1, a2 := &tconn{room: "A"}, &tconn{room: "A"}, &tconn{room: "A"}
	b0 := &tconn{room: "B"}
	p1, p2, p3 := probeKey{0, 1}, probeKey{0, 2}, probeKey{0, 3}
	s := &truthServer{conns: []*tconn{a0, a1, a2, b0}, probes: map[probeKey]*sentProbe{}}
	for i, k := range []probeKey{p1, p2, p3} {
		s.probes[k] = &sentProbe{due: int64(10 * (i + 1)), sender: a0, room: "A", members: []*tconn{a0, a1, a2}}
	}
	a0.log = []probeKey{p1, p2, p3}
	a1.log = []probeKey{p2, p1, p2, p3, p3}
	a2.log = []probeKey{p1, p3}
	b0.log = []probeKey{p2}
	cases := []struct {
		name   string
		noEcho bool
		w      dueWindow
		want   truth
	}{
		{"echo", false, allDue, truth{Sent: 3, Expected: 9, Delivered: 8, Lost: 1, Duplicated: 2, Misrouted: 1, OutOfOrder: 1}},
		{"no echo", true, allDue, truth{Sent: 3, Expected: 6, Delivered: 5, Lost: 1, Duplicated: 2, Misrouted: 1, Unexpected: 3, OutOfOrder: 1}},
		// Only P2 counts; P1's late delivery is out of the window.
		{"window", false, dueWindow{15, 25}, truth{Sent: 1, Expected: 3, Delivered: 2, Lost: 1, Duplicated: 1, Misrouted: 1}},
	}
	for _, c := range cases {
		if got := s.truth(c.noEcho, c.w); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

// TestTruthServerFrames: fragmented, batched frames read by coder/websocket
// (which reassembles continuation frames and rejects bad framing) carry
// exactly the wrapped messages, in the order of the server's write log.
func TestTruthServerFrames(t *testing.T) {
	s := startTruth(t, faults{Fragment: 1, BatchMax: 3, Seed: 11})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var conns []*websocket.Conn
	for _, u := range []string{"u0", "u1"} {
		url := strings.NewReplacer("{{room}}", "room0", "{{user}}", u).Replace(s.url)
		c, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		conns = append(conns, c)
	}
	const n = 7
	var sent []string
	for seq := range n {
		p := string(loadgen.AppendProbe(nil, "truthrun", 0, int64(seq), int64(seq+1)*1000, 0, 60))
		sent = append(sent, `{"user":"u0","message":"`+p+`"}`)
		if err := conns[0].Write(ctx, websocket.MessageText, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range conns {
		var got []string
		for len(got) < n {
			_, msg, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("client %d after %d messages: %v", i, len(got), err)
			}
			got = append(got, strings.Split(string(msg), "\n")...)
		}
		if strings.Join(got, "|") != strings.Join(sent, "|") {
			t.Errorf("client %d read %q, want %q", i, got, sent)
		}
		_ = c.Close(websocket.StatusNormalClosure, "")
	}
	s.shutdown()
	frames, fragmented, batched := s.frameCounts()
	for i, c := range s.conns {
		if len(c.log) != n || c.log[0] != (probeKey{0, 0}) || c.log[n-1] != (probeKey{0, n - 1}) {
			t.Errorf("conn %d write log %v", i, c.log)
		}
	}
	if fragmented == 0 || batched == 0 || frames <= fragmented {
		t.Errorf("frames %d, fragmented messages %d, batched frames %d: want every message fragmented, some batched",
			frames, fragmented, batched)
	}
}

// TestSplitInsideProbes: every cut falls inside a probe's fields, and the
// parts put together are the payload.
func TestSplitInsideProbes(t *testing.T) {
	a := string(loadgen.AppendProbe(nil, "abc", 3, 44, 5555, 6, 50))
	b := string(loadgen.AppendProbe(nil, "abc", 7, 8, 9999, 1, 50))
	payload := []byte(`{"message":"` + a + `"}` + "\n" + `{"message":"` + b + `"}`)
	rng := rand.New(rand.NewSource(1))
	for range 200 {
		parts := splitInsideProbes(payload, 3, rng)
		if len(parts) != 3 || !bytes.Equal(bytes.Join(parts, nil), payload) {
			t.Fatalf("parts %q", parts)
		}
		at := 0
		for _, p := range parts[:2] {
			at += len(p)
			fieldsA := strings.Index(string(payload), "cb1.abc.3.")
			fieldsB := strings.Index(string(payload), "cb1.abc.7.")
			inA := at > fieldsA && at < fieldsA+len("cb1.abc.3.44.5555.s6")
			inB := at > fieldsB && at < fieldsB+len("cb1.abc.7.8.9999.s1")
			if !inA && !inB {
				t.Fatalf("cut at %d is not inside a probe's fields: %q", at, parts)
			}
		}
	}
}
