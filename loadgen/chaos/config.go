package chaos

import (
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/chatbench/chatbench/loadgen"
	"github.com/chatbench/chatbench/loadgen/results"
)

// Backends.
const (
	Memory   = "memory"
	Redis    = "redis"
	RabbitMQ = "rabbitmq"
)

// Faults.
const (
	BrokerRestart = "broker-restart" // kill -9 the broker, start it again after Pause
	BrokerPause   = "broker-pause"   // SIGSTOP the broker, SIGCONT after Pause
	NodeKill      = "node-kill"      // kill -9 one serve node; its clients reconnect to the others
	ConnDrop      = "conn-drop"      // reset every node's broker connections; the broker stays up
)

// Faults lists every fault, in the order the docs describe them.
var Faults = []string{BrokerRestart, BrokerPause, NodeKill, ConnDrop}

// needsBroker reports whether fault happens to a broker or a broker
// connection (which the memory backend does not have).
func needsBroker(fault string) bool { return fault != NodeKill }

// held reports whether fault lasts Pause (the others are instants).
func held(fault string) bool { return fault == BrokerRestart || fault == BrokerPause }

// Config is one fault experiment.
type Config struct {
	Backend string
	Faults  []string // each a run of its own, in order, on one broker
	// Guarantee starts the nodes with --amqp-guarantee (rabbitmq only).
	Guarantee bool
	// Nodes is the serve nodes per run. With the memory backend nodes share
	// nothing, so the load's rooms must be Rooms, a multiple of Nodes
	// (client i is in room i%Rooms and on node i%Nodes: a room lives on
	// one node, and its clients move together when it dies).
	Nodes int
	// At is when the fault is injected, after the steady phase starts;
	// Pause how long a broker stays down or stopped.
	At, Pause time.Duration
	// RecoveryMax bounds a run's wait past the end of sending for its fault
	// to recover: counted from the fault clearing (a restarted broker
	// answering, itself bounded by a minute), it waits for every live node
	// to be ready again, and the grace follows. Deliveries a backend still
	// holds when it runs out count as lost, with a note that says so. 0: no
	// wait (the run ends with its grace, whatever the fault's state);
	// chaos's flag defaults to DefaultRecoveryMax.
	RecoveryMax time.Duration
	// Load is the swarm run of each fault (clients, rooms, rate, phases);
	// Run sets its URLs, cost sources, Trace and Reconnect.
	Load loadgen.Config
	// Exe is the chatbench binary whose serve runs the nodes; ServeArgs
	// are added to every node's command line.
	Exe       string
	ServeArgs []string
	// TempDir is where the broker's directory is made ("": the system's).
	TempDir string
	// Progress gets a line per step; Logs the nodes' stderr (nil: none).
	Progress, Logs io.Writer
}

// UsageError is an experiment that cannot be run as asked (bad input:
// exit 2); nothing was started.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usage(format string, a ...any) error { return &UsageError{Msg: fmt.Sprintf(format, a...)} }

// Validate checks cfg before anything starts, including that the broker's
// binaries are on PATH.
func (c *Config) Validate() error {
	switch c.Backend {
	case Memory, Redis, RabbitMQ:
	default:
		return usage("--backend %q: want memory, redis or rabbitmq", c.Backend)
	}
	if len(c.Faults) == 0 {
		return usage("no --fault: want one or more of %s", strings.Join(Faults, ", "))
	}
	for _, f := range c.Faults {
		if !known(f) {
			return usage("--fault %q: want one of %s", f, strings.Join(Faults, ", "))
		}
		if c.Backend == Memory && needsBroker(f) {
			return usage("--fault %s: the memory backend has no broker to fail (use --backend redis or rabbitmq, or --fault node-kill)", f)
		}
		if f == NodeKill && c.Nodes < 2 {
			return usage("--fault node-kill needs --nodes 2 or more: the killed node's clients reconnect to the others")
		}
	}
	if c.Guarantee && c.Backend != RabbitMQ {
		return usage("--amqp-guarantee is a rabbitmq mode: use it with --backend rabbitmq")
	}
	if c.Guarantee && !serveHas(c.Exe, "--amqp-guarantee") {
		return usage("--amqp-guarantee: this chatbench's serve (%s) has no such mode", c.Exe)
	}
	if err := c.checkTimes(); err != nil {
		return err
	}
	if c.Backend == Memory && c.Nodes > 1 && (c.Load.Rooms%c.Nodes != 0 || c.Load.Rooms == 0 ||
		c.Load.RoomSize > 0 || len(c.Load.RoomWeights) > 0 || c.Load.Zipf != nil) {
		return usage("the memory backend's nodes share no rooms: with --nodes %d give rooms of equal size, a multiple of %d of them (--rooms), or --nodes 1", c.Nodes, c.Nodes)
	}
	if c.Backend != Memory {
		if _, _, err := brokerBinaries(c.Backend); err != nil {
			return &UsageError{Msg: err.Error()}
		}
	}
	return nil
}

// serveHas reports whether exe's serve lists flag in its help (a build
// without a mode says so before any broker starts).
func serveHas(exe, flag string) bool {
	if exe == "" {
		return true // nothing to ask: the nodes will say
	}
	out, _ := exec.Command(exe, "serve", "--help").CombinedOutput()
	return strings.Contains(string(out), flag)
}

func known(f string) bool {
	for _, k := range Faults {
		if k == f {
			return true
		}
	}
	return false
}

// checkTimes checks the fault falls in the steady phase and, when held,
// clears before it ends (so there is an after to compare).
func (c *Config) checkTimes() error {
	if c.Nodes < 1 {
		return usage("--nodes %d: want at least 1", c.Nodes)
	}
	if c.RecoveryMax < 0 {
		return usage("--recovery-max %v: want 0 (no wait) or more", c.RecoveryMax)
	}
	run := c.Load.Duration
	for _, p := range c.Load.Phases {
		run += p.Duration
	}
	if run <= 0 {
		return usage("--duration must be more than 0")
	}
	if c.At < 0 || c.At >= run {
		return usage("--at %v: want a moment within the steady phase (0 to %v)", c.At, run)
	}
	for _, f := range c.Faults {
		if held(f) && (c.Pause <= 0 || c.At+c.Pause >= run) {
			return usage("--pause %v: %s must clear within the steady phase (--at %v + --pause %v, want under --duration %v)", c.Pause, f, c.At, c.Pause, run)
		}
	}
	return nil
}

// mode is the delivery guarantee of the backend as run.
func (c *Config) mode() string {
	if c.Guarantee {
		return results.Guarantee
	}
	return results.AtMostOnce
}
