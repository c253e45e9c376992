package estimate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// Step is one load level a sweep runs: Clients in one room (unless the
// runner says otherwise), each sending RatePerS.
type Step struct {
	Clients  int64
	RatePerS float64
}

// StepResult is what a runner measured at one Step.
type StepResult struct {
	P99      time.Duration
	Expected int64 // deliveries expected
	Lost     int64 // deliveries lost
	// Failed is set when the run could not measure (connect errors, the
	// server fell over); such a step counts as over the knee.
	Failed bool
	Reason string
	// Repeats is how many times the step ran (0 or 1: once) and Passed
	// how many of those runs met the SLO; P99 and Lost are then the
	// median run's. A repeated step meets the SLO when most runs did.
	Repeats, Passed int
}

// Runner runs one step of a sweep. sweep's runner wraps loadgen.Run against
// the embedded server; tests use a fake.
type Runner interface {
	RunStep(ctx context.Context, s Step) (StepResult, error)
}

// RunnerFunc adapts a function to Runner.
type RunnerFunc func(ctx context.Context, s Step) (StepResult, error)

// RunStep calls f.
func (f RunnerFunc) RunStep(ctx context.Context, s Step) (StepResult, error) { return f(ctx, s) }

// SLO is what a step must meet to be under the knee.
type SLO struct {
	P99     time.Duration // default 100 ms
	MaxLoss float64       // lost/expected allowed; default 0: nothing lost
}

// Met reports whether r meets the SLO, and if not, why.
func (s SLO) Met(r StepResult) (bool, string) {
	if r.Repeats > 1 {
		if 2*r.Passed > r.Repeats {
			return true, ""
		}
		return false, fmt.Sprintf("%d of %d repeats met the SLO", r.Passed, r.Repeats)
	}
	switch {
	case r.Failed:
		return false, "failed: " + r.Reason
	case r.Expected > 0 && float64(r.Lost)/float64(r.Expected) > s.MaxLoss:
		return false, fmt.Sprintf("lost %d of %d", r.Lost, r.Expected)
	case r.Expected == 0 && r.Lost > 0:
		return false, fmt.Sprintf("lost %d", r.Lost)
	case r.P99 >= s.P99:
		return false, fmt.Sprintf("p99 %v ≥ %v", r.P99, s.P99)
	}
	return true, ""
}

// SearchConfig bounds the knee search.
type SearchConfig struct {
	Start    int64   // first N; default 100
	Max      int64   // largest N to try; default 1,000,000
	Factor   float64 // coarse growth per step; default 2
	RatePerS float64 // per sender
	// Resolution: the search stops when the knee is known to within this
	// many clients; default 5% of the lower bound, at least 1.
	Resolution int64
	SLO        SLO
	Budget     time.Duration // total time; 0: none
	MaxRuns    int           // 0: 30
	// Now is the clock, for tests; default time.Now.
	Now func() time.Time
}

// Trial is one step the search ran.
type Trial struct {
	Step   Step          `json:"step"`
	Result StepResult    `json:"result"`
	OK     bool          `json:"ok"`
	Why    string        `json:"why,omitempty"`
	Took   time.Duration `json:"took_ns"`
}

// KneeResult is the answer: the largest N that met the SLO (Knee) and the
// smallest that did not (Above; 0 if none failed up to Max).
type KneeResult struct {
	Knee    int64   `json:"knee"`  // 0: even 1 failed
	Above   int64   `json:"above"` // 0: nothing failed
	Trials  []Trial `json:"trials"`
	Stopped string  `json:"stopped,omitempty"` // why the search ended early (budget, max runs)
}

// Runs is the number of steps run.
func (k *KneeResult) Runs() int { return len(k.Trials) }

// ErrBudget is wrapped when the budget or the run cap ends a search early;
// the KneeResult still holds the bounds found so far.
var ErrBudget = errors.New("sweep budget spent")

func (c *SearchConfig) defaults() {
	if c.Start <= 0 {
		c.Start = 100
	}
	if c.Max <= 0 {
		c.Max = 1_000_000
	}
	if c.Max < c.Start {
		c.Max = c.Start
	}
	if c.Factor <= 1 {
		c.Factor = 2
	}
	if c.SLO.P99 <= 0 {
		c.SLO.P99 = 100 * time.Millisecond
	}
	if c.MaxRuns <= 0 {
		c.MaxRuns = 30
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

func (c *SearchConfig) resolution(lo int64) int64 {
	if c.Resolution > 0 {
		return c.Resolution
	}
	return max(1, int64(math.Ceil(float64(lo)*0.05)))
}

// FindKnee finds the largest N at which the SLO holds: coarse steps
// (Start, Start×Factor, …) until a step fails (or, when Start fails, down
// by the same factor to the first pass), then bisection between the
// last pass and the first failure until they are Resolution apart. It
// assumes one knee: a step that passes above a failed one is not looked for.
// It stops early, with ErrBudget, when the next step would not fit in the
// budget (estimated by the longest step so far) or MaxRuns is reached.
func FindKnee(ctx context.Context, r Runner, cfg SearchConfig) (*KneeResult, error) {
	cfg.defaults()
	start := cfg.Now()
	res := &KneeResult{}
	var longest time.Duration
	run := func(n int64) (bool, error) {
		if len(res.Trials) >= cfg.MaxRuns {
			res.Stopped = fmt.Sprintf("max runs (%d) reached", cfg.MaxRuns)
			return false, ErrBudget
		}
		if cfg.Budget > 0 && cfg.Now().Sub(start)+longest > cfg.Budget {
			res.Stopped = fmt.Sprintf("budget %v: next step would end after it", cfg.Budget)
			return false, ErrBudget
		}
		if err := ctx.Err(); err != nil {
			return false, err
		}
		s := Step{Clients: n, RatePerS: cfg.RatePerS}
		t0 := cfg.Now()
		sr, err := r.RunStep(ctx, s)
		took := cfg.Now().Sub(t0)
		longest = max(longest, took)
		if err != nil {
			return false, fmt.Errorf("step %d clients: %w", n, err)
		}
		ok, why := cfg.SLO.Met(sr)
		res.Trials = append(res.Trials, Trial{Step: s, Result: sr, OK: ok, Why: why, Took: took})
		return ok, nil
	}

	// Coarse: grow by Factor until a failure or Max.
	n := cfg.Start
	for {
		ok, err := run(n)
		if err != nil {
			return res, err
		}
		if !ok {
			res.Above = n
			break
		}
		res.Knee = n
		if n >= cfg.Max {
			return res, nil
		}
		n = min(cfg.Max, max(n+1, int64(math.Floor(float64(n)*cfg.Factor))))
	}
	// Start failed: step down (Start/Factor, …, 1) to the first pass, so a
	// target weaker than the guess still gets a knee, then bisect up.
	for res.Knee == 0 {
		next := int64(math.Floor(float64(n) / cfg.Factor))
		if next < 1 || next >= n {
			return res, nil // even 1 fails
		}
		n = next
		ok, err := run(n)
		if err != nil {
			return res, err
		}
		if ok {
			res.Knee = n
		} else {
			res.Above = n
		}
	}
	// Bisect (Knee, Above).
	for res.Above-res.Knee > cfg.resolution(res.Knee) {
		mid := res.Knee + (res.Above-res.Knee)/2
		ok, err := run(mid)
		if err != nil {
			return res, err
		}
		if ok {
			res.Knee = mid
		} else {
			res.Above = mid
		}
	}
	return res, nil
}
