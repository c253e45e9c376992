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
// scrape time from the counters and per-group histograms the run keeps
// anyway, so the receive path stays lock- and allocation-free: nothing is
// observed per message.

// LatencyBuckets are the upper bounds, in seconds, of
// chatbench_swarm_latency_seconds.
var LatencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

var (
	descClients = prometheus.NewDesc("chatbench_swarm_clients",
		"Clients this swarm process opens (its part of -n under --procs or --shard).", nil, nil)
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
		"Steady-phase deliveries expected at this process's sockets (room members connected when each probe was due), counted once the probe's grace period has passed.", nil, nil)
	descLost = prometheus.NewDesc("chatbench_swarm_lost_total",
		"Steady-phase deliveries still missing when the probe's grace period had passed.", nil, nil)
	descLatency = prometheus.NewDesc("chatbench_swarm_latency_seconds",
		"Fan-out latency from each probe's due time to its receipt (own-run deliveries, every phase).", nil, nil)
)

// swarmDescs are every metric swarm serves (both collectors describe them).
var swarmDescs = []*prometheus.Desc{descClients, descConnections, descConnectErrors, descDisconnects, descSends,
	descSendErrors, descDeliveries, descForeign, descExpected, descLost, descLatency}

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

// metricsCollector is the run's one collector, made on first use: a --procs
// worker snapshots it every second whether or not it serves metrics itself.
func (r *run) metricsCollector() *swarmCollector {
	r.collectorOnce.Do(func() { r.collector = newSwarmCollector(r) })
	return r.collector
}

func (c *swarmCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range swarmDescs {
		ch <- d
	}
}

// MetricsSnapshot holds the values behind swarm's metrics at one instant.
// Workers of a --procs run send theirs to the parent every second, and the
// parent serves the sum.
type MetricsSnapshot struct {
	Clients       int64            `json:"clients"`
	Connections   int64            `json:"connections"`
	ConnectErrors map[string]int64 `json:"connect_errors,omitempty"`
	Disconnects   map[string]int64 `json:"disconnects,omitempty"`
	Sends         int64            `json:"sends"`
	SendErrors    int64            `json:"send_errors"`
	Deliveries    int64            `json:"deliveries"`
	Foreign       int64            `json:"foreign"`
	Expected      int64            `json:"expected"`
	Lost          int64            `json:"lost"`
	// Buckets counts latencies per LatencyBuckets bound, then +Inf (not
	// cumulative); SumSeconds is their approximate sum.
	Buckets    []uint64 `json:"buckets"`
	SumSeconds float64  `json:"sum_s"`
}

// add adds o to s.
func (s *MetricsSnapshot) add(o MetricsSnapshot) {
	s.Clients += o.Clients
	s.Connections += o.Connections
	for k, v := range o.ConnectErrors {
		if s.ConnectErrors == nil {
			s.ConnectErrors = map[string]int64{}
		}
		s.ConnectErrors[k] += v
	}
	for k, v := range o.Disconnects {
		if s.Disconnects == nil {
			s.Disconnects = map[string]int64{}
		}
		s.Disconnects[k] += v
	}
	s.Sends += o.Sends
	s.SendErrors += o.SendErrors
	s.Deliveries += o.Deliveries
	s.Foreign += o.Foreign
	s.Expected += o.Expected
	s.Lost += o.Lost
	if len(s.Buckets) < len(o.Buckets) {
		s.Buckets = append(s.Buckets, make([]uint64, len(o.Buckets)-len(s.Buckets))...)
	}
	for i, n := range o.Buckets {
		s.Buckets[i] += n
	}
	s.SumSeconds += o.SumSeconds
}

func (c *swarmCollector) Collect(ch chan<- prometheus.Metric) {
	emitMetrics(ch, c.snapshot())
}

// snapshot reads the run's counters and histograms.
func (c *swarmCollector) snapshot() MetricsSnapshot {
	r := c.r
	c.mu.Lock()
	defer c.mu.Unlock()
	s := MetricsSnapshot{Clients: int64(len(r.ids)), Connections: r.connected.Load(),
		ConnectErrors: map[string]int64{}, Disconnects: map[string]int64{}}
	r.mu.Lock()
	for k, v := range r.connErrs {
		s.ConnectErrors[string(k)] = int64(v)
	}
	for k, v := range r.discErrs {
		s.Disconnects[string(k)] = int64(v)
	}
	r.mu.Unlock()
	s.Sends, s.SendErrors = r.sends.Load(), r.sendErrors.Load()
	for _, g := range r.groups {
		s.Deliveries += g.received.Load()
		s.Foreign += g.foreign.Load()
	}
	var exp, lost int64
	if sch := r.sched.Load(); sch != nil {
		exp, lost = r.settled(sch, r.t.now()-int64(r.cfg.Grace))
	}
	// A late delivery can lower a probe's loss after its grace period; the
	// counters never go down (Prometheus would take it for a restart).
	c.expected, c.lost = max(c.expected, exp), max(c.lost, lost)
	s.Expected, s.Lost = c.expected, c.lost

	clear(c.counts)
	for _, g := range r.groups {
		g.dueAll.addTo(c.counts)
	}
	s.Buckets = make([]uint64, len(LatencyBuckets)+1)
	var sumUs float64
	for i, n := range c.counts {
		if n != 0 {
			s.Buckets[histBucketOf[i]] += uint64(n)
			sumUs += float64(n) * histMidUs[i]
		}
	}
	s.SumSeconds = sumUs / 1e6
	return s
}

// emitMetrics sends the metrics of s.
func emitMetrics(ch chan<- prometheus.Metric, s MetricsSnapshot) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge(descClients, float64(s.Clients))
	gauge(descConnections, float64(s.Connections))
	for k, v := range s.ConnectErrors {
		counter(descConnectErrors, float64(v), k)
	}
	for k, v := range s.Disconnects {
		counter(descDisconnects, float64(v), k)
	}
	counter(descSends, float64(s.Sends))
	counter(descSendErrors, float64(s.SendErrors))
	counter(descDeliveries, float64(s.Deliveries))
	counter(descForeign, float64(s.Foreign))
	counter(descExpected, float64(s.Expected))
	counter(descLost, float64(s.Lost))
	cum := make(map[float64]uint64, len(LatencyBuckets))
	var total uint64
	for b, le := range LatencyBuckets {
		if b < len(s.Buckets) {
			total += s.Buckets[b]
		}
		cum[le] = total
	}
	if len(s.Buckets) > len(LatencyBuckets) {
		total += s.Buckets[len(LatencyBuckets)]
	}
	ch <- prometheus.MustNewConstHistogram(descLatency, total, s.SumSeconds, cum)
}

// procsCollector serves the sum of the workers' latest snapshots (the
// parent of a --procs run has no sockets of its own).
type procsCollector struct {
	mu    sync.Mutex
	snaps []MetricsSnapshot
}

func (c *procsCollector) set(w int, s MetricsSnapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.snaps[w] = s
}

func (c *procsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range swarmDescs {
		ch <- d
	}
}

func (c *procsCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	var sum MetricsSnapshot
	for _, s := range c.snaps {
		sum.add(s)
	}
	c.mu.Unlock()
	if sum.Buckets == nil {
		sum.Buckets = make([]uint64, len(LatencyBuckets)+1)
	}
	emitMetrics(ch, sum)
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
	c := r.metricsCollector()
	if err := reg.Register(c); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return func() { reg.Unregister(c) }, nil
}
