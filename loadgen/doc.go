// Package loadgen is chatbench swarm: it opens many WebSockets against a
// broadcast server, sends timestamped probes on an open-model schedule and
// measures fan-out latency, loss and cost.
//
// The pieces, one concept per file:
//
//	probe.go     the probe text cb1.<run>.<client>.<seq>.<due-ns>.<pad> (format and 0-alloc parse)
//	hist.go      lock-free histograms, layout-compatible with hdrhistogram-go, merged at the end
//	recv.go      the receive path: find every probe in a frame, account and record it
//	wsconn.go    a minimal RFC 6455 client: 512-byte read buffer, one reader goroutine, no bufio kept
//	inflate.go   optional permessage-deflate without context takeover (pooled inflaters)
//	dial.go      dialing: source addresses, templates, connect errors by kind
//	schedule.go  the open-model send schedule (due times fixed in advance)
//	timeline.go  the per-second timeline and the live progress line
//	limits.go    open-files limit and ephemeral-port checks before dialing
//	config.go    Config: the load shape, limits and outputs of one run, with defaults
//	swarm.go     Run: ramp, warmup, steady phase, grace, results
//	procstat.go  RSS and CPU of this process, of a server by pid or by Prometheus scrape
//	result.go    the results file (schema chatbench.results/v1) and Merge
//	slo.go       --slo parsing and checking
//	report.go    human summary and the HdrHistogram percentile text (--hgrm)
//	child.go     starting `chatbench serve` as a child process
//	metrics.go   swarm's own Prometheus metrics (--metrics-addr), read at scrape time
//	htmlreport/  the HTML report with plots (swarm/sweep --html, report html)
//
// Why not coder/websocket on the client side: its Conn keeps a 4 KiB
// bufio.Reader and a 4 KiB bufio.Writer per connection (not configurable),
// which with the reader goroutine comes to ~15 KB per idle socket; this
// client holds ~5 KB. The server side (and the tests' servers) use it.
//
// Latency is measured from the due time of each probe (coordinated-omission
// safe, the headline) and from its actual send time. Sender and receivers
// share one monotonic clock; probes from another run id count for delivery
// but never for latency.
package loadgen
