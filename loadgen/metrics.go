package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Swarm's own Prometheus metrics (swarm --metrics-addr). They are read at
// scrape time from the counters and per-shard histograms the run keeps
// anyway, so the receive path stays lock- and allocation-free: nothing is
// observed per message.

// LatencyBuckets are the upper bounds, in seconds, of
// chatbench_swarm_latency_seconds.
var LatencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

var (
	descClients = prometheus.NewDesc("chatbench_swarm_clients",
		"Clients this swarm process opens (-n).", nil, nil)
	descConnections = prometheus.NewDesc("chatbench_swarm_connections",
		"Open WebSockets of this swarm process.", nil, nil)
	descConnectErrors = prometheus.NewDesc("chatbench_swarm_connect_errors_total",
		"Connections that failed to open, by kind (refused, timeout, http_503, fd_limit, port_exhaustion, ...).", []string{"kind"}, nil)
	descDisconnects = prometheus.NewDesc("chatbench_swarm_disconnects_total",
		"Sockets lost before swarm closed them, by kind (close_1008, eof, reset, ...).", []string{"kind"}, nil)
	descSends = prometheus.NewDesc("chatbench_swarm_sends_total",
		"Probe messages written (every phase).", nil, nil)
	descSendErrors = prometheus.NewDesc("chatbench_swarm_send_errors_total",
		"Writes that failed or timed out (the socket is then closed).", nil, nil)
	descDeliveries = prometheus.NewDesc("chatbench_swarm_deliveries_total",
		"Probes received by any socket of this process (own and other runs, every phase).", nil, nil)
	descForeign = prometheus.NewDesc("chatbench_swarm_foreign_deliveries_total",
		"Probes of other swarm runs received (counted for delivery, never timed).", nil, nil)
	descExpected = prometheus.NewDesc("chatbench_swarm_expected_deliveries_total",
		"Steady-phase deliveries expected (room members connected when each probe was due), counted once the probe's grace period has passed.", nil, nil)
	descLost = prometheus.NewDesc("chatbench_swarm_lost_total",
		"Steady-phase deliveries still missing when the probe's grace period had passed.", nil, nil)
	descLatency = prometheus.NewDesc("chatbench_swarm_latency_seconds",
		"Fan-out latency from each probe's due time to its receipt (own-run deliveries, every phase).", nil, nil)
)

// histBucketOf[i] is the LatencyBuckets index that counts index i of the
// atomic histograms' layout (len(LatencyBuckets) for +Inf), and histMidUs[i]
// the middle of the values it holds, in µs.
var histBucketOf, histMidUs = func() ([]int, []float64) {
	of := make([]int, histCountsLen)
	mid := make([]float64, histCountsLen)
	for i := range of {
		lo, width := histValueAt(i)
		b := 0
		for b < len(LatencyBuckets) && float64(lo) > LatencyBuckets[b]*1e6 {
			b++
		}
		of[i] = b
		mid[i] = float64(lo) + float64(width-1)/2
	}
	return of, mid
}()

// histValueAt is the inverse of histIndex: the lowest value (µs) that counts
// at index i, and how many values share it.
func histValueAt(i int) (lo, width int64) {
	bucketIdx := i>>subBucketHalfCountMagnitude - 1
	sub := int64(i&(subBucketHalfCount-1) + subBucketHalfCount)
	if bucketIdx < 0 {
		bucketIdx, sub = 0, int64(i)
	}
	return sub << uint(bucketIdx), 1 << uint(bucketIdx)
}

// swarmCollector is a prometheus.Collector over one run.
type swarmCollector struct {
	r *run

	mu       sync.Mutex // serialises scrapes; guards the fields below
	counts   []int64
	expected int64
	lost     int64
}

func newSwarmCollector(r *run) *swarmCollector {
	return &swarmCollector{r: r, counts: make([]int64, histCountsLen)}
}

func (c *swarmCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descClients, descConnections, descConnectErrors, descDisconnects, descSends,
		descSendErrors, descDeliveries, descForeign, descExpected, descLost, descLatency} {
		ch <- d
	}
}

func (c *swarmCollector) Collect(ch chan<- prometheus.Metric) {
	r := c.r
	c.mu.Lock()
	defer c.mu.Unlock()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge(descClients, float64(r.cfg.Clients))
	gauge(descConnections, float64(r.connected.Load()))
	r.mu.Lock()
	for k, v := range r.connErrs {
		counter(descConnectErrors, float64(v), k)
	}
	for k, v := range r.discErrs {
		counter(descDisconnects, float64(v), k)
	}
	r.mu.Unlock()
	counter(descSends, float64(r.sends.Load()))
	counter(descSendErrors, float64(r.sendErrors.Load()))
	var deliv, foreign int64
	for _, sh := range r.shards {
		deliv += sh.deliveries.Load()
		foreign += sh.foreign.Load()
	}
	counter(descDeliveries, float64(deliv))
	counter(descForeign, float64(foreign))

	exp, lost := c.settled()
	// A late delivery can lower a probe's loss after its grace period; the
	// counters never go down (Prometheus would take it for a restart).
	c.expected, c.lost = max(c.expected, exp), max(c.lost, lost)
	counter(descExpected, float64(c.expected))
	counter(descLost, float64(c.lost))

	clear(c.counts)
	for _, sh := range r.shards {
		sh.dueAll.addTo(c.counts)
	}
	buckets := make([]uint64, len(LatencyBuckets)+1)
	var sumUs float64
	for i, n := range c.counts {
		if n != 0 {
			buckets[histBucketOf[i]] += uint64(n)
			sumUs += float64(n) * histMidUs[i]
		}
	}
	cum := make(map[float64]uint64, len(LatencyBuckets))
	var total uint64
	for b, le := range LatencyBuckets {
		total += buckets[b]
		cum[le] = total
	}
	total += buckets[len(LatencyBuckets)]
	ch <- prometheus.MustNewConstHistogram(descLatency, total, sumUs/1e6, cum)
}

// settled sums expected and missing deliveries of the steady-phase probes
// whose grace period is over.
func (c *swarmCollector) settled() (expected, lost int64) {
	t := c.r.t
	ss, se := t.steadyStart.Load(), t.steadyEnd.Load()
	cutoff := t.now() - int64(c.r.cfg.Grace)
	for _, recs := range t.probes {
		for i := range recs {
			p := &recs[i]
			if !p.sent.Load() { // due and expected are written before sent
				continue
			}
			if p.due >= cutoff {
				break // a sender's probes are in due order
			}
			if p.due < ss || p.due >= se {
				continue
			}
			exp := int64(p.expected)
			expected += exp
			lost += max(0, exp-int64(p.count.Load()))
		}
	}
	return expected, lost
}

// MetricsServer serves a Prometheus registry over HTTP (swarm --metrics-addr).
type MetricsServer struct {
	// Registry holds the Go and process collectors; Run registers the
	// swarm's own metrics here when it is Config.Metrics.
	Registry *prometheus.Registry
	ln       net.Listener
	srv      *http.Server
	done     chan struct{}
}

// ListenMetrics listens on addr (port 0 picks a free one) and serves
// /metrics from a fresh registry with the Go and process collectors.
func ListenMetrics(addr string) (*MetricsServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	m := &MetricsServer{Registry: reg, ln: ln, done: make(chan struct{}),
		srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	go func() {
		defer close(m.done)
		_ = m.srv.Serve(ln)
	}()
	return m, nil
}

// Addr is the address it listens on.
func (m *MetricsServer) Addr() string { return m.ln.Addr().String() }

// Close stops serving, waiting up to 2 s for scrapes in flight.
func (m *MetricsServer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := m.srv.Shutdown(ctx)
	<-m.done
	if errors.Is(err, context.DeadlineExceeded) {
		err = m.srv.Close()
	}
	return err
}

// registerMetrics registers r's collector with reg; the returned func
// unregisters it.
func (r *run) registerMetrics(reg prometheus.Registerer) (func(), error) {
	c := newSwarmCollector(r)
	if err := reg.Register(c); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return func() { reg.Unregister(c) }, nil
}
