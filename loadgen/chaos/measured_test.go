package chaos_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/chatbench/chatbench/loadgen/chaos"
	"github.com/chatbench/chatbench/loadgen/results"
)

// A fault whose swarm run was partial or invalid is not a measurement:
// the experiment fails (Unmeasured names the fault and why), the table
// leads with that and shows each run's outcome. An overloaded run is a
// measurement (losses under the fault are what is asked).
func TestUnmeasuredFaultFails(t *testing.T) {
	run := func(verdict string, reasons ...string) *results.Result {
		return &results.Result{Outcome: results.Outcome{Verdict: verdict, Reasons: reasons}}
	}
	res := results.NewChaos()
	res.Faults = []results.FaultRun{
		{Fault: chaos.BrokerRestart, Run: run(results.Complete)},
		{Fault: chaos.BrokerPause, Run: run(results.Overloaded, "connects failed")},
		{Fault: chaos.ConnDrop, Run: run(results.Partial, "a worker failed")},
	}
	err := chaos.Unmeasured(res)
	var nm *chaos.NotMeasuredError
	if !errors.As(err, &nm) || nm.Fault != chaos.ConnDrop || nm.Why != "partial: a worker failed" {
		t.Fatalf("Unmeasured = %v, want conn-drop's partial run named", err)
	}
	var out bytes.Buffer
	if err := chaos.WriteTable(&out, res); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out.String(), "\n")
	if !strings.HasPrefix(lines[0], "FAILED: conn-drop: its swarm run was partial: a worker failed") {
		t.Fatalf("first line %q, want the failure first", lines[0])
	}
	for fault, verdict := range map[string]string{chaos.BrokerRestart: "complete", chaos.BrokerPause: "overloaded", chaos.ConnDrop: "partial"} {
		found := false
		for _, l := range lines {
			if f := strings.Fields(l); len(f) > 1 && f[0] == fault {
				found = f[1] == verdict
			}
		}
		if !found {
			t.Errorf("no %s row with outcome %s in\n%s", fault, verdict, out.String())
		}
	}

	res.Faults = res.Faults[:2]
	if err := chaos.Unmeasured(res); err != nil {
		t.Fatalf("complete and overloaded runs: %v, want nil", err)
	}
	out.Reset()
	_ = chaos.WriteTable(&out, res)
	if strings.Contains(out.String(), "FAILED") {
		t.Fatalf("FAILED with every fault measured:\n%s", out.String())
	}
}
