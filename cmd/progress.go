package cmd

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/chatbench/chatbench/loadgen"
)

// swarmProgress is swarm's live display on a terminal (mpb): connections
// out of N, and the send phase's elapsed time out of its length, with the
// phase and the last second's sends, deliveries and p99 beside them.
type swarmProgress struct {
	p            *mpb.Progress
	conns, clock *mpb.Bar
	clients      int64
	total        int64 // ms

	mu   sync.Mutex
	last loadgen.Status
	once sync.Once
}

// newSwarmProgress draws on w; force draws even when w is not a terminal
// (--progress always: frames are then appended, not redrawn).
func newSwarmProgress(w io.Writer, clients int, total time.Duration, force bool) *swarmProgress {
	sp := &swarmProgress{clients: int64(max(clients, 1)), total: max(total.Milliseconds(), 1)}
	refresh := 250 * time.Millisecond
	if force {
		refresh = time.Second // not a terminal, maybe a log: one frame a second, wide enough for every field
	}
	sp.p = mpb.New(mpb.WithOutput(w), mpb.WithRefreshRate(refresh),
		mpb.ContainerOptional(mpb.WithAutoRefresh(), force), mpb.ContainerOptional(mpb.WithWidth(160), force))
	sp.conns = sp.p.AddBar(sp.clients, mpb.BarWidth(24),
		mpb.PrependDecorators(decor.Name("connections", decor.WC{W: 12, C: decor.DindentRight}),
			decor.Any(func(decor.Statistics) string {
				return fmt.Sprintf("%d / %d", sp.status().Connected, sp.clients)
			}, decor.WC{W: 16, C: decor.DindentRight})),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string {
			s := sp.status()
			return fmt.Sprintf("%-6s", s.Phase)
		})))
	sp.clock = sp.p.AddBar(sp.total, mpb.BarWidth(24),
		mpb.PrependDecorators(decor.Name("elapsed", decor.WC{W: 12, C: decor.DindentRight}),
			decor.Any(func(decor.Statistics) string {
				return fmt.Sprintf("%s / %s", roundS(sp.status().Elapsed.Milliseconds()), roundS(sp.total))
			}, decor.WC{W: 16, C: decor.DindentRight})),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string {
			s := sp.status()
			return fmt.Sprintf("sends/s %d  deliveries/s %d  p99 %.1f ms", s.Sends, s.Deliveries, s.P99Ms)
		})))
	return sp
}

func roundS(ms int64) string {
	return (time.Duration(ms) * time.Millisecond).Round(time.Second).String()
}

func (sp *swarmProgress) status() loadgen.Status {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.last
}

// update takes a status (loadgen.Config.Progress). The bars' fill is kept
// just short of complete until stop, so they go on drawing the phase and
// rates; the numbers beside them are the status's own.
func (sp *swarmProgress) update(s loadgen.Status) {
	sp.mu.Lock()
	sp.last = s
	sp.mu.Unlock()
	sp.conns.SetCurrent(min(s.Connected, sp.clients-1))
	sp.clock.SetCurrent(min(s.Elapsed.Milliseconds(), sp.total-1))
}

// stop ends the bars and waits until the display has drawn them.
func (sp *swarmProgress) stop() {
	if sp == nil {
		return
	}
	sp.once.Do(func() {
		// The last frame shows the last status as it is: aborting a bar
		// stops it without filling it.
		s := sp.status()
		sp.conns.SetCurrent(min(s.Connected, sp.clients))
		sp.clock.SetCurrent(min(s.Elapsed.Milliseconds(), sp.total))
		sp.conns.Abort(false)
		sp.clock.Abort(false)
		sp.p.Wait()
	})
}

// newProgress starts the live display for this run's sockets and phases.
func (o *swarmOptions) newProgress(stderr io.Writer) *swarmProgress {
	n := loadgen.PartClients(o.cfg)
	total := o.cfg.Warmup + o.cfg.Duration
	if o.cfg.Rate == 0 {
		total = o.cfg.Duration
	}
	o.display = newSwarmProgress(stderr, n, total, o.progress == "always")
	return o.display
}

// stopProgress ends the live display, if any, so the summary prints below it.
func (o *swarmOptions) stopProgress() { o.display.stop() }
