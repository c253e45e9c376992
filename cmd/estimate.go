package cmd

import (
	"github.com/chatbench/chatbench/internal/units"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/chatbench/chatbench/estimate"
)

func init() { register(newEstimateCmd) }

// estimateOptions are the estimate command's flags as typed; Config turns
// them into an estimate.Config.
type estimateOptions struct {
	ram, size                                 units.Size
	nic                                       units.Bitrate
	cores                                     units.Cores
	rate                                      units.Rate
	users, roomSize, senders, targetUsers     units.Count
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
	_ = o.ram.Set("8GB") // the blog's node, as the blog writes it
	o.cores, o.users, o.rate, o.size = 4, 1000, 10, units.Size{Bytes: 100}
	f.Var(&o.ram, "ram", "memory of one node (8GB, 8GiB, 512MB)")
	f.Var(&o.cores, "cores", "CPU cores of one node (4, 0.5)")
	f.Var(&o.users, "users", "connected users")
	f.Var(&o.rate, "rate", "messages each sender sends (10/s, 600/min, 0.5/s)")
	f.Var(&o.size, "size", "message text size (100B, 1KB)")
	f.Var(&o.roomSize, "room-size", "members per room (default: one room of all users)")
	f.Var(&o.senders, "senders", "users who send, in total (default: every user)")
	f.Var(&o.nic, "nic", "network egress of one node (1Gbps, 10Gbit/s); default: not limited")
	f.Float64Var(&o.kbPerConn, "kb-per-conn", 0, "server memory per connection in KB (default: measured with --from, else the blog's 10)")
	f.Float64Var(&o.cpuPerDelivery, "cpu-per-delivery", 0, "server CPU µs per delivery (default: measured with --from, else 3)")
	f.Float64Var(&o.cpuPerBrokerMs, "cpu-per-broker-msg", 0, "node CPU µs per message to or from the broker, for planning (default 10)")
	f.IntVar(&o.userNameBytes, "user-name-bytes", 0, "user name length in the JSON envelope (default 8)")
	f.IntVar(&o.roomNameBytes, "room-name-bytes", 0, "room name length in the JSON envelope (default 4, \"chat\")")
	f.Var(&o.targetUsers, "target-users", "plan for this many users: nodes, broker messages/s, egress per node")
	f.StringArrayVar(&o.from, "from", nil, "swarm, sweep or chaos results file (repeatable; one column per server measured)")
	f.BoolVar(&o.json, "json", false, "write JSON (schema chatbench.estimate/v2) instead of tables")
	return c
}

// config turns the typed flags into an estimate.Config (a value that does
// not parse was refused while the command line was parsed) and reads
// --from.
func (o *estimateOptions) config() (estimate.Config, error) {
	cfg := estimate.Config{RAMBytes: o.ram.Bytes, RAMText: o.ram.String(), Cores: float64(o.cores),
		RatePerS: float64(o.rate), SizeBytes: o.size.Bytes, NICBitsPerS: float64(o.nic),
		Users: int64(o.users), RoomSize: int64(o.roomSize), Senders: int64(o.senders), TargetUsers: int64(o.targetUsers)}
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
