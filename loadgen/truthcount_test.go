package loadgen_test

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/chatbench/chatbench/loadgen/results"
)

// truth is the truth server's own count of a run, by the measurement
// definitions (DESIGN.md "Measurement definitions"), from what it wrote:
//
//   - expected: per probe, the room's members when it was broadcast, minus
//     the sender when the client runs with NoEcho;
//   - delivered: the first copy of a probe at an expected receiver;
//   - duplicated: every further copy of it there, whatever its age;
//   - misrouted: every copy at a client outside the probe's room;
//   - unexpected: every copy at a room member that is not an expected
//     receiver (the sender under NoEcho when the server echoes anyway);
//   - lost: expected - delivered, per probe;
//   - out of order: a delivery at a receiver that already got a later seq
//     of the same sender.
type truth struct {
	Sent, Expected, Delivered, Lost, Duplicated, Misrouted, Unexpected, OutOfOrder int64
}

// fromSummary is swarm's side of the same counts.
func fromSummary(s results.Summary) truth {
	return truth{Sent: s.Sent, Expected: s.Expected, Delivered: s.Delivered, Lost: s.Lost, Duplicated: s.Duplicated,
		Misrouted: s.Misrouted, Unexpected: s.Unexpected, OutOfOrder: s.OutOfOrder}
}

// fields lists the counts by name, in a fixed order.
func (t truth) fields() []struct {
	name string
	v    int64
} {
	return []struct {
		name string
		v    int64
	}{{"sent", t.Sent}, {"expected", t.Expected}, {"delivered", t.Delivered}, {"lost", t.Lost},
		{"duplicated", t.Duplicated}, {"misrouted", t.Misrouted}, {"unexpected", t.Unexpected}, {"out_of_order", t.OutOfOrder}}
}

// diff lists every count where got differs from want, "" when none does.
func (t truth) diff(want truth) string {
	var b strings.Builder
	w := want.fields()
	for i, f := range t.fields() {
		if f.v != w[i].v {
			fmt.Fprintf(&b, " %s %d (truth %d, off by %+d);", f.name, f.v, w[i].v, f.v-w[i].v)
		}
	}
	return b.String()
}

func (t truth) String() string {
	var b strings.Builder
	for i, f := range t.fields() {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", f.name, f.v)
	}
	return b.String()
}

// dueWindow is a steady phase: probes due in [from, to) are counted.
type dueWindow struct{ from, to int64 }

var allDue = dueWindow{math.MinInt64, math.MaxInt64}

func (w dueWindow) has(due int64) bool { return due >= w.from && due < w.to }

// truth counts what the server wrote, for a client that runs with noEcho,
// over the probes due in w. Call it after shutdown.
func (s *truthServer) truth(noEcho bool, w dueWindow) truth {
	s.mu.Lock()
	defer s.mu.Unlock()
	var t truth
	for _, p := range s.probes {
		if !w.has(p.due) {
			continue
		}
		t.Sent++
		t.Expected += int64(len(p.members))
		if noEcho && slices.Contains(p.members, p.sender) {
			t.Expected--
		}
	}
	for _, c := range s.conns {
		countConn(&t, c, c.writeLog(), s.probes, noEcho, w)
	}
	t.Lost = t.Expected - t.Delivered
	return t
}

// countConn adds what was written to c (log, in order) to t.
func countConn(t *truth, c *tconn, log []probeKey, probes map[probeKey]*sentProbe, noEcho bool, w dueWindow) {
	seen := map[probeKey]bool{}
	latest := map[int64]int64{} // sender -> highest seq c got from it
	for _, k := range log {
		p := probes[k]
		inRoom := c.room == p.room
		counted := w.has(p.due)
		switch {
		case !inRoom:
			if counted {
				t.Misrouted++
			}
		case noEcho && c == p.sender, !slices.Contains(p.members, c):
			if counted {
				t.Unexpected++
			}
		case seen[k]:
			if counted {
				t.Duplicated++
			}
		default:
			seen[k] = true
			if l, ok := latest[k.client]; counted && ok && l > k.seq {
				t.OutOfOrder++
			}
			if counted {
				t.Delivered++
			}
		}
		if l, ok := latest[k.client]; inRoom && (!ok || k.seq > l) {
			latest[k.client] = k.seq
		}
	}
}
