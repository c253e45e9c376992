package loadgen

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Schema is the results file's schema id (docs/results-schema.md).
const Schema = "chatbench.results/v1"

// Result is one swarm run's results, as written by --out.
type Result struct {
	Schema      string      `json:"schema"`
	Kind        string      `json:"kind"`
	StartedAt   time.Time   `json:"started_at"`
	Config      RunConfig   `json:"config"`
	Environment Environment `json:"environment"`
	Summary     Summary     `json:"summary"`
	Histograms  Histograms  `json:"histograms"`
	Timeline    []Second    `json:"timeline"`
	Errors      Errors      `json:"errors"`
	Partial     bool        `json:"partial"`
	// Runs is how many swarm results were merged into this one (1 for a run).
	Runs int `json:"runs"`
	// Notes are remarks that are not errors (e.g. server cost not measured and why).
	Notes []string `json:"notes,omitempty"`
}

// RunConfig is the load shape as run.
type RunConfig struct {
	URLs      []string `json:"urls"`
	Backend   string   `json:"backend"`
	Clients   int      `json:"clients"`
	RoomSize  int      `json:"room_size"`
	Rooms     int      `json:"rooms"`
	Senders   int      `json:"senders"`
	RatePerS  float64  `json:"rate_per_s"`
	SizeBytes int      `json:"size_bytes"`
	RampPerS  float64  `json:"ramp_per_s"`
	WarmupS   float64  `json:"warmup_s"`
	DurationS float64  `json:"duration_s"`
	GraceS    float64  `json:"grace_s"`
	Hello     string   `json:"hello,omitempty"`
	NoEcho    bool     `json:"no_echo,omitempty"`
	// CompressionOffered: swarm offered permessage-deflate (--compression).
	CompressionOffered bool     `json:"compression_offered,omitempty"`
	Message            string   `json:"message,omitempty"`
	SourceIPs          int      `json:"source_ips,omitempty"`
	RunID              string   `json:"run_id"`
	RunIDs             []string `json:"run_ids,omitempty"` // merged results: every run id
	ServerPid          int      `json:"server_pid,omitempty"`
	ServerPids         []int    `json:"server_pids,omitempty"` // more server nodes, their cost added to server_pid's
	MetricsURL         string   `json:"metrics_url,omitempty"`
	// Shard is "i/K" for one machine's part of a load (--shard); merged
	// shards keep it only when all had the same.
	Shard string `json:"shard,omitempty"`
	// Procs is the number of worker processes the run was split over (--procs).
	Procs int `json:"procs,omitempty"`
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

// Percentiles are latency percentiles in milliseconds.
type Percentiles struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
}

// Summary holds the headline numbers of the steady phase.
type Summary struct {
	Connected     int64 `json:"connected"`
	ConnectErrors int64 `json:"connect_errors"`
	Disconnected  int64 `json:"disconnected"` // sockets lost after connecting, before the end
	Sent          int64 `json:"sent"`         // steady-phase probes written
	SendErrors    int64 `json:"send_errors"`
	Expected      int64 `json:"expected"`
	Delivered     int64 `json:"delivered"`
	Lost          int64 `json:"lost"`
	Duplicated    int64 `json:"duplicated"`
	OutOfOrder    int64 `json:"out_of_order"`
	Misrouted     int64 `json:"misrouted"`  // copies at a client outside the probe's room
	Unexpected    int64 `json:"unexpected"` // copies at room members that were not expected receivers
	// OrderTracked is false when the run was too large to track order and
	// duplicates per receiver; duplicated is then only the excess of
	// deliveries over expected receivers and out_of_order is 0.
	OrderTracked     bool    `json:"order_tracked"`
	ForeignDelivered int64   `json:"foreign_delivered"` // probes of other run ids
	DeliveriesPerS   float64 `json:"deliveries_per_s"`
	SteadyS          float64 `json:"steady_s"`
	LossRatio        float64 `json:"loss_ratio"` // lost / expected

	LatencyMs     Percentiles `json:"latency_ms"`      // from due time (headline)
	SendLatencyMs Percentiles `json:"send_latency_ms"` // from actual send time
	FanoutFirstMs Percentiles `json:"fanout_first_ms"` // due time to first receiver, per broadcast
	FanoutLastMs  Percentiles `json:"fanout_last_ms"`  // due time to last receiver, per broadcast
	ConnectMs     Percentiles `json:"connect_ms"`

	Server ServerCost `json:"server"`
	Swarm  SwarmCost  `json:"swarm"`
}

// ServerCost is the server's cost, from a Prometheus scrape or /proc.
type ServerCost struct {
	RSSKBPerConn     float64 `json:"rss_kb_per_conn"`
	CPUUsPerDelivery float64 `json:"cpu_us_per_delivery"`
	Source           string  `json:"source,omitempty"` // "prometheus", "proc" or "" (not measured)
	RSSBytesBefore   float64 `json:"rss_bytes_before,omitempty"`
	RSSBytesAfter    float64 `json:"rss_bytes_after,omitempty"`
	CPUSeconds       float64 `json:"cpu_s,omitempty"` // during send phase and grace
}

// SwarmCost is this process's own cost.
type SwarmCost struct {
	RSSKBPerSocket  float64 `json:"rss_kb_per_socket"`
	CPUUsPerMessage float64 `json:"cpu_us_per_message"`
	RSSBytesBefore  float64 `json:"rss_bytes_before,omitempty"`
	RSSBytesAfter   float64 `json:"rss_bytes_after,omitempty"`
	CPUSeconds      float64 `json:"cpu_s,omitempty"`
}

// Histograms are kept decoded in memory and written as HdrHistogram V2
// compressed, base64 (values in µs).
type Histograms struct {
	LatencyDue  *hdr.Histogram `json:"-"`
	LatencySend *hdr.Histogram `json:"-"`
	Connect     *hdr.Histogram `json:"-"`
	FanoutFirst *hdr.Histogram `json:"-"`
	FanoutLast  *hdr.Histogram `json:"-"`
}

type histogramsJSON struct {
	LatencyDue  string `json:"latency_due"`
	LatencySend string `json:"latency_send"`
	Connect     string `json:"connect"`
	FanoutFirst string `json:"fanout_first"`
	FanoutLast  string `json:"fanout_last"`
}

func (h *Histograms) all() []**hdr.Histogram {
	return []**hdr.Histogram{&h.LatencyDue, &h.LatencySend, &h.Connect, &h.FanoutFirst, &h.FanoutLast}
}

func encodeHist(h *hdr.Histogram) (string, error) {
	if h == nil {
		h = NewHist()
	}
	b, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
	return string(b), err
}

func decodeHist(s string) (*hdr.Histogram, error) {
	if s == "" {
		return NewHist(), nil
	}
	return hdr.Decode([]byte(s))
}

// MarshalJSON encodes every histogram.
func (h Histograms) MarshalJSON() ([]byte, error) {
	var j histogramsJSON
	var err error
	for _, p := range []struct {
		dst *string
		h   *hdr.Histogram
	}{{&j.LatencyDue, h.LatencyDue}, {&j.LatencySend, h.LatencySend}, {&j.Connect, h.Connect},
		{&j.FanoutFirst, h.FanoutFirst}, {&j.FanoutLast, h.FanoutLast}} {
		if *p.dst, err = encodeHist(p.h); err != nil {
			return nil, err
		}
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes every histogram.
func (h *Histograms) UnmarshalJSON(b []byte) error {
	var j histogramsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	var err error
	for _, p := range []struct {
		src string
		dst **hdr.Histogram
	}{{j.LatencyDue, &h.LatencyDue}, {j.LatencySend, &h.LatencySend}, {j.Connect, &h.Connect},
		{j.FanoutFirst, &h.FanoutFirst}, {j.FanoutLast, &h.FanoutLast}} {
		if *p.dst, err = decodeHist(p.src); err != nil {
			return fmt.Errorf("histogram: %w", err)
		}
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

// Errors counts connect errors by kind and lists run errors.
type Errors struct {
	Connect    map[string]int64 `json:"connect"`
	Disconnect map[string]int64 `json:"disconnect,omitempty"` // why sockets were lost mid-run
	// Frames counts received frames that are not what a chat server
	// should send: "binary" frames (their probes still count) and
	// "bad_probe", text that starts like a probe but does not parse.
	Frames map[string]int64 `json:"frames,omitempty"`
	Run    []string         `json:"run"`
}

func percentiles(h *hdr.Histogram) Percentiles {
	if h == nil || h.TotalCount() == 0 {
		return Percentiles{}
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return Percentiles{
		P50: ms(h.ValueAtQuantile(50)), P90: ms(h.ValueAtQuantile(90)), P99: ms(h.ValueAtQuantile(99)),
		P999: ms(h.ValueAtQuantile(99.9)), Max: ms(h.Max()),
	}
}

// finishSummary recomputes what derives from histograms and counts.
func (r *Result) finishSummary() {
	s := &r.Summary
	s.LatencyMs = percentiles(r.Histograms.LatencyDue)
	s.SendLatencyMs = percentiles(r.Histograms.LatencySend)
	s.FanoutFirstMs = percentiles(r.Histograms.FanoutFirst)
	s.FanoutLastMs = percentiles(r.Histograms.FanoutLast)
	s.ConnectMs = percentiles(r.Histograms.Connect)
	if s.Expected > 0 {
		s.LossRatio = float64(s.Lost) / float64(s.Expected)
	} else {
		s.LossRatio = 0
	}
	if s.SteadyS > 0 {
		s.DeliveriesPerS = float64(s.Delivered) / s.SteadyS
	}
}

// WriteJSON writes r as indented JSON.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteFile writes r to path (atomically, through a temporary file).
func (r *Result) WriteFile(path string) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := r.WriteJSON(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ReadResult reads a results file.
func ReadResult(path string) (*Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return DecodeResult(path, b)
}

// DecodeResult decodes the bytes of a results file; name (the file's path)
// prefixes its errors.
func DecodeResult(name string, b []byte) (*Result, error) {
	path := name
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if r.Schema != Schema {
		return nil, fmt.Errorf("%s: schema %q, want %q", path, r.Schema, Schema)
	}
	for _, p := range r.Histograms.all() {
		if *p == nil {
			*p = NewHist()
		}
	}
	return &r, nil
}

// Merge combines results of swarm processes that ran together (e.g. the
// shards of one load spread over processes or machines): histograms are
// merged exactly, counts summed, percentiles recomputed from the merged
// histograms, per-socket costs averaged weighted by sockets, and timeline
// rows with the same t_s summed (their p50/p99 are the larger of the two: an
// upper bound, as per-second histograms are not kept). Config is the first
// result's with clients, senders summed. Neither input is changed.
func Merge(rs ...*Result) (*Result, error) {
	if len(rs) == 0 {
		return nil, errors.New("merge: no results")
	}
	out := &Result{Schema: Schema, Kind: "swarm", StartedAt: rs[0].StartedAt, Config: rs[0].Config,
		Environment: rs[0].Environment}
	out.Config.URLs = nil
	out.Config.Clients, out.Config.Senders = 0, 0
	out.Config.RunID = ""
	out.Config.RunIDs = nil
	out.Errors.Connect = map[string]int64{}
	out.Errors.Run = []string{}
	h := Histograms{LatencyDue: NewHist(), LatencySend: NewHist(), Connect: NewHist(), FanoutFirst: NewHist(), FanoutLast: NewHist()}
	out.Histograms = h
	seenURL := map[string]bool{}
	rows := map[int]*Second{}
	var swarmRSS, swarmCPU, serverRSS, serverCPU float64
	var swarmSockets, serverConns float64
	var swarmMsgs, serverDeliv float64
	out.Summary.OrderTracked = true
	for _, r := range rs {
		if r.Schema != Schema {
			return nil, fmt.Errorf("merge: schema %q, want %q", r.Schema, Schema)
		}
		if r.StartedAt.Before(out.StartedAt) {
			out.StartedAt = r.StartedAt
		}
		for _, u := range r.Config.URLs {
			if !seenURL[u] {
				seenURL[u] = true
				out.Config.URLs = append(out.Config.URLs, u)
			}
		}
		out.Config.Clients += r.Config.Clients
		if r.Config.Shard != out.Config.Shard {
			out.Config.Shard = ""
		}
		out.Config.Senders += r.Config.Senders
		if r.Config.RunID != "" {
			out.Config.RunIDs = append(out.Config.RunIDs, r.Config.RunID)
		}
		out.Config.RunIDs = append(out.Config.RunIDs, r.Config.RunIDs...)
		out.Environment.Compression = out.Environment.Compression || r.Environment.Compression
		src, dst := &r.Histograms, &out.Histograms
		for i, p := range dst.all() {
			if s := *src.all()[i]; s != nil {
				(*p).Merge(s)
			}
		}
		a, b := &out.Summary, r.Summary
		a.Connected += b.Connected
		a.ConnectErrors += b.ConnectErrors
		a.Disconnected += b.Disconnected
		a.Sent += b.Sent
		a.SendErrors += b.SendErrors
		a.Expected += b.Expected
		a.Delivered += b.Delivered
		a.Lost += b.Lost
		a.Duplicated += b.Duplicated
		a.OutOfOrder += b.OutOfOrder
		a.OrderTracked = a.OrderTracked && b.OrderTracked
		a.ForeignDelivered += b.ForeignDelivered
		if b.SteadyS > a.SteadyS {
			a.SteadyS = b.SteadyS
		}
		sock := float64(b.Connected)
		swarmRSS += b.Swarm.RSSKBPerSocket * sock
		swarmSockets += sock
		swarmCPU += b.Swarm.CPUSeconds
		swarmMsgs += float64(b.Delivered + b.ForeignDelivered)
		if b.Server.Source != "" {
			serverRSS += b.Server.RSSKBPerConn * sock
			serverConns += sock
			serverCPU += b.Server.CPUSeconds
			serverDeliv += float64(b.Delivered + b.ForeignDelivered)
			out.Summary.Server.Source = b.Server.Source
		}
		for k, v := range r.Errors.Connect {
			out.Errors.Connect[k] += v
		}
		for k, v := range r.Errors.Disconnect {
			if out.Errors.Disconnect == nil {
				out.Errors.Disconnect = map[string]int64{}
			}
			out.Errors.Disconnect[k] += v
		}
		for k, v := range r.Errors.Frames {
			if out.Errors.Frames == nil {
				out.Errors.Frames = map[string]int64{}
			}
			out.Errors.Frames[k] += v
		}
		out.Errors.Run = append(out.Errors.Run, r.Errors.Run...)
		out.Partial = out.Partial || r.Partial
		for _, s := range r.Timeline {
			row := rows[s.T]
			if row == nil {
				row = &Second{T: s.T, Phase: s.Phase}
				rows[s.T] = row
			}
			row.Connected += s.Connected
			row.Sends += s.Sends
			row.Deliveries += s.Deliveries
			row.P50Ms = max(row.P50Ms, s.P50Ms)
			row.P99Ms = max(row.P99Ms, s.P99Ms)
		}
		if r.Runs == 0 {
			out.Runs++
		} else {
			out.Runs += r.Runs
		}
	}
	if swarmSockets > 0 {
		out.Summary.Swarm.RSSKBPerSocket = swarmRSS / swarmSockets
	}
	if swarmMsgs > 0 {
		out.Summary.Swarm.CPUUsPerMessage = swarmCPU * 1e6 / swarmMsgs
	}
	out.Summary.Swarm.CPUSeconds = swarmCPU
	if serverConns > 0 {
		out.Summary.Server.RSSKBPerConn = serverRSS / serverConns
	}
	if serverDeliv > 0 {
		// Several swarms against one server each saw its whole CPU; this
		// is exact only when each swarm had its own server.
		out.Summary.Server.CPUUsPerDelivery = serverCPU * 1e6 / serverDeliv
	}
	out.Summary.Server.CPUSeconds = serverCPU
	for _, row := range rows {
		out.Timeline = append(out.Timeline, *row)
	}
	sort.Slice(out.Timeline, func(i, j int) bool { return out.Timeline[i].T < out.Timeline[j].T })
	out.finishSummary()
	return out, nil
}
