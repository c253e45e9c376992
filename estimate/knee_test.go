package estimate

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"
)

// fakeRunner passes every step at or below knee: p99 grows with N and loss
// starts above the knee. It counts runs and advances a fake clock by step.
type fakeRunner struct {
	knee  int64
	runs  int
	clock *fakeClock
	step  time.Duration
}

func (f *fakeRunner) RunStep(_ context.Context, s Step) (StepResult, error) {
	f.runs++
	if f.clock != nil {
		f.clock.t = f.clock.t.Add(f.step)
	}
	if s.Clients <= f.knee {
		return StepResult{P99: 50 * time.Millisecond, Expected: s.Clients * s.Clients}, nil
	}
	// Over the knee: latency over the SLO, or loss, alternately.
	if s.Clients%2 == 0 {
		return StepResult{P99: 400 * time.Millisecond, Expected: s.Clients * s.Clients}, nil
	}
	return StepResult{P99: 50 * time.Millisecond, Expected: s.Clients * s.Clients, Lost: 1}, nil
}

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// The search finds a known knee within one step (the resolution), in about
// log2(knee/start) coarse runs plus log2(range/resolution) bisections.
func TestFindKneeKnown(t *testing.T) {
	for _, knee := range []int64{100, 137, 999, 1000, 1001, 3217, 25000, 99999} {
		f := &fakeRunner{knee: knee}
		res, err := FindKnee(context.Background(), f, SearchConfig{Start: 100, Max: 1_000_000, RatePerS: 1})
		if err != nil {
			t.Fatalf("knee %d: %v", knee, err)
		}
		resol := max(1, int64(math.Ceil(float64(res.Knee)*0.05)))
		if res.Knee > knee || knee-res.Knee > resol || res.Above-res.Knee > resol || res.Above <= knee {
			t.Errorf("knee %d: found %d (above %d), want within %d", knee, res.Knee, res.Above, resol)
		}
		coarse := int(math.Floor(math.Log2(float64(knee)/100))) + 2
		bisect := int(math.Ceil(math.Log2(float64(res.Above-res.Knee+resol)/float64(resol)))) + int(math.Log2(20)) + 1
		if f.runs != res.Runs() || f.runs > coarse+bisect || f.runs > 16 {
			t.Errorf("knee %d: %d runs (%d recorded), want at most %d coarse + %d bisect, ≤ 16", knee, f.runs, res.Runs(), coarse, bisect)
		}
		t.Logf("knee %d: found %d in %d runs", knee, res.Knee, f.runs)
	}
}

func TestFindKneeExactResolution(t *testing.T) {
	f := &fakeRunner{knee: 3217}
	res, err := FindKnee(context.Background(), f, SearchConfig{Start: 100, Resolution: 1})
	if err != nil {
		t.Fatal(err)
	}
	// 100..6400 is 7 coarse runs; (3200, 6400) to width 1 is 12 bisections.
	if res.Knee != 3217 || res.Above != 3218 || f.runs != 7+12 {
		t.Errorf("found %d/%d in %d runs, want 3217/3218 in 19", res.Knee, res.Above, f.runs)
	}
}

func TestFindKneeEdges(t *testing.T) {
	// The first step fails: down to 50 (a pass), then bisect (50, 100)
	// to the 5% resolution.
	f := &fakeRunner{knee: 61}
	res, err := FindKnee(context.Background(), f, SearchConfig{Start: 100})
	if err != nil || res.Knee < 58 || res.Knee > 61 || res.Above <= 61 || res.Above-res.Knee > 3 || res.Trials[1].Step.Clients != 50 {
		t.Errorf("below start: knee %d above %d, %v, %d runs", res.Knee, res.Above, err, f.runs)
	}
	// Even 1 fails: 100, 50, 25, 12, 6, 3, 1 tried, no knee.
	f = &fakeRunner{knee: 0}
	res, err = FindKnee(context.Background(), f, SearchConfig{Start: 100})
	if err != nil || res.Knee != 0 || res.Above != 1 || f.runs != 7 {
		t.Errorf("nothing passes: knee %d above %d, %v, %d runs", res.Knee, res.Above, err, f.runs)
	}
	// Nothing fails up to Max.
	f = &fakeRunner{knee: 1 << 40}
	res, err = FindKnee(context.Background(), f, SearchConfig{Start: 100, Max: 5000})
	if err != nil || res.Knee != 5000 || res.Above != 0 || f.runs != 7 { // 100 … 3200, 5000
		t.Errorf("no failure up to max: knee %d above %d, %v, %d runs", res.Knee, res.Above, err, f.runs)
	}
}

// The budget stops the search before a step that would overrun it.
func TestFindKneeBudget(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	f := &fakeRunner{knee: 1 << 40, clock: clk, step: time.Minute}
	res, err := FindKnee(context.Background(), f, SearchConfig{Start: 100, Budget: 10 * time.Minute, Now: clk.now})
	if !errors.Is(err, ErrBudget) {
		t.Fatalf("err %v, want ErrBudget", err)
	}
	// Runs at t=0..9 min end by 10 min; the 11th would end at 11 min.
	if f.runs != 10 || res.Knee != 100<<9 || res.Stopped == "" {
		t.Errorf("%d runs, knee %d, stopped %q; want 10 runs, knee %d", f.runs, res.Knee, res.Stopped, 100<<9)
	}
	f = &fakeRunner{knee: 1 << 40}
	res, err = FindKnee(context.Background(), f, SearchConfig{Start: 100, MaxRuns: 3})
	if !errors.Is(err, ErrBudget) || f.runs != 3 || res.Knee != 400 {
		t.Errorf("max runs: %v, %d runs, knee %d", err, f.runs, res.Knee)
	}
}

func TestFindKneeRunnerError(t *testing.T) {
	boom := errors.New("boom")
	r := RunnerFunc(func(context.Context, Step) (StepResult, error) { return StepResult{}, boom })
	if _, err := FindKnee(context.Background(), r, SearchConfig{}); !errors.Is(err, boom) {
		t.Errorf("err %v, want boom", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := FindKnee(ctx, &fakeRunner{knee: 1000}, SearchConfig{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestSLOMet(t *testing.T) {
	slo := SLO{P99: 100 * time.Millisecond}
	cases := []struct {
		r   StepResult
		ok  bool
		why string
	}{
		{StepResult{P99: 99 * time.Millisecond, Expected: 10}, true, ""},
		{StepResult{P99: 100 * time.Millisecond, Expected: 10}, false, "p99 100ms ≥ 100ms"},
		{StepResult{P99: time.Millisecond, Expected: 10, Lost: 1}, false, "lost 1 of 10"},
		{StepResult{Failed: true, Reason: "refused"}, false, "failed: refused"},
	}
	for _, c := range cases {
		ok, why := slo.Met(c.r)
		if ok != c.ok || why != c.why {
			t.Errorf("%+v: %v %q, want %v %q", c.r, ok, why, c.ok, c.why)
		}
	}
	if ok, _ := (SLO{P99: time.Second, MaxLoss: 0.01}).Met(StepResult{Expected: 1000, Lost: 10}); !ok {
		t.Error("1% loss allowed but refused")
	}
}
