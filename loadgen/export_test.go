package loadgen

// Test hooks.

// SetBeforeSend makes Run call f before each send (f may block: a paused sender).
func SetBeforeSend(c *Config, f func(client int, seq int64)) { c.beforeSend = f }

// SetRunID fixes the run id.
func SetRunID(c *Config, id string) { c.runID = id }

// AtomicHistCounts records vs into an atomic histogram and returns its counts.
func AtomicHistCounts(vs []int64) []int64 {
	h := newAtomicHist()
	for _, v := range vs {
		h.Record(v)
	}
	out := make([]int64, histCountsLen)
	h.addTo(out)
	return out
}

// NewBenchReceiver returns the message func of a receive path for run id
// run with senders senders of seqs probes each, all in one room with the
// receiver, recording into a fresh group; and a func that makes the
// receiver forget what it got (so every probe is a delivery again).
func NewBenchReceiver(run string, senders, seqs int) (message func([]byte), reset func()) {
	t := newTracker(run, 0)
	t.steadyStart.Store(0)
	t.steadyEnd.Store(1 << 62)
	lay, err := newLayout(&Config{Clients: senders + 1, Senders: senders}) // one room; the receiver is client senders
	if err != nil {
		panic(err)
	}
	t.lay, t.perSender = lay, int64(seqs)
	t.probes = make([][]probeRec, senders+1)
	for i := range senders {
		t.probes[i] = make([]probeRec, seqs)
	}
	r := newReceiver(t, newGroup(), senders, 0, senders, 0)
	return r.message, func() {
		clear(r.seen)
		clear(r.top)
		for _, recs := range t.probes {
			clear(recs)
		}
	}
}
