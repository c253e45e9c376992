package sweep

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chatbench/chatbench/estimate"
	"github.com/chatbench/chatbench/estimate/sweep/sweeptest"
	"github.com/chatbench/chatbench/loadgen"
	"github.com/chatbench/chatbench/loadgen/results"
)

// quickLoad is one room of everyone at 4/s each in short runs.
func quickLoad() *loadgen.Config {
	lc := loadgen.DefaultConfig()
	lc.RoomSize, lc.Talkers, lc.Rate = 0, 0, 4
	lc.Warmup, lc.Duration, lc.Grace, lc.Settle = 100*time.Millisecond, 400*time.Millisecond, 400*time.Millisecond, 0
	return &lc
}

func sweepTarget(t *testing.T, tg *sweeptest.Target, cfg Config) (*results.Sweep, error) {
	t.Helper()
	tg.Start()
	t.Cleanup(tg.Stop)
	cfg.URLs = []string{tg.URL() + "?room={{room}}&user={{user}}"}
	if cfg.Load == nil {
		cfg.Load = quickLoad()
	}
	if tg.Busy > 0 || cfg.Mode == results.ModeRoomRate {
		cfg.Load.MetricsURLs = []string{strings.Replace(strings.TrimSuffix(tg.URL(), "/ws"), "ws://", "http://", 1) + "/metrics"}
	}
	cfg.SLO = estimate.SLO{P99: time.Second} // far above a loopback p99, even under -race on a busy machine
	if cfg.Rates == nil {
		cfg.Rates = []float64{4}
	}
	cfg.Resolution, cfg.Budget = 1, 2*time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return Run(ctx, cfg)
}

// A target that holds every delivery 3 s (lost: past the grace) past 20
// users: the knee is 20, to the resolution of one user.
func TestSweepFindsKnownCapacity(t *testing.T) {
	tg := &sweeptest.Target{Cap: 20, Delay: 3 * time.Second}
	res, err := sweepTarget(t, tg, Config{StartN: 5, MaxN: 80})
	if err != nil {
		t.Fatal(err)
	}
	se := res.Searches[0]
	if se.Knee != 20 || se.Above != 21 || se.KneeLow != 20 || se.KneeHigh != 20 || se.Repeat != 1 ||
		se.Mode != results.ModeUsers || !strings.HasPrefix(se.Server, "server at ws://127.0.0.1:") {
		t.Fatalf("search %+v", se)
	}
	for _, s := range res.Steps {
		if s.Recovery == nil || s.Recovery.Ready != "/readyz" || !s.Recovery.Recovered || s.Shape == "" {
			t.Errorf("step %d: recovery %+v shape %q", s.Clients, s.Recovery, s.Shape)
		}
	}
}

// A target that spins one core for 1.5 s after every run: the step after
// waits for it (at least what was left of the spin when sweep first read
// the target's CPU from its /metrics), and records the target idle.
func TestSweepWaitsForBusyTarget(t *testing.T) {
	const busy = 1500 * time.Millisecond
	tg := &sweeptest.Target{Busy: busy}
	lc := quickLoad()
	res, err := sweepTarget(t, tg, Config{StartN: 4, MaxN: 8, Load: lc})
	if err != nil {
		t.Fatal(err)
	}
	left := tg.BusyLeft()
	if len(res.Steps) != 2 || len(left) != 1 {
		t.Fatalf("steps %d, busy periods probed %d", len(res.Steps), len(left))
	}
	rec := res.Steps[1].Recovery
	if !rec.Recovered || rec.CPUCores < 0 || rec.CPUCores >= 0.05 {
		t.Fatalf("recovery %+v", rec)
	}
	if got := time.Duration(rec.WaitS * float64(time.Second)); got < left[0] || left[0] < busy/2 {
		t.Errorf("waited %v; the spin had %v left when probing began", got, left[0])
	}
}

// Three repeats per step against a target that, from 12 users on, passes
// only the middle run of each step: the knee (majority) is 11, knee_low
// 11 (every run passed), knee_high the largest N tried, 12.
func TestSweepRepeatSpread(t *testing.T) {
	tg := &sweeptest.Target{FlipFrom: 12, Delay: 3 * time.Second}
	res, err := sweepTarget(t, tg, Config{StartN: 6, MaxN: 12, Repeat: 3})
	if err != nil {
		t.Fatal(err)
	}
	se := res.Searches[0]
	if se.Knee != 11 || se.KneeLow != 11 || se.KneeHigh != 12 || se.Repeat != 3 {
		t.Fatalf("search %+v", se)
	}
	for _, s := range res.Steps {
		passed := 0
		for _, r := range s.Repeats {
			if r.OK {
				passed++
			}
		}
		want := 3
		if s.Clients >= 12 {
			want = 1
		}
		if len(s.Repeats) != 3 || passed != want || s.P99Ms.Min > s.P99Ms.Median || s.P99Ms.Median > s.P99Ms.Max {
			t.Errorf("step %d: %d of %d passed (want %d), p99 %+v", s.Clients, passed, len(s.Repeats), want, s.P99Ms)
		}
	}
}

// A target that goes away after two runs: the sweep ends with the two
// steps, partial, and a TargetDownError.
func TestSweepTargetDown(t *testing.T) {
	tg := &sweeptest.Target{DieAfter: 2}
	res, err := sweepTarget(t, tg, Config{StartN: 4, MaxN: 64})
	var down *TargetDownError
	if !errors.As(err, &down) {
		t.Fatalf("err = %v, want target down", err)
	}
	if res == nil || !res.Partial || len(res.Steps) != 2 || res.Steps[0].Clients != 4 || res.Steps[1].Clients != 8 {
		t.Fatalf("res %+v", res)
	}
}

// A target that stays busy (3 s) longer than the wait's bound (1 s): the
// step after runs, says "target not recovered", and a note says so.
func TestSweepTargetNotRecovered(t *testing.T) {
	tg := &sweeptest.Target{Busy: 3 * time.Second}
	res, err := sweepTarget(t, tg, Config{StartN: 4, MaxN: 8, Recovery: Recovery{MaxWait: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Steps) != 2 {
		t.Fatalf("steps %d", len(res.Steps))
	}
	rec, s := res.Steps[1].Recovery, res.Steps[1]
	if rec.Recovered || rec.CPUCores < 0.05 || rec.WaitS < 1 || !strings.HasPrefix(rec.Why, "still using ") ||
		!strings.Contains(s.Why, "target not recovered: still using ") {
		t.Errorf("step 8: recovery %+v, why %q", rec, s.Why)
	}
	if len(res.Notes) != 1 || !strings.HasPrefix(res.Notes[0], "8 clients: target not recovered before the step (still using ") {
		t.Errorf("notes %q", res.Notes)
	}
}

// A target without /readyz is found ready by a test message echoed back
// (after the hello); with --no-echo, by a completed handshake.
func TestSweepReadinessWithoutReadyz(t *testing.T) {
	for _, c := range []struct {
		noEcho bool
		want   string
	}{{false, "echo"}, {true, "connect"}} {
		lc := quickLoad()
		lc.Hello, lc.NoEcho = "{{user}}", c.noEcho
		res, err := sweepTarget(t, &sweeptest.Target{NoReadyz: true}, Config{StartN: 3, MaxN: 3, Load: lc})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Steps) != 1 || res.Steps[0].Recovery.Ready != c.want {
			t.Errorf("no-echo %v: steps %d, recovery %+v; want ready by %s", c.noEcho, len(res.Steps), res.Steps[0].Recovery, c.want)
		}
	}
}

// Recovery probes every URL (review A6): with the first a ready target and
// the second a port nothing listens on, the target is down, and the error
// names the second URL.
func TestRecoveryProbesEveryURL(t *testing.T) {
	tg := &sweeptest.Target{}
	tg.Start()
	t.Cleanup(tg.Stop)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "ws://" + ln.Addr().String() + "/ws"
	ln.Close()
	lc := *quickLoad()
	lc.URLs = []string{tg.URL() + "?room={{room}}&user={{user}}", closed + "?room={{room}}&user={{user}}"}
	r := Recovery{MaxWait: 5 * time.Second}
	r.defaults()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = r.await(ctx, lc)
	var down *TargetDownError
	if !errors.As(err, &down) || !strings.HasPrefix(down.URL, closed) {
		t.Fatalf("err = %v, want %s down", err, closed)
	}
	lc.URLs = lc.URLs[:1]
	if rec, err := r.await(ctx, lc); err != nil || rec.Ready != "/readyz" {
		t.Errorf("first URL alone: recovery %+v, err %v; want ready by /readyz", rec, err)
	}
}
