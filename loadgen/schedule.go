package loadgen

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/chatbench/chatbench/loadgen/wsclient"
)

// schedule is the open-model send schedule of one run, fixed in advance:
// sender c's probe seq is due at start + c·T/senders + seq·T (T = 1/rate).
// Senders, the grace period, the loss accounting and the metrics all read
// due times and the steady phase from it, and nowhere else.
type schedule struct {
	start            int64   // ns on the run clock: the first probe's due time
	interval         float64 // ns between one sender's probes
	lay              *layout
	warmup, duration int64
	perSender        int64 // probes one sender sends at most
}

func newSchedule(cfg *Config, start int64) schedule {
	s := schedule{start: start, lay: cfg.lay, warmup: int64(cfg.Warmup), duration: int64(cfg.Duration),
		perSender: perSenderProbes(cfg)}
	if cfg.Rate > 0 {
		s.interval = float64(time.Second) / cfg.Rate
	}
	return s
}

// perSenderProbes is the most probes one sender sends in warmup + steady.
func perSenderProbes(cfg *Config) int64 {
	if cfg.Rate <= 0 {
		return 0
	}
	return int64(math.Ceil(cfg.Rate*(cfg.Warmup+cfg.Duration).Seconds())) + 1
}

// due is the due time of talker c's probe seq: talkers are spread evenly
// over one interval by their rank among every talker.
func (s schedule) due(c int, seq int64) int64 {
	k := s.lay.rank[c]
	return s.start + int64(float64(k)*s.interval/float64(len(s.lay.talker))) + int64(float64(seq)*s.interval)
}

func (s schedule) steadyStart() int64 { return s.start + s.warmup }
func (s schedule) steadyEnd() int64   { return s.start + s.warmup + s.duration }

// steady reports whether a probe due at due is counted (due in the steady phase).
func (s schedule) steady(due int64) bool { return due >= s.steadyStart() && due < s.steadyEnd() }

// send runs the schedule until the steady phase ends. A sender that falls
// behind (a slow write, a paused goroutine) sends late, and the lateness
// shows in the latency from due time. Senders are spread over a few
// goroutines; no goroutine per socket writes.
func (r *run) send(ctx context.Context, s schedule) {
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

// senders returns the connected talkers of rank k with k%parts == part,
// in rank order (so, for each seq, in due order).
func (r *run) senders(part, parts int) []*client {
	var list []*client
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := part; k < len(r.cfg.lay.talker); k += parts {
		if c := r.clients[r.cfg.lay.talker[k]]; c != nil {
			list = append(list, c)
		}
	}
	return list
}

func (r *run) sendPart(ctx context.Context, s schedule, part, parts int) {
	cfg, t := r.cfg, r.t
	list := r.senders(part, parts)
	if len(list) == 0 {
		return
	}
	probe := make([]byte, 0, cfg.Size+maxProbeHeader)
	buf := make([]byte, 0, wsclient.HeaderRoom+2*cap(probe)+256)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	run := string(t.run)
	mask := uint32(part+1) * 2654435761
	end := s.steadyEnd()
	for seq := int64(0); seq < s.perSender; seq++ {
		for _, c := range list {
			id := c.id
			due := s.due(id, seq)
			if due >= end {
				return
			}
			if !wait(ctx, timer, time.Duration(due-t.now())) {
				return
			}
			if c.dead.Load() {
				continue
			}
			if cfg.beforeSend != nil {
				cfg.beforeSend(id, seq)
			}
			probe = AppendProbe(probe[:0], run, int64(id), seq, due, t.now()-due, cfg.Size)
			var binary bool
			buf, binary = c.sess.AppendMessage(buf[:wsclient.HeaderRoom], probe)
			mask = mask*1664525 + 1013904223
			var err error
			if deadline := time.Now().Add(cfg.WriteTimeout); binary {
				err = c.ws.WriteBinary(buf, mask, deadline)
			} else {
				err = c.ws.WriteText(buf, mask, deadline)
			}
			c.lastWrite.Store(wsclient.CoarseNow())
			r.sends.Add(1)
			if err != nil {
				// A failed write may or may not have reached the server:
				// the probe is not counted as sent, and the socket stops
				// sending (its sent count stays a prefix of the schedule).
				r.sendErrors.Add(1)
				c.dead.Store(true)
				_ = c.ws.NetConn().Close()
				continue
			}
			c.sent.Store(int32(seq + 1))
		}
	}
}
