package results

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// CSV tables 'report csv' writes (docs/report.md, "CSV").
const (
	// TableTimeline: one row per second of every run (every step of a sweep).
	TableTimeline = "timeline"
	// TableSteps: one row per sweep step; a swarm run is one row.
	TableSteps = "steps"
)

// NamedFile is a results file and the name it was read from (the CSV's
// file column).
type NamedFile struct {
	Name string
	*File
}

// DefaultTable is the table a set of files is written as without asking:
// the timeline when every file is a swarm run, else the steps.
func DefaultTable(files []NamedFile) string {
	for _, f := range files {
		if f.Sweep != nil {
			return TableSteps
		}
	}
	return TableTimeline
}

// TimelineColumns and StepColumns are the CSV headers.
var (
	TimelineColumns = []string{"file", "step", "run_id", "t_s", "phase", "connected", "sends", "deliveries", "p50_ms", "p99_ms"}
	StepColumns     = []string{"file", "step", "run_id", "backend", "clients", "rate_per_s", "ok", "why",
		"p50_ms", "p99_ms", "loss_ratio", "deliveries_per_s", "server_cpu_us_per_delivery", "server_memory_per_conn_bytes", "outcome"}
)

// WriteCSV writes files as one table (TableTimeline or TableSteps) with a
// file column. A figure that was not measured is an empty cell, never 0.
func WriteCSV(w io.Writer, table string, files []NamedFile) error {
	var (
		head []string
		rows func(cw *csv.Writer, name string, step string, r *Result, st *Step) error
	)
	switch table {
	case TableTimeline:
		head, rows = TimelineColumns, timelineRows
	case TableSteps:
		head, rows = StepColumns, stepRow
	default:
		return fmt.Errorf("table %q: want %q or %q", table, TableTimeline, TableSteps)
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(head); err != nil {
		return err
	}
	for _, f := range files {
		if f.Run != nil {
			if err := rows(cw, f.Name, "", f.Run, nil); err != nil {
				return err
			}
			continue
		}
		for i := range f.Sweep.Steps {
			st := &f.Sweep.Steps[i]
			if err := rows(cw, f.Name, strconv.Itoa(i), st.Result, st); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// timelineRows writes one row per second of r (nothing for a step that
// has no result). p50 and p99 are empty for a second with no timed delivery.
func timelineRows(cw *csv.Writer, name, step string, r *Result, _ *Step) error {
	if r == nil {
		return nil
	}
	run := runIDs(r)
	for _, s := range r.Timeline {
		p50, p99 := "", ""
		if s.P99Ms > 0 {
			p50, p99 = num(s.P50Ms), num(s.P99Ms)
		}
		if err := cw.Write([]string{name, step, run, strconv.Itoa(s.T), s.Phase, csvInt(s.Connected), csvInt(s.Sends),
			csvInt(s.Deliveries), p50, p99}); err != nil {
			return err
		}
	}
	return nil
}

// stepRow writes one row: a sweep step (st), or a swarm run as one (st
// nil: ok is its outcome being complete, why its first reason).
func stepRow(cw *csv.Writer, name, step string, r *Result, st *Step) error {
	var backend, clients, rate, ok, why string
	if st != nil {
		backend, clients, rate, ok, why = st.Backend, csvInt(st.Clients), num(st.RatePerS), strconv.FormatBool(st.OK), st.Why
	} else {
		c := r.Config
		backend, clients, rate, ok = c.Backend, strconv.Itoa(c.Clients), num(c.RatePerS), strconv.FormatBool(r.Outcome.OK())
		if len(r.Outcome.Reasons) > 0 {
			why = r.Outcome.Reasons[0]
		}
	}
	row := []string{name, step, "", backend, clients, rate, ok, why, "", "", "", "", "", "", ""}
	if r != nil {
		s := r.Summary
		row[2], row[14] = runIDs(r), r.Outcome.Verdict
		if s.LatencyMs.Count > 0 {
			row[8], row[9] = num(s.LatencyMs.P50), num(s.LatencyMs.P99)
		}
		if s.Expected > 0 {
			row[10] = num(float64(s.Lost) / float64(s.Expected))
		}
		if s.SteadyS > 0 {
			row[11] = num(s.DeliveriesPerS)
		}
		row[12], row[13] = figure(r.Server.CPUPerMessage), figure(r.Server.MemoryPerConn)
	}
	return cw.Write(row)
}

func runIDs(r *Result) string {
	if r.Config.RunID != "" {
		return r.Config.RunID
	}
	return strings.Join(r.Config.RunIDs, "+")
}

// num writes v exactly (the shortest form that reads back the same).
func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func csvInt(v int64) string { return strconv.FormatInt(v, 10) }

func figure(f Figure) string {
	if !f.OK() {
		return ""
	}
	return num(f.Value)
}
