package results

import (
	"fmt"
	"strconv"

	"github.com/chatbench/chatbench/loadgen/errkind"
)

// Verdicts of a run. Only a complete run is evidence for a claim.
const (
	// Complete: the load ran as asked and stayed within the limits and the SLO.
	Complete = "complete"
	// Overloaded: the server did not keep up: connects failed, sockets
	// were dropped, deliveries lost beyond the limit, or the SLO broken.
	Overloaded = "overloaded"
	// Invalid: the run measured something else than asked: nothing
	// connected or came back, swarm hit its own limits, or most copies
	// were not deliveries (a protocol mismatch).
	Invalid = "invalid"
	// Partial: the run ended early (interrupted, a worker failed).
	Partial = "partial"
)

// Limits are the thresholds beyond which a run is not complete, even
// without an SLO. Each is a share (0.001 = 0.1%).
type Limits struct {
	// MaxLoss is the largest share of expected deliveries that may be lost.
	MaxLoss float64 `json:"max_loss"`
	// MaxDisconnected is the largest share of connected sockets that may
	// be lost mid-run.
	MaxDisconnected float64 `json:"max_disconnected"`
	// MaxConnectErrors is the largest share of clients whose connect may fail.
	MaxConnectErrors float64 `json:"max_connect_errors"`
}

// DefaultLimits are the limits of a run without flags saying otherwise:
// 0.1% of deliveries lost, 1% of sockets dropped, no failed connect.
func DefaultLimits() Limits {
	return Limits{MaxLoss: 0.001, MaxDisconnected: 0.01, MaxConnectErrors: 0}
}

// Outcome is a run's verdict, why, and the limits and SLO it was judged by.
type Outcome struct {
	Verdict string `json:"verdict"`
	// Reasons say what went wrong and what to change, the verdict's first.
	Reasons []string `json:"reasons,omitempty"`
	// Warnings are worth knowing but did not decide the verdict.
	Warnings []string       `json:"warnings,omitempty"`
	Limits   Limits         `json:"limits"`
	SLO      string         `json:"slo,omitempty"`
	Clauses  []ClauseResult `json:"slo_clauses,omitempty"`
}

// OK reports whether the run is complete.
func (o Outcome) OK() bool { return o.Verdict == Complete }

// Decide judges r by lim and slo and records the outcome in r. It reads
// only r's counts, errors and histograms, so a merged result is judged the
// same way as a single run.
func (r *Result) Decide(lim Limits, slo SLO) {
	o := Outcome{Limits: lim, SLO: slo.String(), Clauses: slo.Check(r)}
	partial, invalid, over := r.partialReasons(), r.invalidReasons(), r.overloadReasons(lim, o.Clauses)
	switch {
	case len(partial) > 0:
		o.Verdict = Partial
	case len(invalid) > 0:
		o.Verdict = Invalid
	case len(over) > 0:
		o.Verdict = Overloaded
	default:
		o.Verdict = Complete
	}
	o.Reasons = append(append(append(o.Reasons, partial...), invalid...), over...)
	o.Warnings = r.warnings(lim)
	r.Outcome = o
}

func (r *Result) partialReasons() []string {
	var out []string
	for _, e := range r.Errors.Run {
		out = append(out, "the run ended early: "+e)
	}
	return out
}

func (r *Result) invalidReasons() []string {
	s := &r.Summary
	var out []string
	swarmErrs := map[errkind.Kind]int64{}
	for k, v := range r.Errors.Connect {
		if errkind.SwarmSide(k) {
			swarmErrs[k] = v
		}
	}
	switch {
	case s.Connected == 0:
		out = append(out, fmt.Sprintf("no socket connected (%s)", kindsText(r.Errors.Connect)))
	case len(swarmErrs) > 0:
		out = append(out, fmt.Sprintf("swarm hit its own limits, so the load was not generated: %s", kindsText(swarmErrs)))
	}
	own := s.Received - s.Foreign
	switch {
	case s.Sent > 0 && own == 0 && s.Disconnected*2 < s.Connected:
		out = append(out, fmt.Sprintf("none of the %d probes sent came back: the server did not broadcast them as swarm sent them (check the --url path and query, --message, --hello)", s.Sent))
	case own > 0 && s.Stray*2 > own:
		out = append(out, fmt.Sprintf("%d of %d probe copies received were not deliveries (duplicates, other rooms, not expected): "+
			"does the server take the first frame as the user name (add --hello '{{user}}'), or echo old messages?", s.Stray, own))
	}
	return out
}

func (r *Result) overloadReasons(lim Limits, clauses []ClauseResult) []string {
	s := &r.Summary
	var out []string
	if clients := s.Connected + s.ConnectErrors; s.ConnectErrors > 0 && float64(s.ConnectErrors) > lim.MaxConnectErrors*float64(clients) {
		out = append(out, fmt.Sprintf("%d of %d connects failed (limit %s): %s", s.ConnectErrors, clients,
			pct(lim.MaxConnectErrors), kindsText(r.Errors.Connect)))
	}
	if s.Disconnected > 0 && float64(s.Disconnected) > lim.MaxDisconnected*float64(s.Connected) {
		out = append(out, fmt.Sprintf("%d of %d sockets were lost mid-run (limit %s), so figures describe the survivors: %s",
			s.Disconnected, s.Connected, pct(lim.MaxDisconnected), kindsText(r.Errors.Disconnect)))
	}
	if s.Expected > 0 && s.LossRatio > lim.MaxLoss {
		out = append(out, fmt.Sprintf("%d of %d expected deliveries were lost (%s, limit %s): the server did not keep up; lower --rate, --senders or -n",
			s.Lost, s.Expected, pct(s.LossRatio), pct(lim.MaxLoss)))
	}
	for _, c := range clauses {
		if !c.OK {
			out = append(out, fmt.Sprintf("SLO %s broken: %s", c.Clause, c.Why))
		}
	}
	return out
}

func (r *Result) warnings(lim Limits) []string {
	s := &r.Summary
	var out []string
	if s.Delivered > 0 && s.OutOfOrder*2 > s.Delivered {
		out = append(out, fmt.Sprintf("%d of %d deliveries arrived out of order", s.OutOfOrder, s.Delivered))
	}
	if bad := r.Errors.Frames["bad_probe"]; bad > 0 && bad*2 > s.Received {
		out = append(out, fmt.Sprintf("%d probe-like texts did not parse (a server that rewrites message text?)", bad))
	}
	if s.Disconnected > 0 && float64(s.Disconnected) <= lim.MaxDisconnected*float64(s.Connected) {
		out = append(out, fmt.Sprintf("%d sockets were lost mid-run (within the limit): %s", s.Disconnected, kindsText(r.Errors.Disconnect)))
	}
	return out
}

func pct(ratio float64) string {
	return strconv.FormatFloat(ratio*100, 'g', 4, 64) + "%"
}
