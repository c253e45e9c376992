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

// NewBenchReceiver returns a receive path for run id run with senders
// senders of seqs probes each, recording into fresh shards, and its frame func.
func NewBenchReceiver(run string, senders, seqs int) func([]byte) {
	t := &tracker{run: []byte(run), rooms: 1}
	t.steadyEnd.Store(1 << 62)
	t.probes = make([][]probeRec, senders)
	for i := range t.probes {
		t.probes[i] = make([]probeRec, seqs)
	}
	r := &receiver{t: t, sh: newShard(), last: make([]uint32, senders)}
	return r.frame
}
