package loadgen

import (
	"bytes"
	"math"
	"sync/atomic"
	"time"
)

// group holds the counters and histograms a group of receivers records
// into (a receive group: receivers are spread over a few, so no counter is
// shared by every socket). Everything is atomic: no lock per message.
type group struct {
	dueAll     *atomicHist // every timed delivery, for the timeline and metrics
	dueSteady  *atomicHist // steady phase, latency from due time (headline)
	sendSteady *atomicHist // steady phase, latency from actual send time

	received        atomic.Int64 // every probe copy, own and foreign, every phase
	delivered       atomic.Int64 // deliveries, every phase
	steadyDelivered atomic.Int64 // deliveries of steady-phase probes
	foreign         atomic.Int64 // probes of another run id
	// Copies that are not deliveries, of steady-phase probes (see
	// results.Summary), and stray: all of them, every phase.
	duplicated, misrouted, unexpected, stray atomic.Int64
	outOfOrder                               atomic.Int64
	bad                                      atomic.Int64 // malformed or unknown probes
	_                                        [64]byte
}

func newGroup() *group {
	return &group{dueAll: newAtomicHist(), dueSteady: newAtomicHist(), sendSteady: newAtomicHist()}
}

// probeRec is this process's accounting of one probe (one broadcast).
type probeRec struct {
	delivered atomic.Int32 // deliveries in this process
	first     atomic.Int64 // first receive time, ns (0: none); owned senders only
	last      atomic.Int64 // last receive time, ns
}

// tracker is the shared, read-mostly state of the receive path.
type tracker struct {
	run         []byte
	runID       string       // run, as a string for senders
	base        time.Time    // the monotonic clock origin of due times
	steadyStart atomic.Int64 // ns since base; MaxInt64 until the send phase is scheduled
	steadyEnd   atomic.Int64
	lay         *layout // rooms and talkers
	perSender   int64   // probes a sender sends at most
	noEcho      bool
	// probes[c][seq] for senders c sending here or with a room member
	// here; nil otherwise.
	probes [][]probeRec
	// owned[c] says sender c runs in this process (nil: every sender
	// does). Probes of senders in another process count for delivery but
	// are not timed: their due time is on another process's clock.
	owned []bool
}

func newTracker(run string, origin int64) *tracker {
	t := &tracker{run: []byte(run), runID: run, base: originBase(origin)}
	t.steadyStart.Store(math.MaxInt64)
	t.steadyEnd.Store(math.MaxInt64)
	return t
}

func (t *tracker) now() int64 { return int64(time.Since(t.base)) }

func (t *tracker) owns(c int64) bool { return t.owned == nil || t.owned[c] }

// receiver is the per-socket state of the receive path; only the socket's
// reader goroutine touches it.
type receiver struct {
	t        *tracker
	g        *group
	client   int64
	room     int64
	joinedAt int64 // when it became a member (ns on the run clock)
	// seen has bit (k·perSender + seq) set when the k-th sender of the
	// room's probe seq was delivered here; top[k] is 1 + the highest seq
	// of that sender delivered here.
	seen []uint64
	top  []uint32
	// log, when the run is traced (Config.Trace), keeps every steady copy.
	trace bool
	log   copyLog
}

func newReceiver(t *tracker, g *group, client, room, senders int, joinedAt int64) receiver {
	r := receiver{t: t, g: g, client: int64(client), room: int64(room), joinedAt: joinedAt}
	if t.perSender > 0 && senders > 0 {
		r.seen = make([]uint64, (int64(senders)*t.perSender+63)/64)
		r.top = make([]uint32, senders)
	}
	return r
}

// trackBytes is what newReceiver allocates for a receiver in a room of
// senders senders.
func trackBytes(senders int, perSender int64) int64 {
	return (int64(senders)*perSender+63)/64*8 + int64(senders)*4
}

// message handles one received message: every probe in it is accounted.
// It does not allocate.
func (r *receiver) message(payload []byte) {
	i := bytes.Index(payload, probePrefix)
	if i < 0 {
		return
	}
	now := r.t.now() // the receive time: taken once the message is known to hold a probe
	var p Probe
	rest := payload[i:] // NextProbe need not search again up to the first probe
	for {
		var found bool
		var bad int
		rest, found, bad = NextProbe(rest, &p)
		if bad > 0 {
			r.g.bad.Add(int64(bad))
		}
		if !found {
			return
		}
		r.probe(&p, now)
	}
}

// messageErr is message for wsclient.Conn.ReadLoop (it never fails).
func (r *receiver) messageErr(payload []byte) error {
	r.message(payload)
	return nil
}

// probe accounts one probe copy: a delivery (the first copy at an expected
// receiver), or a duplicate, misrouted or unexpected copy.
func (r *receiver) probe(p *Probe, now int64) {
	t, g := r.t, r.g
	g.received.Add(1)
	if !bytes.Equal(p.Run, t.run) {
		g.foreign.Add(1) // counts as received, never for latency
		return
	}
	if p.Client >= int64(len(t.lay.room)) || p.Seq >= t.perSender || t.lay.talkIdx[p.Client] < 0 {
		g.bad.Add(1)
		return
	}
	steady := p.Due >= t.steadyStart.Load() && p.Due < t.steadyEnd.Load()
	switch {
	case int64(t.lay.room[p.Client]) != r.room:
		r.stray(steady, &g.misrouted)
		return
	case p.Due < r.joinedAt || (t.noEcho && p.Client == r.client):
		r.stray(steady, &g.unexpected)
		return
	}
	k := int64(t.lay.talkIdx[p.Client])
	bit := k*t.perSender + p.Seq
	w, m := bit>>6, uint64(1)<<(bit&63)
	if r.seen[w]&m != 0 {
		r.stray(steady, &g.duplicated)
		r.traceCopy(p, now, steady, true)
		return
	}
	r.seen[w] |= m
	if s1 := uint32(p.Seq + 1); s1 < r.top[k] {
		if steady {
			g.outOfOrder.Add(1)
		}
	} else {
		r.top[k] = s1
	}
	t.probes[p.Client][p.Seq].delivered.Add(1)
	g.delivered.Add(1)
	if steady {
		g.steadyDelivered.Add(1)
	}
	r.traceCopy(p, now, steady, false)
	if t.owns(p.Client) {
		r.time(p, now, steady)
	}
}

// traceCopy keeps a steady copy for the trace.
func (r *receiver) traceCopy(p *Probe, now int64, steady, dup bool) {
	if r.trace && steady {
		r.log = append(r.log, TraceCopy{Due: time.Duration(p.Due), Latency: time.Duration(now - p.Due), Duplicate: dup})
	}
}

func (r *receiver) stray(steady bool, kind *atomic.Int64) {
	r.g.stray.Add(1)
	if steady {
		kind.Add(1)
	}
}

// time records a delivery's latency (sender and receiver share this
// process's clock).
func (r *receiver) time(p *Probe, now int64, steady bool) {
	rec := &r.t.probes[p.Client][p.Seq]
	for {
		cur := rec.first.Load()
		if (cur != 0 && cur <= now) || rec.first.CompareAndSwap(cur, now) {
			break
		}
	}
	for {
		cur := rec.last.Load()
		if cur >= now || rec.last.CompareAndSwap(cur, now) {
			break
		}
	}
	lat := now - p.Due
	r.g.dueAll.Record(nsToUs(lat))
	if steady {
		r.g.dueSteady.Record(nsToUs(lat))
		if p.SendDelay >= 0 {
			r.g.sendSteady.Record(nsToUs(lat - p.SendDelay))
		}
	}
}

func nsToUs(ns int64) int64 {
	if ns < 1000 {
		return 1
	}
	return ns / 1000
}
