package loadgen

import (
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
