package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/chatbench/chatbench/internal/units"

	"github.com/spf13/cobra"

	"github.com/chatbench/chatbench/estimate"
	"github.com/chatbench/chatbench/estimate/sweep"
	"github.com/chatbench/chatbench/loadgen"
	"github.com/chatbench/chatbench/loadgen/htmlreport"
	"github.com/chatbench/chatbench/loadgen/results"
	"github.com/chatbench/chatbench/server/broker/rabbitmq"
	"github.com/chatbench/chatbench/server/broker/redisbroker"
)

func init() { register(newSweepCmd) }

type sweepOptions struct {
	load                   *loadFlags
	base                   loadgen.Config
	backends               []string
	nodes                  int
	redisURL, amqpURL      string
	start, max, resolution units.Count
	sloP99                 time.Duration
	maxLoss                units.Share
	budget                 time.Duration
	maxRuns                int
	mode                   string
	roomRate               units.Rate
	repeat                 int
	cooldown, cooldownMax  time.Duration
	serverName             string
	serverBackend          string
	out                    string
	html                   string
	json                   bool
	junit                  string
}

// sweepDefaults is the swarm run of a step when no flag says otherwise:
// the blog's setup (one room of everyone, everyone talking at 10/s) in
// short steps.
func sweepDefaults() loadgen.Config {
	d := loadgen.DefaultConfig()
	d.RoomSize, d.Rate = 0, estimate.BlogRatePerS
	d.Warmup, d.Duration, d.Grace, d.Settle = time.Second, 5*time.Second, time.Second, time.Second
	return d
}

func newSweepCmd() *cobra.Command {
	o := &sweepOptions{base: sweepDefaults()}
	o.load = newLoadFlags(&o.base, units.CountOrShare{Share: 1, IsShare: true})
	c := &cobra.Command{
		Use:   "sweep",
		Short: "Find the knee: the most users that still meet the SLO, per backend or for any server",
		Long: `sweep runs swarm at rising numbers of users and finds the knee: the largest N
at which p99 stays under --slo-p99 and nothing is lost. Coarse steps (N, 2N,
4N, …) until a step fails (N/2, N/4, … when N itself fails), then bisection
to within --resolution (default 5%).

Every step is the same workload at a different N: swarm's load flags
(--workload, --room-size, --senders, --rate, --size, --protocol, --hello,
--message, --header, ...) are taken as they are and only the number of users
varies, so the shape (room sizes, talker share, rate per talker) is kept.
Without them: one room of everyone, everyone talking at --rate (the blog's
setup). --mode room-rate --room-rate 20/s keeps one room's total rate fixed
instead (each of N talkers sends 20/s ÷ N), so the frames per socket stay
constant while the server's CPU per message shows how it grows with N (the
blog's claim 6).

Each step gets fresh server nodes: this binary's "serve" as a child process
(one node for memory, --nodes for redis and rabbitmq, given --redis-url /
--amqp-url), so the server's memory and CPU are measured apart from swarm's.
With --url it sweeps a running server instead (its cost from --server-pid or
--metrics-url), and before every step waits until the server has worked off
the last one: its CPU under 5% of a core over 500 ms and a readiness probe
(its /readyz, else a test message echoed back) answered, for at most
--cooldown-max. A step after a wait that ran out says "target not recovered";
a server that refuses connections or never gets ready ends the sweep with
the steps so far (results marked partial, exit 1).

--repeat K runs every step K times: the step passes when most runs did and
reports the median p99 and loss with their range; the knee is reported with
its spread (knee_low: every run passed; knee_high: at least one did).

The whole sweep stops within --budget; a search cut short says so and the
results are marked partial. --out writes one results file (kind "sweep") that
'chatbench estimate --from' reads.`,
		Example: `  chatbench sweep --budget 5m --out sweep.json
  chatbench sweep --backend memory,redis --redis-url redis://127.0.0.1:6379/0 --rate 1/s --rate 10/s
  chatbench sweep --workload examples/workloads/chat-mixed.yaml --start 500 --max 20000
  chatbench sweep --url ws://127.0.0.1:8000/ws --hello '{{user}}' --server-pid 4242 --rate 1/s --start 50 --max 2000 --repeat 3
  chatbench sweep --mode room-rate --room-rate 20/s --start 50 --max 3200`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := c.Flags()
	o.load.bind(f)
	f.StringSliceVar(&o.backends, "backend", []string{"memory"}, "backends to sweep without --url: memory, redis, rabbitmq (comma-separated)")
	f.IntVar(&o.nodes, "nodes", 2, "server nodes per step for redis and rabbitmq")
	f.StringVar(&o.redisURL, "redis-url", envOr("CHATBENCH_REDIS_URL", redisbroker.DefaultURL), "Redis for --backend redis (or $CHATBENCH_REDIS_URL)")
	f.StringVar(&o.amqpURL, "amqp-url", envOr("CHATBENCH_AMQP_URL", rabbitmq.DefaultURL), "RabbitMQ for --backend rabbitmq (or $CHATBENCH_AMQP_URL)")
	o.start, o.max = 100, 20000
	f.Var(&o.start, "start", "first number of users")
	f.Var(&o.max, "max", "largest number of users to try")
	f.Var(&o.resolution, "resolution", "stop bisecting when the knee is known to within this many users (default 5%)")
	f.StringVar(&o.mode, "mode", results.ModeUsers, "what grows with N: users (N users at the workload's shape) or room-rate (one room of N at a fixed total --room-rate)")
	f.Var(&o.roomRate, "room-rate", "--mode room-rate: the room's total messages per second, shared by its N talkers (e.g. 20/s)")
	f.IntVar(&o.repeat, "repeat", 1, "runs per step; the step passes when most do, and reports the median and range")
	f.DurationVar(&o.cooldown, "cooldown", 0, "--url: a fixed wait before every step, before the wait for idle CPU and readiness")
	f.StringVar(&o.serverBackend, "server-backend", "", "--url: the fan-out backend the server uses between its processes (memory, redis, rabbitmq), so its knee answers the blog's claim about that backend (5, 7a or 8); default: a single server (claim 5)")
	f.StringVar(&o.serverName, "server-name", "", "--url: what the results and the claims table call the server measured (default \"server at URL\"), e.g. \"the blog's FastAPI server\"")
	f.DurationVar(&o.cooldownMax, "cooldown-max", 30*time.Second, "--url: longest wait before a step for the server's CPU to be idle and its readiness probe to answer")
	f.DurationVar(&o.sloP99, "slo-p99", 100*time.Millisecond, "a step meets the SLO when its p99 fan-out latency is below this")
	f.Var(&o.maxLoss, "max-loss", "and when at most this share of deliveries is lost (0.1% or 0.001)")
	f.DurationVar(&o.budget, "budget", 10*time.Minute, "total time for the whole sweep")
	f.IntVar(&o.maxRuns, "max-runs", 30, "most steps per backend")
	f.StringVarP(&o.out, "out", "o", "", "write the results file here")
	f.StringVar(&o.html, "html", "", "write a self-contained HTML report with plots (capacity curve, the knee step's latency) to this file")
	f.BoolVar(&o.json, "json", false, "print the results file to stdout instead of tables")
	bindJUnit(f, &o.junit)
	return c
}

func (o *sweepOptions) run(c *cobra.Command) error {
	if err := applyWorkload(c.Flags(), o.load.workload, map[string]bool{"clients": true}); err != nil {
		return err
	}
	cfg, err := o.config(c.Flags(), c.ErrOrStderr())
	if err != nil {
		return workloadErr(err, o.load.workload)
	}
	res, err := sweep.Run(c.Context(), cfg)
	var se *sweep.StartError
	var ce *loadgen.ConfigError
	switch {
	case (errors.As(err, &se) || errors.As(err, &ce)) && (res == nil || len(res.Steps) == 0):
		return usageErr("%v", err) // nothing ran: a usage problem, nothing to keep
	case errors.As(err, &se), errors.As(err, &ce):
		// Steps ran before the problem: keep them (marked partial) and fail.
		res.Partial = true
		res.Notes = append(res.Notes, fmt.Sprintf("%v; the sweep ended with the steps so far", err))
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
	var down *sweep.TargetDownError
	var cause error // what ended the sweep after some steps, without the step prefix
	switch {
	case errors.As(err, &down):
		cause = down
	case errors.As(err, &se):
		cause = se
	case errors.As(err, &ce):
		cause = ce
	}
	if cause != nil {
		kept := "not written (no --out)"
		if o.out != "" {
			kept = "in " + o.out + ", marked partial"
		}
		err = fmt.Errorf("%v; the %d step(s) before are %s", cause, len(res.Steps), kept)
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
