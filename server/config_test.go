package server

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestDefaultConfigIsValid(t *testing.T) {
	cfg := DefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("DefaultConfig: %v", err)
	}
	if cfg.MaxMsgRate <= 0 || cfg.MaxPingRate <= 0 {
		t.Errorf("the defaults must limit messages and pings: %v, %v", cfg.MaxMsgRate, cfg.MaxPingRate)
	}
}

// Each value is refused with a *ConfigError naming it; zeros that mean
// something are accepted.
func TestValidateRefusesValuesThatCannotMeanAnything(t *testing.T) {
	for _, tc := range []struct {
		set  func(c *Config)
		want string // "" : valid
	}{
		{func(c *Config) { c.MaxMessageBytes = 0 }, "max message size 0"},
		{func(c *Config) { c.MaxMessageBytes = 64<<20 + 1 }, "max message size 67108865"},
		{func(c *Config) { c.MaxUserBytes = 0 }, "max user name size 0"},
		{func(c *Config) { c.SendQueue = 0 }, "send queue 0"},
		{func(c *Config) { c.MaxConns = -2 }, "max connections -2"},
		{func(c *Config) { c.FDReserve = -1 }, "fd reserve -1"},
		{func(c *Config) { c.MaxPending = 0 }, "max pending connections 0"},
		{func(c *Config) { c.MaxMsgRate = math.Inf(1) }, "max message rate +Inf"},
		{func(c *Config) { c.MaxPingRate = -1 }, "max ping rate -1"},
		{func(c *Config) { c.MaxMsgBurst = maxBurst + 1 }, "max message burst 1000001"},
		{func(c *Config) { c.WriteTimeout = 0 }, "write timeout must be positive"},
		{func(c *Config) { c.ReadHeaderTimeout = 0 }, "read header timeout must be positive"},
		{func(c *Config) { c.NameTimeout = 0 }, "name timeout must be positive"},
		{func(c *Config) { c.PingTimeout = 0 }, "ping timeout must be positive"},
		{func(c *Config) { c.ShutdownTimeout = -time.Second }, "shutdown timeout -1s must not be negative"},
		{func(c *Config) { c.SlowPolicy = "" }, `slow policy ""`},
		// Zeros that mean what they say.
		{func(c *Config) { c.MaxMsgRate, c.MaxPingRate, c.MaxConns, c.WriteDelay = 0, 0, 0, 0 }, ""},
		{func(c *Config) { c.PingInterval, c.PingTimeout = 0, 0 }, ""},
		{func(c *Config) { c.ShutdownTimeout, c.TrimMemoryAfter, c.FDReserve = 0, 0, 0 }, ""},
	} {
		cfg := DefaultConfig()
		tc.set(&cfg)
		err := cfg.Validate()
		var ce *ConfigError
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("refused: %v", err)
		case tc.want == "":
		case !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want):
			t.Errorf("error %v (%T), want a *ConfigError with %q", err, err, tc.want)
		}
	}
}

// Known answers: the three parts of the open-files limit.
func TestFitMaxConnsSplitsTheOpenFilesLimit(t *testing.T) {
	for _, tc := range []struct {
		maxConns, reserve, pending int
		limit                      uint64
		want                       int
		refused                    bool
	}{
		{MaxConnsAuto, 64, 256, 20000, 19680, false},
		{MaxConnsAuto, 64, 256, 0, 0, false}, // limit unknown: no cap
		{MaxConnsAuto, 100000, 256, 20000, 0, true},
		{MaxConnsAuto, 64, 236, 300, 0, true}, // exactly nothing left
		{MaxConnsAuto, 64, 235, 300, 1, false},
		{MaxConnsAuto, math.MaxInt, math.MaxInt, 20000, 0, true}, // no wrap-around
		{19680, 64, 256, 20000, 19680, false},
		{19681, 64, 256, 20000, 0, true},
		{0, 64, 256, 20000, 0, false}, // no cap
		{50, 32, 64, 300, 50, false},
	} {
		cfg := DefaultConfig()
		cfg.MaxConns, cfg.FDReserve, cfg.MaxPending = tc.maxConns, tc.reserve, tc.pending
		got, err := cfg.fitMaxConns(tc.limit)
		if (err != nil) != tc.refused || got != tc.want {
			t.Errorf("MaxConns %d, reserve %d, pending %d, limit %d: %d, %v; want %d, refused %v",
				tc.maxConns, tc.reserve, tc.pending, tc.limit, got, err, tc.want, tc.refused)
		}
	}
}

func TestBurstFor(t *testing.T) {
	for _, tc := range []struct {
		rate  float64
		burst int
		want  int
	}{{50, 0, 50}, {0.5, 0, 1}, {10.2, 0, 11}, {50, 7, 7}, {1e12, 0, maxBurst}} {
		if got := burstFor(tc.rate, tc.burst); got != tc.want {
			t.Errorf("burstFor(%v, %d) = %d, want %d", tc.rate, tc.burst, got, tc.want)
		}
	}
}
