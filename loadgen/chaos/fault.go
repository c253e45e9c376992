package chaos

import (
	"context"
	"fmt"
	"time"
)

// injection is one fault injected into a run: when it began and cleared
// (wall clock), or why it could not be.
type injection struct {
	fault            string
	injected, clears time.Time
	note             string
	err              error
	done             chan struct{}
}

// inject waits until at, injects fault and clears it; it closes done when
// finished. ctx ends it early (the fault is then cleared at once).
func inject(ctx context.Context, cfg *Config, fault string, at time.Time, b *Broker, nodes []*node) *injection {
	in := &injection{fault: fault, done: make(chan struct{})}
	go func() {
		defer close(in.done)
		t := time.NewTimer(time.Until(at))
		defer t.Stop()
		select {
		case <-ctx.Done():
			in.err = fmt.Errorf("%s not injected: %w", fault, ctx.Err())
			return
		case <-t.C:
		}
		in.err = in.run(ctx, cfg, b, nodes)
	}()
	return in
}

func (in *injection) run(ctx context.Context, cfg *Config, b *Broker, nodes []*node) error {
	hold := func() {
		t := time.NewTimer(cfg.Pause)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
	switch in.fault {
	case BrokerRestart:
		if err := b.Kill(); err != nil {
			return fmt.Errorf("kill %s: %w", b.Kind, err)
		}
		in.injected = time.Now() // the broker is gone: Kill waited for it
		hold()
		started := time.Now()
		// Its restart is not bounded by ctx: the broker must be back for
		// the next fault and for a clean stop.
		if err := b.Restart(context.WithoutCancel(ctx)); err != nil {
			return fmt.Errorf("start %s again: %w", b.Kind, err)
		}
		in.clears = time.Now()
		in.note = fmt.Sprintf("%s answered %.2f s after it was started again", b.Kind, in.clears.Sub(started).Seconds())
	case BrokerPause:
		in.injected = time.Now()
		if err := b.Pause(); err != nil {
			return fmt.Errorf("SIGSTOP %s: %w", b.Kind, err)
		}
		hold()
		if err := b.Resume(); err != nil {
			return fmt.Errorf("SIGCONT %s: %w", b.Kind, err)
		}
		in.clears = time.Now()
	case NodeKill:
		victim := nodes[len(nodes)-1]
		in.injected = time.Now()
		if err := victim.kill(); err != nil {
			return fmt.Errorf("kill %s: %w", victim.name, err)
		}
		in.clears = in.injected
		in.note = fmt.Sprintf("killed %s (pid %d)", victim.name, victim.child.Pid)
	case ConnDrop:
		victim := nodes[0]
		in.injected = time.Now()
		cut := victim.proxy.Reset()
		in.clears = in.injected
		in.note = fmt.Sprintf("reset %s's broker connections (%d sockets, node and broker side)", victim.name, cut)
	}
	return nil
}
