package estimate

import (
	"fmt"
	"math"

	"github.com/chatbench/chatbench/internal/units"
)

// PlanInput is the planning question: TargetUsers in rooms of RoomSize on
// nodes of Cores and RAMBytes.
type PlanInput struct {
	TargetUsers    float64
	RoomSize       float64
	SenderFraction float64 // share of users who send
	RatePerS       float64 // per sender
	Cores          float64
	RAMBytes       float64
	NICBytesPerS   float64 // 0: not limited
	FrameBytes     float64 // per delivery
	CPUBrokerUs    Assumption
	// PerBackend holds [memory per connection, CPU per delivery] for each
	// backend: measured with that backend when results have it.
	PerBackend map[string][2]Assumption
}

// Plan is the planning answer, one row per backend.
type Plan struct {
	TargetUsers float64   `json:"target_users"`
	RoomSize    float64   `json:"room_size"`
	RatePerS    float64   `json:"rate_per_s"`
	Rows        []PlanRow `json:"rows"`
	Placement   string    `json:"placement"`
}

// PlanRow is one backend's answer.
type PlanRow struct {
	Backend              string  `json:"backend"`
	Fits                 bool    `json:"fits"`
	Nodes                float64 `json:"nodes"` // 0 when it does not fit
	UsersPerNode         float64 `json:"users_per_node"`
	LimitedBy            string  `json:"limited_by"` // CPU, memory, egress
	DeliveriesPerS       float64 `json:"deliveries_per_s"`
	BrokerPublishesPerS  float64 `json:"broker_publishes_per_s"`
	BrokerDeliveriesPerS float64 `json:"broker_deliveries_per_s"` // broker -> nodes
	EgressPerNodeBytes   float64 `json:"egress_per_node_bytes_per_s"`
	CPUPerNodeCores      float64 `json:"cpu_per_node_cores"`
	KBPerConn            string  `json:"kb_per_conn"`         // text with source
	CPUUsPerDelivery     string  `json:"cpu_us_per_delivery"` // text with source
	Note                 string  `json:"note,omitempty"`
}

// NodesPerRoom is the expected number of distinct nodes that hold members of
// one room of roomSize when members land on nodes independently and
// uniformly (a load balancer without room affinity): k(1 − (1 − 1/k)^n).
func NodesPerRoom(nodes, roomSize float64) float64 {
	if nodes <= 1 {
		return 1
	}
	return nodes * (1 - math.Pow(1-1/nodes, roomSize))
}

// nodeLoad is one node's share when users spread evenly over nodes.
type nodeLoad struct {
	deliveries, brokerMsgs, cpuCores, egress, ram float64
}

func loadPerNode(in PlanInput, nodes, kbPerConn, cpuUs float64, broker bool) nodeLoad {
	users := in.TargetUsers / nodes
	pubs := in.TargetUsers * in.SenderFraction * in.RatePerS
	var l nodeLoad
	l.deliveries = pubs * in.RoomSize / nodes
	if broker {
		// Each node publishes its own senders' messages and receives one copy
		// of each message for every room it has members of.
		l.brokerMsgs = (pubs + pubs*NodesPerRoom(nodes, in.RoomSize)) / nodes
	}
	l.cpuCores = (l.deliveries*cpuUs + l.brokerMsgs*in.CPUBrokerUs.Value) / 1e6
	l.egress = l.deliveries * in.FrameBytes
	l.ram = users * kbPerConn * 1000
	return l
}

func (in PlanInput) fits(l nodeLoad) (bool, string) {
	switch {
	case l.cpuCores > in.Cores:
		return false, "CPU"
	case l.ram > in.RAMBytes:
		return false, "memory"
	case in.NICBytesPerS > 0 && l.egress > in.NICBytesPerS:
		return false, "egress"
	}
	return true, ""
}

// maxPlanNodes bounds the node search; beyond it planning says "does not fit".
const maxPlanNodes = 1e7

// BuildPlan answers the planning question for each backend.
func BuildPlan(in PlanInput) *Plan {
	p := &Plan{TargetUsers: in.TargetUsers, RoomSize: in.RoomSize, RatePerS: in.RatePerS,
		Placement: "users spread evenly over nodes, rooms not pinned to nodes (each room reaches k(1−(1−1/k)^n) of k nodes)"}
	pubs := in.TargetUsers * in.SenderFraction * in.RatePerS
	for _, b := range Backends {
		kb, cpu := in.PerBackend[b][0], in.PerBackend[b][1]
		row := PlanRow{Backend: b, DeliveriesPerS: pubs * in.RoomSize,
			KBPerConn: kb.Text + " (" + kb.SourceText() + ")", CPUUsPerDelivery: cpu.Text + " (" + cpu.SourceText() + ")"}
		capUsers, limit := usersPerNode(DeliveryCapacity(in.Cores, cpu.Value), in.RAMBytes, kb.Value, in.NICBytesPerS, in.FrameBytes,
			in.SenderFraction*in.RatePerS, in.RoomSize)
		row.UsersPerNode = capUsers
		if b == "memory" {
			one := loadPerNode(in, 1, kb.Value, cpu.Value, false)
			ok, lim := in.fits(one)
			row.EgressPerNodeBytes, row.CPUPerNodeCores = one.egress, one.cpuCores
			if ok {
				row.Fits, row.Nodes, row.LimitedBy = true, 1, limit
				row.Note = "one node"
			} else {
				row.LimitedBy = lim
				row.Note = fmt.Sprintf("does not fit: one node holds at most %s users in rooms of %s at %s (limit: %s); memory has no way between nodes",
					units.FormatCount(capUsers), units.FormatCount(in.RoomSize), units.FormatRate(in.RatePerS), lim)
			}
			p.Rows = append(p.Rows, row)
			continue
		}
		// Smallest k whose per-node load fits; per-node load falls as k grows.
		lo := math.Max(1, math.Ceil(in.TargetUsers/math.Max(capUsers, 1)))
		hi := lo
		for {
			if ok, _ := in.fits(loadPerNode(in, hi, kb.Value, cpu.Value, true)); ok {
				break
			}
			if hi >= maxPlanNodes {
				hi = 0
				break
			}
			hi = math.Min(hi*2, maxPlanNodes)
		}
		if hi == 0 {
			_, lim := in.fits(loadPerNode(in, maxPlanNodes, kb.Value, cpu.Value, true))
			row.LimitedBy = lim
			row.Note = fmt.Sprintf("does not fit in %s nodes", units.FormatCount(maxPlanNodes))
			p.Rows = append(p.Rows, row)
			continue
		}
		for lo < hi {
			mid := math.Floor((lo + hi) / 2)
			if ok, _ := in.fits(loadPerNode(in, mid, kb.Value, cpu.Value, true)); ok {
				hi = mid
			} else {
				lo = mid + 1
			}
		}
		k := hi
		l := loadPerNode(in, k, kb.Value, cpu.Value, true)
		row.Fits, row.Nodes = true, k
		row.UsersPerNode = math.Ceil(in.TargetUsers / k)
		_, row.LimitedBy = in.fits(loadPerNode(in, math.Max(k-1, 1), kb.Value, cpu.Value, true))
		if k == 1 {
			row.LimitedBy = limit
		}
		row.BrokerPublishesPerS = pubs
		row.BrokerDeliveriesPerS = pubs * NodesPerRoom(k, in.RoomSize)
		row.EgressPerNodeBytes, row.CPUPerNodeCores = l.egress, l.cpuCores
		row.Note = fmt.Sprintf("each message reaches %s nodes; node CPU includes %s per broker message (%s)",
			units.FormatSig(NodesPerRoom(k, in.RoomSize), 3), in.CPUBrokerUs.Text, in.CPUBrokerUs.SourceText())
		p.Rows = append(p.Rows, row)
	}
	return p
}
