package cmd

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/chatbench/chatbench/estimate"
	"github.com/chatbench/chatbench/loadgen"
	"github.com/chatbench/chatbench/loadgen/htmlreport"
)

func init() { register(newSwarmCmd) }

type swarmOptions struct {
	cfg         loadgen.Config
	urls        []string
	rate        string
	sourceIPs   string
	headers     []string
	metricsURL  string
	out         string
	hgrm        string
	slo         string
	backend     string
	progress    string
	part        partOptions
	display     *swarmProgress
	metricsAddr string
	serverPids  []int
	readLimit   string
	html        string
	caFile      string
	insecure    bool
}

func newSwarmCmd() *cobra.Command {
	o := &swarmOptions{}
	c := &cobra.Command{
		Use:   "swarm",
		Short: "Open many WebSockets, send timestamped probes, measure fan-out latency and loss",
		Long: `Open -n WebSockets against a broadcast server, send probes on an open-model
schedule (due times fixed in advance) and measure, for every delivery, the
latency from the due time (the headline, coordinated-omission safe) and from
the actual send time; per broadcast the time to the first and last receiver;
expected, delivered, lost, duplicated and out-of-order deliveries in the
steady phase; connect times and errors by kind; a per-second timeline; and the
cost of the server and of swarm itself.

Without --url, swarm starts 'chatbench serve' (memory backend) on a free
loopback port, runs against it and stops it.

Templates: {{user}} (u<i>), {{room}} (room<r>), {{client}} (i) in --url, --hello
and --message; {{probe}} in --message is replaced by the probe text.`,
		Example: `  chatbench swarm -n 5000                                  # one room of 5000, 1 msg/s each
  chatbench swarm -n 2000 --room-size 100 --rate 10/s --out results.json --hgrm latency.hgrm
  chatbench swarm -n 1000 --slo 'p99<100ms,loss<0.1%,connect-errors=0'
  chatbench swarm -n 200 --url ws://127.0.0.1:8000/ws --hello '{{user}}'   # the blog's server
  chatbench swarm -n 500 --url 'wss://chat.example.com/ws?room={{room}}&user={{user}}' --ca ca.pem
  chatbench swarm -n 10000 --rate 0 --duration 5s --source-ips 127.0.0.1-127.0.0.8 --url ws://127.0.0.1:8080/ws?room=a&user={{user}}`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return o.run(c) },
	}
	f := c.Flags()
	f.IntVarP(&o.cfg.Clients, "clients", "n", 100, "number of WebSocket clients")
	f.Float64Var(&o.cfg.Ramp, "ramp", 1000, "connections opened per second")
	f.IntVar(&o.cfg.RoomSize, "room-size", 0, "members per room (default: one room of all clients)")
	f.IntVar(&o.cfg.Rooms, "rooms", 0, "number of rooms (overrides --room-size); client i joins room i%rooms")
	f.IntVar(&o.cfg.Senders, "senders", 0, "how many clients send (default: all)")
	f.StringVar(&o.rate, "rate", "1/s", "messages per sender, e.g. 1/s, 10/s, 30/m; 0 holds idle sockets")
	f.IntVar(&o.cfg.Size, "size", 100, "probe text size in bytes")
	f.DurationVar(&o.cfg.Warmup, "warmup", 2*time.Second, "sending before the steady phase, not counted")
	f.DurationVar(&o.cfg.Duration, "duration", 10*time.Second, "steady phase")
	f.DurationVar(&o.cfg.Grace, "grace", 2*time.Second, "longest wait for in-flight deliveries after the last send")
	f.DurationVar(&o.cfg.Settle, "settle", 2*time.Second, "pause after the ramp before reading the server's memory, so a burst's garbage is not counted per connection (0: none)")
	f.StringArrayVar(&o.urls, "url", nil, "target ws:// or wss:// URL with templates (repeatable; clients spread round-robin). Default: start 'chatbench serve'")
	f.StringVar(&o.cfg.Hello, "hello", "", "first text frame after connecting, e.g. '{{user}}' for servers that take the user name first")
	f.StringVar(&o.cfg.Message, "message", "{{probe}}", "message template; must contain {{probe}}")
	f.BoolVar(&o.cfg.Compression, "compression", false, "offer permessage-deflate (no context takeover) as browsers do, to measure the server's cost with it")
	f.BoolVar(&o.cfg.NoEcho, "no-echo", false, "the server does not send a message back to its sender (expect one receiver fewer)")
	f.StringVar(&o.caFile, "ca", "", "PEM CA certificate(s) to trust for wss:// targets, besides the system's roots")
	f.BoolVar(&o.insecure, "insecure", false, "wss://: skip certificate verification (UNSAFE: for self-signed test servers only)")
	f.StringArrayVar(&o.headers, "header", nil, "extra upgrade request header 'Name: value' (repeatable)")
	f.StringVar(&o.sourceIPs, "source-ips", "", "local source addresses used round-robin, e.g. 127.0.0.1-127.0.0.8")
	f.IntSliceVar(&o.serverPids, "server-pid", nil, "read the server's memory and CPU from /proc/PID (any server on this machine; repeat for several nodes: their costs add up)")
	f.StringVar(&o.metricsURL, "metrics-url", "auto", "Prometheus endpoint with process metrics for the server's cost ('auto': /metrics of the target; 'none')")
	f.DurationVar(&o.cfg.ConnectTimeout, "connect-timeout", 10*time.Second, "bound on TCP connect + upgrade")
	f.DurationVar(&o.cfg.WriteTimeout, "write-timeout", 10*time.Second, "bound on one write; a socket that times out is closed and counted")
	f.DurationVar(&o.cfg.PingInterval, "ping-interval", 10*time.Second, "ping a socket after this much silence from the server")
	f.DurationVar(&o.cfg.PingTimeout, "ping-timeout", 10*time.Second, "close a pinged socket still silent this much longer and count it lost (ping_timeout): a frozen or vanished server (0: never)")
	f.IntVar(&o.cfg.ReadBuffer, "read-buffer", 512, "per-socket read buffer in bytes (larger frames borrow a pooled buffer)")
	f.StringVar(&o.readLimit, "read-limit", "16MiB", "largest frame (or inflated message) accepted from the server; a larger one drops the socket as frame_too_big (close 1009)")
	f.StringVar(&o.out, "out", "", "write results JSON (schema "+loadgen.Schema+") to this file")
	f.StringVar(&o.hgrm, "hgrm", "", "write the due-time latency distribution (HdrHistogram percentile text, ms) to this file ('-': stdout)")
	f.StringVar(&o.slo, "slo", "", "exit 1 unless every clause holds, e.g. 'p99<100ms,loss<0.1%,connect-errors=0'")
	f.StringVar(&o.backend, "backend", "memory", "backend of the server swarm starts when there is no --url")
	f.StringVar(&o.metricsAddr, "metrics-addr", "", "serve swarm's own Prometheus metrics (chatbench_swarm_*) at http://ADDR/metrics while it runs, e.g. 127.0.0.1:9464")
	f.StringVar(&o.html, "html", "", "write a self-contained HTML report with plots to this file")
	f.StringVar(&o.progress, "progress", "auto", "live progress on stderr: auto (when stderr is a terminal), always, never")
	o.part.bind(f)
	return c
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

func (o *swarmOptions) validate(c *cobra.Command) (loadgen.SLO, error) {
	var err error
	if o.cfg.Clients < 1 {
		return nil, usageErr("-n %d: want at least 1 client", o.cfg.Clients)
	}
	if o.cfg.PingTimeout <= 0 || o.cfg.PingInterval <= 0 {
		o.cfg.PingTimeout = -1 // off
	}
	if o.cfg.Rate, err = estimate.ParseRate(o.rate); err != nil { // never negative: the parser refuses a sign
		return nil, unitErr("rate", err)
	}
	if o.cfg.SourceIPs, err = loadgen.ParseSourceIPs(o.sourceIPs); err != nil {
		return nil, usageErr("--source-ips: %v", err)
	}
	if !strings.Contains(o.cfg.Message, "{{probe}}") {
		return nil, usageErr("--message %q: must contain {{probe}}", o.cfg.Message)
	}
	if o.cfg.Ramp <= 0 || o.cfg.Size < 1 || o.cfg.Senders < 0 || o.cfg.RoomSize < 0 || o.cfg.Rooms < 0 {
		return nil, usageErr("--ramp and --size must be positive; --senders, --room-size, --rooms not negative")
	}
	if o.cfg.Duration <= 0 || o.cfg.Warmup < 0 || o.cfg.Grace < 0 {
		return nil, usageErr("--duration must be positive, --warmup and --grace not negative")
	}
	for _, u := range o.urls {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "ws" && pu.Scheme != "http" && pu.Scheme != "wss" && pu.Scheme != "https") || pu.Host == "" {
			return nil, usageErr("--url %q: want ws://host:port/path or wss://host:port/path", u)
		}
	}
	if o.caFile != "" && o.insecure {
		return nil, usageErr("--ca and --insecure: give one (--insecure skips verification, so the CA would not be used)")
	}
	if o.cfg.TLS, err = loadgen.TLSConfig(o.caFile, o.insecure); err != nil {
		return nil, usageErr("--ca: %v", err)
	}
	for _, h := range o.headers {
		k, v, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, usageErr("--header %q: want 'Name: value'", h)
		}
		if o.cfg.Header == nil {
			o.cfg.Header = http.Header{}
		}
		o.cfg.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	switch o.progress {
	case "auto", "always", "never":
	default:
		return nil, usageErr("--progress %q: want auto, always or never", o.progress)
	}
	limit, err := estimate.ParseSize(o.readLimit)
	if err != nil || limit < 1 || limit > 1<<40 {
		return nil, usageErr("--read-limit %q: want a size like 16MiB or 64KB", o.readLimit)
	}
	o.cfg.ReadLimit = int64(limit)
	for i, pid := range o.serverPids {
		if pid <= 0 {
			return nil, usageErr("--server-pid %d: want a process id", pid)
		}
		if i == 0 {
			o.cfg.ServerPid = pid
		} else {
			o.cfg.ServerPids = append(o.cfg.ServerPids, pid)
		}
	}
	if err := o.part.validate(&o.cfg, len(o.urls) > 0); err != nil {
		return nil, err
	}
	var slo loadgen.SLO
	if o.slo != "" {
		if slo, err = loadgen.ParseSLO(o.slo); err != nil {
			return nil, usageErr("--slo: %v", err)
		}
	}
	return slo, nil
}

func (o *swarmOptions) run(c *cobra.Command) error {
	slo, err := o.validate(c)
	if err != nil {
		return err
	}
	ctx := c.Context()
	stderr := c.ErrOrStderr()
	if f, ok := stderr.(*os.File); (ok && o.progress == "auto" && isTerminal(f)) || o.progress == "always" {
		sp := o.newProgress(stderr)
		o.cfg.Progress = sp.update
		defer sp.stop() // stops once: also right after the run, before the summary
	}
	o.cfg.URLs = o.urls
	o.cfg.Version = version()
	var child *loadgen.ChildServer
	if len(o.urls) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return failErr(fmt.Errorf("cannot find chatbench to start the server: %w", err))
		}
		child, err = loadgen.StartChild(ctx, exe, []string{"serve", "--addr", "127.0.0.1:0", "--max-conns", "0",
			"--backend", o.backend, "--log-level", "warn", "--max-msg-rate", "0"}, stderr)
		if err != nil {
			return failErr(fmt.Errorf("starting the server: %w", err))
		}
		defer func() {
			if err := child.Stop(); err != nil {
				fmt.Fprintf(stderr, "chatbench swarm: stopping the server: %v\n", err)
			}
		}()
		o.cfg.URLs = []string{child.WSURL("?room={{room}}&user={{user}}")}
		o.cfg.Backend = o.backend
	}
	switch {
	case o.metricsURL == "none" || o.cfg.ServerPid > 0:
	case o.metricsURL == "auto":
		u, _ := url.Parse(o.cfg.URLs[0])
		scheme := "http"
		if u.Scheme == "wss" || u.Scheme == "https" {
			scheme = "https"
		}
		o.cfg.MetricsURL = scheme + "://" + u.Host + "/metrics"
	default:
		o.cfg.MetricsURL = o.metricsURL
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
	if runErr != nil {
		return failErr(runErr)
	}
	if broken := slo.Check(res); len(broken) > 0 {
		return failErr(fmt.Errorf("slo: %s", strings.Join(broken, "; ")))
	}
	return nil
}

// write prints the summary and writes --out and --hgrm; partial results too.
func (o *swarmOptions) write(stdout io.Writer, res *loadgen.Result) error {
	var errs []error
	if o.out != "" {
		if err := res.WriteFile(o.out); err != nil {
			errs = append(errs, fmt.Errorf("--out: %w", err))
		}
	}
	if o.hgrm != "" {
		w := stdout
		if o.hgrm != "-" {
			f, err := os.Create(o.hgrm)
			if err != nil {
				errs = append(errs, fmt.Errorf("--hgrm: %w", err))
				w = nil
			} else {
				defer f.Close()
				w = f
			}
		}
		if w != nil {
			if err := loadgen.WriteHgrm(w, res.Histograms.LatencyDue); err != nil {
				errs = append(errs, fmt.Errorf("--hgrm: %w", err))
			}
		}
	}
	if o.html != "" {
		if err := htmlreport.WriteFile(o.html, htmlreport.ForRun(res, version())); err != nil {
			errs = append(errs, fmt.Errorf("--html: %w", err))
		}
	}
	if err := loadgen.WriteSummary(stdout, res); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
