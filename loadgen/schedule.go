package loadgen

import (
	"context"
	"strings"
	"sync"
	"time"
)

// send runs the open-model schedule: sender c's k-th probe is due at
// sendStart + c·interval/senders + k·interval, fixed in advance. A sender
// that falls behind (a slow write, a paused goroutine) sends late, and the
// lateness shows in the latency from due time. Senders are spread over a few
// goroutines; no goroutine per socket writes.
func (r *run) send(ctx context.Context, sendStart, end int64) {
	cfg := r.cfg
	k := min(cfg.Shards, cfg.Senders)
	var wg sync.WaitGroup
	for i := 0; i < k; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.sendShard(ctx, i, k, sendStart, end)
		}()
	}
	wg.Wait()
}

type sender struct {
	c              *client
	prefix, suffix string
	phase          int64 // ns after sendStart of the first probe
	room           int
}

func (r *run) sendShard(ctx context.Context, shard, shards int, sendStart, end int64) {
	cfg, t := r.cfg, r.t
	interval := float64(time.Second) / cfg.Rate
	var list []sender
	maxLen := 0
	r.mu.Lock()
	for id := shard; id < cfg.Senders; id += shards {
		c := r.clients[id]
		if c == nil {
			continue
		}
		rm := id % cfg.Rooms
		msg := expand(cfg.Message, id, rm, "\x00")
		pre, suf, _ := strings.Cut(msg, "\x00")
		list = append(list, sender{c: c, prefix: pre, suffix: suf, room: rm,
			phase: int64(float64(id) * interval / float64(cfg.Senders))})
		maxLen = max(maxLen, len(pre)+len(suf))
	}
	r.mu.Unlock()
	if len(list) == 0 {
		return
	}
	buf := make([]byte, 0, frameHeaderRoom+maxLen+cfg.Size+maxProbeHeader)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	ss, se := t.steadyStart.Load(), t.steadyEnd.Load()
	run := string(t.run)
	mask := uint32(shard+1) * 2654435761
	for seq := int64(0); ; seq++ {
		for i := range list {
			s := &list[i]
			id := s.c.id
			due := sendStart + s.phase + int64(float64(seq)*interval)
			if due >= end || seq >= int64(len(t.probes[id])) {
				return
			}
			if d := due - t.now(); d > 0 {
				timer.Reset(time.Duration(d))
				select {
				case <-ctx.Done():
					return
				case <-timer.C:
				}
			}
			if ctx.Err() != nil {
				return
			}
			if s.c.dead.Load() {
				continue
			}
			if cfg.beforeSend != nil {
				cfg.beforeSend(id, seq)
			}
			rec := &t.probes[id][seq]
			rec.due = due
			exp := int32(r.rooms[s.room].connected.Load())
			if cfg.NoEcho && exp > 0 {
				exp--
			}
			rec.expected = exp
			steady := due >= ss && due < se
			if steady {
				r.steadyExpct.Add(int64(exp))
			}
			rec.sent.Store(true)
			now := t.now()
			buf = buf[:frameHeaderRoom]
			buf = append(buf, s.prefix...)
			buf = AppendProbe(buf, run, int64(id), seq, due, now-due, cfg.Size)
			buf = append(buf, s.suffix...)
			mask = mask*1664525 + 1013904223
			err := s.c.ws.writeText(buf, mask, time.Now().Add(cfg.WriteTimeout))
			r.sends.Add(1)
			if err != nil {
				r.sendErrors.Add(1)
				rec.sent.Store(false)
				if steady {
					r.steadyExpct.Add(-int64(exp))
				}
				s.c.dead.Store(true)
				_ = s.c.ws.nc.Close()
			}
		}
	}
}
