package loadgen

import (
	"fmt"
	"net/url"
	"runtime"
	"slices"
)

// Deliveries per second one core can plausibly carry, measured on the
// 2-core reference machine (README, "Backends side by side"): chatbench
// serve spends 2.3-5.8 µs of CPU per delivery and swarm about 2 µs per
// received message, so serve and swarm sharing a core carry at most about
// 200k deliveries/s; swarm alone receives at most about 500k/s per core.
const (
	sharedDeliveriesPerCore = 200_000
	swarmDeliveriesPerCore  = 500_000
)

// Plausible returns the deliveries per second cfg asks for and the most
// this machine can plausibly carry: with the server on the same cores
// (shared), or swarm's receiving alone.
func Plausible(cfg Config, shared bool) (requested, plausible float64) {
	c := cfg
	if err := c.complete(); err != nil {
		return 0, 0
	}
	per := float64(swarmDeliveriesPerCore)
	if shared {
		per = sharedDeliveriesPerCore
	}
	return c.RequestedPerS(), per * float64(runtime.NumCPU())
}

// MetricsURLsOf is /metrics of every distinct host of the targets (ws:// →
// http://, wss:// → https://): one per server node.
func MetricsURLsOf(targets []string) []string {
	var out []string
	for _, t := range targets {
		u, err := url.Parse(t)
		if err != nil || u.Host == "" {
			continue
		}
		scheme := "http"
		if u.Scheme == "wss" || u.Scheme == "https" {
			scheme = "https"
		}
		if m := scheme + "://" + u.Host + "/metrics"; !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// Describe says in one line what a run of cfg asks for: clients, rooms,
// talkers and deliveries per second.
func Describe(cfg Config) string {
	if err := cfg.complete(); err != nil {
		return err.Error()
	}
	l := cfg.lay
	rooms := fmt.Sprintf("%d room(s) of %d", len(l.members), l.members[0])
	if mn, mx := slices.Min(l.members), slices.Max(l.members); mn != mx {
		rooms = fmt.Sprintf("%d rooms of %d to %d (%s)", len(l.members), mn, mx, cfg.roomSizesText())
	}
	return fmt.Sprintf("%d clients in %s, %d talking at %g/s (%s): %s deliveries/s",
		cfg.Clients, rooms, len(l.talker), cfg.Rate, cfg.Arrivals, humanCount(cfg.RequestedPerS()))
}

func humanCount(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}
