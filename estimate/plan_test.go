package estimate

import (
	"math"
	"strings"
	"testing"

	"github.com/chatbench/chatbench/internal/units"
)

func planInput(users float64) PlanInput {
	a := func(v float64) Assumption {
		return Assumption{Value: v, Text: units.FormatSig(v, 3), Source: SourceDefault}
	}
	per := map[string][2]Assumption{}
	for _, b := range Backends {
		per[b] = [2]Assumption{a(10), a(10)} // 10 KB/conn, 10 µs/delivery
	}
	return PlanInput{TargetUsers: users, RoomSize: 10, SenderFraction: 1, RatePerS: 1, Cores: 2, RAMBytes: 1e9,
		FrameBytes: 150, CPUBrokerUs: a(10), PerBackend: per}
}

func planRow(t *testing.T, p *Plan, b string) PlanRow {
	t.Helper()
	for _, r := range p.Rows {
		if r.Backend == b {
			return r
		}
	}
	t.Fatalf("no row %s", b)
	return PlanRow{}
}

func TestNodesPerRoom(t *testing.T) {
	check(t, "1 node", NodesPerRoom(1, 50), 1)
	check(t, "2 nodes, room 1", NodesPerRoom(2, 1), 1)
	check(t, "2 nodes, room 2", NodesPerRoom(2, 2), 1.5) // 2(1 − ¼)
	if got := NodesPerRoom(1e6, 50); math.Abs(got-50) > 0.01 {
		t.Errorf("many nodes: %v, want ≈ 50", got)
	}
}

// Hand-computed: 10,000 users, rooms of 10, 1/s: 100,000 deliveries/s ×
// 10 µs = 1 core on a 2-core node: memory fits on one node.
func TestPlanMemoryFits(t *testing.T) {
	p := BuildPlan(planInput(10000))
	m := planRow(t, p, "memory")
	if !m.Fits || m.Nodes != 1 {
		t.Errorf("memory row %+v", m)
	}
	check(t, "cpu/node", m.CPUPerNodeCores, 1)
	check(t, "egress/node", m.EgressPerNodeBytes, 100000*150)
	check(t, "users/node capacity", m.UsersPerNode, 20000) // 2e6/10 µs = 200k deliveries/s ÷ 10 per user
}

// Hand-computed: 100,000 users → 1M deliveries/s × 10 µs = 10 cores: memory
// does not fit. With a broker, k nodes each use (10 + 1 + m(k)) / k cores
// (deliveries, publishes, receives with m(k) = k(1−(1−1/k)^10) nodes per
// room): k = 8 gives 2.11 > 2, k = 9 gives 1.91 ≤ 2, so 9 nodes.
func TestPlanBrokerNodes(t *testing.T) {
	p := BuildPlan(planInput(100000))
	m := planRow(t, p, "memory")
	if m.Fits || m.Nodes != 0 || m.LimitedBy != "CPU" || !strings.Contains(m.Note, "does not fit: one node holds at most 20,000 users") {
		t.Errorf("memory row %+v", m)
	}
	for _, b := range []string{"redis", "rabbitmq"} {
		r := planRow(t, p, b)
		if !r.Fits || r.Nodes != 9 {
			t.Errorf("%s: %+v, want 9 nodes", b, r)
		}
		check(t, b+" publishes/s", r.BrokerPublishesPerS, 100000)
		check(t, b+" broker->nodes/s", r.BrokerDeliveriesPerS, 100000*9*(1-math.Pow(8.0/9, 10)))
		check(t, b+" egress/node", r.EgressPerNodeBytes, 1e6/9*150)
		if r.CPUPerNodeCores > 2 || r.CPUPerNodeCores < 1.9 {
			t.Errorf("%s cpu/node %v, want 1.91", b, r.CPUPerNodeCores)
		}
	}
}

func TestPlanUsesMeasuredPerBackend(t *testing.T) {
	c := blogConfig()
	c.TargetUsers, c.RoomSize = 1_000_000, 50
	c.Evidence = fixtures(t, "swarm-memory-1000.json", "sweep-redis.json")
	r, err := Build(c)
	if err != nil {
		t.Fatal(err)
	}
	red, rab := planRow(t, r.Plan, "redis"), planRow(t, r.Plan, "rabbitmq")
	if !strings.Contains(red.CPUUsPerDelivery, "2.6 µs (measured from sweep-redis.json") {
		t.Errorf("redis cpu %q", red.CPUUsPerDelivery)
	}
	if !strings.Contains(rab.CPUUsPerDelivery, "2 µs (measured from swarm-memory-1000.json, no rabbitmq run)") {
		t.Errorf("rabbitmq cpu %q", rab.CPUUsPerDelivery)
	}
	if red.Nodes <= rab.Nodes {
		t.Errorf("redis (2.6 µs) needs more nodes than rabbitmq (2 µs): %v vs %v", red.Nodes, rab.Nodes)
	}
}
