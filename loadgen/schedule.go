package loadgen

import (
	"container/heap"
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatbench/chatbench/loadgen/wsclient"
)

// Phase is one stretch of the steady phase at its own rate per talker (a
// hold, a spike): the steady phase is the phases one after the other.
type Phase struct {
	Name     string        `json:"name"`
	Duration time.Duration `json:"duration"`
	Rate     float64       `json:"rate"` // messages per second per talker
}

// schedule is the open-model send schedule of one run, fixed in advance:
// every talker's due times, the same in every process of the run. With
// constant arrivals at one rate, talker c's probe seq is due at
// start + rank(c)·T/talkers + seq·T (T = 1/rate): talkers spread evenly over
// one interval. With phases the interval follows each phase's rate; with
// Poisson arrivals the gaps are exponential, drawn from the run's seed and
// the talker. Senders, the grace period, the loss accounting and the
// metrics all read due times and the steady phase from it, and nowhere else.
type schedule struct {
	start            int64 // ns on the run clock: where due times count from
	lay              *layout
	warmup, duration int64
	segs             []segment // warmup at the first rate, then each phase
	poisson          bool
	seed             uint64
	perSender        int64 // probes one talker sends at most
}

// segment is a stretch of the schedule at one rate, ending at end (ns after start).
type segment struct {
	end  int64
	rate float64
}

func newSchedule(cfg *Config, start int64) schedule {
	s := schedule{start: start, lay: cfg.lay, warmup: int64(cfg.Warmup), duration: int64(cfg.Duration),
		poisson: cfg.Arrivals == Poisson, seed: uint64(cfg.Seed), perSender: cfg.perSender}
	if len(cfg.Phases) == 0 {
		s.segs = []segment{{end: s.warmup + s.duration, rate: cfg.Rate}}
		return s
	}
	at := s.warmup
	s.segs = []segment{{end: at, rate: cfg.Phases[0].Rate}}
	for _, p := range cfg.Phases {
		at += int64(p.Duration)
		s.segs = append(s.segs, segment{end: at, rate: p.Rate})
	}
	return s
}

// perSenderProbes is the most probes one talker sends in warmup + steady.
func perSenderProbes(cfg *Config) int64 {
	if cfg.Rate <= 0 && len(cfg.Phases) == 0 {
		return 0
	}
	s := newSchedule(cfg, 0)
	if !s.poisson && len(s.segs) == 1 {
		return int64(math.Ceil(cfg.Rate*(cfg.Warmup+cfg.Duration).Seconds())) + 1
	}
	var most int64
	for _, c := range cfg.lay.talker {
		var n int64
		for g := s.dues(int(c)); ; n++ {
			if _, ok := g.next(); !ok {
				break
			}
		}
		most = max(most, n)
	}
	return most
}

func (s *schedule) steadyStart() int64 { return s.start + s.warmup }
func (s *schedule) steadyEnd() int64   { return s.start + s.warmup + s.duration }

// steady reports whether a probe due at due is counted (due in the steady phase).
func (s *schedule) steady(due int64) bool { return due >= s.steadyStart() && due < s.steadyEnd() }

// dueGen yields one talker's due times in order, without allocating.
type dueGen struct {
	s    *schedule
	k    int64   // the talker's rank
	seq  int64   // the next probe's seq
	at   float64 // the next due time, ns after start
	seg  int
	rand rand.PCG
}

// dues returns the generator of talker c's due times.
func (s *schedule) dues(c int) dueGen {
	g := dueGen{s: s, k: int64(s.lay.rank[c])}
	g.rand.Seed(s.seed, uint64(c)^0x9e3779b97f4a7c15)
	if s.poisson {
		g.advance(g.draw())
	} else if n := len(s.lay.talker); n > 0 {
		g.advance(float64(g.k) / float64(n)) // talkers spread evenly over one interval
	}
	return g
}

// next returns the next due time (ns on the run clock), false once past
// the steady phase.
func (g *dueGen) next() (int64, bool) {
	s := g.s
	if g.seg >= len(s.segs) {
		return 0, false
	}
	due := int64(g.at)
	if !s.poisson && len(s.segs) == 1 { // the closed form: exact, no drift
		interval := float64(time.Second) / s.segs[0].rate
		due = int64(float64(g.k)*interval/float64(len(s.lay.talker))) + int64(float64(g.seq)*interval)
		if due >= s.segs[0].end {
			return 0, false
		}
	}
	g.seq++
	g.advance(g.draw())
	return s.start + due, true
}

// draw is the work to the next probe, in expected probes: 1, or an
// exponential draw for Poisson arrivals.
func (g *dueGen) draw() float64 {
	if !g.s.poisson {
		return 1
	}
	u := (float64(g.rand.Uint64()>>11) + 0.5) / (1 << 53)
	return -math.Log(u)
}

// advance moves the next due time on by work expected probes, through
// the segments at their rates (∫ rate dt = work), so a gap that crosses
// into a spike is shortened exactly as the spike's rate says.
func (g *dueGen) advance(work float64) {
	s := g.s
	for g.seg < len(s.segs) {
		seg := s.segs[g.seg]
		if seg.rate > 0 {
			left := (float64(seg.end) - g.at) * seg.rate / float64(time.Second)
			if work < left {
				g.at += work * float64(time.Second) / seg.rate
				return
			}
			work -= left
		}
		g.at = float64(seg.end)
		g.seg++
	}
}

// each calls fn with every probe of talker c in order, until fn returns false.
func (s *schedule) each(c int, fn func(seq, due int64) bool) {
	g := s.dues(c)
	for {
		seq := g.seq
		due, ok := g.next()
		if !ok || !fn(seq, due) {
			return
		}
	}
}

// sentBits records which probes each talker sent from this process: one
// bit per probe, set by the talker's sender goroutine, read by the
// accounting (atomically: the metrics read while senders write).
type sentBits struct {
	per   int64
	words []uint64 // by client: [c*stride ...]
	index []int32  // client → its block; -1: not a talker here
}

func newSentBits(lay *layout, owns func(int) bool, per int64) *sentBits {
	b := &sentBits{per: per, index: make([]int32, len(lay.room))}
	stride := (per + 63) / 64
	n := int32(0)
	for c := range b.index {
		b.index[c] = -1
		if lay.talkIdx[c] >= 0 && owns(c) {
			b.index[c] = n
			n++
		}
	}
	b.words = make([]uint64, int64(n)*stride)
	return b
}

func (b *sentBits) at(c int, seq int64) (*uint64, uint64) {
	stride := (b.per + 63) / 64
	return &b.words[int64(b.index[c])*stride+seq/64], 1 << (uint64(seq) % 64)
}

func (b *sentBits) set(c int, seq int64) {
	w, m := b.at(c, seq)
	atomic.OrUint64(w, m)
}

// sent reports whether talker c (a talker of this process) sent probe seq.
func (b *sentBits) sent(c int, seq int64) bool {
	w, m := b.at(c, seq)
	return atomic.LoadUint64(w)&m != 0
}

// send runs the schedule until the steady phase ends. A sender that falls
// behind (a slow write, a paused goroutine) sends late, and the lateness
// shows in the latency from due time. Talkers are spread over a few
// goroutines by rank; no goroutine per socket writes.
func (r *run) send(ctx context.Context, s *schedule) {
	k := min(r.cfg.ReceiveGroups, len(r.cfg.lay.talker))
	var wg sync.WaitGroup
	for i := 0; i < k; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.sendPart(ctx, s, i, k)
		}()
	}
	wg.Wait()
}

// pending is a talker's next probe in a sender goroutine's queue.
type pending struct {
	c   int
	seq int64
	due int64
	g   dueGen
}

// dueQueue orders pending probes by due time.
type dueQueue []pending

func (q dueQueue) Len() int           { return len(q) }
func (q dueQueue) Less(i, j int) bool { return q[i].due < q[j].due }
func (q dueQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *dueQueue) Push(x any)        { *q = append(*q, x.(pending)) }
func (q *dueQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// queue returns the first probe of every talker of rank k with
// k%parts == part that runs in this process.
func (r *run) queue(s *schedule, part, parts int) dueQueue {
	var q dueQueue
	for k := part; k < len(r.cfg.lay.talker); k += parts {
		c := int(r.cfg.lay.talker[k])
		if !r.t.owns(int64(c)) {
			continue
		}
		g := s.dues(c)
		seq := g.seq
		if due, ok := g.next(); ok {
			q = append(q, pending{c: c, seq: seq, due: due, g: g})
		}
	}
	heap.Init(&q)
	return q
}

func (r *run) sendPart(ctx context.Context, s *schedule, part, parts int) {
	cfg, t := r.cfg, r.t
	q := r.queue(s, part, parts)
	if len(q) == 0 {
		return
	}
	probe := make([]byte, 0, cfg.maxSize()+maxProbeHeader)
	buf := make([]byte, 0, wsclient.HeaderRoom+2*cap(probe)+256)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	mask := uint32(part+1) * 2654435761
	sizes := rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(part)))
	for len(q) > 0 {
		p := &q[0]
		if !wait(ctx, timer, time.Duration(p.due-t.now())) {
			return
		}
		if c := r.clients[p.c].Load(); c != nil && !c.dead.Load() {
			probe, buf = r.sendOne(c, p.seq, p.due, probe, buf, cfg.messageSize(sizes), mask)
			mask = mask*1664525 + 1013904223
		}
		p.seq = p.g.seq
		if due, ok := p.g.next(); ok {
			p.due = due
			heap.Fix(&q, 0)
		} else {
			heap.Pop(&q)
		}
	}
}

// sendOne writes client c's probe seq, due at due, of size bytes, and
// records it sent; probe and buf are the caller's scratch space.
func (r *run) sendOne(c *client, seq, due int64, probe, buf []byte, size int, mask uint32) ([]byte, []byte) {
	cfg, t := &r.cfg, r.t
	if cfg.beforeSend != nil {
		cfg.beforeSend(c.id, seq)
	}
	probe = AppendProbe(probe[:0], t.runID, int64(c.id), seq, due, t.now()-due, size)
	var binary bool
	buf, binary = c.sess.AppendMessage(buf[:wsclient.HeaderRoom], probe)
	var err error
	if deadline := time.Now().Add(cfg.WriteTimeout); binary {
		err = c.ws.WriteBinary(buf, mask, deadline)
	} else {
		err = c.ws.WriteText(buf, mask, deadline)
	}
	c.lastWrite.Store(wsclient.CoarseNow())
	r.sends.Add(1)
	if err != nil {
		// A failed write may or may not have reached the server: the probe
		// is not counted as sent, and the socket stops sending (a socket
		// the workload was closing is no send error).
		if c.leaving.Load() {
			return probe, buf
		}
		r.sendErrors.Add(1)
		c.dead.Store(true)
		_ = c.ws.NetConn().Close()
		return probe, buf
	}
	r.sent.set(c.id, seq)
	return probe, buf
}
