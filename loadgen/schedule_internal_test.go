package loadgen

import (
	"math"
	"testing"
	"time"
)

func completed(t *testing.T, c Config) *Config {
	t.Helper()
	c.URLs = []string{"ws://x/"}
	if err := c.complete(); err != nil {
		t.Fatal(err)
	}
	return &c
}

// Constant arrivals: talker c's probe seq is due at rank·T/talkers + seq·T,
// exactly, for every probe of warmup and steady.
func TestScheduleConstant(t *testing.T) {
	cfg := completed(t, Config{Clients: 10, Senders: 4, Rate: 2, Warmup: time.Second, Duration: 2 * time.Second})
	s := newSchedule(cfg, 1000)
	for k, c := range cfg.lay.talker {
		var n int64
		s.each(int(c), func(seq, due int64) bool {
			want := int64(1000) + int64(k)*int64(125*time.Millisecond) + seq*int64(500*time.Millisecond)
			if seq != n || due != want {
				t.Fatalf("talker %d probe %d (#%d) due %d, want %d", c, seq, n, due, want)
			}
			n++
			return true
		})
		if n != 6 {
			t.Errorf("talker %d: %d probes in 3 s at 2/s, want 6", c, n)
		}
	}
}

// Poisson arrivals: gaps of mean 1/rate with a coefficient of variation
// near 1 (exponential), the same in every process (seeded), other with
// another seed.
func TestSchedulePoisson(t *testing.T) {
	cfg := completed(t, Config{Clients: 400, Rate: 5, Arrivals: Poisson, Duration: 20 * time.Second, Seed: 3})
	s := newSchedule(cfg, 0)
	var gaps []float64
	for _, c := range cfg.lay.talker {
		prev := int64(0)
		s.each(int(c), func(seq, due int64) bool {
			gaps = append(gaps, float64(due-prev)/1e9)
			prev = due
			return true
		})
	}
	var sum, sq float64
	for _, g := range gaps {
		sum += g
	}
	mean := sum / float64(len(gaps))
	for _, g := range gaps {
		sq += (g - mean) * (g - mean)
	}
	cv := math.Sqrt(sq/float64(len(gaps))) / mean
	if math.Abs(mean-0.2) > 0.01 || math.Abs(cv-1) > 0.05 {
		t.Errorf("%d gaps: mean %.4f s (want 0.2), coefficient of variation %.3f (want 1)", len(gaps), mean, cv)
	}
	again := newSchedule(completed(t, Config{Clients: 400, Rate: 5, Arrivals: Poisson, Duration: 20 * time.Second, Seed: 3}), 0)
	g1, g2 := s.dues(7), again.dues(7)
	for i := 0; i < 50; i++ {
		a, _ := g1.next()
		b, _ := g2.next()
		if a != b {
			t.Fatalf("probe %d: due %d and %d with the same seed", i, a, b)
		}
	}
}

// Phases: each stretch at its own rate; the steady phase is their sum.
func TestSchedulePhases(t *testing.T) {
	cfg := completed(t, Config{Clients: 100, Rate: 1, Warmup: time.Second,
		Phases: []Phase{{"hold", 4 * time.Second, 1}, {"spike", 2 * time.Second, 10}, {"hold", 4 * time.Second, 1}}})
	if cfg.Duration != 10*time.Second {
		t.Fatalf("duration %v, want the phases' 10 s", cfg.Duration)
	}
	s := newSchedule(cfg, 0)
	perSecond := make([]int, 11)
	for _, c := range cfg.lay.talker {
		s.each(int(c), func(_, due int64) bool {
			perSecond[due/int64(time.Second)]++
			return true
		})
	}
	for sec, n := range perSecond {
		want := 100 // 100 talkers at 1/s
		if sec == 5 || sec == 6 {
			want = 1000
		}
		if math.Abs(float64(n-want)) > float64(want)/20 {
			t.Errorf("second %d: %d probes, want about %d", sec, n, want)
		}
	}
}
