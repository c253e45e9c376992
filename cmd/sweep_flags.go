package cmd

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/chatbench/chatbench/estimate"
	"github.com/chatbench/chatbench/estimate/sweep"
	"github.com/chatbench/chatbench/loadgen"
	"github.com/chatbench/chatbench/loadgen/results"
)

// config turns the flags into a sweep; every problem is a usage error
// naming the flag (or the workload file's field).
func (o *sweepOptions) config(flags *pflag.FlagSet, stderr io.Writer) (sweep.Config, error) {
	cfg := sweep.Config{Backends: o.backends, URLs: o.load.urls, Nodes: o.nodes, SLO: estimate.SLO{P99: o.sloP99, MaxLoss: float64(o.maxLoss)},
		Budget: o.budget, MaxRuns: o.maxRuns, Version: version(), Progress: stderr, Mode: o.mode, Repeat: o.repeat,
		Recovery: sweep.Recovery{MinWait: o.cooldown, MaxWait: o.cooldownMax}, Server: o.serverName, ServerBackend: o.serverBackend}
	cfg.StartN, cfg.MaxN, cfg.Resolution = int64(o.start), int64(o.max), int64(o.resolution)
	if err := o.checkSearch(flags, cfg); err != nil {
		return cfg, err
	}
	if s := o.load.senders; !s.IsShare && s.Count > 0 {
		return cfg, usageErr("--senders %d: a count does not keep the shape as users grow; give a share, e.g. 10%%", s.Count)
	}
	o.base.Clients = int(cfg.StartN)
	if err := o.load.validate(flags); err != nil {
		return cfg, err
	}
	for _, r := range o.load.rates.PerS {
		if !(r > 0) {
			return cfg, usageErr("--rate must be more than 0")
		}
	}
	cfg.Rates = o.load.rates.PerS
	cfg.RoomRate = float64(o.roomRate)
	lc := o.base
	cfg.Load = &lc
	if err := o.checkTarget(flags, &cfg); err != nil {
		return cfg, err
	}
	if err := checkJUnitPath(o.junit); err != nil {
		return cfg, err
	}
	for _, f := range []struct{ flag, path string }{{"out", o.out}, {"html", o.html}} {
		if f.path == "" {
			continue
		}
		if err := results.CheckWritable(f.path); err != nil { // before the sweep, not after it
			return cfg, usageErr("--%s: %v", f.flag, err)
		}
	}
	return cfg, nil
}

// checkSearch checks the search's own flags.
func (o *sweepOptions) checkSearch(flags *pflag.FlagSet, cfg sweep.Config) error {
	switch {
	case cfg.MaxN < cfg.StartN:
		return usageErr("--max %d is below --start %d", cfg.MaxN, cfg.StartN)
	case o.maxLoss >= 1:
		return usageErr("--max-loss %s: want a share below 100%%, e.g. 0.1%%", o.maxLoss.String())
	case o.repeat < 1:
		return usageErr("--repeat %d: want at least 1 run per step", o.repeat)
	case o.cooldown < 0 || o.cooldownMax <= 0:
		return usageErr("--cooldown must not be negative and --cooldown-max must be positive")
	}
	switch o.mode {
	case results.ModeUsers:
		if flags.Changed("room-rate") {
			return usageErr("--room-rate is for --mode room-rate")
		}
	case results.ModeRoomRate:
		if !(o.roomRate > 0) {
			return usageErr("--mode room-rate: give the room's total rate with --room-rate, e.g. 20/s")
		}
		for _, f := range []string{"room-size", "rooms", "room-sizes", "senders", "rate", "workload"} {
			if flags.Changed(f) {
				return usageErr("--%s and --mode room-rate: give one (room-rate sweeps one room of N, everyone sending --room-rate ÷ N)", f)
			}
		}
	default:
		return usageErr("--mode %q: want %s or %s", o.mode, results.ModeUsers, results.ModeRoomRate)
	}
	return nil
}

// checkTarget checks the backends (no --url) or the running target's
// cost sources (--url), and the swarm run of the first step.
func (o *sweepOptions) checkTarget(flags *pflag.FlagSet, cfg *sweep.Config) error {
	lc := *cfg.Load
	if len(cfg.URLs) > 0 {
		cfg.Load.MetricsURLs = metricsURLs(o.load.metricsURLs, cfg.URLs, len(lc.ServerPIDs) > 0)
		lc.URLs = cfg.URLs
		if o.serverBackend != "" && !slices.Contains(backends, o.serverBackend) {
			return usageErr("--server-backend %q: want one of %s", o.serverBackend, strings.Join(backends, ", "))
		}
	} else {
		if flags.Changed("server-pid") || flags.Changed("metrics-url") {
			return usageErr("--server-pid and --metrics-url are for --url targets: sweep reads the cost of the nodes it starts itself")
		}
		if flags.Changed("server-name") || flags.Changed("server-backend") {
			return usageErr("--server-name and --server-backend are for --url targets: sweep knows the nodes it starts itself (chatbench serve BACKEND)")
		}
		for _, b := range o.backends {
			if !slices.Contains(backends, b) {
				return usageErr("--backend %q: want one of %s", b, strings.Join(backends, ", "))
			}
		}
		exe, err := os.Executable()
		if err != nil {
			return failErr(fmt.Errorf("cannot find this binary to start server nodes: %w", err))
		}
		cfg.Start = sweepChildServe(exe, o.redisURL, o.amqpURL)
		lc.URLs = []string{"ws://127.0.0.1:1/ws?room={{room}}&user={{user}}"} // the nodes', to check with
	}
	lc.Rate = cfg.Rates[0]
	if err := loadgen.Check(lc, 1); err != nil {
		return usageErr("%v", err)
	}
	return nil
}
