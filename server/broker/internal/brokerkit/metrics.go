package brokerkit

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Operations counted in chatbench_backend_errors_total{op}.
const (
	OpConnect     = "connect"     // dial, handshake, declare: a (re)connect attempt failed
	OpPublish     = "publish"     // a message could not be published
	OpSubscribe   = "subscribe"   // SUBSCRIBE / queue bind failed
	OpUnsubscribe = "unsubscribe" // UNSUBSCRIBE / queue unbind failed
	OpReceive     = "receive"     // the subscriber connection failed, or a message could not be decoded
	OpHealth      = "health"      // a health check got no answer in time
)

// Reasons counted in chatbench_backend_dropped_total{reason}.
const (
	DropQueueFull    = "publish_queue_full" // Publish found its bounded queue full
	DropDown         = "backend_down"       // Publish while the backend was not connected
	DropPublishError = "publish_failed"     // the backend refused or lost a queued message
	DropDeliverFull  = "deliver_queue_full" // the hand-off to the Handler was full (slow hub)
	DropMalformed    = "malformed"          // a received message could not be decoded

	// Only brokers with an Outbox (RabbitMQ's guarantee mode) count these.
	DropRetryFull   = "retry_buffer_full"    // the outbox was at its bound: the message was refused
	DropUnconfirmed = "unconfirmed_at_close" // Close came before the backend confirmed the message
)

var (
	ops     = []string{OpConnect, OpPublish, OpSubscribe, OpUnsubscribe, OpReceive, OpHealth}
	reasons = []string{DropQueueFull, DropDown, DropPublishError, DropDeliverFull, DropMalformed}
	// outboxReasons are added to reasons for a broker with an Outbox.
	outboxReasons = []string{DropRetryFull, DropUnconfirmed}
)

var (
	descErrors = prometheus.NewDesc("chatbench_backend_errors_total",
		"Backend operations that failed, by backend and operation.", []string{"backend", "op"}, nil)
	descReconnects = prometheus.NewDesc("chatbench_backend_reconnects_total",
		"Successful reconnections to the backend after the connection was lost.", []string{"backend"}, nil)
	descUp = prometheus.NewDesc("chatbench_backend_up",
		"1 while the backend is connected, 0 otherwise.", []string{"backend"}, nil)
	descDownSeconds = prometheus.NewDesc("chatbench_backend_down_seconds_total",
		"Time the backend was unusable after having been up, from the first failed health check or connection loss to the reconnect. Pub/sub keeps nothing: what other nodes published meanwhile was missed.", []string{"backend"}, nil)
	descDropped = prometheus.NewDesc("chatbench_backend_dropped_total",
		"Messages lost between nodes (not published or not delivered), by backend and reason.", []string{"backend", "reason"}, nil)
	descRetryBuffered = prometheus.NewDesc("chatbench_backend_retry_buffered",
		"Messages kept until the backend confirms them: unconfirmed, or published while it was away.", []string{"backend"}, nil)
	descDuplicates = prometheus.NewDesc("chatbench_backend_duplicates_total",
		"Messages received again (redelivered or resent after a reconnect) and not handed on: clients saw each once.", []string{"backend"}, nil)
)

// Stats is a snapshot of a broker's counters.
type Stats struct {
	Up         bool
	Reconnects uint64
	Down       time.Duration     // chatbench_backend_down_seconds_total
	Errors     map[string]uint64 // by op
	Dropped    map[string]uint64 // by reason
	Duplicates uint64            // chatbench_backend_duplicates_total (brokers with an Outbox)
}

// Metrics counts a broker's errors, drops and reconnects and exposes them as
// a prometheus.Collector. Its zero value is not usable; use NewMetrics.
type Metrics struct {
	backend    string
	reasons    []string // the dropped reasons exposed
	dedup      bool     // duplicates exposed
	errors     map[string]*atomic.Uint64
	dropped    map[string]*atomic.Uint64
	reconnects atomic.Uint64
	duplicates atomic.Uint64
	up         atomic.Bool
	buffered   func() int // the Outbox's Pending; nil without one

	downMu    sync.Mutex
	downSince time.Time     // zero while up (or never connected)
	downTotal time.Duration // closed outages
}

var _ prometheus.Collector = (*Metrics)(nil)

// NewMetrics returns the metrics of one broker of the given backend.
func NewMetrics(backend string) *Metrics { return newMetrics(backend, false) }

// newMetrics returns the metrics of one broker; outbox adds the series only
// a broker with an Outbox has (its drop reasons and the duplicates), so the
// others expose exactly what they always did.
func newMetrics(backend string, outbox bool) *Metrics {
	m := &Metrics{backend: backend, reasons: reasons, dedup: outbox,
		errors: map[string]*atomic.Uint64{}, dropped: map[string]*atomic.Uint64{}}
	if outbox {
		m.reasons = append(append([]string(nil), reasons...), outboxReasons...)
	}
	for _, op := range ops {
		m.errors[op] = new(atomic.Uint64)
	}
	for _, r := range m.reasons {
		m.dropped[r] = new(atomic.Uint64)
	}
	return m
}

// Register registers m with r; a nil r registers nothing.
func (m *Metrics) Register(r prometheus.Registerer) error {
	if r == nil {
		return nil
	}
	return r.Register(m)
}

// Error counts n failures of op (one of the Op constants).
func (m *Metrics) Error(op string, n int) { m.errors[op].Add(uint64(n)) }

// Drop counts n messages lost for reason (one of the Drop constants).
func (m *Metrics) Drop(reason string, n int) { m.dropped[reason].Add(uint64(n)) }

// Duplicate counts one message received again and not handed on.
func (m *Metrics) Duplicate() { m.duplicates.Add(1) }

// Reconnected counts one successful reconnection.
func (m *Metrics) Reconnected() { m.reconnects.Add(1) }

// SetUp records that the backend is usable: the up gauge is 1 and an
// outage in progress ends.
func (m *Metrics) SetUp() {
	m.up.Store(true)
	m.downMu.Lock()
	defer m.downMu.Unlock()
	if !m.downSince.IsZero() {
		m.downTotal += time.Since(m.downSince)
		m.downSince = time.Time{}
	}
}

// SetDown records that the backend is unusable since since (the zero time:
// now): the up gauge is 0 and, unless an outage is already running, one
// starts at since.
func (m *Metrics) SetDown(since time.Time) {
	m.up.Store(false)
	m.downMu.Lock()
	defer m.downMu.Unlock()
	if m.downSince.IsZero() {
		if since.IsZero() {
			since = time.Now()
		}
		m.downSince = since
	}
}

// Stop records that the broker closed: the up gauge is 0 and no outage is
// counted from now on.
func (m *Metrics) Stop() {
	m.SetUp()
	m.up.Store(false)
}

// DownTime is the total time the backend was down, the current outage
// included.
func (m *Metrics) DownTime() time.Duration {
	m.downMu.Lock()
	defer m.downMu.Unlock()
	d := m.downTotal
	if !m.downSince.IsZero() {
		d += time.Since(m.downSince)
	}
	return d
}

// Snapshot returns the current values.
func (m *Metrics) Snapshot() Stats {
	s := Stats{Up: m.up.Load(), Reconnects: m.reconnects.Load(), Down: m.DownTime(), Duplicates: m.duplicates.Load(),
		Errors: make(map[string]uint64, len(ops)), Dropped: make(map[string]uint64, len(m.reasons))}
	for k, v := range m.errors {
		s.Errors[k] = v.Load()
	}
	for k, v := range m.dropped {
		s.Dropped[k] = v.Load()
	}
	return s
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- descErrors
	ch <- descReconnects
	ch <- descUp
	ch <- descDownSeconds
	ch <- descDropped
	if m.dedup {
		ch <- descDuplicates
		ch <- descRetryBuffered
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	for _, op := range ops {
		ch <- prometheus.MustNewConstMetric(descErrors, prometheus.CounterValue, float64(m.errors[op].Load()), m.backend, op)
	}
	ch <- prometheus.MustNewConstMetric(descReconnects, prometheus.CounterValue, float64(m.reconnects.Load()), m.backend)
	up := 0.0
	if m.up.Load() {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up, m.backend)
	ch <- prometheus.MustNewConstMetric(descDownSeconds, prometheus.CounterValue, m.DownTime().Seconds(), m.backend)
	for _, r := range m.reasons {
		ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, float64(m.dropped[r].Load()), m.backend, r)
	}
	if m.dedup {
		ch <- prometheus.MustNewConstMetric(descDuplicates, prometheus.CounterValue, float64(m.duplicates.Load()), m.backend)
		n := 0
		if m.buffered != nil {
			n = m.buffered()
		}
		ch <- prometheus.MustNewConstMetric(descRetryBuffered, prometheus.GaugeValue, float64(n), m.backend)
	}
}
