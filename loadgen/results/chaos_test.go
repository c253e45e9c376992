package results

import (
	"bytes"
	"testing"
)

func TestChaosFileRoundTrips(t *testing.T) {
	c := NewChaos()
	c.Config = ChaosConfig{Backend: "rabbitmq", Mode: Guarantee, Nodes: 2, Faults: []string{"broker-restart"}}
	gap := 1.25
	c.Faults = []FaultRun{{Fault: "broker-restart", Expected: 1000, Delivered: 990, Lost: 10, Duplicated: 3, GapS: &gap, Run: NewResult()}}
	var b bytes.Buffer
	if err := c.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	f, err := Decode("chaos.json", b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if f.Kind != KindChaos || f.Chaos == nil {
		t.Fatalf("kind %q, chaos %v", f.Kind, f.Chaos)
	}
	got := f.Chaos.Faults[0]
	if got.Lost != 10 || got.Duplicated != 3 || got.GapS == nil || *got.GapS != gap || got.ReadyAgainS != nil {
		t.Fatalf("fault run %+v", got)
	}
	if f.Chaos.Config.Mode != Guarantee || got.Run.Histograms.LatencyDue == nil {
		t.Fatalf("config %+v, run histograms not filled", f.Chaos.Config)
	}
}
