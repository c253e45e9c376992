package estimate

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/chatbench/chatbench/internal/units"
)

// Config is what the estimate command was asked. Zero values mean "not
// given": the blog's example or a documented default is used instead and
// reported as such.
type Config struct {
	RAMBytes  float64 // node memory
	RAMText   string  // as typed, for the blog's arithmetic ("8GB"); optional
	Cores     float64 // node cores
	Users     int64
	RatePerS  float64 // messages per second per sender
	SizeBytes float64 // message text size

	RoomSize int64 // members per room; 0: one room of all users
	Senders  int64 // users who send, in total; 0: every user

	UserNameBytes int // 0: DefaultUserNameBytes
	RoomNameBytes int // 0: DefaultRoomNameBytes

	// Given on the command line; they win over measured values.
	KBPerConn         float64
	CPUUsPerDelivery  float64
	CPUUsPerBrokerMsg float64
	NICBitsPerS       float64 // 0: egress not limited

	// Planning: when TargetUsers > 0.
	TargetUsers int64

	// Evidence read with --from; nil when nothing was measured. Its
	// scenario replaces users, room size, senders, rate and size unless
	// Given names the flag (given on the command line: it wins).
	Evidence *Evidence
	Given    map[string]bool
}

// Source kinds of an assumption.
const (
	SourceBlog     = "blog"
	SourceDefault  = "default"
	SourceGiven    = "given"
	SourceMeasured = "measured"
)

// Assumption is one number the model rests on, with where it came from.
type Assumption struct {
	Key    string  `json:"key"`
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Text   string  `json:"text"`
	Source string  `json:"source"`         // blog, default, given, measured
	From   string  `json:"from,omitempty"` // the file, or the flag, it came from
	Why    string  `json:"why"`
}

// SourceText is "blog", "default", "given (--ram)" or "measured from a.json".
func (a Assumption) SourceText() string {
	switch {
	case a.Source == SourceMeasured:
		return "measured from " + a.From
	case a.From != "":
		return a.Source + " " + a.From
	}
	return a.Source
}

// Label is the short form used in the "rests on" column: "10 KB/conn (blog)".
func (a Assumption) Label() string { return a.Text + " " + a.Name + " (" + a.SourceText() + ")" }

// Line is one row of the arithmetic table: a quantity as the blog computes
// it and as the fan-out model does.
type Line struct {
	Key       string   `json:"key"`
	Quantity  string   `json:"quantity"`
	Blog      string   `json:"blog"`                 // the blog's arithmetic, "" where it has none
	BlogValue *float64 `json:"blog_value,omitempty"` // its result
	Model     string   `json:"model"`                // the model's arithmetic
	Value     float64  `json:"value"`                // its result
	Unit      string   `json:"unit"`
	Text      string   `json:"text"` // Value formatted, as it appears in Model
	// Source of Value: always FigureModel (a line computes; what it rests
	// on says which inputs were measured).
	Source  string   `json:"source"`
	RestsOn []string `json:"rests_on"`
}

// Report is everything estimate prints: the table and --json are both
// written from it.
type Report struct {
	Schema string `json:"schema"`
	Inputs Inputs `json:"inputs"`
	// Scenario says where each number of the question came from.
	Scenario    []ScenarioField `json:"scenario"`
	Assumptions []Assumption    `json:"assumptions"`
	Model       Model           `json:"model"`
	Lines       []Line          `json:"lines"`
	Claims      []ClaimCheck    `json:"claims"`
	Plan        *Plan           `json:"plan,omitempty"`
	Files       []string        `json:"files,omitempty"`
	// Servers are the servers measured, one column each in the claims table.
	Servers []string `json:"servers,omitempty"`
	// Skipped are runs read and not used as evidence, and why.
	Skipped []Skipped `json:"skipped,omitempty"`
	Notes   []string  `json:"notes,omitempty"`
}

// ReportSchema versions the --json output. v2: claims judged per server
// (server), with labelled figures (figures, value, value_source) instead
// of measured/measured_value; scenario, servers and skipped added.
const ReportSchema = "chatbench.estimate/v2"

// Inputs echoes the resolved question.
type Inputs struct {
	RAMBytes    float64 `json:"ram_bytes"`
	Cores       float64 `json:"cores"`
	Users       int64   `json:"users"`
	RatePerS    float64 `json:"rate_per_s"`
	SizeBytes   float64 `json:"size_bytes"`
	RoomSize    int64   `json:"room_size"`
	Senders     int64   `json:"senders"`
	NICBitsPerS float64 `json:"nic_bits_per_s,omitempty"`
	TargetUsers int64   `json:"target_users,omitempty"`
}

// Validate reports the first input that cannot be used, naming the flag.
func (c *Config) Validate() error {
	switch {
	case c.RAMBytes <= 0:
		return errors.New("--ram must be more than 0")
	case c.Cores <= 0:
		return errors.New("--cores must be more than 0")
	case c.Users <= 0:
		return errors.New("--users must be more than 0")
	case c.RatePerS <= 0:
		return errors.New("--rate must be more than 0")
	case c.SizeBytes < 0:
		return errors.New("--size must not be negative")
	case c.RoomSize < 0:
		return errors.New("--room-size must not be negative")
	case c.Senders < 0:
		return errors.New("--senders must not be negative")
	case c.TargetUsers < 0:
		return errors.New("--target-users must not be negative")
	case c.KBPerConn < 0, c.CPUUsPerDelivery < 0, c.CPUUsPerBrokerMsg < 0, c.NICBitsPerS < 0:
		return errors.New("per-connection, per-delivery and NIC values must not be negative")
	case c.UserNameBytes < 0 || c.RoomNameBytes < 0:
		return errors.New("name lengths must not be negative")
	}
	if c.RoomSize > 0 && c.RoomSize > c.Users && c.TargetUsers == 0 {
		return fmt.Errorf("--room-size %d is larger than --users %d", c.RoomSize, c.Users)
	}
	if c.Senders > c.Users {
		return fmt.Errorf("--senders %d is larger than --users %d", c.Senders, c.Users)
	}
	return nil
}

// Build computes the whole report. It is pure: the same Config gives the
// same Report.
func Build(c Config) (*Report, error) {
	scenario := applyScenario(&c)
	if err := c.Validate(); err != nil {
		return nil, err
	}
	r := &Report{Schema: ReportSchema, Scenario: scenario}
	if c.Evidence != nil {
		r.Files, r.Servers, r.Skipped = c.Evidence.Files, c.Evidence.Servers(), c.Evidence.Skipped
	}
	room := c.RoomSize
	if room == 0 || room > c.Users {
		room = c.Users
	}
	senders := c.Senders
	if senders == 0 {
		senders = c.Users
	}
	r.Inputs = Inputs{RAMBytes: c.RAMBytes, Cores: c.Cores, Users: c.Users, RatePerS: c.RatePerS,
		SizeBytes: c.SizeBytes, RoomSize: room, Senders: senders, NICBitsPerS: c.NICBitsPerS, TargetUsers: c.TargetUsers}

	as := resolveAssumptions(c, room, senders, scenario)
	r.Assumptions = as.list
	p := params{ram: c.RAMBytes, cores: c.Cores, rate: c.RatePerS, size: c.SizeBytes, nicBytes: c.NICBitsPerS / 8,
		users: float64(c.Users), roomSize: float64(room), senders: float64(senders),
		kbPerConn: as.get("kb_per_conn").Value, cpuUs: as.get("cpu_us_per_delivery").Value,
		userLen: as.get("user_name_bytes").Value, roomLen: as.get("room_name_bytes").Value}
	r.Model = computeModel(p)
	r.Lines = buildLines(c, p, r.Model, as)
	r.Claims = CheckClaims(c.Evidence, ClaimContext{UserLen: p.userLen, RoomLen: p.roomLen})
	if c.TargetUsers > 0 {
		r.Plan = BuildPlan(PlanInput{
			TargetUsers: float64(c.TargetUsers), RoomSize: float64(roomForPlan(c)),
			SenderFraction: float64(senders) / float64(c.Users), RatePerS: c.RatePerS,
			Cores: c.Cores, RAMBytes: c.RAMBytes, NICBytesPerS: c.NICBitsPerS / 8,
			FrameBytes:  r.Model.FrameBytes,
			CPUBrokerUs: as.get("cpu_us_per_broker_msg"),
			PerBackend:  perBackendAssumptions(c, as),
		})
	}
	if c.Evidence != nil {
		r.Notes = append(r.Notes, c.Evidence.Notes...)
		for _, run := range c.Evidence.Runs {
			if run.Compression {
				r.Notes = append(r.Notes, fmt.Sprintf("%s: permessage-deflate was negotiated; memory and CPU per connection include compression", run.Source))
				break
			}
		}
	}
	return r, nil
}

// roomForPlan is the room size to plan with (called with TargetUsers set):
// the given one, or one room of every target user.
func roomForPlan(c Config) int64 {
	if c.RoomSize > 0 {
		return c.RoomSize
	}
	return c.TargetUsers
}

type assumptions struct{ list []Assumption }

func (a *assumptions) get(key string) Assumption {
	for _, x := range a.list {
		if x.Key == key {
			return x
		}
	}
	panic("estimate: no assumption " + key)
}

func resolveAssumptions(c Config, room, senders int64, scenario []ScenarioField) *assumptions {
	a := &assumptions{}
	add := func(x Assumption) { a.list = append(a.list, x) }

	kb := Assumption{Key: "kb_per_conn", Name: "memory per connection", Unit: "KB", Value: BlogKBPerConn, Source: SourceBlog,
		Why: "the blog's \"each WebSocket costs ~10 KB of server memory\"; not measured"}
	if c.KBPerConn > 0 {
		kb.Value, kb.Source, kb.From, kb.Why = c.KBPerConn, SourceGiven, "--kb-per-conn", "given on the command line"
	} else if run, ok := pickMemoryRun(scenarioEvidence(c.Evidence), "", func(r Run) float64 { return float64(r.Connected) }); ok {
		kb.Value, kb.Source, kb.From = run.RSSKBPerConn, SourceMeasured, run.Source
		kb.Why = fmt.Sprintf("server RSS / connections at %s connections (%s)", units.FormatCount(float64(run.Connected)), backendName(run.Backend))
	}
	kb.Text = units.FormatSig(kb.Value, 3) + " KB"
	add(kb)

	cpu := Assumption{Key: "cpu_us_per_delivery", Name: "CPU per delivery", Unit: "µs", Value: DefaultCPUUsPerDelivery, Source: SourceDefault,
		Why: "one write of a small frame per receiver, 1–5 µs on current Linux; measure it with swarm"}
	if c.CPUUsPerDelivery > 0 {
		cpu.Value, cpu.Source, cpu.From, cpu.Why = c.CPUUsPerDelivery, SourceGiven, "--cpu-per-delivery", "given on the command line"
	} else if run, ok := pickRun(scenarioEvidence(c.Evidence), "", func(r Run) float64 { return r.CPUUsPerDelivery }, func(r Run) float64 { return float64(r.Delivered) }); ok {
		cpu.Value, cpu.Source, cpu.From = run.CPUUsPerDelivery, SourceMeasured, run.Source
		cpu.Why = fmt.Sprintf("server CPU time / deliveries over %s deliveries (%s)", units.FormatCount(float64(run.Delivered)), backendName(run.Backend))
	}
	cpu.Text = units.FormatSig(cpu.Value, 3) + " µs"
	add(cpu)

	br := Assumption{Key: "cpu_us_per_broker_msg", Name: "CPU per broker message", Unit: "µs", Value: DefaultCPUUsPerBrokerMsg, Source: SourceDefault,
		Why: "a node's cost to publish or receive one message through Redis/RabbitMQ: a network read or write and a decode; planning only"}
	if c.CPUUsPerBrokerMsg > 0 {
		br.Value, br.Source, br.From, br.Why = c.CPUUsPerBrokerMsg, SourceGiven, "--cpu-per-broker-msg", "given on the command line"
	}
	br.Text = units.FormatSig(br.Value, 3) + " µs"
	add(br)

	snd := Assumption{Key: "senders", Name: "senders", Unit: "users", Value: float64(senders), Source: SourceDefault,
		Why: "every user sends, as in the blog's 1,000 × 10 msg/s"}
	if f := scenarioOf(scenario, "senders"); f.Source == SourceMeasured {
		snd.Source, snd.From, snd.Why = SourceMeasured, f.From, "the users who sent in the run read"
	} else if c.Senders > 0 {
		snd.Source, snd.From, snd.Why = SourceGiven, "--senders", "given on the command line"
	}
	snd.Text = units.FormatCount(snd.Value)
	add(snd)

	rm := Assumption{Key: "room_size", Name: "members per room", Unit: "users", Value: float64(room), Source: SourceDefault,
		Why: "one room of all users, the blog's chat; every member receives every message, the sender included"}
	if f := scenarioOf(scenario, "room-size"); f.Source == SourceMeasured {
		rm.Source, rm.From, rm.Why = SourceMeasured, f.From, "receivers per message in the run read; every member receives every message, the sender included"
	} else if c.RoomSize > 0 {
		rm.Source, rm.From, rm.Why = SourceGiven, "--room-size", "given on the command line; every member receives every message, the sender included"
	}
	rm.Text = units.FormatCount(rm.Value)
	add(rm)

	ul := Assumption{Key: "user_name_bytes", Name: "user name", Unit: "B", Value: DefaultUserNameBytes, Source: SourceDefault,
		Why: "typical short user name in the JSON envelope"}
	if c.UserNameBytes > 0 {
		ul.Value, ul.Source, ul.From, ul.Why = float64(c.UserNameBytes), SourceGiven, "--user-name-bytes", "given on the command line"
	}
	ul.Text = units.FormatSig(ul.Value, 3) + " B"
	add(ul)
	rl := Assumption{Key: "room_name_bytes", Name: "room name", Unit: "B", Value: DefaultRoomNameBytes, Source: SourceDefault,
		Why: "the server's default room \"chat\""}
	if c.RoomNameBytes > 0 {
		rl.Value, rl.Source, rl.From, rl.Why = float64(c.RoomNameBytes), SourceGiven, "--room-name-bytes", "given on the command line"
	}
	rl.Text = units.FormatSig(rl.Value, 3) + " B"
	add(rl)

	if c.NICBitsPerS > 0 {
		add(Assumption{Key: "nic", Name: "network egress per node", Unit: "bit/s", Value: c.NICBitsPerS, Text: units.FormatBits(c.NICBitsPerS),
			Source: SourceGiven, From: "--nic", Why: "given on the command line; TCP/IP headers not counted"})
	}
	return a
}

// scenarioEvidence is the evidence the model's measured costs come from:
// the runs of the scenario's server when it has any (the question is about
// that server), else every run.
func scenarioEvidence(ev *Evidence) *Evidence {
	if ev == nil || ev.Scenario == nil {
		return ev
	}
	if o := ev.only(ev.Scenario.Server); len(o.Runs) > 0 {
		return o
	}
	return ev
}

// scenarioOf is the scenario field of flag, or a zero one.
func scenarioOf(fs []ScenarioField, flag string) ScenarioField {
	for _, f := range fs {
		if f.Flag == flag {
			return f
		}
	}
	return ScenarioField{}
}

func backendName(b string) string {
	if b == "" {
		return "server not started by chatbench"
	}
	return b + " backend"
}

// pickMemoryRun is pickRun for memory per connection: among the runs that
// are evidence, else among those kept for their memory alone
// (Evidence.MemoryRuns).
func pickMemoryRun(ev *Evidence, backend string, weight func(Run) float64) (Run, bool) {
	mem := func(r Run) float64 { return r.RSSKBPerConn }
	if run, ok := pickRun(ev, backend, mem, weight); ok || ev == nil {
		return run, ok
	}
	return pickRun(&Evidence{Runs: ev.MemoryRuns}, backend, mem, weight)
}

// pickRun chooses the measured run whose value(r) > 0 that carries the most
// weight(r) (connections, deliveries), preferring complete runs over partial
// ones, and single-node
// backends when backend is "". Only runs that are evidence (complete,
// within their SLO) are in ev.Runs. The largest run amortises
// fixed costs best and is the one closest to capacity.
func pickRun(ev *Evidence, backend string, value, weight func(Run) float64) (Run, bool) {
	if ev == nil {
		return Run{}, false
	}
	var cands []Run
	for _, r := range ev.Runs {
		if value(r) > 0 && (backend == "" || r.Backend == backend) {
			cands = append(cands, r)
		}
	}
	if len(cands) == 0 {
		return Run{}, false
	}
	sort.SliceStable(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if backend == "" {
			ra, rb := backendRank(a.Backend), backendRank(b.Backend)
			if ra != rb {
				return ra < rb
			}
		}
		return weight(a) > weight(b)
	})
	return cands[0], true
}

// backendRank prefers single-node measurements for the single-node model.
func backendRank(b string) int {
	switch b {
	case "memory":
		return 0
	case "":
		return 1
	}
	return 2
}

func perBackendAssumptions(c Config, as *assumptions) map[string][2]Assumption {
	out := map[string][2]Assumption{}
	for _, b := range Backends {
		kb, cpu := as.get("kb_per_conn"), as.get("cpu_us_per_delivery")
		if c.KBPerConn == 0 {
			if run, ok := pickMemoryRun(c.Evidence, b, func(r Run) float64 { return float64(r.Connected) }); ok {
				kb.Value, kb.Source, kb.From = run.RSSKBPerConn, SourceMeasured, run.Source
				kb.Text = units.FormatSig(kb.Value, 3) + " KB"
			} else if kb.Source == SourceMeasured {
				kb.From += ", no " + b + " run"
			}
		}
		if c.CPUUsPerDelivery == 0 {
			if run, ok := pickRun(c.Evidence, b, func(r Run) float64 { return r.CPUUsPerDelivery }, func(r Run) float64 { return float64(r.Delivered) }); ok {
				cpu.Value, cpu.Source, cpu.From = run.CPUUsPerDelivery, SourceMeasured, run.Source
				cpu.Text = units.FormatSig(cpu.Value, 3) + " µs"
			} else if cpu.Source == SourceMeasured {
				cpu.From += ", no " + b + " run"
			}
		}
		out[b] = [2]Assumption{kb, cpu}
	}
	return out
}

// Backends are the fan-out backends the reference server has.
var Backends = []string{"memory", "redis", "rabbitmq"}

func f64(v float64) *float64 { return &v }

func buildLines(c Config, p params, m Model, as *assumptions) []Line {
	kb := as.get("kb_per_conn")
	snd, rm := as.get("senders"), as.get("room_size")
	ul, rl := as.get("user_name_bytes"), as.get("room_name_bytes")
	// The blog writes decimal units: 8 GB = 8,000,000 KB. A binary size
	// (8GiB) is shown as typed and in decimal.
	ramText := units.FormatBytes(c.RAMBytes)
	if strings.ContainsAny(c.RAMText, "iI") {
		ramText = fmt.Sprintf("%s (%s)", strings.TrimSpace(c.RAMText), units.FormatBytes(c.RAMBytes))
	}
	users := float64(c.Users)
	// The blog writes "1,000 × 10 msg/s" and "1,000 × 10 × 100 B"; a rate
	// not per second keeps its unit ("7/min").
	rateS := units.FormatRate(c.RatePerS)
	rate, blogRate := strings.TrimSuffix(rateS, "/s"), strings.TrimSuffix(rateS, "/s")+" msg/s"
	if !strings.HasSuffix(rateS, "/s") {
		rate, blogRate = rateS, rateS
	}
	var lines []Line

	// 1. Connections in RAM. The blog: 8 GB / 10 KB (decimal units).
	blogConns := ConnsInRAM(c.RAMBytes, BlogKBPerConn)
	lines = append(lines, Line{Key: "connections", Quantity: "connections that fit in RAM",
		Blog:      fmt.Sprintf("%s / 10 KB = %s KB / 10 KB = %s", ramText, formatNum(c.RAMBytes/1000), units.FormatCount(blogConns)),
		BlogValue: f64(blogConns),
		Model:     fmt.Sprintf("%s / %s = %s", ramText, kb.Text, units.FormatCount(m.ConnsInRAM)),
		Value:     m.ConnsInRAM, Unit: "connections", Text: units.FormatCount(m.ConnsInRAM),
		RestsOn: []string{kb.Label(), "nothing else in RAM"}})

	// 2. Messages in.
	blogMsgs := users * c.RatePerS
	lines = append(lines, Line{Key: "messages_per_s", Quantity: "messages/s in",
		Blog:      fmt.Sprintf("%s users × %s = %s messages/s", units.FormatCount(users), blogRate, formatNum(blogMsgs)),
		BlogValue: f64(blogMsgs),
		Model:     fmt.Sprintf("%s senders × %s = %s/s", units.FormatCount(p.senders), rateS, formatNum(m.MessagesPerS)),
		Value:     m.MessagesPerS, Unit: "messages/s", Text: formatNum(m.MessagesPerS) + "/s",
		RestsOn: []string{snd.Text + " senders (" + snd.SourceText() + ")"}})

	// 3. Deliveries out: the fan-out the blog leaves out.
	lines = append(lines, Line{Key: "deliveries_per_s", Quantity: "deliveries/s out (fan-out)",
		Blog:  "not counted",
		Model: fmt.Sprintf("%s/s × %s receivers = %s/s", formatNum(m.MessagesPerS), units.FormatCount(p.roomSize), formatNum(m.DeliveriesPerS)),
		Value: m.DeliveriesPerS, Unit: "deliveries/s", Text: formatNum(m.DeliveriesPerS) + "/s",
		RestsOn: []string{rm.Text + " members per room, sender included (" + rm.SourceText() + ")"}})

	// 4. Ingress bytes.
	lines = append(lines, Line{Key: "ingress_bytes_per_s", Quantity: "network in",
		Blog: "",
		Model: fmt.Sprintf("%s/s × %s = %s/s", formatNum(m.MessagesPerS), units.FormatBytes(m.IngressFrameBytes),
			units.FormatBytes(m.IngressBytesPerS)),
		Value: m.IngressBytesPerS, Unit: "B/s", Text: units.FormatBytes(m.IngressBytesPerS) + "/s",
		RestsOn: []string{fmt.Sprintf("client frame %s = %s + %s masked header", units.FormatBytes(m.IngressFrameBytes),
			units.FormatBytes(c.SizeBytes), units.FormatBytes(ClientFrameHeader(c.SizeBytes))), "TCP/IP headers not counted"}})

	// 5. Egress bytes. The blog: users × rate × size, and calls it bandwidth.
	blogBW := users * c.RatePerS * c.SizeBytes
	lines = append(lines, Line{Key: "egress_bytes_per_s", Quantity: "network out (egress)",
		Blog:      fmt.Sprintf("%s × %s × %s = %s/s", units.FormatCount(users), rate, units.FormatBytes(c.SizeBytes), units.FormatBytes(blogBW)),
		BlogValue: f64(blogBW),
		Model: fmt.Sprintf("%s/s × %s = %s/s (%s)", formatNum(m.DeliveriesPerS), units.FormatBytes(m.FrameBytes),
			units.FormatBytes(m.EgressBytesPerS), units.FormatBits(m.EgressBytesPerS*8)),
		Value: m.EgressBytesPerS, Unit: "B/s", Text: units.FormatBytes(m.EgressBytesPerS) + "/s",
		RestsOn: []string{fmt.Sprintf("frame %s = %s header + %s JSON envelope", units.FormatBytes(m.FrameBytes), units.FormatBytes(m.FrameBytes-m.EnvelopeBytes),
			units.FormatBytes(m.EnvelopeBytes)), fmt.Sprintf("names: user %s (%s), room %s (%s)", ul.Text, ul.SourceText(), rl.Text, rl.SourceText()),
			"TCP/IP headers not counted"}})

	lines = append(lines, capacityLines(c, p, m, as, rateS)...)
	for i := range lines {
		if math.IsNaN(lines[i].Value) {
			lines[i].Value = 0
		}
		lines[i].Source = FigureModel
	}
	return lines
}

// capacityLines are the lines that set the model against the machine: CPU,
// memory, the largest room and the NIC.
func capacityLines(c Config, p params, m Model, as *assumptions, rateS string) []Line {
	kb, cpu := as.get("kb_per_conn"), as.get("cpu_us_per_delivery")
	users := float64(c.Users)
	var lines []Line
	// 6. CPU needed.
	over := ""
	if m.CPUCoresNeeded > c.Cores {
		over = fmt.Sprintf(", %s over", units.FormatTimes(m.CPUCoresNeeded/c.Cores))
	}
	lines = append(lines, Line{Key: "cpu_cores_needed", Quantity: "CPU for the fan-out",
		Blog: "",
		Model: fmt.Sprintf("%s/s × %s = %s cores (have %s%s)", formatNum(m.DeliveriesPerS), cpu.Text,
			units.FormatSig(m.CPUCoresNeeded, 3), units.FormatSig(c.Cores, 3), over),
		Value: m.CPUCoresNeeded, Unit: "cores", Text: units.FormatSig(m.CPUCoresNeeded, 3) + " cores",
		RestsOn: []string{cpu.Label()}})

	// 7. Memory needed.
	lines = append(lines, Line{Key: "ram_needed_bytes", Quantity: "memory for the connections",
		Blog: "",
		Model: fmt.Sprintf("%s × %s = %s of %s", units.FormatCount(users), kb.Text, units.FormatBytes(m.RAMNeededBytes),
			units.FormatBytes(c.RAMBytes)),
		Value: m.RAMNeededBytes, Unit: "B", Text: units.FormatBytes(m.RAMNeededBytes),
		RestsOn: []string{kb.Label()}})

	// 8. Largest room at this rate.
	fracText := ""
	if m.SenderFraction != 1 {
		fracText = fmt.Sprintf(" × %s senders per member", units.FormatSig(m.SenderFraction, 3))
	}
	roomModel := fmt.Sprintf("√(%s cores × 10⁶ / %s / %s%s) = %s members", units.FormatSig(c.Cores, 3), cpu.Text, rateS, fracText,
		units.FormatCount(m.LargestRoomCPU))
	if m.LargestRoomLimit != "CPU" {
		roomModel += fmt.Sprintf("; %s limits it to %s", m.LargestRoomLimit, units.FormatCount(m.LargestRoom))
	}
	rests := []string{cpu.Label(), fmt.Sprintf("%s%% of members send", units.FormatSig(m.SenderFraction*100, 3)), "CPU-bound: N² deliveries/s"}
	if m.LargestRoomLimit == "memory" {
		rests = append(rests, kb.Label())
	}
	lines = append(lines, Line{Key: "largest_room", Quantity: "largest room one node serves at " + rateS,
		Blog:      "claim 5: ~1,000–2,000 users per 4-core server",
		BlogValue: nil,
		Model:     roomModel,
		Value:     m.LargestRoom, Unit: "members", Text: units.FormatCount(m.LargestRoom) + " members",
		RestsOn: rests})

	// 9. Users per node in smaller rooms.
	if p.roomSize < p.users {
		lines = append(lines, Line{Key: "users_per_node", Quantity: fmt.Sprintf("users one node holds in rooms of %s", units.FormatCount(p.roomSize)),
			Blog: "",
			Model: fmt.Sprintf("%s cores × 10⁶ / %s / (%s/s × %s) = %s users (limit: %s)", units.FormatSig(c.Cores, 3), cpu.Text,
				units.FormatSig(m.SenderFraction*c.RatePerS, 3), units.FormatCount(p.roomSize), units.FormatCount(m.UsersPerNode), m.UsersPerNodeLimit),
			Value: m.UsersPerNode, Unit: "users", Text: units.FormatCount(m.UsersPerNode) + " users",
			RestsOn: []string{cpu.Label(), kb.Label()}})
	}

	// 10. Egress against the NIC.
	if c.NICBitsPerS > 0 {
		share := m.EgressBytesPerS * 8 / c.NICBitsPerS
		lines = append(lines, Line{Key: "nic_share", Quantity: "egress / NIC",
			Model: fmt.Sprintf("%s / %s = %s%%", units.FormatBits(m.EgressBytesPerS*8), units.FormatBits(c.NICBitsPerS), units.FormatSig(share*100, 3)),
			Value: share * 100, Unit: "%", Text: units.FormatSig(share*100, 3) + "%",
			RestsOn: []string{units.FormatBits(c.NICBitsPerS) + " NIC (given, --nic)"}})
	}
	return lines
}

// formatNum writes a whole number to the digit (10,000,000) and anything
// else to four significant digits (0.1667).
func formatNum(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return units.FormatCount(v)
	}
	return units.FormatSig(v, 4)
}
