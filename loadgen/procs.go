package loadgen

import (
	"bufio"
	"context"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sync"

	"github.com/chatbench/chatbench/loadgen/results"
)

// One swarm over several processes (--procs K): a process holds fewer
// sockets than its open-files limit, so the parent starts K workers (the
// same binary, told to act as a worker by ProcsOptions.Command) and
// coordinates them over their stdin and stdout, one JSON message a line:
//
//	parent → worker  {"spec": …}            the config, this worker's part, the clock origin
//	worker → parent  {"status": …}          every second, for the progress display
//	worker → parent  {"ramped": n}          its sockets are open; it waits
//	parent → worker  {"send_start": ns}     when every worker has ramped: sending starts then
//	worker → parent  {"finished": true}     grace is over (the parent reads the server's cost)
//	worker → parent  {"done": …}            results and accounting written to files
//
// Closing a worker's stdin stops it (it then writes partial results).
//
// Worker w runs every K-th client (global numbers, so rooms and URLs are
// those of a single-process run). All workers count due times from one
// wall-clock origin chosen by the parent, converted once to each one's
// monotonic clock, so they agree on the schedule and on the steady phase.
// Latency is taken only where sender and receiver share a process (one
// clock); a probe received in another process counts for delivery. Each
// worker reports, per probe, its members of the room when the probe was due
// and the copies it received; the parent adds them up, so a probe's
// expected receivers include every process. Parent and workers tally
// with one function (tally.go).

// coordinator is a worker's link to its parent, used by run.execute.
type coordinator interface {
	// ramped reports the open sockets and blocks until the parent says when
	// sending starts (ns on the shared clock); on ctx's end it returns at once.
	ramped(ctx context.Context, connected int64) int64
	// finished says the grace period is over.
	finished()
	// account hands over the worker's loss accounting.
	account(a *Account)
}

type workerSpec struct {
	Config  Config `json:"config"`
	RunID   string `json:"run_id"`
	Proc    int    `json:"proc"`
	Procs   int    `json:"procs"`
	Origin  int64  `json:"origin_ns"`
	Dir     string `json:"dir"`
	Version string `json:"version"`
	// Metrics: send a MetricsSnapshot with every status (the parent serves
	// --metrics-addr).
	Metrics bool `json:"metrics,omitempty"`
}

type workerDone struct {
	Result  string `json:"result"`
	Account string `json:"account"`
	Error   string `json:"error,omitempty"`
}

type procMsg struct {
	Spec      *workerSpec `json:"spec,omitempty"`
	SendStart *int64      `json:"send_start,omitempty"`
	Status    *Status     `json:"status,omitempty"`
	Ramped    *int64      `json:"ramped,omitempty"`
	Finished  bool        `json:"finished,omitempty"`
	Done      *workerDone `json:"done,omitempty"`
}

// pipeCoord is the worker side of the protocol.
type pipeCoord struct {
	send   func(procMsg)
	starts <-chan int64
	acct   *Account
}

func (p *pipeCoord) ramped(ctx context.Context, connected int64) int64 {
	p.send(procMsg{Ramped: &connected})
	select {
	case s := <-p.starts:
		return s
	case <-ctx.Done():
		return math.MaxInt64 / 2
	}
}

func (p *pipeCoord) finished()          { p.send(procMsg{Finished: true}) }
func (p *pipeCoord) account(a *Account) { p.acct = a }

// Worker runs one worker of a --procs swarm: it reads its spec from in,
// talks to the parent over in and out (see above) and writes its results
// where the spec says. adjust, when non-nil, completes the config with what
// cannot travel as JSON (e.g. the TLS config). It returns when the run is
// over; the parent learns the outcome from the messages.
func Worker(ctx context.Context, in io.Reader, out io.Writer, adjust func(*Config) error) error {
	br := bufio.NewReader(in)
	dec := json.NewDecoder(br)
	var first procMsg
	if err := dec.Decode(&first); err != nil || first.Spec == nil {
		return fmt.Errorf("worker: no spec on stdin: %v", err)
	}
	spec := first.Spec
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	starts := make(chan int64, 1)
	go func() {
		// Later messages; EOF (the parent closed our stdin or died) stops the run.
		for {
			var m procMsg
			if err := dec.Decode(&m); err != nil {
				cancel()
				return
			}
			if m.SendStart != nil {
				select {
				case starts <- *m.SendStart:
				default:
				}
			}
		}
	}()
	var wmu sync.Mutex
	enc := json.NewEncoder(out)
	send := func(m procMsg) {
		wmu.Lock()
		_ = enc.Encode(m)
		wmu.Unlock()
	}
	cfg := spec.Config
	cfg.runID, cfg.procIndex, cfg.procCount, cfg.origin = spec.RunID, spec.Proc, spec.Procs, spec.Origin
	cfg.Version = spec.Version
	cfg.workerMetrics = spec.Metrics
	coord := &pipeCoord{send: send, starts: starts}
	cfg.coord = coord
	cfg.Progress = func(s Status) { send(procMsg{Status: &s}) }
	done := workerDone{
		Result:  filepath.Join(spec.Dir, fmt.Sprintf("worker-%d.json", spec.Proc)),
		Account: filepath.Join(spec.Dir, fmt.Sprintf("worker-%d.acct", spec.Proc)),
	}
	var runErr error
	var res *results.Result
	if adjust != nil {
		runErr = adjust(&cfg)
	}
	if runErr == nil {
		res, runErr = Run(ctx, cfg)
	}
	if res == nil {
		res = results.NewResult()
		res.Errors.Run = append(res.Errors.Run, "worker did not run")
	}
	var errs []error
	if runErr != nil {
		errs = append(errs, runErr)
	}
	if err := res.WriteFile(done.Result); err != nil {
		errs = append(errs, err)
	}
	acct := coord.acct
	if acct == nil {
		acct = &Account{}
	}
	if err := writeGob(done.Account, acct); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		done.Error = err.Error()
	}
	send(procMsg{Done: &done})
	return nil
}

func writeGob(path string, v any) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	if err := errors.Join(gob.NewEncoder(bw).Encode(v), bw.Flush()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func readGob(path string, v any) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return gob.NewDecoder(bufio.NewReader(f)).Decode(v)
}
