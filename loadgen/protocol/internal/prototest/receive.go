package prototest

import (
	"testing"

	"github.com/chatbench/chatbench/loadgen"
)

// Probe is a 100-byte probe as swarm sends it.
func Probe() []byte { return loadgen.AppendProbe(nil, "benchrun", 1, 2, 1, 100, 100) }

// counter is a deliver func that parses probes as swarm's receive path
// does (without its per-receiver accounting) and counts them.
type counter struct{ probes, bad int }

func (c *counter) deliver(text []byte) {
	var p loadgen.Probe
	for {
		var found bool
		var bad int
		text, found, bad = loadgen.NextProbe(text, &p)
		c.bad += bad
		if !found {
			return
		}
		c.probes++
	}
}

// ReceiveProbes asserts that sess.Receive(msg) succeeds and hands over
// want whole probes, and (allocs) that it does so without allocating.
func ReceiveProbes(t *testing.T, sess loadgen.Session, msg []byte, want int, zeroAlloc bool) {
	t.Helper()
	var c counter
	deliver := c.deliver // made once, as swarm's reader makes its own
	if err := sess.Receive(msg, deliver); err != nil {
		t.Fatalf("Receive(%.60q): %v", msg, err)
	}
	if c.probes != want || c.bad != 0 {
		t.Errorf("Receive(%.60q) delivered %d probes (%d bad), want %d", msg, c.probes, c.bad, want)
	}
	if !zeroAlloc {
		return
	}
	if n := testing.AllocsPerRun(200, func() { _ = sess.Receive(msg, deliver) }); n != 0 {
		t.Errorf("Receive allocates %v times per message, want 0", n)
	}
}

// BenchReceive measures a protocol's receive path for msg (a server frame
// holding one chat message) beside raw's for the bare probe: both end in
// the same probe parsing, so the difference is the protocol's.
func BenchReceive(b *testing.B, name string, sess loadgen.Session, msg []byte) {
	var c counter
	deliver := c.deliver
	b.Run("raw", func(b *testing.B) {
		p := Probe()
		b.ReportAllocs()
		b.SetBytes(int64(len(p)))
		for b.Loop() {
			deliver(p)
		}
	})
	b.Run(name, func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			_ = sess.Receive(msg, deliver)
		}
	})
	if c.probes == 0 || c.bad != 0 {
		b.Fatalf("%d probes, %d bad: the frame holds no probe", c.probes, c.bad)
	}
}
