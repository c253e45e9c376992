package cmd

import (
	"math"
	"strconv"

	"github.com/chatbench/chatbench/internal/units"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/chatbench/chatbench/estimate"
)

func init() { register(newEstimateCmd) }

// estimateOptions are the estimate command's flags as typed; Config turns
// them into an estimate.Config.
type estimateOptions struct {
	ram, nic, cores                           string
	rate                                      units.Rate
	size                                      units.Size
	users, roomSize, senders, targetUsers     string
	kbPerConn, cpuPerDelivery, cpuPerBrokerMs float64
	userNameBytes, roomNameBytes              int
	from                                      []string
	json                                      bool
}

func newEstimateCmd() *cobra.Command {
	o := &estimateOptions{}
	c := &cobra.Command{
		Use:   "estimate",
		Short: "The blog's capacity maths, the fan-out model, and a check against measured results",
		Long: `estimate prints the blog's back-of-envelope arithmetic exactly as the blog does
it, the fan-out model beside it (every message is delivered to every member of
its room, sender included: deliveries/s = senders × rate × room size), and the
assumptions each number rests on with their source: the blog, a default, a
value given here, or a measurement read with --from.

Units: sizes are bytes, KB/MB/GB are decimal (GB = 10^9, as the blog's
8 GB / 10 KB = 800,000), KiB/MiB/GiB binary (GiB = 2^30). Rates: 10/s, 600/min,
1/h, 0.5/s. Bit rates: 1Gbps, 100Mbit/s; 100MB/s is bytes.

--from reads swarm, sweep or chaos results files (docs/results-schema.md):
the first file's load (users, room size, senders, rate, size, nodes, server)
becomes the question unless a flag gives it (the flag wins, and the output
says what it overrides); measured memory per connection and CPU per
delivery replace the assumptions; and each of the blog's claims is judged
for each server measured (a column per server), every figure labelled
measured, model or blog. Runs that were not complete or failed their SLO
are listed and not used. Rules: docs/sweep.md ("Reading the claims table").

--target-users plans nodes of --cores/--ram for each backend: nodes needed,
broker messages/s and egress per node.`,
		Example: `  chatbench estimate --ram 8GB --cores 4 --users 1000 --rate 10/s --size 100B
  chatbench estimate --from swarm.json --from sweep.json
  chatbench estimate --target-users 1000000 --room-size 50 --rate 1/s --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := o.config()
			if err != nil {
				return err
			}
			cfg.Given = map[string]bool{}
			cmd.Flags().Visit(func(f *pflag.Flag) { cfg.Given[f.Name] = true })
			rep, err := estimate.Build(cfg)
			if err != nil {
				return usageErr("%v", err)
			}
			if o.json {
				err = rep.WriteJSON(cmd.OutOrStdout())
			} else {
				err = rep.WriteTable(cmd.OutOrStdout())
			}
			if err != nil {
				return failErr(err)
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&o.ram, "ram", "8GB", "memory of one node (8GB, 8GiB, 512MB)")
	f.StringVar(&o.cores, "cores", "4", "CPU cores of one node (4, 0.5)")
	f.StringVar(&o.users, "users", "1000", "connected users")
	o.rate, o.size = 10, 100
	f.Var(&o.rate, "rate", "messages each sender sends (10/s, 600/min, 0.5/s)")
	f.Var(&o.size, "size", "message text size (100B, 1KB)")
	f.StringVar(&o.roomSize, "room-size", "", "members per room (default: one room of all users)")
	f.StringVar(&o.senders, "senders", "", "users who send, in total (default: every user)")
	f.StringVar(&o.nic, "nic", "", "network egress of one node (1Gbps, 10Gbit/s); default: not limited")
	f.Float64Var(&o.kbPerConn, "kb-per-conn", 0, "server memory per connection in KB (default: measured with --from, else the blog's 10)")
	f.Float64Var(&o.cpuPerDelivery, "cpu-per-delivery", 0, "server CPU µs per delivery (default: measured with --from, else 3)")
	f.Float64Var(&o.cpuPerBrokerMs, "cpu-per-broker-msg", 0, "node CPU µs per message to or from the broker, for planning (default 10)")
	f.IntVar(&o.userNameBytes, "user-name-bytes", 0, "user name length in the JSON envelope (default 8)")
	f.IntVar(&o.roomNameBytes, "room-name-bytes", 0, "room name length in the JSON envelope (default 4, \"chat\")")
	f.StringVar(&o.targetUsers, "target-users", "", "plan for this many users: nodes, broker messages/s, egress per node")
	f.StringArrayVar(&o.from, "from", nil, "swarm, sweep or chaos results file (repeatable; one column per server measured)")
	f.BoolVar(&o.json, "json", false, "write JSON (schema chatbench.estimate/v2) instead of tables")
	return c
}

// config parses the flags; a value that does not parse is a usage error of
// one line naming the flag, the value and what was expected.
func (o *estimateOptions) config() (estimate.Config, error) {
	var cfg estimate.Config
	var err error
	if cfg.RAMBytes, err = units.ParseSize(o.ram); err != nil {
		return cfg, unitErr("ram", err)
	}
	cfg.RAMText = o.ram
	cfg.RatePerS, cfg.SizeBytes = float64(o.rate), float64(o.size)
	if o.nic != "" {
		if cfg.NICBitsPerS, err = units.ParseBitrate(o.nic); err != nil {
			return cfg, unitErr("nic", err)
		}
	}
	counts := []struct {
		flag, val string
		dst       *int64
	}{{"users", o.users, &cfg.Users}, {"room-size", o.roomSize, &cfg.RoomSize},
		{"senders", o.senders, &cfg.Senders}, {"target-users", o.targetUsers, &cfg.TargetUsers}}
	for _, c := range counts {
		if c.val == "" {
			continue
		}
		if *c.dst, err = units.ParseCount(c.val); err != nil {
			return cfg, unitErr(c.flag, err)
		}
	}
	if cfg.Cores, err = strconv.ParseFloat(o.cores, 64); err != nil || math.IsNaN(cfg.Cores) || math.IsInf(cfg.Cores, 0) {
		return cfg, usageErr("--cores %q: want a number of cores like 4 or 0.5", o.cores)
	}
	cfg.KBPerConn, cfg.CPUUsPerDelivery, cfg.CPUUsPerBrokerMsg = o.kbPerConn, o.cpuPerDelivery, o.cpuPerBrokerMs
	cfg.UserNameBytes, cfg.RoomNameBytes = o.userNameBytes, o.roomNameBytes
	if len(o.from) > 0 {
		ev, err := estimate.ReadResultsFiles(o.from...)
		if err != nil {
			return cfg, usageErr("--from: %v", err)
		}
		cfg.Evidence = ev
	}
	return cfg, nil
}
