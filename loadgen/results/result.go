package results

import (
	"encoding/json"
	"fmt"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/chatbench/chatbench/loadgen/errkind"
)

// Schema is the results file's schema id (docs/results-schema.md). v2:
// deliveries count first copies at expected receivers only; costs carry
// their raw samples per process; the outcome is recorded.
const Schema = "chatbench.results/v2"

// Result is one swarm run's results (kind "swarm"), or several merged.
type Result struct {
	Schema      string      `json:"schema"`
	Kind        string      `json:"kind"`
	StartedAt   time.Time   `json:"started_at"`
	Config      RunConfig   `json:"config"`
	Environment Environment `json:"environment"`
	Outcome     Outcome     `json:"outcome"`
	Summary     Summary     `json:"summary"`
	Server      Cost        `json:"server_cost"`
	Swarm       Cost        `json:"swarm_cost"`
	Histograms  Histograms  `json:"histograms"`
	Timeline    []Second    `json:"timeline"`
	Errors      Errors      `json:"errors"`
	// Runs is how many swarm results were merged into this one (1 for a run).
	Runs int `json:"runs"`
	// Notes are remarks that are not errors.
	Notes []string `json:"notes,omitempty"`
}

// NewResult returns an empty swarm result started now.
func NewResult() *Result {
	return &Result{Schema: Schema, Kind: KindSwarm, StartedAt: time.Now().UTC(), Runs: 1,
		Errors: Errors{Connect: map[errkind.Kind]int64{}, Run: []string{}}, Histograms: NewHistograms()}
}

// Result kinds.
const (
	KindSwarm = "swarm"
	KindSweep = "sweep"
)

// Partial reports whether the run ended early or failed to run as asked.
func (r *Result) Partial() bool { return r.Outcome.Verdict == Partial }

// RunConfig is the load shape as run.
type RunConfig struct {
	URLs      []string `json:"urls"`
	Backend   string   `json:"backend"`
	Clients   int      `json:"clients"`
	RoomSize  int      `json:"room_size"` // the largest room
	Rooms     int      `json:"rooms"`
	RoomSizes string   `json:"room_sizes,omitempty"` // how they were given: "fixed 100", "zipf s=1.1 max=500 seed=1", ...
	Senders   int      `json:"senders"`
	RatePerS  float64  `json:"rate_per_s"` // per talker (the warmup's, with phases)
	// Arrivals is "constant" or "poisson"; Phases the steady phase's
	// stretches ("spike:5s:10/s"); Sizes a weighted size list; Seed the
	// seed of the random parts.
	Arrivals  string   `json:"arrivals,omitempty"`
	Phases    []string `json:"phases,omitempty"`
	Sizes     string   `json:"sizes,omitempty"`
	Seed      int64    `json:"seed,omitempty"`
	SizeBytes int      `json:"size_bytes"`
	// MeanSizeBytes is the mean message size of a weighted Sizes list (0:
	// every message is SizeBytes).
	MeanSizeBytes float64 `json:"mean_size_bytes,omitempty"`
	RampPerS      float64 `json:"ramp_per_s"`
	WarmupS       float64 `json:"warmup_s"`
	DurationS     float64 `json:"duration_s"`
	GraceS        float64 `json:"grace_s"`
	SettleS       float64 `json:"settle_s"`
	Hello         string  `json:"hello,omitempty"`
	NoEcho        bool    `json:"no_echo,omitempty"`
	// CompressionOffered: swarm offered permessage-deflate (--compression).
	CompressionOffered bool     `json:"compression_offered,omitempty"`
	Message            string   `json:"message,omitempty"`
	Protocol           string   `json:"protocol,omitempty"` // "" : raw text frames
	SourceIPs          int      `json:"source_ips,omitempty"`
	RunID              string   `json:"run_id"`
	RunIDs             []string `json:"run_ids,omitempty"` // merged results: every run id
	// Shard is "i/K" for one machine's part of a load (--shard, rooms r
	// with r%K == i); merged shards keep it only when all had the same.
	Shard string `json:"shard,omitempty"`
	// Procs is the number of worker processes the run was split over (--procs).
	Procs int `json:"procs,omitempty"`
	// StartAt is the send phase's start asked for (--start-at), shared by
	// the shards of one load; SendStartedAt is when the send phase began
	// by this machine's wall clock (merged: the earliest), and
	// SendStartSpreadS how much later the last merged run began
	// (0 for one run): how far apart the shards actually started.
	StartAt          time.Time `json:"start_at,omitzero"`
	SendStartedAt    time.Time `json:"send_started_at,omitzero"`
	SendStartSpreadS float64   `json:"send_start_spread_s,omitempty"`
	// RequestedPerS is the deliveries per second the load asks for: per
	// room, senders × rate × receivers, summed (a model, not a measurement).
	RequestedPerS float64 `json:"requested_deliveries_per_s"`
}

// Environment describes where the run happened.
type Environment struct {
	Cores       int    `json:"cores"`
	MemBytes    uint64 `json:"mem_bytes"`
	OS          string `json:"os"`
	Arch        string `json:"arch"`
	GoVersion   string `json:"go_version"`
	Version     string `json:"chatbench_version"`
	Hostname    string `json:"hostname"`
	Compression bool   `json:"compression"` // permessage-deflate negotiated on any socket
	FDLimit     uint64 `json:"fd_limit"`
}

// Summary holds the counts of the steady phase and the figures derived
// from them and from the histograms (derived fields are recomputed by
// Finish and never merged).
type Summary struct {
	Connected     int64 `json:"connected"`
	ConnectErrors int64 `json:"connect_errors"`
	Disconnected  int64 `json:"disconnected"` // sockets lost after connecting, before the end
	// Left and Rejoined count the clients the workload took out (churn,
	// reconnect storms) and the reconnects that worked.
	Left       int64 `json:"left,omitempty"`
	Rejoined   int64 `json:"rejoined,omitempty"`
	Sent       int64 `json:"sent"` // steady-phase probes written
	SendErrors int64 `json:"send_errors"`
	// Expected is Σ over steady probes of their room's members connected
	// when the probe was due (less the sender with --no-echo).
	Expected int64 `json:"expected"`
	// Delivered counts first copies at expected receivers; Lost is
	// Σ (expected − delivered) per probe.
	Delivered int64 `json:"delivered"`
	Lost      int64 `json:"lost"`
	// Copies that are not deliveries (steady-phase probes): a further copy
	// at a receiver that had it (Duplicated), a copy at a client outside
	// the probe's room (Misrouted), a copy at a room member that was not an
	// expected receiver: it joined after the due time, or it is the sender
	// under --no-echo (Unexpected).
	Duplicated int64 `json:"duplicated"`
	Misrouted  int64 `json:"misrouted"`
	Unexpected int64 `json:"unexpected"`
	// OutOfOrder counts deliveries that arrived after a later probe of the
	// same sender at the same receiver.
	OutOfOrder int64 `json:"out_of_order"`
	// Foreign counts probes of other run ids received (counted, never timed).
	Foreign int64 `json:"foreign"`
	// Received counts every probe copy received, all phases, own and
	// foreign: what CPU per message divides by.
	Received int64 `json:"received"`
	// Stray counts own-run probe copies of every phase that were not
	// deliveries (duplicates, misrouted, unexpected): when they outnumber
	// deliveries the server is not broadcasting what swarm sends as swarm
	// thinks (a first frame taken as the user name, echoes of old messages).
	Stray   int64   `json:"stray"`
	SteadyS float64 `json:"steady_s"`

	DeliveriesPerS float64     `json:"deliveries_per_s"` // derived: delivered / steady_s
	LossRatio      float64     `json:"loss_ratio"`       // derived: lost / expected
	LatencyMs      Percentiles `json:"latency_ms"`       // from due time (headline)
	SendLatencyMs  Percentiles `json:"send_latency_ms"`  // from actual send time
	FanoutFirstMs  Percentiles `json:"fanout_first_ms"`  // due time to first receiver, per probe
	FanoutLastMs   Percentiles `json:"fanout_last_ms"`   // due time to last receiver, per probe
	ConnectMs      Percentiles `json:"connect_ms"`
}

// Histograms are kept decoded in memory and written as HdrHistogram V2
// compressed, base64 (values in µs).
type Histograms struct {
	LatencyDue  *hdr.Histogram
	LatencySend *hdr.Histogram
	Connect     *hdr.Histogram
	FanoutFirst *hdr.Histogram
	FanoutLast  *hdr.Histogram
}

// NewHistograms returns empty histograms.
func NewHistograms() Histograms {
	return Histograms{LatencyDue: NewHist(), LatencySend: NewHist(), Connect: NewHist(), FanoutFirst: NewHist(), FanoutLast: NewHist()}
}

type histogramsJSON struct {
	LatencyDue  string `json:"latency_due"`
	LatencySend string `json:"latency_send"`
	Connect     string `json:"connect"`
	FanoutFirst string `json:"fanout_first"`
	FanoutLast  string `json:"fanout_last"`
}

// all lists the histograms, in the order of histogramsJSON.all.
func (h *Histograms) all() []**hdr.Histogram {
	return []**hdr.Histogram{&h.LatencyDue, &h.LatencySend, &h.Connect, &h.FanoutFirst, &h.FanoutLast}
}

func (j *histogramsJSON) all() []*string {
	return []*string{&j.LatencyDue, &j.LatencySend, &j.Connect, &j.FanoutFirst, &j.FanoutLast}
}

// MarshalJSON encodes every histogram.
func (h Histograms) MarshalJSON() ([]byte, error) {
	var j histogramsJSON
	dst := j.all()
	for i, p := range h.all() {
		hist := *p
		if hist == nil {
			hist = NewHist()
		}
		b, err := hist.Encode(hdr.V2CompressedEncodingCookieBase)
		if err != nil {
			return nil, err
		}
		*dst[i] = string(b)
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes every histogram; an absent one is empty.
func (h *Histograms) UnmarshalJSON(b []byte) error {
	var j histogramsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	src := j.all()
	for i, p := range h.all() {
		if *src[i] == "" {
			*p = NewHist()
			continue
		}
		d, err := hdr.Decode([]byte(*src[i]))
		if err != nil {
			return fmt.Errorf("histogram: %w", err)
		}
		*p = d
	}
	return nil
}

// Second is one row of the timeline.
type Second struct {
	T          int     `json:"t_s"`
	Phase      string  `json:"phase"` // ramp, warmup, steady, grace
	Connected  int64   `json:"connected"`
	Sends      int64   `json:"sends"`
	Deliveries int64   `json:"deliveries"`
	P50Ms      float64 `json:"p50_ms"`
	P99Ms      float64 `json:"p99_ms"`
}

// Errors counts connect errors and lost sockets by kind and lists why the
// run failed.
type Errors struct {
	Connect    map[errkind.Kind]int64 `json:"connect"`
	Disconnect map[errkind.Kind]int64 `json:"disconnect,omitempty"`
	// Frames counts received frames that are not what a chat server
	// should send: "binary" frames (their probes still count) and
	// "bad_probe", text that starts like a probe but does not parse.
	Frames map[string]int64 `json:"frames,omitempty"`
	// Reasons is the server's own words for a connect or disconnect kind
	// (a protocol's error, a close frame's reason): the first seen of each.
	Reasons map[errkind.Kind]string `json:"reasons,omitempty"`
	Run     []string                `json:"run"`
}
