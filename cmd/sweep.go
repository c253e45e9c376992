package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/chatbench/chatbench/internal/units"

	"github.com/spf13/cobra"

	"github.com/chatbench/chatbench/estimate"
	"github.com/chatbench/chatbench/estimate/sweep"
	"github.com/chatbench/chatbench/loadgen"
	"github.com/chatbench/chatbench/loadgen/htmlreport"
	"github.com/chatbench/chatbench/server/broker/rabbitmq"
	"github.com/chatbench/chatbench/server/broker/redisbroker"
)

func init() { register(newSweepCmd) }

type sweepOptions struct {
	backends                []string
	urls                    []string
	nodes                   int
	redisURL, amqpURL       string
	rates                   []string
	size                    string
	start, max, resolution  string
	sloP99                  time.Duration
	maxLoss                 float64
	budget                  time.Duration
	maxRuns                 int
	warmup, duration, grace time.Duration
	out                     string
	html                    string
	json                    bool
	junit                   string
}

func newSweepCmd() *cobra.Command {
	o := &sweepOptions{}
	c := &cobra.Command{
		Use:   "sweep",
		Short: "Find the knee: the largest room that still meets the SLO, per backend",
		Long: `sweep runs swarm at rising numbers of clients (one room of all of them, every
client sending --rate) and finds the knee: the largest N at which p99 stays
under --slo-p99 and nothing is lost. Coarse steps (N, 2N, 4N, …) until a step
fails, then bisection to within --resolution (default 5%). Each step gets
fresh server nodes: this binary's "serve" as a child process (one node for
memory, --nodes for redis and rabbitmq, given --redis-url / --amqp-url), so
the server's memory and CPU are measured apart from swarm's. With --url it
sweeps a running server instead.

The whole sweep stops within --budget; a search cut short says so and the
results are marked partial. --out writes one results file (kind "sweep") that
'chatbench estimate --from' reads. The knees are printed beside the blog's
claims (1,000–2,000 users on one 4-core/8 GB server; 10,000–20,000 with Redis;
50,000–100,000 with RabbitMQ) scaled to this machine's cores and memory.`,
		Example: `  chatbench sweep --budget 5m --out sweep.json
  chatbench sweep --backend memory,redis --redis-url redis://127.0.0.1:6379/0 --rate 1/s --rate 10/s
  chatbench sweep --url ws://127.0.0.1:8000/ws --start 50 --max 5000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := c.Flags()
	f.StringSliceVar(&o.backends, "backend", []string{"memory"}, "backends to sweep: memory, redis, rabbitmq (comma-separated)")
	f.StringArrayVar(&o.urls, "url", nil, "sweep a running server at this ws:// URL instead (repeatable; {{room}} and {{user}} are filled in)")
	f.IntVar(&o.nodes, "nodes", 2, "server nodes per step for redis and rabbitmq")
	f.StringVar(&o.redisURL, "redis-url", envOr("CHATBENCH_REDIS_URL", redisbroker.DefaultURL), "Redis for --backend redis (or $CHATBENCH_REDIS_URL)")
	f.StringVar(&o.amqpURL, "amqp-url", envOr("CHATBENCH_AMQP_URL", rabbitmq.DefaultURL), "RabbitMQ for --backend rabbitmq (or $CHATBENCH_AMQP_URL)")
	f.StringArrayVar(&o.rates, "rate", []string{"10/s"}, "messages per second per client (10/s, 600/min); repeat for rising rates, a knee search each")
	f.StringVar(&o.size, "size", "100B", "message size")
	f.StringVar(&o.start, "start", "100", "first number of clients")
	f.StringVar(&o.max, "max", "20000", "largest number of clients to try")
	f.StringVar(&o.resolution, "resolution", "", "stop bisecting when the knee is known to within this many clients (default 5%)")
	f.DurationVar(&o.sloP99, "slo-p99", 100*time.Millisecond, "a step meets the SLO when its p99 fan-out latency is below this")
	f.Float64Var(&o.maxLoss, "max-loss", 0, "and when at most this share of deliveries is lost (0.001 = 0.1%)")
	f.DurationVar(&o.budget, "budget", 10*time.Minute, "total time for the whole sweep")
	f.IntVar(&o.maxRuns, "max-runs", 30, "most steps per backend")
	f.DurationVar(&o.warmup, "warmup", time.Second, "sending before each step's measured phase")
	f.DurationVar(&o.duration, "duration", 5*time.Second, "measured phase of each step")
	f.DurationVar(&o.grace, "grace", time.Second, "wait for in-flight deliveries after each step")
	f.StringVarP(&o.out, "out", "o", "", "write the results file here")
	f.StringVar(&o.html, "html", "", "write a self-contained HTML report with plots (capacity curve, the knee step's latency) to this file")
	f.BoolVar(&o.json, "json", false, "print the results file to stdout instead of tables")
	bindJUnit(f, &o.junit)
	return c
}

func (o *sweepOptions) config(stderr io.Writer) (sweep.Config, error) {
	cfg := sweep.Config{Backends: o.backends, URLs: o.urls, Nodes: o.nodes, SLO: estimate.SLO{P99: o.sloP99, MaxLoss: o.maxLoss},
		Budget: o.budget, MaxRuns: o.maxRuns, Warmup: o.warmup, Duration: o.duration, Grace: o.grace, Version: version(), Progress: stderr}
	var err error
	for _, rs := range o.rates {
		r, err := units.ParseRate(rs)
		if err != nil {
			return cfg, unitErr("rate", err)
		}
		if r <= 0 {
			return cfg, usageErr("--rate must be more than 0")
		}
		cfg.Rates = append(cfg.Rates, r)
	}
	size, err := units.ParseSize(o.size)
	if err != nil {
		return cfg, unitErr("size", err)
	}
	cfg.SizeBytes = int(size)
	for _, c := range []struct {
		flag, val string
		dst       *int64
	}{{"start", o.start, &cfg.StartN}, {"max", o.max, &cfg.MaxN}, {"resolution", o.resolution, &cfg.Resolution}} {
		if c.val == "" {
			continue
		}
		if *c.dst, err = units.ParseCount(c.val); err != nil {
			return cfg, unitErr(c.flag, err)
		}
	}
	if err := checkJUnitPath(o.junit); err != nil {
		return cfg, err
	}
	if cfg.MaxN < cfg.StartN {
		return cfg, usageErr("--max %d is below --start %d", cfg.MaxN, cfg.StartN)
	}
	if o.maxLoss < 0 || o.maxLoss >= 1 {
		return cfg, usageErr("--max-loss %v: want a share from 0 to below 1, e.g. 0.001", o.maxLoss)
	}
	if len(o.urls) == 0 {
		for _, b := range o.backends {
			if !slices.Contains(backends, b) {
				return cfg, usageErr("--backend %q: want one of %s", b, strings.Join(backends, ", "))
			}
		}
		exe, err := os.Executable()
		if err != nil {
			return cfg, failErr(fmt.Errorf("cannot find this binary to start server nodes: %w", err))
		}
		cfg.Start = sweepChildServe(exe, o.redisURL, o.amqpURL)
	}
	return cfg, nil
}

func (o *sweepOptions) run(c *cobra.Command) error {
	cfg, err := o.config(c.ErrOrStderr())
	if err != nil {
		return err
	}
	res, err := sweep.Run(c.Context(), cfg)
	var se *sweep.StartError
	var ce *loadgen.ConfigError
	switch {
	case errors.As(err, &se), errors.As(err, &ce):
		return usageErr("%v", err)
	case err != nil && res == nil:
		return failErr(err)
	}
	if res != nil && o.out != "" {
		if werr := writeSweepFile(o.out, res.WriteJSON); werr != nil {
			return failErr(werr)
		}
	}
	if res != nil && o.html != "" {
		rep, herr := htmlreport.ForSweep(res.WriteJSON, version())
		if herr == nil {
			herr = htmlreport.WriteFile(o.html, rep)
		}
		if herr != nil {
			return failErr(fmt.Errorf("--html: %w", herr))
		}
	}
	if jerr := writeSweepJUnit(o.junit, res); jerr != nil {
		return failErr(jerr)
	}
	if res != nil {
		var perr error
		if o.json {
			perr = res.WriteJSON(c.OutOrStdout())
		} else {
			perr = sweep.WriteTable(c.OutOrStdout(), res)
		}
		if perr != nil && err == nil {
			err = perr
		}
	}
	if err == nil && res != nil {
		err = sweep.Err(res)
	}
	if err != nil {
		return failErr(err)
	}
	return nil
}

func writeSweepFile(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".sweep-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// sweepChildServe starts nodes as "exe serve" child processes on free loopback
// ports, reading each one's address from its first stdout line.
func sweepChildServe(exe, redisURL, amqpURL string) sweep.Starter {
	return func(ctx context.Context, backend string, n int) ([]sweep.Node, error) {
		var nodes []sweep.Node
		fail := func(err error) ([]sweep.Node, error) {
			for _, nd := range nodes {
				_ = nd.Stop()
			}
			return nil, err
		}
		for i := 0; i < n; i++ {
			args := []string{"serve", "--addr", "127.0.0.1:0", "--backend", backend, "--log-level", "warn", "--slow-policy", "drop", "--max-msg-rate", "0"}
			switch backend {
			case "redis":
				args = append(args, "--redis-url", redisURL)
			case "rabbitmq":
				args = append(args, "--amqp-url", amqpURL)
			}
			nd, err := startServeChild(ctx, exe, args)
			if err != nil {
				return fail(err)
			}
			nodes = append(nodes, nd)
		}
		return nodes, nil
	}
}

func startServeChild(ctx context.Context, exe string, args []string) (sweep.Node, error) {
	child, err := loadgen.StartChild(ctx, exe, args, nil)
	if err != nil {
		return sweep.Node{}, err
	}
	return sweep.Node{URL: child.WSURL(""), PID: child.Pid, Stop: child.Stop}, nil
}
