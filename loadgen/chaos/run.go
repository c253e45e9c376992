package chaos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/chatbench/chatbench/loadgen"
	"github.com/chatbench/chatbench/loadgen/results"
)

// reconnectWait is the pause before each reconnect try of a client whose
// node died; it tries each other node in turn, at most reconnectRounds
// times over.
const (
	reconnectWait   = 100 * time.Millisecond
	reconnectRounds = 3
)

// Run runs the experiment: one broker for all of it, then per fault fresh
// nodes, a traced swarm run and the fault injected At into its steady
// phase. The result is never nil; with an error it holds the faults that
// finished and is marked partial. Validate cfg first.
func Run(ctx context.Context, cfg Config) (*results.Chaos, error) {
	res := results.NewChaos()
	res.Config = results.ChaosConfig{Backend: cfg.Backend, Mode: cfg.mode(), Nodes: cfg.Nodes, Faults: cfg.Faults,
		Clients: cfg.Load.Clients, RatePerS: cfg.Load.Rate, AtS: cfg.At.Seconds(), HoldS: cfg.Pause.Seconds(),
		DurationS: steadyLength(&cfg.Load).Seconds(), RecoveryMaxS: cfg.RecoveryMax.Seconds()}
	fail := func(err error) (*results.Chaos, error) {
		res.Partial = true
		res.Notes = append(res.Notes, "ended early: "+err.Error())
		return res, err
	}
	dir, err := os.MkdirTemp(cfg.TempDir, "chatbench-chaos-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(dir)
	var b *Broker
	if cfg.Backend != Memory {
		cfg.progress("starting %s on loopback (own port and directory)", cfg.Backend)
		if b, err = StartBroker(ctx, cfg.Backend, dir); err != nil {
			return fail(err)
		}
		defer b.Stop()
	}
	for _, f := range cfg.Faults {
		cfg.progress("%s: %d nodes, %d clients, fault at %v into the steady phase", f, cfg.Nodes, cfg.Load.Clients, cfg.At)
		fr, note, err := runFault(ctx, &cfg, b, f)
		if fr != nil {
			res.Faults = append(res.Faults, *fr)
			if res.Environment.Cores == 0 && fr.Run != nil {
				res.Environment = fr.Run.Environment
			}
		}
		if note != "" {
			res.Notes = append(res.Notes, f+": "+note)
		}
		if err != nil {
			return fail(fmt.Errorf("%s: %w", f, err))
		}
	}
	return res, nil
}

func (c *Config) progress(format string, a ...any) {
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, format+"\n", a...)
	}
}

func steadyLength(l *loadgen.Config) time.Duration {
	d := l.Duration
	for _, p := range l.Phases {
		d += p.Duration
	}
	return d
}

// runFault runs one fault: nodes, swarm, injection, analysis.
func runFault(ctx context.Context, cfg *Config, b *Broker, fault string) (*results.FaultRun, string, error) {
	nodes, err := startNodes(ctx, cfg, b)
	if err != nil {
		return nil, "", err
	}
	defer stopNodes(nodes)
	watch := watchReady(nodes)
	defer watch.Stop()

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var in *injection
	var rec *recovery
	tr := &loadgen.Trace{}
	tr.Steady = func(start time.Time) {
		in = inject(runCtx, cfg, fault, start.Add(cfg.At), b, nodes)
		if cfg.RecoveryMax > 0 {
			rec = awaitRecovery(runCtx, in, watch, cfg.RecoveryMax)
			tr.Recovered = rec.closed
		}
	}
	lc := cfg.Load
	lc.URLs, lc.MetricsURLs, lc.ServerPIDs = nil, nil, nil
	for _, n := range nodes {
		lc.URLs = append(lc.URLs, n.child.WSURL("?room={{room}}&user={{user}}"))
		lc.MetricsURLs = append(lc.MetricsURLs, n.child.BaseURL+"/metrics") // a killed node's cost: not measured, with why
	}
	lc.Backend, lc.Trace = cfg.Backend, tr
	lc.Reconnect = loadgen.Reconnect{Tries: reconnectRounds * max(1, cfg.Nodes-1), Wait: reconnectWait}
	run, runErr := loadgen.Run(runCtx, lc)
	if in == nil {
		return nil, "", errors.Join(runErr, errors.New("the run never reached its steady phase: nothing injected"))
	}
	cancel() // a fault still held is cleared now
	<-in.done
	if rec != nil {
		<-rec.done
	}
	if in.err != nil {
		return nil, in.note, errors.Join(in.err, runErr)
	}
	w := window{injected: in.injected.Sub(tr.Zero), cleared: in.clears.Sub(tr.Zero)}
	w.recovered = tr.SteadyEnd
	ready, ok := watch.readyAgain(in.clears)
	if ok {
		w.recovered = w.cleared + ready
	}
	if fault == NodeKill && len(tr.Reconnects) > 0 {
		w.recovered = max(w.recovered, w.injected+slicesMax(tr.Reconnects))
	}
	fr := analyse(tr, w)
	if ok {
		s := ready.Seconds()
		fr.ReadyAgainS = &s
	}
	fr.Fault = fault
	if rec != nil {
		fr.RecoveryWaitS = max(0, tr.GraceFrom-tr.SendEnd).Seconds()
		fr.RecoveryEnded = rec.ended(tr.Zero.Add(tr.SendEnd), tr.Zero.Add(tr.GraceFrom))
	}
	fr.AllConnected = tr.ConnectedAtEnd == int64(run.Config.Clients) && tr.ReconnectFailed == 0
	fr.Run = run
	var notes []string
	if in.note != "" {
		notes = append(notes, in.note)
	}
	if n := waitNote(fr, cfg.RecoveryMax); n != "" {
		notes = append(notes, n)
	}
	if !ok {
		notes = append(notes, "/readyz was not 200 on every node at the end of the run")
	}
	return &fr, strings.Join(notes, "; "), runErr
}

// waitNote says how long the run waited past the end of sending for the
// fault to recover, and what ended the wait, when it matters.
func waitNote(fr results.FaultRun, bound time.Duration) string {
	switch {
	case fr.RecoveryEnded == EndedRecoveryMax:
		return fmt.Sprintf("not every node was ready again within --recovery-max %v of the fault clearing: "+
			"the run stopped waiting after %.1f s past the end of sending, and deliveries still held then count as lost", bound, fr.RecoveryWaitS)
	case fr.RecoveryWaitS < 0.5:
		return ""
	case fr.RecoveryEnded == EndedRecovered:
		return fmt.Sprintf("the run kept receiving %.1f s past the end of sending, until the fault had cleared and every node was ready again", fr.RecoveryWaitS)
	case fr.RecoveryEnded == EndedDelivered:
		return fmt.Sprintf("the run kept receiving %.1f s past the end of sending, until every expected delivery had arrived (before every node was ready again)", fr.RecoveryWaitS)
	}
	return ""
}

func slicesMax(ds []time.Duration) time.Duration {
	var m time.Duration
	for _, d := range ds {
		m = max(m, d)
	}
	return m
}
