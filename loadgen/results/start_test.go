package results_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chatbench/chatbench/loadgen/results"
)

func startedRun(id string, asked, started time.Time) *results.Result {
	r := results.NewResult()
	r.Config.RunID, r.Config.StartAt, r.Config.SendStartedAt = id, asked, started
	return r
}

// The spread of the merged runs' send starts is the latest minus the
// earliest, however the merges are grouped, and it is noted when they
// shared a --start-at.
func TestMergeReportsStartSpread(t *testing.T) {
	asked := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	a := startedRun("a", asked, asked.Add(10*time.Millisecond))
	b := startedRun("b", asked, asked.Add(40*time.Millisecond))
	c := startedRun("c", asked, asked.Add(2*time.Millisecond))
	never := startedRun("d", asked, time.Time{}) // ended before sending: not counted

	all, err := results.Merge(a, b, c, never)
	if err != nil {
		t.Fatal(err)
	}
	ab, err := results.Merge(b, a)
	if err != nil {
		t.Fatal(err)
	}
	nested, err := results.Merge(c, ab)
	if err != nil {
		t.Fatal(err)
	}
	for name, m := range map[string]*results.Result{"flat": all, "nested": nested} {
		if !m.Config.SendStartedAt.Equal(asked.Add(2*time.Millisecond)) || m.Config.SendStartSpreadS != 0.038 || !m.Config.StartAt.Equal(asked) {
			t.Errorf("%s: started %v spread %v s asked %v; want the earliest (+2 ms), 38 ms and the shared start",
				name, m.Config.SendStartedAt, m.Config.SendStartSpreadS, m.Config.StartAt)
		}
	}
	if n := strings.Join(all.Notes, "\n"); !strings.Contains(n, "within 38ms of each other (asked: 2030-01-02T03:04:05Z") {
		t.Errorf("notes %q do not give the spread", all.Notes)
	}
	if ab.Config.SendStartSpreadS != 0.03 {
		t.Errorf("a+b spread %v, want 0.03", ab.Config.SendStartSpreadS)
	}

	// Runs without a shared start: the spread is kept, not noted.
	other := startedRun("e", asked.Add(time.Minute), asked.Add(time.Minute))
	m, err := results.Merge(a, other)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Config.StartAt.IsZero() || m.Config.SendStartSpreadS != 60-0.01 || strings.Contains(strings.Join(m.Notes, ""), "started sending within") {
		t.Errorf("different starts: asked %v spread %v notes %q", m.Config.StartAt, m.Config.SendStartSpreadS, m.Notes)
	}
	one, err := results.Merge(a)
	if err != nil || one.Config.SendStartSpreadS != 0 || len(one.Notes) != 0 {
		t.Errorf("one run merged: spread %v notes %q (%v)", one.Config.SendStartSpreadS, one.Notes, err)
	}
}
