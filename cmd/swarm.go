package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/chatbench/chatbench/internal/units"
	"github.com/chatbench/chatbench/loadgen"
	"github.com/chatbench/chatbench/loadgen/htmlreport"
	"github.com/chatbench/chatbench/loadgen/results"
	"github.com/chatbench/chatbench/loadgen/wsclient"
)

func init() { register(newSwarmCmd) }

type swarmOptions struct {
	cfg         loadgen.Config
	urls        []string
	rate        string
	size        string
	sourceIPs   string
	headers     []string
	metricsURLs []string
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
	readLimit   string
	caFile      string
	insecure    bool
	protoOpts   []string
	senders     string
	roomSizes   string
	phases      []string
	workload    string
	dryRun      bool
	churn       string
	storms      []string
	cluster     clusterOptions
}

func newSwarmCmd() *cobra.Command {
	o := &swarmOptions{cfg: loadgen.DefaultConfig()}
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
	f.Float64Var(&d.Ramp, "ramp", d.Ramp, "connections opened per second")
	f.IntVar(&d.RoomSize, "room-size", d.RoomSize, "members per room (the last room may be smaller); 0: one room of all clients (the blog's setup)")
	f.IntVar(&d.Rooms, "rooms", 0, "number of rooms of equal size, instead of --room-size; client i joins room i%rooms")
	f.StringVar(&o.senders, "senders", "10%", "how many clients talk: a count (500) or a share (10%; 100%: everyone, the blog's setup); the first members of each room, shared out by room size")
	f.StringVar(&o.roomSizes, "room-sizes", "", "room sizes as a distribution: zipf:S:MAX (e.g. zipf:1.1:500) or SIZE:SHARE,... (e.g. 2:50%,10:30%,100:20%: the share of users in rooms of each size)")
	f.Int64Var(&d.Seed, "seed", 1, "seed of the workload's random parts (zipf room sizes)")
	f.StringVar(&o.rate, "rate", "1/s", "messages per sender, e.g. 1/s, 10/s, 30/min; 0 holds idle sockets")
	f.StringVar(&o.size, "size", "100B", "message size, e.g. 100B, 1KB, 4KiB, or a weighted list 100B:90%,1KB:10%")
	f.StringVar(&d.Arrivals, "arrivals", loadgen.Constant, "when talkers send: constant (every 1/rate, spread evenly) or poisson (random gaps of mean 1/rate, as people chat)")
	f.BoolVar(&o.dryRun, "dry-run", false, "print what the load asks for (rooms, talkers, deliveries/s) and exit without connecting")
	f.StringVar(&o.workload, "workload", "", "a workload file (YAML, docs/workloads.md): users, rooms, talkers, rate, arrivals, sizes, phases, churn, protocol; flags given on the command line win over it")
	f.StringVar(&o.churn, "churn", "0", "share of the users that leave per second while sending (e.g. 1%), each back after --rejoin-after")
	f.DurationVar(&d.RejoinAfter, "rejoin-after", time.Second, "how long a client that left (--churn) stays away")
	f.StringArrayVar(&o.storms, "storm", nil, "a reconnect storm AT:SHARE (repeatable): at AT after sending starts, SHARE of the clients drop and reconnect at once, e.g. 10s:20%")
	f.StringArrayVar(&o.phases, "phase", nil, "a stretch of the steady phase at its own rate, NAME:DURATION:RATE (repeatable, in order; e.g. hold:20s:1/s spike:5s:10/s); their sum is the steady phase")
	f.DurationVar(&d.Warmup, "warmup", d.Warmup, "sending before the steady phase, not counted (0: none)")
	f.DurationVar(&d.Duration, "duration", d.Duration, "steady phase")
	f.DurationVar(&d.Grace, "grace", d.Grace, "longest wait for in-flight deliveries after the last send (0: none)")
	f.DurationVar(&d.Settle, "settle", d.Settle, "pause after the ramp before reading the server's memory, so a burst's garbage is not counted per connection (0: none)")
	f.StringArrayVar(&o.urls, "url", nil, "target ws:// or wss:// URL with templates (repeatable: one per server node; clients spread round-robin). Default: start 'chatbench serve'")
	f.StringVar(&d.Protocol, "protocol", "raw", "the server's session protocol: "+strings.Join(append([]string{"raw"}, loadgen.Protocols()...), ", ")+" (raw: every text frame is a chat message)")
	f.StringArrayVar(&o.protoOpts, "protocol-opt", nil, "an option of --protocol, name=value (repeatable; see the README's \"your own server\")")
	f.StringVar(&d.Hello, "hello", "", "raw protocol: first text frame after connecting, e.g. '{{user}}' for servers that take the user name first")
	f.StringVar(&d.Message, "message", d.Message, "message template; must contain {{probe}}")
	f.BoolVar(&d.Compression, "compression", false, "offer permessage-deflate (no context takeover) as browsers do, to measure the server's cost with it")
	f.BoolVar(&d.NoEcho, "no-echo", false, "the server does not send a message back to its sender (expect one receiver fewer)")
	f.StringVar(&o.caFile, "ca", "", "PEM CA certificate(s) to trust for wss:// targets, besides the system's roots")
	f.BoolVar(&o.insecure, "insecure", false, "wss://: skip certificate verification (UNSAFE: for self-signed test servers only)")
	f.StringArrayVar(&o.headers, "header", nil, "extra upgrade request header 'Name: value' (repeatable)")
	f.StringVar(&o.sourceIPs, "source-ips", "", "local source addresses used round-robin, e.g. 127.0.0.1-127.0.0.8")
	f.IntSliceVar(&d.ServerPIDs, "server-pid", nil, "read a server node's memory and CPU from /proc/PID (repeatable: one per node; their costs add up)")
	f.StringArrayVar(&o.metricsURLs, "metrics-url", []string{"auto"}, "Prometheus endpoint with a node's process metrics (repeatable: one per node; 'auto': /metrics of every --url's host; 'none')")
	f.DurationVar(&d.ConnectTimeout, "connect-timeout", d.ConnectTimeout, "bound on TCP connect + upgrade")
	f.DurationVar(&d.WriteTimeout, "write-timeout", d.WriteTimeout, "bound on one write; a socket that times out is closed and counted")
	f.DurationVar(&d.PingInterval, "ping-interval", d.PingInterval, "ping a socket after this much silence from the server")
	f.DurationVar(&d.PingTimeout, "ping-timeout", d.PingTimeout, "close a pinged socket still silent this much longer and count it lost (ping_timeout): a frozen or vanished server (0: never)")
	f.IntVar(&d.ReadBuffer, "read-buffer", d.ReadBuffer, "per-socket read buffer in bytes (larger frames borrow a pooled buffer)")
	f.StringVar(&o.readLimit, "read-limit", "16MiB", "largest frame (or message) accepted from the server; a larger one drops the socket as frame_too_big (close 1009)")
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
	if d.PingTimeout <= 0 || d.PingInterval <= 0 {
		d.PingTimeout = -1 // off
	}
	if d.Rate, err = units.ParseRate(o.rate); err != nil { // never negative: the parser refuses a sign
		return unitErr("rate", err)
	}
	if d.Size, d.Sizes, err = parseSizes(o.size); err != nil {
		return usageErr("--size %q: %v", o.size, err)
	}
	if d.SourceIPs, err = loadgen.ParseSourceIPs(o.sourceIPs); err != nil {
		return usageErr("--source-ips: %v", err)
	}
	if !strings.Contains(d.Message, "{{probe}}") {
		return usageErr("--message %q: must contain {{probe}}", d.Message)
	}
	for _, kv := range o.protoOpts {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return usageErr("--protocol-opt %q: want name=value", kv)
		}
		if d.ProtocolOptions == nil {
			d.ProtocolOptions = map[string]string{}
		}
		d.ProtocolOptions[k] = v
	}
	switch {
	case d.Ramp <= 0 || d.RoomSize < 0 || d.Rooms < 0:
		return usageErr("--ramp must be positive; --room-size, --rooms not negative")
	case d.Duration <= 0 || d.Warmup < 0 || d.Grace < 0 || d.Settle < 0:
		return usageErr("--duration must be positive; --warmup, --grace and --settle not negative")
	}
	if err := o.validateShape(flags); err != nil {
		return err
	}
	if err := o.validateTarget(); err != nil {
		return err
	}
	if d.Limits, err = o.limits.parse(); err != nil {
		return err
	}
	if o.slo != "" {
		if d.SLO, err = results.ParseSLO(o.slo); err != nil {
			return usageErr("--slo: %v", err)
		}
	}
	if err := o.cluster.validate(o); err != nil {
		return err
	}
	if err := o.part.validate(d, len(o.urls) > 0); err != nil {
		return err
	}
	return o.validateOutputs()
}

// validateShape checks the room sizes and talkers. --rooms or
// --room-sizes replace the default room size.
func (o *swarmOptions) validateShape(flags *pflag.FlagSet) error {
	d := &o.cfg
	var err error
	if !flags.Changed("room-size") && (flags.Changed("rooms") || flags.Changed("room-sizes")) {
		d.RoomSize = 0
	}
	if o.roomSizes != "" {
		if d.RoomWeights, d.Zipf, err = loadgen.ParseRoomSizes(o.roomSizes); err != nil {
			return usageErr("--room-sizes %v", err)
		}
	}
	if d.RoomSize > 0 && d.Rooms > 0 || (d.RoomSize > 0 || d.Rooms > 0) && o.roomSizes != "" {
		return usageErr("--room-size, --rooms and --room-sizes: give one")
	}
	d.Senders, d.Talkers = 0, 0
	if strings.HasSuffix(strings.TrimSpace(o.senders), "%") {
		d.Talkers, err = units.ParseShare(o.senders)
	} else {
		d.Senders, err = units.ParseCountOrShare(o.senders, d.Clients)
	}
	if err != nil {
		return unitErr("senders", err)
	}
	if d.Arrivals != loadgen.Constant && d.Arrivals != loadgen.Poisson {
		return usageErr("--arrivals %q: want constant or poisson", d.Arrivals)
	}
	for _, ph := range o.phases {
		p, err := parsePhase(ph)
		if err != nil {
			return usageErr("--phase %q: %v", ph, err)
		}
		d.Phases = append(d.Phases, p)
	}
	if len(d.Phases) > 0 {
		if flags.Changed("duration") {
			return usageErr("--duration and --phase: give one (the phases' durations add up to the steady phase)")
		}
		d.Duration = 0 // the phases' sum
	}
	if d.Churn, err = units.ParseShare(strings.TrimSuffix(o.churn, "/s")); err != nil {
		return unitErr("churn", err)
	}
	for _, st := range o.storms {
		at, share, ok := strings.Cut(st, ":")
		a, err1 := time.ParseDuration(at)
		sh, err2 := units.ParseShare(share)
		if !ok || err1 != nil || err2 != nil || a < 0 || sh <= 0 {
			return usageErr("--storm %q: want AT:SHARE, e.g. 10s:20%%", st)
		}
		d.Storms = append(d.Storms, loadgen.Storm{At: a, Share: sh})
	}
	return nil
}

// parseSizes parses a message size or a weighted list of them.
func parseSizes(s string) (int, []loadgen.SizeShare, error) {
	if !strings.Contains(s, ":") {
		size, err := units.ParseSize(s)
		if err != nil || size < 1 || size > 1<<24 {
			return 0, nil, fmt.Errorf("want a size from 1B to 16MiB, e.g. 100B or 1KB, or a weighted list 100B:90%%,1KB:10%%")
		}
		return int(size), nil, nil
	}
	var out []loadgen.SizeShare
	for _, part := range strings.Split(s, ",") {
		a, b, _ := strings.Cut(part, ":")
		size, err1 := units.ParseSize(strings.TrimSpace(a))
		share, err2 := units.ParseShare(strings.TrimSpace(b))
		if err1 != nil || err2 != nil || size < 1 || size > 1<<24 || share <= 0 {
			return 0, nil, fmt.Errorf("want SIZE:SHARE,..., e.g. 100B:90%%,1KB:10%%")
		}
		out = append(out, loadgen.SizeShare{Bytes: int(size), Share: share})
	}
	return out[0].Bytes, out, nil
}

// parsePhase parses NAME:DURATION:RATE.
func parsePhase(s string) (loadgen.Phase, error) {
	f := strings.SplitN(s, ":", 3)
	if len(f) != 3 || f[0] == "" {
		return loadgen.Phase{}, fmt.Errorf("want NAME:DURATION:RATE, e.g. spike:5s:10/s")
	}
	d, err := time.ParseDuration(f[1])
	if err != nil || d <= 0 {
		return loadgen.Phase{}, fmt.Errorf("duration %q: want e.g. 20s", f[1])
	}
	rate, err := units.ParseRate(f[2])
	if err != nil {
		return loadgen.Phase{}, err
	}
	return loadgen.Phase{Name: f[0], Duration: d, Rate: rate}, nil
}

// validateTarget checks the URLs, TLS, headers and cost sources.
func (o *swarmOptions) validateTarget() error {
	d := &o.cfg
	var err error
	for _, u := range o.urls {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "ws" && pu.Scheme != "http" && pu.Scheme != "wss" && pu.Scheme != "https") || pu.Host == "" {
			return usageErr("--url %q: want ws://host:port/path or wss://host:port/path", u)
		}
	}
	if o.caFile != "" && o.insecure {
		return usageErr("--ca and --insecure: give one (--insecure skips verification, so the CA would not be used)")
	}
	if d.TLS, err = wsclient.TLSConfig(o.caFile, o.insecure); err != nil {
		return usageErr("--ca: %v", err)
	}
	for _, h := range o.headers {
		k, v, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return usageErr("--header %q: want 'Name: value'", h)
		}
		if d.Header == nil {
			d.Header = http.Header{}
		}
		d.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	switch o.progress {
	case "auto", "always", "never":
	default:
		return usageErr("--progress %q: want auto, always or never", o.progress)
	}
	limit, err := units.ParseSize(o.readLimit)
	if err != nil || limit < 1 || limit > 1<<40 {
		return usageErr("--read-limit %q: want a size like 16MiB or 64KB", o.readLimit)
	}
	d.ReadLimit = int64(limit)
	for _, pid := range d.ServerPIDs {
		if pid <= 0 {
			return usageErr("--server-pid %d: want a process id", pid)
		}
	}
	for _, m := range o.metricsURLs {
		if m == "auto" || m == "none" {
			continue
		}
		if pu, err := url.Parse(m); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return usageErr("--metrics-url %q: want http://host:port/metrics, auto or none", m)
		}
	}
	return nil
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
	if err := applyWorkload(c.Flags(), o.workload); err != nil {
		return err
	}
	if err := o.validate(c.Flags()); err != nil {
		return workloadErr(err, o.workload)
	}
	ctx := c.Context()
	stderr := c.ErrOrStderr()
	o.cfg.URLs = o.urls
	o.cfg.Version = version()
	if len(o.urls) == 0 {
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
	if len(o.urls) == 0 {
		child, err := startEmbeddedServe(ctx, o.backend, stderr)
		if err != nil {
			return err
		}
		defer stopEmbeddedServe(child, stderr)
		o.cfg.URLs = []string{child.WSURL("?room={{room}}&user={{user}}")}
		o.cfg.Backend = o.backend
	}
	o.cfg.MetricsURLs = metricsURLs(o.metricsURLs, o.cfg.URLs, len(o.cfg.ServerPIDs) > 0)
	warnLoad(stderr, o.cfg, len(o.urls) == 0)
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
type limitFlags struct{ loss, disconnected, connectErrors string }

func (l *limitFlags) bind(f *pflag.FlagSet, d results.Limits) {
	pct := func(v float64) string { return strconv.FormatFloat(v*100, 'g', -1, 64) + "%" }
	f.StringVar(&l.loss, "max-loss", pct(d.MaxLoss), "largest share of expected deliveries that may be lost in a complete run")
	f.StringVar(&l.disconnected, "max-disconnected", pct(d.MaxDisconnected), "largest share of sockets that may be lost mid-run in a complete run")
	f.StringVar(&l.connectErrors, "max-connect-errors", pct(d.MaxConnectErrors), "largest share of clients whose connect may fail in a complete run")
}

func (l *limitFlags) parse() (results.Limits, error) {
	var lim results.Limits
	for _, x := range []struct {
		flag, v string
		dst     *float64
	}{{"max-loss", l.loss, &lim.MaxLoss}, {"max-disconnected", l.disconnected, &lim.MaxDisconnected}, {"max-connect-errors", l.connectErrors, &lim.MaxConnectErrors}} {
		v, err := units.ParseShare(x.v)
		if err != nil {
			return lim, unitErr(x.flag, err)
		}
		*x.dst = v
	}
	return lim, nil
}
