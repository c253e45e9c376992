// Package loadgen is chatbench swarm: it opens many WebSockets against a
// broadcast server, sends timestamped probes on an open-model schedule and
// measures fan-out latency, loss and cost.
//
// It has three layers, bottom up:
//
//   - The WebSocket client is package wsclient: a minimal RFC 6455 client
//     that holds tens of thousands of sockets cheaply. A Protocol (raw text
//     by default; adapters for other session protocols register by name)
//     runs each client's session on top of it.
//   - The measurement engine, in this package: the workload's layout (which
//     room each client is in, who talks), the schedule (every talker's due
//     times, fixed in advance from the seed), the receive path (a probe's
//     first copy at an expected receiver is a delivery; every other copy is
//     duplicated, misrouted or unexpected; no lock and no allocation per
//     message), membership over time (churn, storms), the tally (per probe,
//     expected − delivered), cost samples of every process read, the
//     timeline, and swarm's own Prometheus metrics. Run executes one run in
//     this process.
//   - The multi-process layer (RunProcs, Worker): one run split over
//     worker processes, each running the engine on its part of the clients,
//     coordinated over stdin and stdout; the parent tallies every worker's
//     per-probe account with the engine's tally, so the numbers are those of
//     one process.
//
// Results are package results (the file, its figures, outcome, merge and
// reports); workload files are package workload; the kinds under which
// failed connects and lost sockets are counted, and what each means, are
// package errkind. Latency is measured from
// the due time of each probe (coordinated-omission safe, the headline) and
// from its actual send time; sender and receivers share one monotonic
// clock, and probes from another run id count as received but are never
// timed.
package loadgen
