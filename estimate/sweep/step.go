package sweep

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chatbench/chatbench/estimate"
	"github.com/chatbench/chatbench/internal/units"
	"github.com/chatbench/chatbench/loadgen"
	"github.com/chatbench/chatbench/loadgen/errkind"
	"github.com/chatbench/chatbench/loadgen/results"
)

type stepRunner struct {
	cfg     *Config
	backend string
	res     *results.Sweep
	// unrecovered is set when the wait before the last run ended with the
	// target still busy: its step says so.
	unrecovered string
	// held is the most connections a running target (--url) has held in
	// this sweep's runs so far: 0 before the first.
	held int64
}

// loadFor is the swarm run of one step of n users at rate: the workload's
// shape kept, the number of users (and in room-rate mode the rate per
// sender) set.
func (c *Config) loadFor(n int64, rate float64) loadgen.Config {
	lc := *c.Load
	lc.Clients, lc.Rate, lc.Version = int(n), rate, c.Version
	lc.Limits = results.Limits{MaxLoss: c.SLO.MaxLoss} // any socket refused or lost fails the step
	lc.ServerPIDs = slices.Clone(lc.ServerPIDs)
	lc.MetricsURLs = slices.Clone(lc.MetricsURLs)
	if c.Mode == results.ModeRoomRate {
		lc.RoomSize, lc.Rooms, lc.RoomWeights, lc.Zipf = 0, 0, nil, nil
		lc.Senders, lc.Talkers = 0, 0 // one room, everyone talks
		lc.Rate = rate / float64(n)
	}
	return lc
}

// shape describes the workload's shape, which every step keeps.
func (c *Config) shape() string {
	lc := c.Load
	if c.Mode == results.ModeRoomRate {
		return fmt.Sprintf("one room of all users, everyone talking, %s in total", units.FormatRate(c.RoomRate))
	}
	rooms := "one room of all users"
	switch {
	case lc.RoomWeights != nil || lc.Zipf != nil:
		rooms = "rooms sized by a distribution"
	case lc.Rooms > 0:
		rooms = fmt.Sprintf("%d rooms of equal size", lc.Rooms)
	case lc.RoomSize > 0:
		rooms = fmt.Sprintf("rooms of %d", lc.RoomSize)
	}
	talk := "everyone talking"
	if lc.Talkers > 0 && lc.Talkers < 1 {
		talk = units.FormatSig(lc.Talkers*100, 3) + "% talking"
	}
	arrivals := lc.Arrivals
	if arrivals == "" {
		arrivals = loadgen.Constant
	}
	return fmt.Sprintf("%s, %s (%s arrivals)", rooms, talk, arrivals)
}

// RunStep runs one step Repeat times, each on fresh nodes (or after the
// running target has recovered), and records it.
func (r *stepRunner) RunStep(ctx context.Context, st estimate.Step) (estimate.StepResult, error) {
	c := r.cfg
	var runs []*results.Result
	step := results.Step{Backend: r.backend, Clients: st.Clients, RatePerS: st.RatePerS}
	passed, unrecovered := 0, ""
	var srs []estimate.StepResult
	for i := 0; i < c.Repeat; i++ {
		lres, rec, shape, err := r.runOnce(ctx, st)
		if err != nil {
			return estimate.StepResult{}, err
		}
		step.Shape = shape
		// The step's wait: the longest of its runs', or one that ran out.
		if step.Recovery == nil || rec != nil && step.Recovery.Recovered && (!rec.Recovered || rec.WaitS > step.Recovery.WaitS) {
			step.Recovery = rec
		}
		if r.unrecovered != "" {
			unrecovered = r.unrecovered
		}
		sr := stepResult(lres)
		ok, why := c.SLO.Met(sr)
		if ok {
			passed++
		}
		runs, srs = append(runs, lres), append(srs, sr)
		step.Repeats = append(step.Repeats, results.Repeat{P99Ms: ms(sr.P99), Loss: lossOf(sr), OK: ok, Why: why})
	}
	mid := medianIndex(srs)
	sr := srs[mid]
	if c.Repeat > 1 {
		sr.Repeats, sr.Passed = c.Repeat, passed
	}
	step.Result = runs[mid]
	step.OK, step.Why = c.SLO.Met(sr)
	if !step.OK && c.Repeat > 1 {
		step.Why += " (median run: " + step.Repeats[mid].Why + ")"
	}
	step.P99Ms, step.Loss = spread(step.Repeats, func(x results.Repeat) float64 { return x.P99Ms }), spread(step.Repeats, func(x results.Repeat) float64 { return x.Loss })
	step.CPUPerDeliveryUs, step.CPUPerMessageUs = serverCPUPer(step.Result)
	if unrecovered != "" {
		step.Why = strings.TrimPrefix(step.Why+"; target not recovered: "+unrecovered, "; ")
	}
	r.res.Steps = append(r.res.Steps, step)
	r.progress(st, step, sr)
	return sr, nil
}

// runOnce waits for a running target to recover (or starts fresh nodes)
// and runs swarm once. shape describes the load it ran.
func (r *stepRunner) runOnce(ctx context.Context, st estimate.Step) (_ *results.Result, _ *results.Recovery, shape string, _ error) {
	c := r.cfg
	lc := c.loadFor(st.Clients, st.RatePerS)
	var rec *results.Recovery
	if r.backend == External {
		lc.URLs = c.URLs
		var err error
		rec, err = c.Recovery.await(ctx, lc)
		if err != nil {
			return nil, rec, "", err
		}
		r.unrecovered = ""
		if !rec.Recovered {
			r.unrecovered = rec.Why
			r.res.Notes = append(r.res.Notes, fmt.Sprintf("%s clients: target not recovered before the step (%s)", units.FormatCount(float64(st.Clients)), rec.Why))
		}
	} else {
		nodes, err := c.Start(ctx, r.backend, c.nodesFor(r.backend))
		if err != nil {
			return nil, nil, "", &StartError{Backend: r.backend, Err: err}
		}
		defer func() {
			for _, n := range nodes {
				_ = n.Stop()
			}
		}()
		lc.URLs, lc.ServerPIDs, lc.MetricsURLs, lc.Backend = nil, nil, nil, r.backend
		for _, n := range nodes {
			lc.URLs = append(lc.URLs, n.URL+"?room={{room}}&user={{user}}")
			// Server cost: every node's, from its /proc (or its /metrics), added up.
			switch {
			case n.PID > 0:
				lc.ServerPIDs = append(lc.ServerPIDs, n.PID)
			case n.MetricsURL != "":
				lc.MetricsURLs = append(lc.MetricsURLs, n.MetricsURL)
			}
		}
	}
	lres, err := loadgen.Run(ctx, lc)
	if ctx.Err() != nil {
		return nil, rec, "", ctx.Err()
	}
	var ce *loadgen.ConfigError
	if errors.As(err, &ce) {
		return nil, rec, "", err
	}
	if lres == nil {
		return nil, rec, "", fmt.Errorf("swarm: %w", err)
	}
	if lim := swarmLimit(lres, err); lim != nil {
		return nil, rec, "", lim
	}
	if r.backend == External && lres.Summary.Connected == 0 && lres.Errors.Connect[errkind.Refused] > 0 {
		return nil, rec, "", &TargetDownError{URL: c.URLs[0], Err: fmt.Errorf("every connection refused at %d clients", st.Clients)}
	}
	if r.backend == External {
		r.keptMemory(lres)
	}
	return lres, rec, loadgen.Describe(lc), nil
}

// SwarmLimitError is a step that could not load the server as asked
// because swarm ran into a limit of its own (open files, ephemeral ports,
// its tracking budget): it says nothing about the server, so the search
// stops there with the knee a lower bound.
type SwarmLimitError struct{ Msg string }

// swarmLimitPrefix starts a search's Stopped when a swarm limit stopped it.
const swarmLimitPrefix = "swarm limit: "

func (e *SwarmLimitError) Error() string { return swarmLimitPrefix + e.Msg }

// swarmLimit is the swarm-side limit a run hit (a *loadgen.LimitError
// before dialing, or sockets this process could not open), nil if none.
func swarmLimit(lres *results.Result, err error) *SwarmLimitError {
	var le *loadgen.LimitError
	if errors.As(err, &le) {
		return &SwarmLimitError{Msg: le.Msg}
	}
	for _, k := range []errkind.Kind{errkind.FDLimit, errkind.PortExhausted} {
		if n := lres.Errors.Connect[k]; n > 0 {
			return &SwarmLimitError{Msg: fmt.Sprintf("%d connections failed in swarm itself (%s: %s)", n, k, errkind.Explain(k))}
		}
	}
	return nil
}

// stepResult is what the knee search judges of one run.
func stepResult(lres *results.Result) estimate.StepResult {
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
	return sr
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func lossOf(sr estimate.StepResult) float64 {
	if sr.Expected == 0 {
		return 0
	}
	return float64(sr.Lost) / float64(sr.Expected)
}

// medianIndex is the index of the median run: runs ranked failed last,
// then by loss, then by p99.
func medianIndex(srs []estimate.StepResult) int {
	idx := make([]int, len(srs))
	for i := range idx {
		idx[i] = i
	}
	worse := func(a estimate.StepResult) (int, float64, time.Duration) {
		f := 0
		if a.Failed {
			f = 1
		}
		return f, lossOf(a), a.P99
	}
	slices.SortStableFunc(idx, func(i, j int) int {
		fi, li, pi := worse(srs[i])
		fj, lj, pj := worse(srs[j])
		switch {
		case fi != fj:
			return fi - fj
		case li != lj:
			if li < lj {
				return -1
			}
			return 1
		}
		return int(pi - pj)
	})
	return idx[(len(idx)-1)/2]
}

// spread is the median, least and most of one figure of the repeats.
func spread(rs []results.Repeat, f func(results.Repeat) float64) results.Spread {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	return results.Spread{Median: v[(len(v)-1)/2], Min: v[0], Max: v[len(v)-1]}
}

// serverCPUPer is the server's CPU per delivery and per message sent (a
// message costs its fan-out's deliveries: expected receivers per probe).
func serverCPUPer(res *results.Result) (perDelivery, perMessage results.Figure) {
	perDelivery = res.Server.CPUPerMessage
	if !perDelivery.OK() {
		return perDelivery, perDelivery
	}
	s := res.Summary
	if s.Sent == 0 || s.Expected == 0 {
		why := results.NotMeasured("no message was sent in the steady phase")
		return perDelivery, why
	}
	return perDelivery, results.Measured(perDelivery.Value * float64(s.Expected) / float64(s.Sent))
}

// kneeSpread is the knee's spread over a search's steps: the largest N at
// which every repeat passed, and the largest at which one did.
func kneeSpread(steps []results.Step, backend string, rate float64) (low, high int64) {
	for _, s := range steps {
		if s.Backend != backend || s.RatePerS != rate {
			continue
		}
		all, any := len(s.Repeats) > 0, false
		for _, r := range s.Repeats {
			all = all && r.OK
			any = any || r.OK
		}
		if all {
			low = max(low, s.Clients)
		}
		if any {
			high = max(high, s.Clients)
		}
	}
	return low, high
}

func (r *stepRunner) progress(st estimate.Step, step results.Step, sr estimate.StepResult) {
	c := r.cfg
	if c.Progress == nil {
		return
	}
	verdict := "ok"
	if !step.OK {
		verdict = "over: " + step.Why
	}
	rep := ""
	if c.Repeat > 1 {
		rep = fmt.Sprintf(" (median of %d; p99 %s..%s ms; %d passed)", c.Repeat, units.FormatSig(step.P99Ms.Min, 3), units.FormatSig(step.P99Ms.Max, 3), sr.Passed)
	}
	wait := ""
	if step.Recovery != nil {
		wait = fmt.Sprintf(" after %.1fs recovery", step.Recovery.WaitS)
	}
	p99, lost := sr.P99.Round(time.Microsecond).String(), fmt.Sprintf("%d of %d", sr.Lost, sr.Expected)
	if step.Result != nil {
		if why := latencyWhy(step.Result.Summary); why != "" {
			p99 = why
		}
		if why := lossWhy(step.Result.Summary); why != "" {
			lost = why
		}
	}
	fmt.Fprintf(c.Progress, "sweep %s: %s clients at %s%s: p99 %s, lost %s%s: %s\n", r.backend,
		units.FormatCount(float64(st.Clients)), units.FormatRate(st.RatePerS), wait, p99, lost, rep, verdict)
}

// keptMemory marks a running target's memory per connection not measured
// after its first run: a process keeps memory it once used (Python's and
// Go's allocators mostly do), so its RSS grows by less than a later run's
// connections cost, and the figure would be too small by an unknown factor.
func (r *stepRunner) keptMemory(lres *results.Result) {
	if r.held > 0 && lres.Server.MemoryPerConn.OK() {
		lres.Server.MemoryPerConn = results.NotMeasured(fmt.Sprintf(
			"the server already held %d connections in an earlier run of this sweep and may keep their memory; only the sweep's first run measures memory per connection",
			r.held))
	}
	r.held = max(r.held, lres.Summary.Connected)
}
