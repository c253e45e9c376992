package estimate

import (
	"fmt"
	"math"

	"github.com/chatbench/chatbench/internal/units"
	"github.com/chatbench/chatbench/loadgen/results"
)

// Scenario is the load a results file ran, as estimate's question: users,
// their rooms, who talks how often with what size, on how many nodes of
// which server.
type Scenario struct {
	Source    string  `json:"source"`
	Server    string  `json:"server"`
	Users     int64   `json:"users"`
	RoomSize  int64   `json:"room_size"` // receivers per message; 0: one room of everyone
	Rooms     int64   `json:"rooms"`
	RoomSizes string  `json:"room_sizes,omitempty"`
	Senders   int64   `json:"senders"`
	RatePerS  float64 `json:"rate_per_s"`
	SizeBytes float64 `json:"size_bytes"`
	Nodes     int     `json:"nodes"`
}

// ScenarioField is one number of the question and where it came from:
// measured (the results file's load), given (a flag, which wins), or the
// blog's example when nothing was read.
type ScenarioField struct {
	Flag   string `json:"flag"`
	Text   string `json:"text"`
	Source string `json:"source"`
	From   string `json:"from,omitempty"`
	// Overrides is the measured value a given flag replaced.
	Overrides string `json:"overrides,omitempty"`
}

// scenarioFrom records the scenario of the first file read.
func (e *Evidence) scenarioFrom(source string, r *results.Result, server string) {
	if e.Scenario != nil || r == nil {
		return
	}
	run, ok := toRun(source, r, r.Config.Backend)
	if !ok {
		return
	}
	if server == "" {
		server = run.Server
	}
	sh := ShapeOf(run)
	e.Scenario = &Scenario{Source: source, Server: server, Users: run.Clients, RoomSize: int64(math.Round(sh.RoomSize)),
		Rooms: run.Rooms, RoomSizes: run.RoomSizes, Senders: run.Senders, RatePerS: run.RatePerS, SizeBytes: run.Size, Nodes: run.Nodes}
}

// scenarioStep is the step of a sweep whose load stands for it: the one at
// the first search's knee, else the last step that passed, else the first.
func scenarioStep(sw *results.Sweep) *results.Step {
	if len(sw.Searches) > 0 {
		se := sw.Searches[0]
		for i, st := range sw.Steps {
			if st.Backend == se.Backend && st.Clients == se.Knee && st.RatePerS == se.RatePerS && st.Result != nil {
				return &sw.Steps[i]
			}
		}
	}
	var pick *results.Step
	for i, st := range sw.Steps {
		if st.Result != nil && (pick == nil || st.OK) {
			pick = &sw.Steps[i]
		}
	}
	return pick
}

func stepIndex(sw *results.Sweep, st *results.Step) int {
	for i := range sw.Steps {
		if &sw.Steps[i] == st {
			return i
		}
	}
	return -1
}

// applyScenario takes the question from the files read: every field of c
// that was not given on the command line is replaced by the scenario's.
func applyScenario(c *Config) []ScenarioField {
	sc := (*Scenario)(nil)
	if c.Evidence != nil {
		sc = c.Evidence.Scenario
	}
	var out []ScenarioField
	field := func(flag string, given bool, cur, measured string, set func()) {
		f := ScenarioField{Flag: flag, Text: cur, Source: SourceBlog}
		switch {
		case sc == nil && given:
			f.Source = SourceGiven
		case sc == nil:
		case given:
			f.Source = SourceGiven
			if measured != cur {
				f.Overrides = measured + " measured in " + sc.Source
			}
		default:
			set()
			f.Text, f.Source, f.From = measured, SourceMeasured, sc.Source
		}
		out = append(out, f)
	}
	g := func(flag string) bool { return c.Given[flag] }
	var s Scenario
	if sc != nil {
		s = *sc
	}
	roomText := func(n int64) string {
		if n == 0 {
			return "one room of everyone"
		}
		return units.FormatCount(float64(n))
	}
	sendText := func(n, users int64) string {
		if n == 0 || n == users {
			return "every user"
		}
		return units.FormatCount(float64(n))
	}
	field("users", g("users"), units.FormatCount(float64(c.Users)), units.FormatCount(float64(s.Users)), func() { c.Users = s.Users })
	field("room-size", g("room-size"), roomText(c.RoomSize), roomText(s.RoomSize), func() {
		c.RoomSize = s.RoomSize
		if c.RoomSize > c.Users {
			c.RoomSize = 0 // fewer users given than the file's rooms held: one room of them
		}
	})
	field("senders", g("senders"), sendText(c.Senders, c.Users), sendText(s.Senders, s.Users), func() {
		// The same share of talkers when --users changes the count.
		c.Senders = s.Senders
		if s.Users > 0 && c.Users != s.Users {
			c.Senders = max(1, int64(math.Round(float64(c.Users)*float64(s.Senders)/float64(s.Users))))
		}
	})
	field("rate", g("rate"), units.FormatRate(c.RatePerS), units.FormatRate(s.RatePerS), func() { c.RatePerS = s.RatePerS })
	field("size", g("size"), units.FormatBytes(c.SizeBytes), units.FormatBytes(s.SizeBytes), func() { c.SizeBytes = s.SizeBytes })
	if sc != nil {
		out = append(out, ScenarioField{Flag: "nodes", Text: fmt.Sprint(s.Nodes), Source: SourceMeasured, From: sc.Source},
			ScenarioField{Flag: "server", Text: s.Server, Source: SourceMeasured, From: sc.Source})
		if s.Rooms > 1 && s.RoomSizes != "" {
			out = append(out, ScenarioField{Flag: "rooms", Text: fmt.Sprintf("%s rooms, sizes %s", units.FormatCount(float64(s.Rooms)), s.RoomSizes),
				Source: SourceMeasured, From: sc.Source})
		}
	}
	return out
}
