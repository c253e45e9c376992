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
	Settle time.Duration
	// Load, when given, is the swarm run of every step: the target's
	// protocol and cost sources, the workload's shape (rooms, talker share,
	// arrivals, sizes) and timing, which then replace SizeBytes, Warmup,
	// Duration, Grace and Settle. A step sets only the number of users
	// (and the rate). nil: one room of everyone, everyone talking (the
	// blog's setup).
	Load *loadgen.Config
	// Mode is results.ModeUsers (default) or results.ModeRoomRate: one
	// room of N whose total rate is RoomRate (each sender RoomRate/N).
	Mode     string
	RoomRate float64
	// Repeat runs each step this many times (default 1); the step passes
	// when most runs did.
	Repeat int
	// Recovery is the wait before each step against URLs.
	Recovery Recovery
	// Server names what is measured in the results (default from the
	// backend or the URLs).
	Server string
	// ServerBackend is the fan-out backend a server at URLs uses (memory,
	// redis, rabbitmq), when known: which of the blog's claims its knee
	// answers.
	ServerBackend string
	Version       string
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
	if c.Repeat <= 0 {
		c.Repeat = 1
	}
	switch c.Mode {
	case "":
		c.Mode = results.ModeUsers
	case results.ModeUsers:
	case results.ModeRoomRate:
		if !(c.RoomRate > 0) {
			return errors.New("sweep: room-rate mode needs a room rate above 0")
		}
		c.Rates = []float64{c.RoomRate}
	default:
		return fmt.Errorf("sweep: mode %q: want %s or %s", c.Mode, results.ModeUsers, results.ModeRoomRate)
	}
	if c.Load == nil {
		lc := loadgen.DefaultConfig()
		lc.RoomSize, lc.Talkers, lc.Size = 0, 0, c.SizeBytes // one room of everyone, everyone talks: the blog's setup
		lc.Warmup, lc.Duration, lc.Grace, lc.Settle = c.Warmup, c.Duration, c.Grace, c.Settle
		c.Load = &lc
	}
	c.Recovery.defaults()
	return nil
}

// serverName names what a search measures.
func (c *Config) serverName(backend string) string {
	switch {
	case c.Server != "":
		return c.Server
	case backend == External:
		return "server at " + strings.Join(c.URLs, ", ")
	case c.nodesFor(backend) > 1:
		return fmt.Sprintf("chatbench serve %s (%d nodes)", backend, c.nodesFor(backend))
	}
	return "chatbench serve " + backend
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
	defer func() { res.Environment = environmentOf(res.Steps) }()
	res.Config = results.SweepConfig{URLs: cfg.URLs, Backends: cfg.Backends, Nodes: cfg.Nodes, RatePerS: cfg.Rates[0], Rates: cfg.Rates,
		SizeBytes: cfg.Load.Size, SLOP99Ms: float64(cfg.SLO.P99) / 1e6, MaxLoss: cfg.SLO.MaxLoss,
		StartN: cfg.StartN, MaxN: cfg.MaxN, BudgetS: cfg.Budget.Seconds(), DurationS: cfg.Load.Duration.Seconds(),
		Mode: cfg.Mode, Repeat: cfg.Repeat, Shape: cfg.shape()}
	if cfg.Mode == results.ModeRoomRate {
		res.Config.RoomRatePerS = cfg.RoomRate
	}
	if len(cfg.Backends) == 1 {
		res.Config.Backend = cfg.Backends[0]
		res.Config.Server = cfg.serverName(cfg.Backends[0])
	}
	res.Config.ServerBackend = cfg.ServerBackend
	if err := cfg.preflight(ctx); err != nil {
		return nil, err
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
				se := results.Search{Backend: b, RatePerS: rate, Knee: kr.Knee, Above: kr.Above, Runs: kr.Runs(), Stopped: kr.Stopped,
					Repeat: cfg.Repeat, Server: cfg.serverName(b), Mode: cfg.Mode}
				se.KneeLow, se.KneeHigh = kneeSpread(res.Steps, b, rate)
				res.Searches = append(res.Searches, se)
				if cfg.Repeat > 1 && kr.Knee > 0 {
					res.Notes = append(res.Notes, fmt.Sprintf("%s at %s: knee %d over %d runs a step; its spread: every run passed up to %d, one passed up to %d",
						b, units.FormatRate(rate), kr.Knee, cfg.Repeat, se.KneeLow, se.KneeHigh))
				}
				if kr.Knee > 0 && j == 0 && cfg.Mode == results.ModeUsers { // a room-rate knee is not users at a rate each
					res.Knees[b] = kr.Knee
				}
			}
			var lim *SwarmLimitError
			if errors.As(err, &lim) && kr != nil {
				// Not the server's failure: the search ends with the knee a
				// lower bound (Above stays as found, 0 when nothing failed).
				se := &res.Searches[len(res.Searches)-1]
				se.Stopped = lim.Error()
				res.Notes = append(res.Notes, fmt.Sprintf("%s at %s: %s; the knee is at least %d", b, units.FormatRate(rate), err, kr.Knee))
				continue
			}
			var down *TargetDownError
			if errors.As(err, &down) {
				res.Partial = true
				res.Notes = append(res.Notes, fmt.Sprintf("%s; the sweep ended with the steps so far", down.Error()))
				return res, err
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
	return res, nil
}

// preflight starts and stops the nodes of every backend after the first
// once, so a backend that cannot start (no broker at its URL) is refused
// before any step runs rather than after the earlier backends' steps. The
// first backend is checked by its own first step.
func (c *Config) preflight(ctx context.Context) error {
	if len(c.URLs) > 0 {
		return nil
	}
	for _, b := range c.Backends[1:] {
		nodes, err := c.Start(ctx, b, c.nodesFor(b))
		if err != nil {
			return &StartError{Backend: b, Err: err}
		}
		for _, n := range nodes {
			_ = n.Stop()
		}
	}
	return nil
}

// environmentOf is the machine the steps ran on.
func environmentOf(steps []results.Step) results.Environment {
	for _, s := range steps {
		if s.Result != nil && s.Result.Environment.Cores > 0 {
			return s.Result.Environment
		}
	}
	return results.Environment{}
}

// Err reports a backend whose first step already missed the SLO (no knee
// at all): the sweep ran, and says nothing about that backend's capacity.
func Err(r *results.Sweep) error {
	for _, se := range r.Searches {
		if se.Knee > 0 {
			continue
		}
		if IsSwarmLimit(se) {
			return fmt.Errorf("sweep %s at %s: %s, before any step passed: no knee measured; run fewer clients (--start) or a shorter, slower load",
				se.Backend, units.FormatRate(se.RatePerS), se.Stopped)
		}
		why := ""
		for _, st := range r.Steps {
			if st.Backend == se.Backend && st.RatePerS == se.RatePerS && !st.OK {
				why = ": " + st.Why
				break
			}
		}
		return fmt.Errorf("sweep %s at %s: even %d clients miss the SLO%s", se.Backend, units.FormatRate(se.RatePerS), smallestFailed(se, r.Config.StartN), why)
	}
	return nil
}

// IsSwarmLimit reports whether search se was stopped by a limit of swarm's
// own (SwarmLimitError), not by the server.
func IsSwarmLimit(se results.Search) bool { return strings.HasPrefix(se.Stopped, swarmLimitPrefix) }

func aboveText(n int64) string {
	if n == 0 {
		return "max (none failed)"
	}
	return fmt.Sprint(n)
}

// smallestFailed is the fewest clients a search without a knee tried (it
// steps down from the start); start when it ran none.
func smallestFailed(se results.Search, start int64) int64 {
	if se.Above > 0 {
		return se.Above
	}
	return start
}
