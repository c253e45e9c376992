package sweep

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/chatbench/chatbench/estimate"
	"github.com/chatbench/chatbench/estimate/sweep/sweeptest"
	"github.com/chatbench/chatbench/loadgen/results"
)

// A workload of rooms of 5 with 40% talking: a step of N users keeps the
// shape (N/5 rooms of 5, 0.4·N talkers at the rate), and the server's
// deliveries say so: 5 per message.
func TestSweepKeepsWorkloadShape(t *testing.T) {
	lc := quickLoad()
	lc.RoomSize, lc.Talkers, lc.Rate = 5, 0.4, 2
	res, _ := mustSweep(t, Config{Backends: []string{"memory"}, Start: inProcess(t), Load: lc, Rates: []float64{2}, StartN: 10, MaxN: 20,
		SLO: estimate.SLO{P99: 2 * time.Second}, Budget: time.Minute})
	if len(res.Steps) != 2 || res.Config.Shape != "rooms of 5, 40% talking (constant arrivals)" || res.Searches[0].Server != "chatbench serve memory" {
		t.Fatalf("steps %d, shape %q, server %q", len(res.Steps), res.Config.Shape, res.Searches[0].Server)
	}
	for _, s := range res.Steps {
		rc, sum := s.Result.Config, s.Result.Summary
		n := int(s.Clients)
		if rc.Clients != n || rc.Rooms != n/5 || rc.RoomSize != 5 || rc.Senders != n*2/5 || rc.RatePerS != 2 ||
			!strings.HasPrefix(s.Shape, fmt.Sprintf("%d clients in %d room(s) of 5, %d talking at 2/s", n, n/5, n*2/5)) || sum.Sent == 0 || sum.Expected != 5*sum.Sent || sum.Delivered != sum.Expected {
			t.Errorf("step %d: config %+v, sent %d expected %d delivered %d", n, rc, sum.Sent, sum.Expected, sum.Delivered)
		}
	}
}

// Room-rate mode: one room of N whose total rate is fixed at 20/s, so
// each step sends about 20/s × the steady phase whatever N is, and each
// message reaches all N.
func TestSweepRoomRate(t *testing.T) {
	tg := &sweeptest.Target{}
	lc := quickLoad()
	lc.Duration = time.Second
	res, err := sweepTarget(t, tg, Config{StartN: 5, MaxN: 10, Load: lc, Mode: results.ModeRoomRate, RoomRate: 20,
		Recovery: Recovery{MaxWait: 5 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Steps) != 2 || res.Config.Mode != results.ModeRoomRate || res.Config.RoomRatePerS != 20 || res.Searches[0].Mode != results.ModeRoomRate ||
		len(res.Knees) != 0 {
		t.Fatalf("steps %d config %+v", len(res.Steps), res.Config)
	}
	for _, s := range res.Steps {
		rc, sum := s.Result.Config, s.Result.Summary
		n := float64(s.Clients)
		if rc.RatePerS != 20/n || rc.Senders != int(n) || math.Abs(float64(sum.Sent)-20) > n || sum.Expected != sum.Sent*s.Clients {
			t.Errorf("step %v: rate %v senders %d sent %d expected %d", n, rc.RatePerS, rc.Senders, sum.Sent, sum.Expected)
		}
		// A second of steps is too few CPU ticks to measure: both say so.
		if d, m := s.CPUPerDeliveryUs, s.CPUPerMessageUs; d.OK() != m.OK() || !d.OK() && (d.Why == "" || m.Why != d.Why) {
			t.Errorf("step %v: cpu per delivery %+v, per message %+v", n, d, m)
		}
	}
}

// The server's CPU per message is its CPU per delivery times the
// deliveries each message owes; a figure not measured stays not measured.
func TestServerCPUPer(t *testing.T) {
	r := &results.Result{}
	r.Server.CPUPerMessage = results.Measured(3)
	r.Summary.Sent, r.Summary.Expected = 10, 50
	if d, m := serverCPUPer(r); d.Value != 3 || m.Value != 15 || !m.OK() {
		t.Errorf("per delivery %+v, per message %+v; want 3 and 15 µs", d, m)
	}
	r.Summary.Sent = 0
	if _, m := serverCPUPer(r); m.OK() || m.Why != "no message was sent in the steady phase" {
		t.Errorf("nothing sent: per message %+v", m)
	}
	r.Server.CPUPerMessage = results.NotMeasured("no server process")
	if d, m := serverCPUPer(r); d.OK() || m.Why != "no server process" {
		t.Errorf("not measured: %+v %+v", d, m)
	}
}
