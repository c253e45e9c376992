package cmd

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/chatbench/chatbench/internal/units"
	"github.com/chatbench/chatbench/loadgen"
	"github.com/chatbench/chatbench/loadgen/chaos"
	"github.com/chatbench/chatbench/loadgen/htmlreport"
	"github.com/chatbench/chatbench/loadgen/results"
)

func init() { register(newChaosCmd) }

type chaosOptions struct {
	cfg      chaos.Config
	faults   []string
	clients  int
	rate     units.Rate
	duration time.Duration
	warmup   time.Duration
	grace    time.Duration
	workload string
	out      string
	html     string
}

func newChaosCmd() *cobra.Command {
	o := &chaosOptions{}
	c := &cobra.Command{
		Use:   "chaos",
		Short: "Fault experiments: what a backend loses, duplicates and delays across a broker or node failure",
		Long: `Start a broker of chaos's own (redis-server or rabbitmq-server on a free loopback
port, in a temporary directory; never one you run), serve nodes on it, and
for each --fault a swarm run across the nodes with the fault injected --at
into the steady phase and cleared: broker-restart (kill -9, started again
after --pause), broker-pause (SIGSTOP, SIGCONT after --pause), node-kill
(kill -9 the last node; its clients reconnect to the others) or conn-drop
(the first node's broker connections reset; the broker stays up).

One row per fault: its swarm run's outcome, deliveries lost, duplicated and
delayed (slower than any before the fault), the gap (first to last affected delivery, by due time),
the time until /readyz was 200 on every live node again, whether every
client was connected at the end, and reconnects. See docs/chaos.md.

Exit codes: 0 every fault ran and its swarm run measured it, 1 the
experiment could not run as asked (results so far are written, marked
partial) or a fault's swarm run was partial or invalid, 2 bad input.`,
		Example: `  chatbench chaos --backend redis --fault broker-restart --fault conn-drop
  chatbench chaos --backend rabbitmq --fault broker-pause --pause 2s --out chaos.json --html chaos.html
  chatbench chaos --backend memory --fault node-kill -n 40`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return o.run(c) },
	}
	o.bind(c.Flags())
	return c
}

func (o *chaosOptions) bind(f *pflag.FlagSet) {
	f.StringVar(&o.cfg.Backend, "backend", chaos.Redis, "backend of the serve nodes: memory, redis or rabbitmq")
	f.StringArrayVar(&o.faults, "fault", nil, "fault to inject (repeatable: one run each): broker-restart, broker-pause, node-kill, conn-drop")
	f.BoolVar(&o.cfg.Guarantee, "amqp-guarantee", false, "start the nodes with serve --amqp-guarantee (rabbitmq)")
	f.IntVar(&o.cfg.Nodes, "nodes", 2, "serve nodes per run")
	f.IntVarP(&o.clients, "clients", "n", 20, "WebSocket clients, spread over the nodes")
	o.rate = 10
	f.Var(&o.rate, "rate", "messages per client (everyone talks)")
	f.DurationVar(&o.duration, "duration", 10*time.Second, "steady phase of each run")
	f.DurationVar(&o.warmup, "warmup", time.Second, "sending before the steady phase, not counted")
	f.DurationVar(&o.grace, "grace", 3*time.Second, "longest wait for in-flight deliveries after the last send")
	f.DurationVar(&o.cfg.At, "at", 3*time.Second, "when the fault is injected, after the steady phase starts")
	f.DurationVar(&o.cfg.Pause, "pause", 3*time.Second, "broker-restart: how long the broker stays down; broker-pause: how long it stays stopped")
	f.DurationVar(&o.cfg.RecoveryMax, "recovery-max", chaos.DefaultRecoveryMax, "after sending ends, how long from the fault clearing to wait for every node to be ready again before the grace (a backend's held deliveries arrive then; 0: no wait)")
	f.StringVar(&o.workload, "workload", "", "a workload file (YAML, docs/workloads.md) for the load; -n, --rate and --duration given here win")
	f.StringVar(&o.out, "out", "", "write the results (kind chaos) to this file")
	f.StringVar(&o.html, "html", "", "write an HTML report (each run's timeline, the fault marked) to this file")
}

// load builds the swarm load of each run: swarm's own flags (and a
// --workload file) parsed by swarm's code, with chaos's defaults and
// flags on top.
func (o *chaosOptions) load(flags *pflag.FlagSet) (loadgen.Config, error) {
	sw := newSwarmOptions()
	fs := pflag.NewFlagSet("load", pflag.ContinueOnError)
	sw.bind(fs)
	if err := applyWorkload(fs, o.workload, nil); err != nil {
		return loadgen.Config{}, err
	}
	set := func(name, value string) {
		if !flags.Changed(name) && fs.Changed(name) {
			return // the workload's
		}
		// A repeatable flag (--rate) the workload set is replaced, not
		// added to: the command line wins.
		if sv, ok := fs.Lookup(name).Value.(pflag.SliceValue); ok && fs.Changed(name) {
			_ = sv.Replace([]string{value})
			return
		}
		_ = fs.Set(name, value)
	}
	set("clients", fmt.Sprint(o.clients))
	set("rate", o.rate.String())
	set("warmup", o.warmup.String())
	set("grace", o.grace.String())
	if !fs.Changed("phase") {
		set("duration", o.duration.String())
	}
	if !fs.Changed("senders") {
		_ = fs.Set("senders", "100%")
	}
	if !fs.Changed("room-size") && !fs.Changed("rooms") && !fs.Changed("room-sizes") {
		if o.cfg.Backend == chaos.Memory {
			_ = fs.Set("rooms", fmt.Sprint(max(1, o.cfg.Nodes))) // a room per node: memory nodes share nothing
		} else {
			_ = fs.Set("room-size", "0") // one room across every node: the broker carries it
		}
	}
	if err := sw.validate(fs); err != nil {
		return loadgen.Config{}, workloadErr(err, o.workload)
	}
	return sw.cfg, nil
}

func (o *chaosOptions) run(c *cobra.Command) error {
	cfg := &o.cfg
	cfg.Faults = o.faults
	var err error
	if cfg.Load, err = o.load(c.Flags()); err != nil {
		return err
	}
	if cfg.Exe, err = os.Executable(); err != nil {
		return fmt.Errorf("find the chatbench binary for serve nodes: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return usageErr("%v", err)
	}
	for _, p := range []struct{ flag, path string }{{"out", o.out}, {"html", o.html}} {
		if p.path != "" {
			if err := results.CheckWritable(p.path); err != nil {
				return usageErr("--%s: %v", p.flag, err)
			}
		}
	}
	cfg.Load.Version = version()
	cfg.Progress = c.ErrOrStderr()
	res, runErr := chaos.Run(c.Context(), *cfg)
	var errs []error
	if o.out != "" {
		errs = append(errs, results.WriteFile(o.out, res.WriteJSON))
	}
	if o.html != "" {
		errs = append(errs, htmlreport.WriteFile(o.html, htmlreport.ForChaos(res, version())))
	}
	errs = append(errs, chaos.WriteTable(c.OutOrStdout(), res))
	if err := errors.Join(errs...); err != nil {
		return failErr(errors.Join(runErr, err))
	}
	if runErr != nil {
		return failErr(runErr)
	}
	if err := chaos.Unmeasured(res); err != nil {
		return failErr(err)
	}
	return nil
}
