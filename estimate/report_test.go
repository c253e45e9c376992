package estimate

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/chatbench/chatbench/internal/units"
)

func fullReport(t *testing.T) *Report {
	t.Helper()
	c := blogConfig()
	c.TargetUsers, c.RoomSize, c.NICBitsPerS = 1_000_000, 50, 10e9
	c.Given = map[string]bool{"room-size": true}
	c.Evidence = fixtures(t, "swarm-memory-1000.json", "sweep-memory.json", "sweep-redis.json")
	r, err := Build(c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The table and --json carry the same numbers: every value in the JSON,
// formatted, is in the table on the row it belongs to.
func TestTableAndJSONAgree(t *testing.T) {
	r := fullReport(t)
	var tbl, js bytes.Buffer
	if err := r.WriteTable(&tbl); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(tbl.String(), "\n")
	rowWith := func(prefix string) string {
		for _, l := range rows {
			if strings.HasPrefix(l, prefix) {
				return l
			}
		}
		t.Fatalf("no table row starting %q in\n%s", prefix, tbl.String())
		return ""
	}
	if len(back.Lines) < 8 {
		t.Fatalf("JSON has %d lines", len(back.Lines))
	}
	for _, l := range back.Lines {
		row := rowWith(l.Quantity + " ")
		if !strings.Contains(row, l.Model) || !strings.Contains(l.Model, l.Text) && !strings.Contains(l.Model, strings.TrimSuffix(l.Text, "/s")) {
			t.Errorf("line %s: table row %q lacks model %q / value %q", l.Key, row, l.Model, l.Text)
		}
		if l.Blog != "" && !strings.Contains(row, l.Blog) {
			t.Errorf("line %s: table row lacks blog %q", l.Key, l.Blog)
		}
	}
	// Two servers: a column each, the verdict and first figure in the cell.
	if len(back.Servers) != 2 || len(back.Claims) != 2*len(Claims) {
		t.Fatalf("servers %q, %d checks", back.Servers, len(back.Claims))
	}
	for _, c := range back.Claims {
		row := rowWith(c.ID + " ")
		want := []string{c.Text, c.Blog, c.Verdict}
		if c.VerdictKind == VerdictNotApplicable {
			want[2] = "n/a (about " + c.About + ")"
		}
		if len(c.Figures) > 0 {
			f := c.Figures[0]
			want = append(want, f.Label+" "+f.Text+" ("+f.Source+")")
		}
		for _, w := range want {
			if !strings.Contains(row, w) {
				t.Errorf("claim %s [%s]: row %q lacks %q", c.ID, c.Server, row, w)
			}
		}
	}
	for _, a := range back.Assumptions {
		row := rowWith(a.Name + " ")
		if !strings.Contains(row, a.Text) || !strings.Contains(row, a.SourceText()) {
			t.Errorf("assumption %s: row %q lacks %q / %q", a.Key, row, a.Text, a.SourceText())
		}
	}
	if back.Plan == nil || len(back.Plan.Rows) != 3 {
		t.Fatalf("plan %+v", back.Plan)
	}
	for _, p := range back.Plan.Rows {
		row := rowWith(p.Backend + "  ")
		want := []string{units.FormatCount(p.UsersPerNode), units.FormatSig(p.DeliveriesPerS, 4), units.FormatBytes(p.EgressPerNodeBytes) + "/s"}
		if p.Fits {
			want = append(want, units.FormatCount(p.Nodes))
		}
		if p.Backend != "memory" {
			want = append(want, units.FormatSig(p.BrokerPublishesPerS, 4), units.FormatSig(p.BrokerDeliveriesPerS, 4))
		}
		for _, w := range want {
			if !strings.Contains(row, w) {
				t.Errorf("plan %s: row %q lacks %q", p.Backend, row, w)
			}
		}
	}
	// The JSON's numbers are the model's, not re-derived.
	if back.Model.DeliveriesPerS != r.Model.DeliveriesPerS || back.Inputs.Users != 1000 || back.Schema != ReportSchema {
		t.Errorf("JSON model/inputs differ: %+v", back.Inputs)
	}
}

func TestTableNamesSources(t *testing.T) {
	var b bytes.Buffer
	r := fullReport(t)
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"measured from swarm-memory-1000.json", // memory per connection
		"THE BLOG'S CLAIMS (FROM swarm-memory-1000.json, sweep-memory.json, sweep-redis.json)",
		"SCENARIO: FROM swarm-memory-1000.json, sweep-memory.json, sweep-redis.json UNLESS GIVEN",
		"how measured:",
		"verdict: holds within 2×",
		"PLAN: 1,000,000 USERS IN ROOMS OF 50",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q", want)
		}
	}
	// The scenario, field by field, with its source: measured unless given.
	for _, want := range [][]string{
		{"users", "1,000", "measured in swarm-memory-1000.json"},
		{"room-size", "50", "given (overrides one room of everyone measured in swarm-memory-1000.json)"},
		{"rate", "1/s", "measured in swarm-memory-1000.json"},
		{"server", "chatbench serve memory", "measured in swarm-memory-1000.json"},
	} {
		found := false
		for _, l := range strings.Split(out, "\n") {
			f := strings.Fields(l)
			if len(f) > 2 && f[0] == want[0] && strings.Contains(l, "  "+want[1]+"  ") && strings.HasSuffix(l, want[2]) {
				found = true
			}
		}
		if !found {
			t.Errorf("scenario lacks %q", want)
		}
	}
}
