package cmd

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/chatbench/chatbench/loadgen/results"
)

func init() { registerReport(newReportCSVCmd) }

func newReportCSVCmd() *cobra.Command {
	var out, table string
	c := &cobra.Command{
		Use:   "csv RESULTS.json... [-o out.csv] [--table timeline|steps]",
		Short: "Write the timelines or sweep steps of results files as one CSV table",
		Long: `Write results files as one CSV table for spreadsheets and notebooks, with a
file column saying which file each row came from:

  --table timeline   one row per second of every run (of every step of a sweep):
                     file, step, run_id, t_s, phase, connected, sends, deliveries, p50_ms, p99_ms
  --table steps      one row per sweep step (a swarm run is one row):
                     file, step, run_id, backend, clients, rate_per_s, ok, why, p50_ms, p99_ms,
                     loss_ratio, deliveries_per_s, server_cpu_us_per_delivery,
                     server_memory_per_conn_bytes, outcome

Without --table: the timeline when every file is a swarm run, else the steps.
A figure that was not measured is an empty cell, never 0. Numbers are written
exactly (the shortest form that reads back the same).`,
		Example: `  chatbench report csv results.json > timeline.csv
  chatbench report csv sweep-memory.json sweep-redis.json -o steps.csv`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr("report csv: give one or more results files")
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			if out != "" && out != "-" {
				if err := results.CheckWritable(out); err != nil {
					return usageErr("report csv: -o: %v", err)
				}
			}
			var files []results.NamedFile
			for _, p := range args {
				f, err := results.ReadFile(p)
				if err != nil {
					return usageErr("report csv: %v", err)
				}
				files = append(files, results.NamedFile{Name: p, File: f})
			}
			if table == "" {
				table = results.DefaultTable(files)
			}
			if table != results.TableTimeline && table != results.TableSteps {
				return usageErr("report csv: --table %q: want %s or %s", table, results.TableTimeline, results.TableSteps)
			}
			write := func(w io.Writer) error { return results.WriteCSV(w, table, files) }
			if out == "" || out == "-" {
				if err := write(c.OutOrStdout()); err != nil {
					return failErr(fmt.Errorf("report csv: %w", err))
				}
				return nil
			}
			if err := results.WriteFile(out, write); err != nil {
				return usageErr("report csv: -o: %v", err)
			}
			return nil
		},
	}
	c.Flags().StringVarP(&out, "out", "o", "", "write the CSV to this file (default, or '-': stdout)")
	c.Flags().StringVar(&table, "table", "", "timeline or steps (default: timeline for swarm runs, steps when a sweep is given)")
	return c
}
