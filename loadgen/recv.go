package loadgen

import (
	"bytes"
	"sync/atomic"
	"time"
)

// shard holds the counters and histograms a group of receivers records into.
// Everything is atomic: no lock per message.
type shard struct {
	dueAll     *atomicHist // every own-run delivery, for the timeline
	dueSteady  *atomicHist // steady phase, latency from due time (headline)
	sendSteady *atomicHist // steady phase, latency from actual send time

	deliveries      atomic.Int64 // every probe received, own and foreign
	own             atomic.Int64 // own-run probes received
	steadyDelivered atomic.Int64 // own-run, steady phase, first copies
	foreign         atomic.Int64 // probes from another run id
	duplicated      atomic.Int64
	outOfOrder      atomic.Int64
	bad             atomic.Int64 // malformed or unknown probes
	frames          atomic.Int64
	_               [64]byte
}

func newShard() *shard {
	return &shard{dueAll: newAtomicHist(), dueSteady: newAtomicHist(), sendSteady: newAtomicHist()}
}

// probeRec is the accounting of one sent probe (one broadcast).
type probeRec struct {
	due      int64 // set by the sender before writing
	expected int32 // room members connected when due; set before writing
	sent     atomic.Bool
	count    atomic.Int32 // distinct deliveries
	first    atomic.Int64 // first receive time, ns (0: none)
	last     atomic.Int64 // last receive time, ns
}

// tracker is the shared, read-mostly state of the receive path.
type tracker struct {
	run         []byte
	base        time.Time    // the monotonic clock origin of due times
	steadyStart atomic.Int64 // ns since base; MaxInt64 until the send phase is scheduled
	steadyEnd   atomic.Int64
	probes      [][]probeRec // [client][seq]; nil for non-senders
	rooms       int          // sender c is index c/rooms within room c%rooms
	// owned[c] says sender c runs in this process (nil: every sender
	// does). Probes of senders in another process count for delivery but
	// are not timed: their due time is on another process's clock.
	owned []bool
}

func (t *tracker) now() int64 { return int64(time.Since(t.base)) }

// receiver is the per-socket state of the receive path.
type receiver struct {
	t  *tracker
	sh *shard
	// last[s] is 1 + the last seq seen from the s-th sender of this room
	// (nil when order tracking is off for this run's size).
	last []uint32
}

// frame handles one received frame payload: every probe in it is accounted.
// It does not allocate.
func (r *receiver) frame(payload []byte) {
	t, sh := r.t, r.sh
	sh.frames.Add(1)
	i := bytes.Index(payload, probePrefix)
	if i < 0 {
		return
	}
	now := t.now() // the receive time: taken once the frame is known to hold a probe
	var p Probe
	rest := payload[i:] // NextProbe need not search again up to the first probe
	for {
		var found bool
		var bad int
		rest, found, bad = NextProbe(rest, &p)
		if bad > 0 {
			sh.bad.Add(int64(bad))
		}
		if !found {
			return
		}
		r.probe(&p, now)
	}
}

func (r *receiver) probe(p *Probe, now int64) {
	t, sh := r.t, r.sh
	sh.deliveries.Add(1)
	if !bytes.Equal(p.Run, t.run) {
		sh.foreign.Add(1) // counts for delivery, never for latency
		return
	}
	if p.Client >= int64(len(t.probes)) || p.Seq >= int64(len(t.probes[p.Client])) {
		sh.bad.Add(1)
		return
	}
	rec := &t.probes[p.Client][p.Seq]
	sh.own.Add(1)
	if r.last != nil && t.rooms > 0 {
		if idx := p.Client / int64(t.rooms); idx < int64(len(r.last)) {
			s1 := uint32(p.Seq + 1)
			switch l := r.last[idx]; {
			case s1 == l:
				sh.duplicated.Add(1)
				return
			case s1 < l:
				sh.outOfOrder.Add(1)
			default:
				r.last[idx] = s1
			}
		}
	}
	rec.count.Add(1)
	if t.owned != nil && !t.owned[p.Client] {
		if p.Due >= t.steadyStart.Load() && p.Due < t.steadyEnd.Load() {
			sh.steadyDelivered.Add(1)
		}
		return
	}
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
	sh.dueAll.Record(nsToUs(lat))
	if p.Due >= t.steadyStart.Load() && p.Due < t.steadyEnd.Load() {
		sh.steadyDelivered.Add(1)
		sh.dueSteady.Record(nsToUs(lat))
		if p.SendDelay >= 0 {
			sh.sendSteady.Record(nsToUs(lat - p.SendDelay))
		}
	}
}

func nsToUs(ns int64) int64 {
	if ns < 1000 {
		return 1
	}
	return ns / 1000
}
