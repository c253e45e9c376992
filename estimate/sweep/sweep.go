// Package sweep runs swarm (loadgen) at rising numbers of clients against
// server nodes it starts for each step (or against given URLs) and finds the
// knee per backend with estimate.FindKnee: the largest N at which the SLO
// (default p99 < 100 ms, nothing lost) still holds. It writes one results
// file (kind "sweep", docs/results-schema.md) that estimate --from reads.
package sweep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/chatbench/chatbench/internal/units"

	"github.com/chatbench/chatbench/estimate"
	"github.com/chatbench/chatbench/loadgen"
	"github.com/chatbench/chatbench/loadgen/results"
)

// Node is one started server node.
type Node struct {
	URL        string // ws:// URL of its WebSocket route, e.g. ws://127.0.0.1:4242/ws
	PID        int    // its process id, when it is a process of its own (cost from /proc); 0 otherwise
	MetricsURL string // its /metrics, when the cost can be scraped there; "" otherwise
	Stop       func() error
}

// Starter starts nodes server nodes of backend for one step. Every step gets
// fresh nodes, so one step's memory does not leak into the next's.
type Starter func(ctx context.Context, backend string, nodes int) ([]Node, error)

// Config is one sweep.
type Config struct {
	// Backends to sweep, each started by Start. Ignored when URLs is set.
	Backends []string
	// URLs of running servers to sweep instead (backend "external");
	// {{room}} and {{user}} templates as in swarm.
	URLs []string
	// Nodes per step for the backends that span nodes (redis, rabbitmq);
	// default 2. memory always runs one node.
	Nodes int
	Start Starter

	// Rates per sender to sweep, each a knee search of its own (rising rate:
	// the knee should fall as 1/√rate); default 10/s, the blog's.
	Rates      []float64
	SizeBytes  int     // default 100
	StartN     int64   // default 100
	MaxN       int64   // default 20,000
	Resolution int64   // default 5% of the knee
	Factor     float64 // default 2
	SLO        estimate.SLO
	Budget     time.Duration // whole sweep; default 10 min
	MaxRuns    int           // per backend; default 30

	Warmup, Duration, Grace time.Duration // per step; defaults 1 s, 5 s, 1 s
	// Settle is the pause before the server's memory is read, per step (default 1 s).
	Settle  time.Duration
	Version string
	// Progress gets one line per step; nil: none.
	Progress io.Writer
}

// StartError is returned when the nodes of a backend could not be started
// (a usage problem: no broker at the URL, a backend this build lacks).
type StartError struct {
	Backend string
	Err     error
}

func (e *StartError) Error() string { return fmt.Sprintf("start %s nodes: %v", e.Backend, e.Err) }
func (e *StartError) Unwrap() error { return e.Err }

// External is the backend name of a sweep against URLs.
const External = "external"

func (c *Config) defaults() error {
	if len(c.URLs) == 0 && len(c.Backends) == 0 {
		c.Backends = []string{"memory"}
	}
	if len(c.URLs) > 0 {
		c.Backends = []string{External}
	} else if c.Start == nil {
		return errors.New("sweep: no way to start server nodes")
	}
	if c.Nodes <= 0 {
		c.Nodes = 2
	}
	if len(c.Rates) == 0 {
		c.Rates = []float64{estimate.BlogRatePerS}
	}
	for _, r := range c.Rates {
		if !(r > 0) {
			return fmt.Errorf("sweep: rate %v must be more than 0", r)
		}
	}
	if c.SizeBytes <= 0 {
		c.SizeBytes = 100
	}
	if c.StartN <= 0 {
		c.StartN = 100
	}
	if c.MaxN <= 0 {
		c.MaxN = 20000
	}
	if c.SLO.P99 <= 0 {
		c.SLO.P99 = 100 * time.Millisecond
	}
	if c.Budget <= 0 {
		c.Budget = 10 * time.Minute
	}
	if c.MaxRuns <= 0 {
		c.MaxRuns = 30
	}
	if c.Warmup <= 0 {
		c.Warmup = time.Second
	}
	if c.Duration <= 0 {
		c.Duration = 5 * time.Second
	}
	if c.Grace <= 0 {
		c.Grace = time.Second
	}
	if c.Settle <= 0 {
		c.Settle = time.Second
	}
	return nil
}

func (c *Config) nodesFor(backend string) int {
	switch backend {
	case "memory":
		return 1
	case External:
		return len(c.URLs)
	}
	return c.Nodes
}

// Run sweeps every backend in turn, each with an equal share of what is left
// of the budget. It returns the results so far with an error when a step
// could not run at all (bad config, ctx cancelled); a budget spent early is
// not an error: the result is marked partial and the search says so.
func Run(ctx context.Context, cfg Config) (*results.Sweep, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	res := results.NewSweep()
	res.Config = results.SweepConfig{URLs: cfg.URLs, Backends: cfg.Backends, Nodes: cfg.Nodes, RatePerS: cfg.Rates[0], Rates: cfg.Rates,
		SizeBytes: cfg.SizeBytes, SLOP99Ms: float64(cfg.SLO.P99) / 1e6, MaxLoss: cfg.SLO.MaxLoss,
		StartN: cfg.StartN, MaxN: cfg.MaxN, BudgetS: cfg.Budget.Seconds(), DurationS: cfg.Duration.Seconds()}
	if len(cfg.Backends) == 1 {
		res.Config.Backend = cfg.Backends[0]
	}
	deadline := time.Now().Add(cfg.Budget)
	searches := len(cfg.Backends) * len(cfg.Rates)
	for i, b := range cfg.Backends {
		for j, rate := range cfg.Rates {
			share := time.Until(deadline) / time.Duration(searches-(i*len(cfg.Rates)+j))
			r := &stepRunner{cfg: &cfg, backend: b, res: res}
			kr, err := estimate.FindKnee(ctx, r, estimate.SearchConfig{
				Start: cfg.StartN, Max: cfg.MaxN, Factor: cfg.Factor, RatePerS: rate,
				Resolution: cfg.Resolution, SLO: cfg.SLO, Budget: share, MaxRuns: cfg.MaxRuns,
			})
			if kr != nil {
				res.Searches = append(res.Searches, results.Search{Backend: b, RatePerS: rate, Knee: kr.Knee, Above: kr.Above, Runs: kr.Runs(), Stopped: kr.Stopped})
				if kr.Knee > 0 && j == 0 {
					res.Knees[b] = kr.Knee
				}
			}
			if errors.Is(err, estimate.ErrBudget) {
				res.Partial = true
				res.Notes = append(res.Notes, fmt.Sprintf("%s at %s: %s; the knee is between %d and %s", b,
					units.FormatRate(rate), kr.Stopped, kr.Knee, aboveText(kr.Above)))
				continue
			}
			if err != nil {
				res.Partial = true
				return res, err
			}
		}
	}
	for _, s := range res.Steps {
		if s.Result != nil && s.Result.Environment.Cores > 0 {
			res.Environment = s.Result.Environment
			break
		}
	}
	return res, nil
}

// Err reports a backend whose first step already missed the SLO (no knee
// at all): the sweep ran, and says nothing about that backend's capacity.
func Err(r *results.Sweep) error {
	for _, se := range r.Searches {
		if se.Knee > 0 {
			continue
		}
		why := ""
		for _, st := range r.Steps {
			if st.Backend == se.Backend && st.RatePerS == se.RatePerS && !st.OK {
				why = ": " + st.Why
				break
			}
		}
		return fmt.Errorf("sweep %s at %s: even %d clients miss the SLO%s", se.Backend, units.FormatRate(se.RatePerS), r.Config.StartN, why)
	}
	return nil
}

func aboveText(n int64) string {
	if n == 0 {
		return "max (none failed)"
	}
	return fmt.Sprint(n)
}

type stepRunner struct {
	cfg     *Config
	backend string
	res     *results.Sweep
}

// RunStep starts fresh nodes, runs swarm once and stops the nodes.
func (r *stepRunner) RunStep(ctx context.Context, st estimate.Step) (estimate.StepResult, error) {
	c := r.cfg
	urls := c.URLs
	var nodes []Node
	if r.backend != External {
		var err error
		nodes, err = c.Start(ctx, r.backend, c.nodesFor(r.backend))
		if err != nil {
			return estimate.StepResult{}, &StartError{Backend: r.backend, Err: err}
		}
		defer func() {
			for _, n := range nodes {
				_ = n.Stop()
			}
		}()
		urls = nil
		for _, n := range nodes {
			urls = append(urls, n.URL+"?room={{room}}&user={{user}}")
		}
	}
	lc := loadgen.DefaultConfig()
	lc.URLs, lc.Clients, lc.Rate, lc.Size, lc.Version = urls, int(st.Clients), st.RatePerS, c.SizeBytes, c.Version
	lc.Warmup, lc.Duration, lc.Grace, lc.Settle = c.Warmup, c.Duration, c.Grace, c.Settle
	lc.Limits = results.Limits{MaxLoss: c.SLO.MaxLoss}
	lc.RoomSize, lc.Talkers = 0, 0 // one room of everyone, everyone talks: the blog's setup
	if r.backend != External {
		lc.Backend = r.backend
	}
	// Server cost: every node's, from its /proc (or its /metrics), added up.
	for _, n := range nodes {
		switch {
		case n.PID > 0:
			lc.ServerPIDs = append(lc.ServerPIDs, n.PID)
		case n.MetricsURL != "":
			lc.MetricsURLs = append(lc.MetricsURLs, n.MetricsURL)
		}
	}
	lres, err := loadgen.Run(ctx, lc)
	if ctx.Err() != nil {
		return estimate.StepResult{}, ctx.Err()
	}
	var ce *loadgen.ConfigError
	if errors.As(err, &ce) {
		return estimate.StepResult{}, err
	}
	s := lres.Summary
	sr := estimate.StepResult{P99: time.Duration(s.LatencyMs.P99 * float64(time.Millisecond)), Expected: s.Expected, Lost: s.Lost}
	switch o := lres.Outcome; {
	case o.Verdict == results.Partial || o.Verdict == results.Invalid || s.ConnectErrors > 0 || s.Disconnected > 0:
		// A run that could not measure (limits, a server that refused or
		// dropped sockets) is over the knee, not the end of the sweep.
		sr.Failed, sr.Reason = true, o.Verdict+": "+strings.Join(o.Reasons, "; ")
	case s.LatencyMs.Count == 0:
		sr.Failed, sr.Reason = true, "no delivery was timed"
	}
	ok, why := c.SLO.Met(sr)
	r.res.Steps = append(r.res.Steps, results.Step{Backend: r.backend, Clients: st.Clients, RatePerS: st.RatePerS, OK: ok, Why: why, Result: lres})
	if c.Progress != nil {
		verdict := "ok"
		if !ok {
			verdict = "over: " + why
		}
		fmt.Fprintf(c.Progress, "sweep %s: %s clients at %s: p99 %s, lost %d of %d: %s\n", r.backend,
			units.FormatCount(float64(st.Clients)), units.FormatRate(st.RatePerS), sr.P99.Round(time.Microsecond),
			sr.Lost, sr.Expected, verdict)
	}
	return sr, nil
}
