package cmd

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/chatbench/chatbench/internal/units"

	"github.com/chatbench/chatbench/internal/rlimit"

	"github.com/chatbench/chatbench/estimate"
	"github.com/chatbench/chatbench/server"
	"github.com/chatbench/chatbench/server/broker/rabbitmq"
	"github.com/chatbench/chatbench/server/broker/redisbroker"
	"github.com/spf13/cobra"
)

func init() { register(newServeCmd) }

// backends lists the --backend values this build ships (serve and sweep).
var backends = estimate.Backends

type serveOptions struct {
	cfg       server.Config
	backend   string
	logLevel  string
	origins   []string
	fdReserve int
	cpuProf   string
	msgRate   string

	redisURL     string
	redisCluster []string
	redisPrefix  string
	amqpURL      string
	amqpExchange string
}

func newServeCmd() *cobra.Command {
	o := &serveOptions{}
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
SIGINT/SIGTERM: stop accepting, close every socket with 1001, exit 0.`,
		Example: `  chatbench serve                                  # 127.0.0.1:8080, memory backend
  chatbench serve --addr 127.0.0.1:0               # any free port (printed on stdout)
  chatbench serve --max-conns 15000 --slow-policy drop --send-queue 1024
  chatbench serve --token s3cret --allow-origin '*.example.com'
  chatbench serve --tls-cert cert.pem --tls-key key.pem   # https:// and wss://`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return o.run(c) },
	}
	f := c.Flags()
	f.StringVar(&o.cfg.Addr, "addr", "127.0.0.1:8080", "address to listen on (host:port; port 0 picks a free one)")
	f.StringVar(&o.backend, "backend", "memory", "fan-out backend between nodes: "+strings.Join(backends, ", "))
	f.Int64Var(&o.cfg.MaxMessageBytes, "max-message-bytes", 16<<10, "largest text frame a client may send; larger closes with 1009")
	f.IntVar(&o.cfg.MaxConns, "max-conns", -1, "cap on open WebSockets, upgrades past it get HTTP 503 (-1: the open-files limit less a reserve; 0: no cap)")
	f.IntVar(&o.cfg.SendQueue, "send-queue", 256, "frames that may wait for one client before it counts as a slow consumer")
	f.StringVar(&o.cfg.SlowPolicy, "slow-policy", server.SlowDisconnect, "what happens to a slow consumer: disconnect (close 1008) or drop (drop its messages)")
	f.StringVar(&o.msgRate, "max-msg-rate", "0", "chat messages per second one connection may send, e.g. 20/s or 600/min (a token bucket per connection; 0: no limit)")
	f.IntVar(&o.cfg.MaxMsgBurst, "max-msg-burst", 0, "messages a connection may send at once before --max-msg-rate applies (default: one second's worth)")
	f.StringVar(&o.cfg.RateLimitPolicy, "rate-limit-policy", server.RateLimitDrop, "past --max-msg-rate: drop (drop and count the excess messages) or close (close with 1008)")
	f.DurationVar(&o.cfg.ReadHeaderTimeout, "read-header-timeout", 10*time.Second, "longest a client may take to send its HTTP request headers (slowloris); it then gets its connection closed")
	f.DurationVar(&o.cfg.WriteTimeout, "write-timeout", 10*time.Second, "longest a write to one client may take before it is disconnected")
	f.DurationVar(&o.cfg.WriteDelay, "write-delay", 10*time.Millisecond, "on sockets busier than one frame per write-delay, hold writes this long so frames share a system call: less CPU per delivery for up to this much latency (0: always write at once)")
	f.DurationVar(&o.cfg.PingInterval, "ping-interval", 25*time.Second, "ping a connection after this much silence")
	f.DurationVar(&o.cfg.PingTimeout, "ping-timeout", 10*time.Second, "drop a pinged connection silent this much longer (half-open peer)")
	f.StringSliceVar(&o.origins, "allow-origin", nil, "extra allowed Origin host patterns, e.g. '*.example.com' or 'https://app.example.com' (default: same origin only)")
	f.StringVar(&o.cfg.TLSCertFile, "tls-cert", "", "PEM certificate (chain) file: serve https and wss (needs --tls-key)")
	f.StringVar(&o.cfg.TLSKeyFile, "tls-key", "", "PEM private key file for --tls-cert")
	f.StringVar(&o.cfg.Token, "token", "", "require this token as ?token= or Authorization: Bearer (or set $CHATBENCH_TOKEN)")
	f.DurationVar(&o.cfg.ShutdownTimeout, "shutdown-timeout", 10*time.Second, "longest graceful shutdown before remaining sockets are dropped")
	f.DurationVar(&o.cfg.TrimMemoryAfter, "trim-memory-after", time.Second, "after the connection count grows >10% and holds this long, return freed memory to the OS (0: never)")
	f.StringVar(&o.redisURL, "redis-url", envOr("CHATBENCH_REDIS_URL", redisbroker.DefaultURL), "Redis for --backend redis (or $CHATBENCH_REDIS_URL)")
	f.StringSliceVar(&o.redisCluster, "redis-cluster", nil, "Redis Cluster seed addresses host:port,... for --backend redis: sharded pub/sub (SPUBLISH/SSUBSCRIBE)")
	f.StringVar(&o.redisPrefix, "redis-prefix", "chatbench:", "Redis channel prefix; nodes share rooms when they share it")
	f.StringVar(&o.amqpURL, "amqp-url", envOr("CHATBENCH_AMQP_URL", rabbitmq.DefaultURL), "RabbitMQ for --backend rabbitmq (or $CHATBENCH_AMQP_URL)")
	f.StringVar(&o.amqpExchange, "amqp-exchange", "chatbench", "RabbitMQ topic exchange; nodes share rooms when they share it")
	f.StringVar(&o.cfg.NodeID, "node-id", "", "this node's id on the backend (default: random)")
	f.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error (logs go to stderr)")
	f.IntVar(&o.fdReserve, "fd-reserve", 64, "open files kept back from --max-conns -1 for listeners, backends and scrapes")
	f.StringVar(&o.cpuProf, "cpuprofile", "", "write a Go CPU profile of the whole run to this file (for 'go tool pprof')")
	_ = c.RegisterFlagCompletionFunc("backend", cobra.FixedCompletions(backends, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("rate-limit-policy", cobra.FixedCompletions([]string{server.RateLimitDrop, server.RateLimitClose}, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("slow-policy", cobra.FixedCompletions([]string{server.SlowDisconnect, server.SlowDrop}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

func (o *serveOptions) run(c *cobra.Command) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return usageErr("--log-level %q: want debug, info, warn or error", o.logLevel)
	}
	o.cfg.Logger = slog.New(slog.NewTextHandler(c.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
	o.cfg.AllowOrigins = o.origins
	rate, err := units.ParseRate(o.msgRate)
	if err != nil {
		return usageErr("--max-msg-rate %q: want a rate such as 20/s or 600/min (0: no limit)", o.msgRate)
	}
	o.cfg.MaxMsgRate = rate
	if !c.Flags().Changed("token") {
		o.cfg.Token = os.Getenv("CHATBENCH_TOKEN") // not a flag default: --help must not print it
	}

	o.cfg.Registry = server.NewRegistry()
	if err := o.buildBroker(); err != nil {
		return err
	}
	limit, _, err := rlimit.Raise()
	if err != nil {
		o.cfg.Logger.Warn("could not raise the open-files limit", "err", err)
	}
	switch {
	case o.cfg.MaxConns == -1 && limit == 0: // the limit could not be read: no cap rather than a wrong one
		o.cfg.MaxConns = 0
	case o.cfg.MaxConns == -1:
		o.cfg.MaxConns = max(int(limit)-o.fdReserve, 1)
	}
	if o.cfg.MaxConns > 0 && limit > 0 && uint64(o.cfg.MaxConns) > limit {
		o.cfg.Logger.Warn("--max-conns exceeds the open-files limit: upgrades past it will fail with accept errors",
			"max_conns", o.cfg.MaxConns, "open_files_limit", limit)
	}

	srv, err := server.New(o.cfg)
	if err != nil {
		return serveStartErr(err, o)
	}
	if o.cpuProf != "" {
		f, err := os.Create(o.cpuProf)
		if err != nil {
			return usageErr("--cpuprofile: %v", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return usageErr("--cpuprofile: %v", err)
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Fprintf(c.OutOrStdout(), "chatbench serve: listening on %s (backend %s)\n", srv.URL(), o.backend)
	o.cfg.Logger.Info("serving", "addr", srv.Addr(), "backend", o.backend, "max_conns", o.cfg.MaxConns, "open_files_limit", limit)
	if err := srv.Run(c.Context()); err != nil {
		return failErr(err)
	}
	o.cfg.Logger.Info("stopped")
	return nil
}

// buildBroker makes the --backend's broker; server.New starts it.
func (o *serveOptions) buildBroker() error {
	log := o.cfg.Logger.With("backend", o.backend)
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
			URL: o.amqpURL, Exchange: o.amqpExchange,
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
	if errors.As(err, &te) {
		return usageErr("%v", err)
	}
	var be *server.BackendError
	if errors.As(err, &be) {
		return usageErr("%v", err)
	}
	return usageErr("%v (see 'chatbench serve --help')", err)
}
