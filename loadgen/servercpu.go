package loadgen

import (
	"context"
	"crypto/tls"
	"errors"
)

// ServerCPU reads the CPU seconds used so far by every server node given
// by pid (/proc) or Prometheus endpoint (process_cpu_seconds_total), added
// up, as swarm reads a run's server cost. sweep uses it to see a target
// come back to idle between steps. Its resolution is one clock tick (10 ms)
// per process.
func ServerCPU(ctx context.Context, pids []int, metricsURLs []string, tlsCfg *tls.Config) (float64, error) {
	m := serverMeter(pids, metricsURLs, tlsCfg)
	if len(m.read) == 0 {
		return 0, errors.New("no server process to read (give --server-pid or --metrics-url)")
	}
	ctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
	defer cancel()
	var total float64
	for _, read := range m.read {
		s, _, err := read(ctx)
		if err != nil {
			return 0, err
		}
		total += s.CPUSec
	}
	return total, nil
}
