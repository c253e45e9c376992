package server

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Reasons used as label values. They are fixed sets so that label
// cardinality stays bounded whatever clients do.
const (
	// chatbench_connections_rejected_total{reason}
	rejectMaxConns     = "max_conns"
	rejectOrigin       = "origin"
	rejectUnauthorized = "unauthorized"
	rejectBadRequest   = "bad_request"
	rejectShutdown     = "shutting_down"
	rejectBody         = "request_body" // any route: requests carry no body

	// chatbench_disconnects_total{reason}: the labels of the disconnect
	// table (disconnect.go).

	// chatbench_messages_rejected_total{reason}
	rejectMsgRateLimit = "rate_limit" // over --max-msg-rate

	// chatbench_dropped_total{reason}
	dropQueueFull    = "queue_full"    // --slow-policy drop: the newest message is dropped
	dropSlowConsumer = "slow_consumer" // --slow-policy disconnect: the message that overflowed and what was queued
	dropWriteError   = "write_error"   // queued frames discarded when a write failed
	dropFlood        = "flood"         // --slow-policy disconnect: the frame that overflowed a member while another flooded the room
)

// metrics are the server's Prometheus metrics. Counters on the hot path are
// added to once per batch, not once per delivery.
type metrics struct {
	connections      prometheus.Gauge
	accepted         prometheus.Counter
	rejected         *prometheus.CounterVec
	disconnects      *prometheus.CounterVec
	rooms            prometheus.Gauge
	received         prometheus.Counter
	receivedBytes    prometheus.Counter
	remote           prometheus.Counter
	deliveries       prometheus.Counter
	sentBytes        prometheus.Counter
	dropped          *prometheus.CounterVec
	publishErrors    prometheus.Counter
	msgsRejected     *prometheus.CounterVec
	broadcastSeconds prometheus.Histogram
	batchFrames      prometheus.Histogram
	pendingEvicted   prometheus.Counter
	pendingFull      prometheus.Counter

	// Pre-resolved children of the vectors used on hot paths.
	droppedQueueFull, droppedSlow, droppedWrite, droppedFlood prometheus.Counter
	rejectedRateLimit                                         prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chatbench_connections", Help: "WebSocket connections currently open.",
		}),
		accepted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatbench_connections_accepted_total", Help: "WebSocket connections accepted (upgrade completed).",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatbench_connections_rejected_total", Help: "WebSocket upgrade requests refused, by reason; request_body: requests of any route refused for carrying a body.",
		}, []string{"reason"}),
		disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatbench_disconnects_total", Help: "WebSocket connections closed, by reason.",
		}, []string{"reason"}),
		rooms: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chatbench_rooms", Help: "Rooms with at least one local member.",
		}),
		received: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatbench_messages_received_total", Help: "Chat messages received from local clients.",
		}),
		receivedBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatbench_received_bytes_total", Help: "Payload bytes of chat messages received from local clients.",
		}),
		remote: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatbench_remote_messages_total", Help: "Chat messages received from other nodes through the backend.",
		}),
		deliveries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatbench_deliveries_total", Help: "Broadcast frames written to client sockets.",
		}),
		sentBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatbench_sent_bytes_total", Help: "Bytes written to client sockets, WebSocket framing included.",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatbench_dropped_total", Help: "Broadcast frames not delivered to a client, by reason.",
		}, []string{"reason"}),
		publishErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatbench_publish_errors_total", Help: "Messages the backend refused to publish to other nodes (lost for them).",
		}),
		msgsRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatbench_messages_rejected_total", Help: "Chat messages from local clients not broadcast, by reason (rate_limit: over --max-msg-rate).",
		}, []string{"reason"}),
		broadcastSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "chatbench_broadcast_seconds",
			Help:    "Time to hand one message to every local member's send queue.",
			Buckets: prometheus.ExponentialBuckets(1e-6, 4, 12), // 1µs .. ~4s
		}),
		batchFrames: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "chatbench_write_batch_frames",
			Help:    "Frames written to a socket by one writev system call.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 10), // 1 .. 512
		}),
		pendingEvicted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatbench_pending_evicted_total", Help: "Connections not (yet) WebSockets closed after a second or more to make room when --max-pending was reached.",
		}),
		pendingFull: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatbench_pending_full_total", Help: "Accepts that found --max-pending connections pending and had to wait or evict one.",
		}),
	}
	m.droppedQueueFull = m.dropped.WithLabelValues(dropQueueFull)
	m.droppedSlow = m.dropped.WithLabelValues(dropSlowConsumer)
	m.droppedWrite = m.dropped.WithLabelValues(dropWriteError)
	m.droppedFlood = m.dropped.WithLabelValues(dropFlood)
	m.rejectedRateLimit = m.msgsRejected.WithLabelValues(rejectMsgRateLimit)
	// Every reason exists from the start at 0, so rate() and increase()
	// see a reason's first event (deploy/grafana's panels, alerts).
	for _, d := range []*disconnect{discClientClose, discReadError, discTooBig, discBinary, discBadUTF8, discBadName,
		discNameTimeout, discRateLimit, discPingFlood, discFlood, discSlowConsumer, discWriteError, discPingTimeout,
		discShutdown, discMaxConns} {
		m.disconnects.WithLabelValues(d.label)
	}
	for _, r := range []string{rejectMaxConns, rejectOrigin, rejectUnauthorized, rejectBadRequest, rejectShutdown, rejectBody} {
		m.rejected.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.connections, m.accepted, m.rejected, m.disconnects, m.rooms,
			m.received, m.receivedBytes, m.remote, m.deliveries, m.sentBytes, m.dropped,
			m.publishErrors, m.msgsRejected, m.broadcastSeconds, m.batchFrames, m.pendingEvicted, m.pendingFull)
	}
	return m
}

// NewRegistry returns a registry with the Go runtime and process collectors,
// which swarm scrapes (process_resident_memory_bytes,
// process_cpu_seconds_total) to report the server's cost. Give it to the
// broker and to Config.Registry so that /metrics serves both.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}
