package results

import (
	"fmt"
	"strings"
	"time"
)

// MinCPUTicks is the fewest CPU clock ticks a CPU figure may rest on: below
// it, the clock's resolution is more than 1% of what was measured.
const MinCPUTicks = 100

// MinConns is the fewest connections a memory-per-connection figure may
// rest on.
const MinConns = 100

// Sample is a process's resident memory and CPU time at one moment.
type Sample struct {
	At       time.Time `json:"at"`
	RSSBytes float64   `json:"rss_bytes"`
	CPUSec   float64   `json:"cpu_s"`
}

// Process is the cost of one process (a server node, or a swarm process):
// samples before dialing, after the ramp (and settle), when sending
// started, and at the end of the grace period. In one run Ramped and
// SendStart are one sample; a merge of runs against the same process keeps
// the latest Ramped (memory with every run's connections) and the earliest
// SendStart (CPU from the first send).
type Process struct {
	// Name says which process: "http://127.0.0.1:8081/metrics", "pid 4242", "swarm", "worker 2".
	Name string `json:"name"`
	// Source is "prometheus" (process metrics scraped) or "proc" (/proc/PID).
	Source string `json:"source"`
	// Identity names the process instance (host, pid and start time, or
	// URL and start time): processes with the same identity in merged
	// results are one process, counted once.
	Identity string `json:"identity,omitempty"`
	// ClockResS is the resolution of the CPU clock read (10 ms for /proc
	// and for the Go and Python process collectors).
	ClockResS float64 `json:"cpu_clock_res_s"`
	Before    *Sample `json:"before,omitempty"`
	Ramped    *Sample `json:"ramped,omitempty"`
	SendStart *Sample `json:"send_start,omitempty"`
	End       *Sample `json:"end,omitempty"`
	// Error says why a sample could not be read; the process's cost (and
	// so the sum over every process) is then not measured.
	Error string `json:"error,omitempty"`
}

// Cost is what a set of processes (the server's nodes, or swarm's own
// processes) spent: raw samples per process, the connections added between
// Before and Ramped and the probe copies received between SendStart and
// End; and the figures derived from them by Finish.
type Cost struct {
	Processes []Process `json:"processes"`
	Conns     int64     `json:"conns"`
	Received  int64     `json:"received"`

	// CPU is the CPU seconds of every process from SendStart to End.
	CPU Figure `json:"cpu_s"`
	// CPUPerMessage is CPU / Received in µs: for the server, its CPU per
	// delivery; for swarm, its CPU per received message.
	CPUPerMessage Figure `json:"cpu_us_per_message"`
	// MemoryPerConn is the RSS growth of every process from Before to
	// Ramped / Conns, in bytes.
	MemoryPerConn Figure `json:"memory_per_conn_bytes"`
}

// finish derives the figures from the samples. none says why there is no
// process to read ("" when there is one).
func (c *Cost) finish(none string) {
	if len(c.Processes) == 0 {
		c.CPU, c.CPUPerMessage, c.MemoryPerConn = NotMeasured(none), NotMeasured(none), NotMeasured(none)
		return
	}
	var cpu, res, grow float64
	for _, p := range c.Processes {
		if why := p.unreadable(); why != "" {
			f := NotMeasured(fmt.Sprintf("%s could not be read: %s", p.Name, why))
			c.CPU, c.CPUPerMessage, c.MemoryPerConn = f, f, f
			return
		}
		cpu += p.End.CPUSec - p.SendStart.CPUSec
		res = max(res, p.ClockResS)
		grow += p.Ramped.RSSBytes - p.Before.RSSBytes
	}
	c.CPU = Measured(cpu)
	c.CPUPerMessage = perMessage(cpu, res, c.Received)
	c.MemoryPerConn = perConn(grow, c.Conns)
	if !c.CPUPerMessage.OK() && c.Received > 0 {
		c.CPU = c.CPUPerMessage // too few ticks: the CPU itself is below resolution
	}
}

func (p Process) unreadable() string {
	switch {
	case p.Error != "":
		return p.Error
	case p.Before == nil || p.Ramped == nil || p.SendStart == nil || p.End == nil:
		return "the run ended before every sample was taken"
	}
	return ""
}

// perMessage is cpu seconds / messages in µs, when cpu rests on enough
// clock ticks of resolution res.
func perMessage(cpu, res float64, messages int64) Figure {
	if res <= 0 {
		res = 0.01
	}
	switch ticks := cpu / res; {
	case messages == 0:
		return NotMeasured("no probe was received to divide the CPU by")
	case ticks < MinCPUTicks:
		return NotMeasured(fmt.Sprintf("only %.0f CPU clock ticks (%s each) were spent; %d are needed: run longer or at a higher rate",
			max(ticks, 0), time.Duration(res*float64(time.Second)), MinCPUTicks))
	}
	return Measured(cpu * 1e6 / float64(messages))
}

// perConn is RSS growth / connections, when that means something.
func perConn(grow float64, conns int64) Figure {
	switch {
	case conns < MinConns:
		return NotMeasured(fmt.Sprintf("only %d connections were opened; %d are needed", conns, MinConns))
	case grow <= 0:
		return NotMeasured(fmt.Sprintf("resident memory did not grow with %d connections (it changed by %.0f KB: freed memory hid their cost)", conns, grow/1000))
	}
	return Measured(grow / float64(conns))
}

// add merges o into c. Processes with the same non-empty identity are one
// process: its samples span both runs (earliest Before and SendStart,
// latest Ramped and End), so a server shared by several swarms is counted
// once. Connections and received messages add up.
func (c *Cost) add(o Cost) {
	c.Conns += o.Conns
	c.Received += o.Received
	for _, p := range o.Processes {
		i := -1
		if p.Identity != "" {
			i = c.find(p.Identity)
		}
		if i < 0 {
			c.Processes = append(c.Processes, p)
			continue
		}
		q := &c.Processes[i]
		q.Before = earliest(q.Before, p.Before)
		q.SendStart = earliest(q.SendStart, p.SendStart)
		q.Ramped = latest(q.Ramped, p.Ramped)
		q.End = latest(q.End, p.End)
		q.ClockResS = max(q.ClockResS, p.ClockResS)
		q.Error = strings.Join(nonEmpty(q.Error, p.Error), "; ")
	}
}

func (c *Cost) find(id string) int {
	for i, q := range c.Processes {
		if q.Identity == id {
			return i
		}
	}
	return -1
}

func earliest(a, b *Sample) *Sample {
	if a == nil || (b != nil && b.At.Before(a.At)) {
		return b
	}
	return a
}

func latest(a, b *Sample) *Sample {
	if a == nil || (b != nil && b.At.After(a.At)) {
		return b
	}
	return a
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
