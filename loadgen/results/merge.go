package results

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/chatbench/chatbench/loadgen/errkind"
)

// Merge combines the results of swarm runs that ran together (the shards
// of one load spread over machines, the workers of one --procs run):
// histograms merge exactly, counts add up, processes measured by several
// runs (one server read by every shard) count once, and every derived
// figure and the outcome are recomputed from the merged raw values by the
// same code as for one run, so merging one result reproduces it. Neither
// input is changed.
func Merge(rs ...*Result) (*Result, error) {
	if len(rs) == 0 {
		return nil, errors.New("merge: no results")
	}
	out := &Result{Schema: Schema, Kind: KindSwarm, StartedAt: rs[0].StartedAt, Config: rs[0].Config,
		Environment: rs[0].Environment, Histograms: NewHistograms(), Errors: Errors{Connect: map[errkind.Kind]int64{}, Run: []string{}}}
	out.Config.URLs, out.Config.RunIDs = nil, nil
	out.Config.Clients, out.Config.Senders, out.Config.RequestedPerS = 0, 0, 0
	out.Config.SendStartedAt, out.Config.SendStartSpreadS = time.Time{}, 0
	for _, r := range rs {
		if r.Schema != Schema {
			return nil, fmt.Errorf("merge: schema %q, want %q", r.Schema, Schema)
		}
		if r.Kind != KindSwarm {
			return nil, fmt.Errorf("merge: a %q result; only swarm results merge", r.Kind)
		}
		if r.StartedAt.Before(out.StartedAt) {
			out.StartedAt = r.StartedAt
		}
		out.Config.add(r.Config)
		out.Environment.Compression = out.Environment.Compression || r.Environment.Compression
		out.Summary.add(r.Summary)
		out.Histograms.add(r.Histograms)
		out.Errors.add(r.Errors)
		out.Server.add(r.Server)
		out.Swarm.add(r.Swarm)
		out.Timeline = addTimeline(out.Timeline, r.Timeline)
		out.Runs += max(r.Runs, 1)
		for _, n := range r.Notes {
			if !slices.Contains(out.Notes, n) {
				out.Notes = append(out.Notes, n)
			}
		}
	}
	if n := out.Config.startNote(len(rs)); n != "" {
		out.Notes = append(out.Notes, n)
	}
	if len(out.Config.RunIDs) == 1 {
		out.Config.RunID, out.Config.RunIDs = out.Config.RunIDs[0], nil
	} else {
		out.Config.RunID = ""
	}
	lim, slo, err := judgement(rs)
	if err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	out.Finish()
	out.Decide(lim, slo)
	return out, nil
}

// judgement is what a merge is judged by: the strictest of the inputs'
// limits and every clause of their SLOs (the same whatever their order).
func judgement(rs []*Result) (Limits, SLO, error) {
	lim := rs[0].Outcome.Limits
	var texts []string
	for _, r := range rs {
		l := r.Outcome.Limits
		lim = Limits{MaxLoss: min(lim.MaxLoss, l.MaxLoss), MaxDisconnected: min(lim.MaxDisconnected, l.MaxDisconnected),
			MaxConnectErrors: min(lim.MaxConnectErrors, l.MaxConnectErrors)}
		if r.Outcome.SLO == "" {
			continue
		}
		slo, err := ParseSLO(r.Outcome.SLO)
		if err != nil {
			return lim, nil, err
		}
		for _, c := range slo {
			if !slices.Contains(texts, c.Text) {
				texts = append(texts, c.Text)
			}
		}
	}
	if len(texts) == 0 {
		return lim, nil, nil
	}
	sort.Strings(texts)
	slo, err := ParseSLO(strings.Join(texts, ","))
	return lim, slo, err
}

// Finish recomputes every derived figure from the raw counts, histograms
// and cost samples.
func (r *Result) Finish() {
	s, h := &r.Summary, &r.Histograms
	s.LatencyMs = PercentilesOf(h.LatencyDue)
	s.SendLatencyMs = PercentilesOf(h.LatencySend)
	s.FanoutFirstMs = PercentilesOf(h.FanoutFirst)
	s.FanoutLastMs = PercentilesOf(h.FanoutLast)
	s.ConnectMs = PercentilesOf(h.Connect)
	s.LossRatio, s.DeliveriesPerS = 0, 0
	if s.Expected > 0 {
		s.LossRatio = float64(s.Lost) / float64(s.Expected)
	}
	if s.SteadyS > 0 {
		s.DeliveriesPerS = float64(s.Delivered) / s.SteadyS
	}
	r.Server.finish("no server process to read: give --server-pid (any server on this machine) or --metrics-url (Prometheus process metrics)")
	r.Swarm.finish("swarm's own process could not be read")
}

func (c *RunConfig) add(o RunConfig) {
	for _, u := range o.URLs {
		if !slices.Contains(c.URLs, u) {
			c.URLs = append(c.URLs, u)
		}
	}
	c.Clients += o.Clients
	c.Senders += o.Senders
	c.RequestedPerS += o.RequestedPerS
	if o.Shard != c.Shard {
		c.Shard = ""
	}
	c.addStart(o)
	if o.RunID != "" {
		c.RunIDs = append(c.RunIDs, o.RunID)
	}
	c.RunIDs = append(c.RunIDs, o.RunIDs...)
}

// add adds o's counts; the derived fields are left to Finish.
func (s *Summary) add(o Summary) {
	s.Connected += o.Connected
	s.ConnectErrors += o.ConnectErrors
	s.Disconnected += o.Disconnected
	s.Left += o.Left
	s.Rejoined += o.Rejoined
	s.Sent += o.Sent
	s.SendErrors += o.SendErrors
	s.Expected += o.Expected
	s.Delivered += o.Delivered
	s.Lost += o.Lost
	s.Duplicated += o.Duplicated
	s.Misrouted += o.Misrouted
	s.Unexpected += o.Unexpected
	s.OutOfOrder += o.OutOfOrder
	s.Foreign += o.Foreign
	s.Received += o.Received
	s.Stray += o.Stray
	s.SteadyS = max(s.SteadyS, o.SteadyS)
}

func (h *Histograms) add(o Histograms) {
	src := o.all()
	for i, dst := range h.all() {
		if *src[i] != nil {
			(*dst).Merge(*src[i])
		}
	}
}

func (e *Errors) add(o Errors) {
	addCounts(&e.Connect, o.Connect)
	addCounts(&e.Disconnect, o.Disconnect)
	addCounts(&e.Frames, o.Frames)
	for k, v := range o.Reasons {
		if _, ok := e.Reasons[k]; !ok {
			if e.Reasons == nil {
				e.Reasons = map[errkind.Kind]string{}
			}
			e.Reasons[k] = v
		}
	}
	e.Run = append(e.Run, o.Run...)
}

func addCounts[K comparable](dst *map[K]int64, src map[K]int64) {
	for k, v := range src {
		if *dst == nil {
			*dst = map[K]int64{}
		}
		(*dst)[k] += v
	}
}

// addTimeline adds rows with the same t_s: counts add up, p50/p99 become
// the larger of the two (an upper bound: per-second histograms are not kept).
func addTimeline(a, b []Second) []Second {
	byT := map[int]int{}
	for i, s := range a {
		byT[s.T] = i
	}
	for _, s := range b {
		i, ok := byT[s.T]
		if !ok {
			a = append(a, Second{T: s.T, Phase: s.Phase})
			i = len(a) - 1
			byT[s.T] = i
		}
		row := &a[i]
		row.Connected += s.Connected
		row.Sends += s.Sends
		row.Deliveries += s.Deliveries
		row.P50Ms = max(row.P50Ms, s.P50Ms)
		row.P99Ms = max(row.P99Ms, s.P99Ms)
	}
	sort.Slice(a, func(i, j int) bool { return a[i].T < a[j].T })
	return a
}

// MergeFiles reads swarm results files and merges them exactly (Merge):
// the results of several machines (--shard i/K) or of runs that ran
// together. A file that cannot be read, a sweep, or the same run given
// twice is an error naming the file (see MergeFrom).
func MergeFiles(paths ...string) (*Result, error) { return MergeFrom(nil, paths...) }
