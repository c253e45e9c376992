package cmd

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/chatbench/chatbench/loadgen"
	"github.com/chatbench/chatbench/loadgen/results"
	"github.com/chatbench/chatbench/loadgen/wsclient"
)

// partOptions are swarm's flags for splitting a load: over worker processes
// on this machine (--procs) and over machines (--shard).
type partOptions struct {
	procsFlag string
	shardFlag string
	procs     int // resolved: 1 runs in this process
}

func (p *partOptions) bind(f *pflag.FlagSet) {
	f.StringVar(&p.procsFlag, "procs", "1", "worker processes to split the clients over ('auto': enough for -n within the open-files limit); results merge exactly")
	f.StringVar(&p.shardFlag, "shard", "", "run only part i of K of the load ('i/K': the rooms r with r%K == i, for one of K machines); 'report merge' adds the K results up")
}

// validate checks --procs and --shard and sets the shard in cfg. haveURL
// says the target is given (not the server swarm starts itself).
func (p *partOptions) validate(cfg *loadgen.Config, haveURL bool) error {
	if p.shardFlag != "" {
		a, b, ok := strings.Cut(p.shardFlag, "/")
		i, err1 := strconv.Atoi(a)
		k, err2 := strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil || k < 1 || i < 0 || i >= k {
			return usageErr("--shard %q: want i/K with 0 ≤ i < K, e.g. 0/2", p.shardFlag)
		}
		cfg.ShardIndex, cfg.ShardCount = i, k
	}
	switch p.procsFlag {
	case "auto":
		n := cfg.Clients
		if cfg.ShardCount > 1 {
			n = (n + cfg.ShardCount - 1) / cfg.ShardCount
		}
		p.procs = loadgen.AutoProcs(n)
	default:
		k, err := strconv.Atoi(p.procsFlag)
		if err != nil || k < 1 {
			return usageErr("--procs %q: want a number of processes (1 or more) or auto", p.procsFlag)
		}
		p.procs = k
	}
	if p.procs > cfg.Clients {
		p.procs = cfg.Clients
	}
	if p.procs > 1 && !haveURL && loadgen.AutoProcs(cfg.Clients) > 1 {
		return usageErr("-n %d: the one server swarm starts without --url cannot hold that many sockets within its open-files limit; "+
			"start several nodes (chatbench serve --backend redis) and give each with --url (see scripts/demo-50k.sh)", cfg.Clients)
	}
	return nil
}

// runLoad runs the load in this process or over --procs workers.
func (o *swarmOptions) runLoad(ctx context.Context, stderr io.Writer) (*results.Result, error) {
	if o.part.procs <= 1 {
		return loadgen.Run(ctx, o.cfg)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cannot find chatbench to start workers: %w", err)
	}
	args := []string{"swarm-worker"}
	if o.load.caFile != "" {
		args = append(args, "--ca", o.load.caFile)
	}
	if o.load.insecure {
		args = append(args, "--insecure")
	}
	return loadgen.RunProcs(ctx, o.cfg, loadgen.ProcsOptions{
		Procs:   o.part.procs,
		Command: func() *exec.Cmd { return workerCommand(exe, args) },
		Stderr:  stderr,
	})
}

// workerCommand starts this binary as a swarm worker. It keeps the
// environment (a test binary standing in for chatbench needs it).
func workerCommand(exe string, args []string) *exec.Cmd {
	cmd := exec.Command(exe, args...)
	cmd.Env = os.Environ()
	return cmd
}

func init() { register(newSwarmWorkerCmd) }

// swarm-worker is one process of 'swarm --procs': it talks to its parent
// over stdin and stdout (loadgen.Worker). Not for people.
func newSwarmWorkerCmd() *cobra.Command {
	var ca string
	var insecure bool
	c := &cobra.Command{
		Use:    "swarm-worker",
		Short:  "One worker process of 'swarm --procs' (started by swarm, not by people)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			adjust := func(cfg *loadgen.Config) error {
				t, err := wsclient.TLSConfig(ca, insecure)
				cfg.TLS = t
				return err
			}
			if err := loadgen.Worker(c.Context(), c.InOrStdin(), c.OutOrStdout(), adjust); err != nil {
				return usageErr("%v", err)
			}
			return nil
		},
	}
	c.Flags().StringVar(&ca, "ca", "", "PEM CA certificate(s) for wss://")
	c.Flags().BoolVar(&insecure, "insecure", false, "skip certificate verification")
	return c
}
