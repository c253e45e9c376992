package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/chatbench/chatbench/internal/units"
	"github.com/chatbench/chatbench/loadgen"
	"github.com/chatbench/chatbench/loadgen/htmlreport"
	"github.com/chatbench/chatbench/loadgen/results"
)

func init() { register(newSwarmCmd) }

type swarmOptions struct {
	cfg         loadgen.Config
	load        *loadFlags
	out         string
	hgrm        string
	html        string
	slo         string
	limits      limitFlags
	backend     string
	progress    string
	part        partOptions
	display     *swarmProgress
	metricsAddr string
	dryRun      bool
	cluster     clusterOptions
}

// newSwarmOptions returns swarm's options at their defaults, its load
// flags bound to its config.
func newSwarmOptions() *swarmOptions {
	o := &swarmOptions{cfg: loadgen.DefaultConfig()}
	o.load = newLoadFlags(&o.cfg, units.CountOrShare{Share: 0.1, IsShare: true})
	return o
}

func newSwarmCmd() *cobra.Command {
	o := newSwarmOptions()
	c := &cobra.Command{
		Use:   "swarm",
		Short: "Open many WebSockets, send timestamped probes, measure fan-out latency and loss",
		Long: `Open -n WebSockets against a broadcast server, send probes on an open-model
schedule (due times fixed in advance) and measure, for every delivery, the
latency from the due time (the headline, coordinated-omission safe) and from
the actual send time; per broadcast the time to the first and last receiver;
expected, delivered, lost, duplicated, misrouted and out-of-order deliveries
in the steady phase; connect times and errors by kind; a per-second
timeline; and the cost of the server (every node) and of swarm itself.

Without --url, swarm starts 'chatbench serve' (memory backend) on a free
loopback port, runs against it and stops it.

The summary leads with the outcome: complete, overloaded (connects failed,
sockets dropped, loss over --max-loss, SLO broken), invalid (nothing
connected or came back, or most copies were not deliveries) or partial
(ended early). Exit codes: 0 complete, 1 anything else, 2 bad input.

Templates: {{user}} (u<i>), {{room}} (room<r>), {{client}} (i) in --url, --hello
and --message; {{probe}} in --message is replaced by the probe text.`,
		Example: `  chatbench swarm -n 1000 --senders 100                     # one room of 1000, 100 of them sending 1/s: 100k deliveries/s
  chatbench swarm -n 5000 --room-size 100 --senders 500      # 50 rooms of 100, 10% talking: 50k deliveries/s
  chatbench swarm -n 2000 --room-size 100 --rate 10/s --out results.json --hgrm latency.hgrm
  chatbench swarm -n 1000 --senders 100 --slo 'p99<100ms,loss<0.1%'
  chatbench swarm -n 200 --url ws://127.0.0.1:8000/ws --hello '{{user}}' --server-pid 4242   # the blog's server
  chatbench swarm -n 500 --url 'wss://chat.example.com/ws?room={{room}}&user={{user}}' --ca ca.pem
  chatbench swarm -n 10000 --rate 0 --duration 5s --source-ips 127.0.0.1-127.0.0.8 --url 'ws://127.0.0.1:8080/ws?room=a&user={{user}}'`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return o.run(c) },
	}
	o.bind(c.Flags())
	return c
}

func (o *swarmOptions) bind(f *pflag.FlagSet) {
	d := &o.cfg
	f.IntVarP(&d.Clients, "clients", "n", d.Clients, "number of WebSocket clients")
	f.BoolVar(&o.dryRun, "dry-run", false, "print what the load asks for (rooms, talkers, deliveries/s) and exit without connecting")
	o.load.bind(f)
	f.StringVar(&o.out, "out", "", "write results JSON (schema "+results.Schema+") to this file ('-': as one line on stdout after the summary, for 'report merge -' to read from logs)")
	f.StringVar(&o.hgrm, "hgrm", "", "write the due-time latency distribution (HdrHistogram percentile text, ms) to this file ('-': stdout)")
	f.StringVar(&o.html, "html", "", "write a self-contained HTML report with plots to this file")
	f.StringVar(&o.slo, "slo", "", "the run is complete only if every clause holds, e.g. 'p99<100ms,loss<0.1%,connect-errors=0'")
	o.limits.bind(f, d.Limits)
	f.StringVar(&o.backend, "backend", "memory", "backend of the server swarm starts when there is no --url")
	f.StringVar(&o.metricsAddr, "metrics-addr", "", "serve swarm's own Prometheus metrics (chatbench_swarm_*) at http://ADDR/metrics while it runs, e.g. 127.0.0.1:9464")
	f.StringVar(&o.progress, "progress", "auto", "live progress on stderr: auto (when stderr is a terminal), always, never")
	o.part.bind(f)
	o.cluster.bind(f)
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// validate turns the flags into o.cfg; every problem is a usage error.
func (o *swarmOptions) validate(flags *pflag.FlagSet) error {
	var err error
	d := &o.cfg
	if d.Clients < 1 {
		return usageErr("-n %d: want at least 1 client", d.Clients)
	}
	if n := len(o.load.rates.PerS); n > 1 {
		return usageErr("--rate given %d times: swarm runs one rate (sweep takes several)", n)
	}
	if err := o.load.validate(flags); err != nil {
		return err
	}
	switch o.progress {
	case "auto", "always", "never":
	default:
		return usageErr("--progress %q: want auto, always or never", o.progress)
	}
	d.Limits = o.limits.limits()
	if o.slo != "" {
		if d.SLO, err = results.ParseSLO(o.slo); err != nil {
			return usageErr("--slo: %v", err)
		}
	}
	if err := o.cluster.validate(o); err != nil {
		return err
	}
	if err := o.part.validate(d, len(o.load.urls) > 0); err != nil {
		return err
	}
	return o.validateOutputs()
}

// validateOutputs checks before the run that every output can be written,
// so a run is never lost to a bad path.
func (o *swarmOptions) validateOutputs() error {
	for _, f := range []struct{ flag, path string }{{"out", o.out}, {"hgrm", o.hgrm}, {"html", o.html}} {
		if f.path == "" || f.path == "-" && f.flag != "html" {
			continue
		}
		if err := results.CheckWritable(f.path); err != nil {
			return usageErr("--%s: %v", f.flag, err)
		}
	}
	return nil
}

func (o *swarmOptions) run(c *cobra.Command) error {
	if err := applyWorkload(c.Flags(), o.load.workload, nil); err != nil {
		return err
	}
	if err := o.validate(c.Flags()); err != nil {
		return workloadErr(err, o.load.workload)
	}
	ctx := c.Context()
	stderr := c.ErrOrStderr()
	o.cfg.URLs = o.load.urls
	o.cfg.Version = version()
	if len(o.load.urls) == 0 {
		o.cfg.URLs = []string{"ws://127.0.0.1:1/ws?room={{room}}&user={{user}}"} // the embedded server's, to check with
	}
	if err := loadgen.Check(o.cfg, o.part.procs); err != nil {
		return usageErr("%v", err)
	}
	if o.dryRun {
		fmt.Fprintf(c.OutOrStdout(), "chatbench swarm: %s\n", loadgen.Describe(o.cfg))
		return nil
	}
	if o.metricsAddr != "" {
		ms, err := loadgen.ListenMetrics(o.metricsAddr)
		if err != nil {
			return usageErr("--metrics-addr: %v", err)
		}
		defer ms.Close()
		fmt.Fprintf(stderr, "chatbench swarm: metrics on http://%s/metrics\n", ms.Addr())
		o.cfg.Metrics = ms.Registry
	}
	if len(o.load.urls) == 0 {
		child, err := startEmbeddedServe(ctx, o.backend, stderr)
		if err != nil {
			return err
		}
		defer stopEmbeddedServe(child, stderr)
		o.cfg.URLs = []string{child.WSURL("?room={{room}}&user={{user}}")}
		o.cfg.Backend = o.backend
	}
	o.cfg.MetricsURLs = metricsURLs(o.load.metricsURLs, o.cfg.URLs, len(o.cfg.ServerPIDs) > 0)
	warnLoad(stderr, o.cfg, len(o.load.urls) == 0)
	if f, ok := stderr.(*os.File); (ok && o.progress == "auto" && isTerminal(f)) || o.progress == "always" {
		sp := o.newProgress(stderr)
		o.cfg.Progress = sp.update
		defer sp.stop() // stops once: also right after the run, before the summary
	}
	res, runErr := o.runLoad(ctx, stderr)
	o.stopProgress()
	var le *loadgen.LimitError
	var ce *loadgen.ConfigError
	if errors.As(runErr, &le) || errors.As(runErr, &ce) {
		return usageErr("%v", runErr)
	}
	if err := o.write(c.OutOrStdout(), res); err != nil {
		return failErr(err)
	}
	if !res.Outcome.OK() {
		return failErr(outcomeErr(res.Outcome))
	}
	return nil
}

// outcomeErr is the one line for a run that is not complete.
func outcomeErr(o results.Outcome) error {
	why := "see the summary"
	if len(o.Reasons) > 0 {
		why = o.Reasons[0]
		if len(o.Reasons) > 1 {
			why += fmt.Sprintf(" (and %d more reasons in the summary)", len(o.Reasons)-1)
		}
	}
	return fmt.Errorf("run %s: %s", o.Verdict, why)
}

// write prints the summary and writes --out, --hgrm and --html; partial
// results too.
func (o *swarmOptions) write(stdout io.Writer, res *results.Result) error {
	var errs []error
	if o.out != "" && o.out != "-" {
		if err := res.WriteFile(o.out); err != nil {
			errs = append(errs, fmt.Errorf("--out: %w", err))
		}
	}
	switch o.hgrm {
	case "":
	case "-":
		errs = append(errs, results.WriteHgrm(stdout, res.Histograms.LatencyDue))
	default:
		if err := results.WriteFile(o.hgrm, func(w io.Writer) error { return results.WriteHgrm(w, res.Histograms.LatencyDue) }); err != nil {
			errs = append(errs, fmt.Errorf("--hgrm: %w", err))
		}
	}
	if o.html != "" {
		if err := htmlreport.WriteFile(o.html, htmlreport.ForRun(res, version())); err != nil {
			errs = append(errs, fmt.Errorf("--html: %w", err))
		}
	}
	errs = append(errs, results.WriteSummary(stdout, res), o.cluster.write(stdout, o.out, res))
	return errors.Join(errs...)
}

// metricsURLs resolves --metrics-url: "auto" is /metrics of every distinct
// host of the targets (one per node), unless the cost is read from /proc;
// "none" reads nothing.
func metricsURLs(flags, targets []string, havePIDs bool) []string {
	var out []string
	for _, m := range flags {
		switch m {
		case "none":
			return nil
		case "auto":
			if !havePIDs {
				out = append(out, loadgen.MetricsURLsOf(targets)...)
			}
		default:
			out = append(out, m)
		}
	}
	return out
}

// warnLoad prints, before dialing, the deliveries per second the load asks
// for, and a warning when that is beyond what the target can plausibly do.
func warnLoad(w io.Writer, cfg loadgen.Config, embedded bool) {
	perS, plausible := loadgen.Plausible(cfg, embedded)
	fmt.Fprintf(w, "chatbench swarm: %s\n", loadgen.Describe(cfg))
	if perS > plausible {
		who := "this machine"
		if embedded {
			who = "chatbench serve and swarm sharing this machine"
		}
		fmt.Fprintf(w, "chatbench swarm: warning: that is beyond what %s can plausibly do (about %s/s with %d cores); expect an overloaded run: lower --senders, --rate or -n, or use --room-size\n",
			who, units.FormatCount(plausible), runtime.NumCPU())
	}
}

// startEmbeddedServe starts 'chatbench serve' on a free loopback port (it
// dies with swarm however swarm ends: see loadgen.StartChild).
func startEmbeddedServe(ctx context.Context, backend string, stderr io.Writer) (*loadgen.ChildServer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, failErr(fmt.Errorf("cannot find chatbench to start the server: %w", err))
	}
	child, err := loadgen.StartChild(ctx, exe, []string{"serve", "--addr", "127.0.0.1:0", "--max-conns", "0",
		"--backend", backend, "--log-level", "warn", "--max-msg-rate", "0"}, stderr)
	if err != nil {
		return nil, failErr(fmt.Errorf("starting the server: %w", err))
	}
	return child, nil
}

func stopEmbeddedServe(child *loadgen.ChildServer, stderr io.Writer) {
	if err := child.Stop(); err != nil {
		fmt.Fprintf(stderr, "chatbench swarm: stopping the server: %v\n", err)
	}
}

// limitFlags are the thresholds beyond which a run is not complete.
type limitFlags struct{ loss, disconnected, connectErrors units.Share }

func (l *limitFlags) bind(f *pflag.FlagSet, d results.Limits) {
	l.loss, l.disconnected, l.connectErrors = units.Share(d.MaxLoss), units.Share(d.MaxDisconnected), units.Share(d.MaxConnectErrors)
	f.Var(&l.loss, "max-loss", "largest share of expected deliveries that may be lost in a complete run")
	f.Var(&l.disconnected, "max-disconnected", "largest share of sockets that may be lost mid-run in a complete run")
	f.Var(&l.connectErrors, "max-connect-errors", "largest share of clients whose connect may fail in a complete run")
}

func (l *limitFlags) limits() results.Limits {
	return results.Limits{MaxLoss: float64(l.loss), MaxDisconnected: float64(l.disconnected), MaxConnectErrors: float64(l.connectErrors)}
}
