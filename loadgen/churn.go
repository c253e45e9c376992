package loadgen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"
)

// Storm is a reconnect storm: at At after sending starts, Share of the
// connected clients drop their sockets at once and reconnect at once.
type Storm struct {
	At    time.Duration `json:"at"`
	Share float64       `json:"share"`
}

// churn takes clients out of their rooms and puts them back while the run
// sends (warmup and steady phase): Churn of the users leave per second,
// each coming back RejoinAfter later, and Storms drop and reconnect many at
// once. A client that leaves closes its socket itself (counted as left, not
// as a socket lost); its probes due while it is away are not sent, and it
// is not an expected receiver of probes due then (membership is logged:
// membership.go). Which clients go is drawn from the run's seed.
type churn struct {
	r    *run
	rng  *rand.Rand
	wg   sync.WaitGroup // rejoins in flight
	due  []rejoin       // pending rejoins, by time
	left int64          // clients churn took out (storms not counted)
}

type rejoin struct {
	at time.Time
	id int
}

// churnTick is how often churn takes clients out.
const churnTick = 50 * time.Millisecond

func (c *Config) churns() bool { return c.Churn > 0 || len(c.Storms) > 0 }

// checkChurn validates the churn settings.
func (c *Config) checkChurn() error {
	if c.Churn < 0 || c.Churn > 1 {
		return fmt.Errorf("churn %g: want a share of the users per second from 0 to 100%%", c.Churn)
	}
	if c.RejoinAfter < 0 {
		return fmt.Errorf("rejoin after %v: want 0 or more", c.RejoinAfter)
	}
	for _, s := range c.Storms {
		if s.At < 0 || s.At >= c.Warmup+c.Duration || !(s.Share > 0) || s.Share > 1 {
			return fmt.Errorf("storm at %v of %g: want a time within warmup + steady phase (%v) and a share above 0 up to 100%%",
				s.At, s.Share, c.Warmup+c.Duration)
		}
	}
	return nil
}

// runChurn runs until end (the steady phase's end on the run clock) or ctx.
func (r *run) runChurn(ctx context.Context, start, end int64) {
	cfg := &r.cfg
	ch := &churn{r: r, rng: rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(cfg.procIndex)+0xc4))}
	storms := append([]Storm(nil), cfg.Storms...)
	sort.Slice(storms, func(i, j int) bool { return storms[i].At < storms[j].At })
	tick := time.NewTicker(churnTick)
	defer tick.Stop()
	defer ch.wg.Wait()
	perSecond := cfg.Churn * float64(len(r.ids))
	for r.t.now() < end {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for len(storms) > 0 && r.t.now() >= start+int64(storms[0].At) {
			ch.storm(ctx, storms[0].Share)
			storms = storms[1:]
		}
		now := min(r.t.now(), end)
		if now < start {
			continue
		}
		// The leaves owed by now follow from the time since sending
		// started, so a late or dropped tick (a busy machine) catches up
		// instead of losing its share.
		for owed := int64(perSecond * time.Duration(now-start).Seconds()); ch.left < owed; ch.left++ {
			id, ok := ch.pick()
			if !ok {
				break // every client drawn was away: the next tick tries again
			}
			ch.leave(id)
			ch.due = append(ch.due, rejoin{at: time.Now().Add(cfg.RejoinAfter), id: id})
		}
		ch.rejoinDue(ctx)
	}
}

// pick draws a connected client of this process.
func (ch *churn) pick() (int, bool) {
	ids := ch.r.ids
	for range 8 { // a few tries: most clients are connected
		id := ids[ch.rng.IntN(len(ids))]
		if c := ch.r.clients[id].Load(); c != nil && !c.leaving.Load() && !c.dead.Load() {
			return id, true
		}
	}
	return 0, false
}

// leave takes client id out: its slot empties (senders skip it) and its
// socket closes.
func (ch *churn) leave(id int) {
	c := ch.r.clients[id].Load()
	if c == nil {
		return
	}
	c.leaving.Store(true)
	ch.r.clients[id].CompareAndSwap(c, nil)
	ch.r.left.Add(1)
	c.ws.Close()
}

// rejoinDue reconnects the clients whose time away is over.
func (ch *churn) rejoinDue(ctx context.Context) {
	now := time.Now()
	keep := ch.due[:0]
	for _, rj := range ch.due {
		if rj.at.After(now) {
			keep = append(keep, rj)
			continue
		}
		ch.back(ctx, rj.id)
	}
	ch.due = keep
}

// back reconnects client id (in the background: a slow connect does not
// hold the churn back).
func (ch *churn) back(ctx context.Context, id int) {
	ch.wg.Add(1)
	go func() {
		defer ch.wg.Done()
		if ch.r.connect(ctx, id) {
			ch.r.rejoined.Add(1)
		}
	}()
}

// storm drops share of the connected clients at once and reconnects them.
func (ch *churn) storm(ctx context.Context, share float64) {
	var ids []int
	for _, id := range ch.r.ids {
		if c := ch.r.clients[id].Load(); c != nil && !c.leaving.Load() && ch.rng.Float64() < share {
			ids = append(ids, id)
		}
	}
	for _, id := range ids {
		ch.leave(id)
	}
	for _, id := range ids {
		ch.back(ctx, id)
	}
}
