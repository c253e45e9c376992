package cmd

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/chatbench/chatbench/internal/serveline"
	"github.com/chatbench/chatbench/internal/units"
	"github.com/chatbench/chatbench/server"
	"github.com/chatbench/chatbench/server/broker"
	"github.com/chatbench/chatbench/server/broker/rabbitmq"
	"github.com/chatbench/chatbench/server/broker/redisbroker"
	"github.com/spf13/cobra"
)

func init() { register(newServeCmd) }

// backends lists the --backend values this build ships (serve and sweep).
var backends = broker.Backends

type serveOptions struct {
	cfg      server.Config
	backend  string
	logLevel string
	origins  []string
	cpuProf  string

	redisURL      string
	redisCluster  []string
	redisPrefix   string
	amqpURL       string
	amqpExchange  string
	amqpGuarantee bool
}

func newServeCmd() *cobra.Command {
	o := &serveOptions{cfg: server.DefaultConfig()}
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the reference chat server",
		Long: `Run the reference chat server: the blog's broadcast chat, done right.

Routes: / (chat page), /ws?room=R&user=U (WebSocket; without user the first
text frame is the user name), /metrics (Prometheus), /healthz, /readyz.
Every text frame is broadcast to the room, sender included, as
{"user":"U","room":"R","message":"..."}.

The first line on stdout is "chatbench serve: listening on http://ADDR (backend B)"
(https:// with --tls-cert and --tls-key: the page then connects with wss://).
SIGINT/SIGTERM: stop accepting, close every socket with 1001, exit 0 within
--shutdown-timeout (connections still open then are closed).

The flag defaults are the server library's (server.DefaultConfig). A zero
means what the flag's help says, or is refused with exit 2. Reference:
docs/serve.md.`,
		Example: `  chatbench serve                                  # 127.0.0.1:8080, memory backend
  chatbench serve --addr 127.0.0.1:0               # any free port (printed on stdout)
  chatbench serve --max-conns 15000 --slow-policy drop --send-queue 1024
  chatbench serve --max-msg-rate 0                 # no per-connection message limit (benchmarks)
  chatbench serve --token s3cret --allow-origin '*.example.com'
  chatbench serve --tls-cert cert.pem --tls-key key.pem   # https:// and wss://`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return o.run(c) },
	}
	o.bindFlags(c)
	return c
}

// bindFlags binds the flags to o.cfg, whose values (server.DefaultConfig)
// are the defaults shown by --help.
func (o *serveOptions) bindFlags(c *cobra.Command) {
	f, d := c.Flags(), &o.cfg
	f.StringVar(&d.Addr, "addr", d.Addr, "address to listen on (host:port; port 0 picks a free one)")
	f.StringVar(&o.backend, "backend", "memory", "fan-out backend between nodes: "+strings.Join(backends, ", "))
	f.Int64Var(&d.MaxMessageBytes, "max-message-bytes", d.MaxMessageBytes, "largest text frame a client may send, 1 to 67108864; larger closes with 1009")
	f.IntVar(&d.MaxConns, "max-conns", d.MaxConns, "cap on open WebSockets, upgrades past it get HTTP 503 (-1: the open-files limit less --fd-reserve and --max-pending; 0: no cap)")
	f.IntVar(&d.FDReserve, "fd-reserve", d.FDReserve, "open files kept back from the open-files limit for listeners, backends and the process")
	f.IntVar(&d.MaxPending, "max-pending", d.MaxPending, "connections that are not WebSockets (yet) the server holds at once; past it new ones wait and the oldest pending for over a second are closed")
	f.IntVar(&d.SendQueue, "send-queue", d.SendQueue, "frames that may wait for one client before it counts as a slow consumer (at least 1)")
	f.StringVar(&d.SlowPolicy, "slow-policy", d.SlowPolicy, "a full send queue: disconnect (close 1008 the slow consumer, or the member flooding the room) or drop (drop its messages)")
	f.Var((*units.Rate)(&d.MaxMsgRate), "max-msg-rate", "chat messages per second one connection may send, e.g. 20/s or 600/min (a token bucket per connection; 0: no limit)")
	f.IntVar(&d.MaxMsgBurst, "max-msg-burst", d.MaxMsgBurst, "messages a connection may send at once before --max-msg-rate applies (0: one second's worth)")
	f.StringVar(&d.RateLimitPolicy, "rate-limit-policy", d.RateLimitPolicy, "past --max-msg-rate: drop (drop and count the excess messages) or close (close with 1008)")
	f.Var((*units.Rate)(&d.MaxPingRate), "max-ping-rate", "pings and pongs per second one connection may send, one second's worth at once; past it close 1008 (0: no limit)")
	f.DurationVar(&d.ReadHeaderTimeout, "read-header-timeout", d.ReadHeaderTimeout, "longest a client may take to send its HTTP request (slowloris); it then gets its connection closed")
	f.DurationVar(&d.NameTimeout, "name-timeout", d.NameTimeout, "longest a WebSocket without ?user= may take to send its name (first frame); it then gets 1008")
	f.DurationVar(&d.WriteTimeout, "write-timeout", d.WriteTimeout, "longest a write to one client may take before it is disconnected")
	f.DurationVar(&d.WriteDelay, "write-delay", d.WriteDelay, "on sockets busier than one frame per write-delay, hold writes this long so frames share a system call: less CPU per delivery for up to this much latency (0: always write at once)")
	f.DurationVar(&d.PingInterval, "ping-interval", d.PingInterval, "ping a connection after this much silence (0: never)")
	f.DurationVar(&d.PingTimeout, "ping-timeout", d.PingTimeout, "drop a pinged connection silent this much longer (half-open peer)")
	f.StringSliceVar(&o.origins, "allow-origin", nil, "extra allowed Origin host patterns, e.g. '*.example.com' or 'https://app.example.com' (default: same origin only)")
	f.StringVar(&d.TLSCertFile, "tls-cert", "", "PEM certificate (chain) file: serve https and wss (needs --tls-key)")
	f.StringVar(&d.TLSKeyFile, "tls-key", "", "PEM private key file for --tls-cert")
	f.StringVar(&d.Token, "token", "", "require this token as ?token= or Authorization: Bearer (or set $CHATBENCH_TOKEN)")
	f.DurationVar(&d.ShutdownTimeout, "shutdown-timeout", d.ShutdownTimeout, "longest graceful shutdown; every connection still open after it is closed (0: at once)")
	f.DurationVar(&d.TrimMemoryAfter, "trim-memory-after", d.TrimMemoryAfter, "after the connection count grows or shrinks >10% and holds this long, return freed memory to the OS (0: never)")
	f.StringVar(&o.redisURL, "redis-url", envOr("CHATBENCH_REDIS_URL", redisbroker.DefaultURL), "Redis for --backend redis (or $CHATBENCH_REDIS_URL)")
	f.StringSliceVar(&o.redisCluster, "redis-cluster", nil, "Redis Cluster seed addresses host:port,... for --backend redis: sharded pub/sub (SPUBLISH/SSUBSCRIBE)")
	f.StringVar(&o.redisPrefix, "redis-prefix", "chatbench:", "Redis channel prefix; nodes share rooms when they share it")
	f.StringVar(&o.amqpURL, "amqp-url", envOr("CHATBENCH_AMQP_URL", rabbitmq.DefaultURL), "RabbitMQ for --backend rabbitmq (or $CHATBENCH_AMQP_URL)")
	f.StringVar(&o.amqpExchange, "amqp-exchange", "chatbench", "RabbitMQ topic exchange; nodes share rooms when they share it")
	f.BoolVar(&o.amqpGuarantee, "amqp-guarantee", false, "--backend rabbitmq: lose nothing across a broker restart or a dropped connection (publisher confirms, a durable queue per node, acknowledgements, de-duplication; needs --node-id); see docs/serve.md")
	f.StringVar(&d.NodeID, "node-id", "", "this node's id on the backend (default: random; --amqp-guarantee needs a stable one)")
	f.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error (logs go to stderr)")
	f.StringVar(&o.cpuProf, "cpuprofile", "", "write a Go CPU profile of the whole run to this file (for 'go tool pprof')")
	_ = c.RegisterFlagCompletionFunc("backend", cobra.FixedCompletions(backends, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("rate-limit-policy", cobra.FixedCompletions([]string{server.RateLimitDrop, server.RateLimitClose}, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("slow-policy", cobra.FixedCompletions([]string{server.SlowDisconnect, server.SlowDrop}, cobra.ShellCompDirectiveNoFileComp))
}

func (o *serveOptions) run(c *cobra.Command) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return usageErr("--log-level %q: want debug, info, warn or error", o.logLevel)
	}
	o.cfg.Logger = slog.New(slog.NewTextHandler(c.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
	o.cfg.AllowOrigins = o.origins
	if !c.Flags().Changed("token") {
		o.cfg.Token = os.Getenv("CHATBENCH_TOKEN") // not a flag default: --help must not print it
	}
	if err := o.cfg.Validate(); err != nil { // before a backend is dialled
		return usageErr("%v", err)
	}

	o.cfg.Registry = server.NewRegistry()
	if err := o.buildBroker(); err != nil {
		return err
	}
	srv, err := server.New(o.cfg)
	if err != nil {
		return serveStartErr(err, o)
	}
	if o.cpuProf != "" {
		f, err := os.Create(o.cpuProf)
		if err != nil {
			_ = srv.Close()
			return usageErr("--cpuprofile: %v", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			_ = srv.Close()
			return usageErr("--cpuprofile: %v", err)
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Fprintln(c.OutOrStdout(), serveline.Format(srv.URL(), o.backend))
	o.cfg.Logger.Info("serving", "addr", srv.Addr(), "backend", o.backend, "max_conns", srv.MaxConns(),
		"max_pending", o.cfg.MaxPending, "open_files_limit", srv.OpenFilesLimit())
	if err := srv.Run(c.Context()); err != nil {
		return failErr(err)
	}
	o.cfg.Logger.Info("stopped")
	return nil
}

// buildBroker makes the --backend's broker; server.New starts it.
func (o *serveOptions) buildBroker() error {
	log := o.cfg.Logger.With("backend", o.backend)
	if o.amqpGuarantee && o.backend != "rabbitmq" {
		return usageErr("--amqp-guarantee: only with --backend rabbitmq")
	}
	switch o.backend {
	case "memory":
		return nil // server.New's default
	case "redis":
		redisbroker.RouteLibraryLogs(log)
		b, err := redisbroker.New(redisbroker.Config{
			URL: o.redisURL, ClusterAddrs: o.redisCluster, Prefix: o.redisPrefix,
			NodeID: o.cfg.NodeID, Registerer: o.cfg.Registry, Logger: log,
		})
		if err != nil {
			return usageErr("%v", err)
		}
		o.cfg.Broker = b
	case "rabbitmq":
		b, err := rabbitmq.New(rabbitmq.Config{
			URL: o.amqpURL, Exchange: o.amqpExchange, Guarantee: o.amqpGuarantee,
			NodeID: o.cfg.NodeID, Registerer: o.cfg.Registry, Logger: log,
		})
		if err != nil {
			return usageErr("%v", err)
		}
		o.cfg.Broker = b
	default:
		return usageErr("--backend %q: want one of %s", o.backend, strings.Join(backends, ", "))
	}
	return nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// serveStartErr turns a start-up failure into one line that says what to do.
func serveStartErr(err error, o *serveOptions) error {
	var le *server.ListenError
	if errors.As(err, &le) {
		switch {
		case errors.Is(err, syscall.EADDRINUSE):
			return usageErr("cannot listen on %s: address already in use; pick another --addr (port 0 picks a free one) or stop the process using it", le.Addr)
		case errors.Is(err, syscall.EACCES):
			return usageErr("cannot listen on %s: permission denied; use a port above 1023", le.Addr)
		default:
			return usageErr("cannot listen on %s: %v; check --addr (host:port)", le.Addr, errors.Unwrap(err))
		}
	}
	var te *server.TLSConfigError
	var ce *server.ConfigError
	if errors.As(err, &te) || errors.As(err, &ce) {
		return usageErr("%v", err)
	}
	var be *server.BackendError
	if errors.As(err, &be) {
		return usageErr("%v", err)
	}
	return usageErr("%v (see 'chatbench serve --help')", err)
}
