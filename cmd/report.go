package cmd

import (
	"fmt"
	"io"

	"github.com/chatbench/chatbench/estimate/sweep"
	"github.com/chatbench/chatbench/loadgen/results"
	"github.com/spf13/cobra"
)

func init() { register(newReportCmd) }

// reportSubcommands is filled by the init of each 'report' subcommand's
// file (registerReport), so subcommands are added without touching this one.
var reportSubcommands []func() *cobra.Command

func registerReport(f func() *cobra.Command) { reportSubcommands = append(reportSubcommands, f) }

func init() {
	registerReport(newReportMergeCmd)
	registerReport(newReportShowCmd)
}

func newReportCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "report",
		Short: "Work with results files (swarm --out, sweep --out): show, merge and plot them",
		Long: `Work with results files written by 'chatbench swarm --out' and 'chatbench sweep --out'
(schema ` + results.Schema + `).

  chatbench report results.json                          the summary of a saved run or sweep again (report show)
  chatbench report merge a.json b.json -o all.json       merge runs exactly (several machines: swarm --shard i/K)
  chatbench report html a.json sweep.json -o report.html   plots in one self-contained HTML file
  chatbench report diff a.json b.json                    what changed between two runs or sweeps, and what is noise
  chatbench report csv a.json sweep.json -o t.csv        timelines and sweep steps for spreadsheets`,
		Args: cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr("report: give a results file to show, or a subcommand (see 'chatbench report --help')")
			}
			return showResults(c.OutOrStdout(), args)
		},
	}
	for _, f := range reportSubcommands {
		c.AddCommand(f())
	}
	return c
}

func newReportMergeCmd() *cobra.Command {
	var out, junit string
	c := &cobra.Command{
		Use:   "merge RESULTS.json|-... [-o all.json]",
		Short: "Merge swarm results exactly (histograms merged, counts summed) and print the summary",
		Long: `Merge the results of swarm runs that ran together — typically one per machine,
each run with 'swarm --shard i/K' — into one: HdrHistograms merge without loss
of accuracy, counts add up, percentiles are recomputed from the merged
histograms. The summary of the merged result is printed; -o writes it as a
results file ('-': JSON on stdout instead of the summary). An argument '-'
reads the results lines that 'swarm --out -' prints from stdin, among any
other lines: the logs of a Kubernetes Job's pods (docs/kubernetes.md).`,
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
			m, err := results.MergeFrom(c.InOrStdin(), args...)
			if err == nil {
				err = checkJUnitPath(junit)
			}
			if err != nil {
				return usageErr("report merge: %v", err)
			}
			if err := writeJUnit(junit, results.JUnitForRun("chatbench report merge", m)); err != nil {
				return failErr(fmt.Errorf("report merge: %w", err))
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
			if err := results.WriteSummary(c.OutOrStdout(), m); err != nil {
				return failErr(fmt.Errorf("report merge: %w", err))
			}
			return nil
		},
	}
	c.Flags().StringVarP(&out, "out", "o", "", "write the merged results to this file ('-': stdout)")
	bindJUnit(c.Flags(), &junit)
	return c
}

func newReportShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show RESULTS.json...",
		Short: "Print the summary of saved runs and sweeps again",
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr("report show: give one or more results files")
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error { return showResults(c.OutOrStdout(), args) },
	}
}

// showResults prints each file's summary: a run's as swarm printed it, a
// sweep's table as sweep printed it.
func showResults(w io.Writer, paths []string) error {
	for i, p := range paths {
		f, err := results.ReadFile(p)
		if err != nil {
			return usageErr("report: %v", err)
		}
		if i > 0 {
			fmt.Fprintln(w)
		}
		if len(paths) > 1 {
			fmt.Fprintf(w, "== %s\n", p)
		}
		if f.Run != nil {
			err = results.WriteSummary(w, f.Run)
		} else {
			err = sweep.WriteTable(w, f.Sweep)
		}
		if err != nil {
			return failErr(err)
		}
	}
	return nil
}
