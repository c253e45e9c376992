package estimate

import (
	"math"
)

// Defaults used where nothing is given or measured. Each is reported with
// its source, so a reader knows which numbers are guesses.
const (
	// BlogKBPerConn is the blog's "each WebSocket costs ~10 KB of server
	// memory" (claim 1). It is the default because it is the number the
	// reader came with; a Go server with two goroutines and buffers per
	// connection usually needs more, which a measurement shows.
	BlogKBPerConn = 10.0
	// DefaultCPUUsPerDelivery is CPU time per delivery (one frame written to
	// one receiver) on the server. A delivery without batching is about one
	// write(2) of a small frame plus queueing: 1–5 µs on current Linux
	// hardware; 3 µs is the middle of that range. Replace it with a measured
	// value (swarm scrapes the server's CPU) whenever possible.
	DefaultCPUUsPerDelivery = 3.0
	// DefaultCPUUsPerBrokerMsg is the app node's CPU per message it publishes
	// to or receives from a broker (Redis, RabbitMQ): a network read or write
	// and a decode, a few times a local delivery. Used only for planning.
	DefaultCPUUsPerBrokerMsg = 10.0
	// DefaultUserNameBytes and DefaultRoomNameBytes size the JSON envelope
	// {"user":"U","room":"R","message":"M"}: an 8-byte user name and the
	// server's default room "chat".
	DefaultUserNameBytes = 8
	DefaultRoomNameBytes = 4
	// envelopeOverhead is len(`{"user":"","room":"","message":""}`).
	envelopeOverhead = 34
	// BlogRAMBytes, BlogCores, BlogUsers, BlogRatePerS and BlogSizeBytes are
	// the blog's example: a 4-core/8 GB server, 1,000 users sending
	// 10 messages/s of 100 bytes.
	BlogRAMBytes  = 8e9
	BlogCores     = 4.0
	BlogUsers     = 1000
	BlogRatePerS  = 10.0
	BlogSizeBytes = 100.0
)

// ServerFrameHeader is the size of a server-to-client WebSocket frame header
// (RFC 6455 §5.2, unmasked) for a payload of n bytes.
func ServerFrameHeader(n float64) float64 {
	switch {
	case n <= 125:
		return 2
	case n <= 65535:
		return 4
	}
	return 10
}

// ClientFrameHeader is the size of a client-to-server frame header: the
// server's plus the 4-byte masking key every client frame carries.
func ClientFrameHeader(n float64) float64 { return ServerFrameHeader(n) + 4 }

// EnvelopeBytes is the size of {"user":"U","room":"R","message":"M"} for
// names and a message that need no JSON escaping.
func EnvelopeBytes(userLen, roomLen, msgLen float64) float64 {
	return envelopeOverhead + userLen + roomLen + msgLen
}

// DeliveryFrameBytes is the bytes on the wire (above TCP) for one delivery of
// a message of size bytes: frame header plus envelope.
func DeliveryFrameBytes(userLen, roomLen, size float64) float64 {
	env := EnvelopeBytes(userLen, roomLen, size)
	return ServerFrameHeader(env) + env
}

// DeliveriesPerS is the fan-out: every message sent is delivered to every
// member of its room, the sender included (the reference server's protocol).
func DeliveriesPerS(senders, ratePerS, roomSize float64) float64 {
	return senders * ratePerS * roomSize
}

// DeliveryCapacity is how many deliveries per second cores can do at cpuUs
// CPU microseconds each.
func DeliveryCapacity(cores, cpuUs float64) float64 { return cores * 1e6 / cpuUs }

// LargestRoom solves senders×rate×N ≤ capacity for one room of N members of
// whom a fraction senderFrac send (senders = senderFrac×N):
// N = √(capacity / (rate × senderFrac)), rounded down.
func LargestRoom(capacityPerS, ratePerS, senderFrac float64) float64 {
	if ratePerS <= 0 || senderFrac <= 0 {
		return math.Inf(1)
	}
	return math.Floor(math.Sqrt(capacityPerS / (ratePerS * senderFrac)))
}

// ConnsInRAM is how many connections fit in ramBytes at kbPerConn KB
// (1 KB = 1,000 B) each, rounded down.
func ConnsInRAM(ramBytes, kbPerConn float64) float64 {
	return math.Floor(ramBytes / (kbPerConn * 1000))
}

// Model is the fan-out model's numbers for one Config.
type Model struct {
	Users          float64 `json:"users"`
	RoomSize       float64 `json:"room_size"`
	Rooms          float64 `json:"rooms"`
	Senders        float64 `json:"senders"`
	SenderFraction float64 `json:"sender_fraction"`
	RatePerS       float64 `json:"rate_per_s"`
	SizeBytes      float64 `json:"size_bytes"`

	EnvelopeBytes     float64 `json:"envelope_bytes"`
	FrameBytes        float64 `json:"frame_bytes"`         // server->client, per delivery
	IngressFrameBytes float64 `json:"ingress_frame_bytes"` // client->server, per message

	MessagesPerS     float64 `json:"messages_per_s"`
	DeliveriesPerS   float64 `json:"deliveries_per_s"`
	IngressBytesPerS float64 `json:"ingress_bytes_per_s"`
	EgressBytesPerS  float64 `json:"egress_bytes_per_s"`

	DeliveryCapacityPerS float64 `json:"delivery_capacity_per_s"`
	CPUCoresNeeded       float64 `json:"cpu_cores_needed"`
	ConnsInRAM           float64 `json:"conns_in_ram"`
	RAMNeededBytes       float64 `json:"ram_needed_bytes"`
	LargestRoomCPU       float64 `json:"largest_room_cpu"`
	LargestRoomNIC       float64 `json:"largest_room_nic,omitempty"` // 0: no NIC limit given
	LargestRoom          float64 `json:"largest_room"`               // min of CPU, RAM, NIC
	LargestRoomLimit     string  `json:"largest_room_limit"`
	UsersPerNode         float64 `json:"users_per_node"` // in rooms of RoomSize
	UsersPerNodeLimit    string  `json:"users_per_node_limit"`
}

// params are the resolved assumptions the model runs on.
type params struct {
	ram, cores, rate, size, nicBytes float64
	users, roomSize, senders         float64
	kbPerConn, cpuUs                 float64
	userLen, roomLen                 float64
}

func computeModel(p params) Model {
	m := Model{Users: p.users, RoomSize: p.roomSize, Senders: p.senders, RatePerS: p.rate, SizeBytes: p.size}
	m.Rooms = math.Ceil(p.users / p.roomSize)
	m.SenderFraction = p.senders / p.users
	m.EnvelopeBytes = EnvelopeBytes(p.userLen, p.roomLen, p.size)
	m.FrameBytes = DeliveryFrameBytes(p.userLen, p.roomLen, p.size)
	m.IngressFrameBytes = ClientFrameHeader(p.size) + p.size
	m.MessagesPerS = p.senders * p.rate
	m.DeliveriesPerS = DeliveriesPerS(p.senders, p.rate, p.roomSize)
	m.IngressBytesPerS = m.MessagesPerS * m.IngressFrameBytes
	m.EgressBytesPerS = m.DeliveriesPerS * m.FrameBytes
	m.DeliveryCapacityPerS = DeliveryCapacity(p.cores, p.cpuUs)
	m.CPUCoresNeeded = m.DeliveriesPerS * p.cpuUs / 1e6
	m.ConnsInRAM = ConnsInRAM(p.ram, p.kbPerConn)
	m.RAMNeededBytes = p.users * p.kbPerConn * 1000

	m.LargestRoomCPU = LargestRoom(m.DeliveryCapacityPerS, p.rate, m.SenderFraction)
	m.LargestRoom, m.LargestRoomLimit = m.LargestRoomCPU, "CPU"
	if m.ConnsInRAM < m.LargestRoom {
		m.LargestRoom, m.LargestRoomLimit = m.ConnsInRAM, "memory"
	}
	if p.nicBytes > 0 {
		m.LargestRoomNIC = LargestRoom(p.nicBytes/m.FrameBytes, p.rate, m.SenderFraction)
		if m.LargestRoomNIC < m.LargestRoom {
			m.LargestRoom, m.LargestRoomLimit = m.LargestRoomNIC, "egress"
		}
	}
	m.UsersPerNode, m.UsersPerNodeLimit = usersPerNode(p.cores*1e6/p.cpuUs, p.ram, p.kbPerConn, p.nicBytes, m.FrameBytes, m.SenderFraction*p.rate, p.roomSize)
	return m
}

// usersPerNode is how many users one node holds when rooms have roomSize
// members and each user sends msgsPerUser messages/s: each user causes
// msgsPerUser×roomSize deliveries/s.
func usersPerNode(deliveryCap, ram, kbPerConn, nicBytes, frameBytes, msgsPerUser, roomSize float64) (float64, string) {
	n, limit := ConnsInRAM(ram, kbPerConn), "memory"
	if d := msgsPerUser * roomSize; d > 0 {
		if c := math.Floor(deliveryCap / d); c < n {
			n, limit = c, "CPU"
		}
		if nicBytes > 0 {
			if c := math.Floor(nicBytes / (d * frameBytes)); c < n {
				n, limit = c, "egress"
			}
		}
	}
	return n, limit
}
