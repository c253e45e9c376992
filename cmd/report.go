package cmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/chatbench/chatbench/loadgen"
)

func init() { register(newReportCmd) }

// reportSubcommands is filled by the init of each 'report' subcommand's
// file (registerReport), so subcommands are added without touching this one.
var reportSubcommands []func() *cobra.Command

func registerReport(f func() *cobra.Command) { reportSubcommands = append(reportSubcommands, f) }

func init() { registerReport(newReportMergeCmd) }

func newReportCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "report",
		Short: "Work with results files (swarm --out): merge them, plot them",
		Long: `Work with results files written by 'chatbench swarm --out' (schema ` + loadgen.Schema + `).

  chatbench report merge a.json b.json -o all.json       merge runs exactly (several machines: swarm --shard i/K)
  chatbench report html a.json sweep.json -o report.html   plots in one self-contained HTML file`,
		Args: cobra.NoArgs,
	}
	for _, f := range reportSubcommands {
		c.AddCommand(f())
	}
	return c
}

func newReportMergeCmd() *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "merge RESULTS.json... [-o all.json]",
		Short: "Merge swarm results exactly (histograms merged, counts summed) and print the summary",
		Long: `Merge the results of swarm runs that ran together — typically one per machine,
each run with 'swarm --shard i/K' — into one: HdrHistograms merge without loss
of accuracy, counts add up, percentiles are recomputed from the merged
histograms. The summary of the merged result is printed; -o writes it as a
results file ('-': JSON on stdout instead of the summary).`,
		Example: `  # machine A                                   # machine B
  chatbench swarm -n 20000 --rooms 200 --shard 0/2 --out a.json     chatbench swarm -n 20000 --rooms 200 --shard 1/2 --out b.json
  chatbench report merge a.json b.json -o all.json`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr("report merge: give one or more results files")
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			m, err := loadgen.MergeFiles(args...)
			if err != nil {
				return usageErr("report merge: %v", err)
			}
			switch out {
			case "-":
				if err := m.WriteJSON(c.OutOrStdout()); err != nil {
					return failErr(err)
				}
				return nil
			case "":
			default:
				if err := m.WriteFile(out); err != nil {
					return usageErr("report merge: -o: %v", err)
				}
			}
			if err := loadgen.WriteSummary(c.OutOrStdout(), m); err != nil {
				return failErr(fmt.Errorf("report merge: %w", err))
			}
			return nil
		},
	}
	c.Flags().StringVarP(&out, "out", "o", "", "write the merged results to this file ('-': stdout)")
	return c
}
