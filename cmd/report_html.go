package cmd

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/chatbench/chatbench/loadgen/htmlreport"
)

func init() { registerReport(newReportHTMLCmd) }

func newReportHTMLCmd() *cobra.Command {
	var out, title string
	c := &cobra.Command{
		Use:   "html RESULTS.json... -o report.html",
		Short: "Write one self-contained HTML file with plots of swarm and sweep results",
		Long: `Write one HTML file (no scripts, nothing loaded from the network: the plots are
inline SVG drawn with gonum/plot) showing every results file given, swarm,
sweep or chaos (schema chatbench.results/v1):

  - latency percentile distribution, from due time and from send time, on
    HdrHistogram's log 1/(1-percentile) axis
  - p50/p99 latency, connections and deliveries per second over time
  - server memory per connection (and swarm's per socket) beside the blog's 10 KB
  - for a sweep: the capacity curve (N against p99, the SLO line, the knee),
    memory per connection against N, and the knee step in full
  - for a chaos file: each fault's run, the fault marked on its timelines

Several swarm files are also drawn together (their latency distributions on
one plot); use 'report merge' first to add up runs that ran together.`,
		Example: `  chatbench report html results.json -o report.html
  chatbench report html sweep.json memory.json redis.json -o compare.html`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr("report html: give one or more results files")
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			if out == "" {
				return usageErr("report html: give the output file with -o report.html")
			}
			rep, err := htmlreport.Load(args...)
			if err != nil {
				return usageErr("report html: %v", err)
			}
			rep.Title, rep.Version, rep.Generated = title, version(), time.Now()
			if err := htmlreport.WriteFile(out, rep); err != nil {
				return failErr(fmt.Errorf("report html: %w", err))
			}
			fmt.Fprintf(c.OutOrStdout(), "wrote %s: %d swarm run(s), %d sweep(s)\n", out, len(rep.Runs), len(rep.Sweeps))
			return nil
		},
	}
	c.Flags().StringVarP(&out, "out", "o", "", "the HTML file to write")
	c.Flags().StringVar(&title, "title", "chatbench report", "the report's title")
	return c
}
