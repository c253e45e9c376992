package cmd

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/chatbench/chatbench/loadgen/results"
)

func init() { registerReport(newReportDiffCmd) }

func newReportDiffCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "diff A.json B.json [--json]",
		Short: "Compare two runs or two sweeps: each figure's change, and whether it is more than noise",
		Long: `Compare two results files of the same kind and print, for each figure, A, B,
the change B − A, the noise band it had to leave and a verdict:

  two swarm runs   latency p50 and p99, loss, deliveries/s, the server's and
                   swarm's CPU per message and memory per connection
  two sweeps       the knee of every backend and rate searched

Verdicts: same; noise (within the runs' own spread); change (beyond it);
beyond resolution (beyond the measurement's resolution, with no run-to-run
spread in the files to judge by: one run's CPU, a knee searched once); no
spread known; not measured (a side did not measure it: no change is shown).
How each band is estimated is in docs/report.md. Exit 0 for any comparison,
2 for bad input (unreadable files, a run and a sweep).`,
		Example: `  chatbench report diff before.json after.json
  chatbench report diff sweep-memory.json sweep-redis.json --json`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usageErr("report diff: give two results files, A and B (got %d)", len(args))
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			cmp, err := diffFiles(args[0], args[1])
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(c.OutOrStdout())
				enc.SetIndent("", "  ")
				err = enc.Encode(cmp)
			} else {
				err = results.WriteComparison(c.OutOrStdout(), cmp)
			}
			if err != nil {
				return failErr(fmt.Errorf("report diff: %w", err))
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "write the comparison as JSON (schema "+results.DiffSchema+")")
	return c
}

// diffFiles reads and compares two results files; any bad input is a
// usage error.
func diffFiles(a, b string) (*results.Comparison, error) {
	fa, err := results.ReadFile(a)
	if err != nil {
		return nil, usageErr("report diff: %v", err)
	}
	fb, err := results.ReadFile(b)
	if err != nil {
		return nil, usageErr("report diff: %v", err)
	}
	cmp, err := results.Diff(fa, fb)
	var km *results.KindMismatchError
	switch {
	case errors.As(err, &km):
		return nil, usageErr("report diff: %s is a %s result and %s a %s result: give two swarm runs or two sweeps", a, km.A, b, km.B)
	case err != nil:
		return nil, usageErr("report diff: %v", err)
	}
	cmp.A.Name, cmp.B.Name = a, b
	return cmp, nil
}
