package estimate

import (
	"fmt"
	"math"

	"github.com/chatbench/chatbench/internal/units"
)

// Shape is a load's shape as far as capacity goes: how many receivers a
// message has, who talks, how often. RoomSize 0 means one room of every
// user (receivers grow with the users); otherwise it is the receivers of
// an average message, fixed as users grow (many rooms).
type Shape struct {
	RoomSize float64 `json:"room_size"` // 0: one room of everyone
	Talkers  float64 `json:"talkers"`   // share of users who send, 0–1
	RatePerS float64 `json:"rate_per_s"`
	// Text says how the rooms were given ("zipf s=2 max=500"), when known.
	Text string `json:"text,omitempty"`
}

// The shapes the blog's claims are stated in. The blog's own model: one
// room of every user, everyone sending 10 msg/s. Claims 7a and 8 give no
// shape, and one room of 10,000 users is 10⁹ deliveries/s at 10/s, so they
// are judged in a many-rooms chat: rooms of 50, one user in 10 talking at
// 1 msg/s (5 deliveries/s per user).
var (
	BlogShape      = Shape{RoomSize: 0, Talkers: 1, RatePerS: BlogRatePerS}
	ManyRoomsShape = Shape{RoomSize: 50, Talkers: 0.1, RatePerS: 1}
)

// String is "one room of everyone, 100% talk at 10/s" or "rooms of 50, 10%
// talk at 1/s".
func (s Shape) String() string {
	rooms := "one room of everyone"
	if s.RoomSize > 0 {
		rooms = "rooms of " + units.FormatSig(s.RoomSize, 3)
		if s.Text != "" {
			rooms = fmt.Sprintf("rooms %s (%s receivers per message)", s.Text, units.FormatSig(s.RoomSize, 3))
		}
	}
	return fmt.Sprintf("%s, %s%% talk at %s", rooms, units.FormatSig(s.Talkers*100, 3), units.FormatRate(s.RatePerS))
}

// DeliveriesPerS is what users in shape s ask of a server: talkers × rate
// × receivers, the receivers being every user in one room.
func (s Shape) DeliveriesPerS(users float64) float64 {
	recv := s.RoomSize
	if recv <= 0 || recv > users {
		recv = users
	}
	return users * s.talkers() * s.RatePerS * recv
}

// UsersAt is the inverse: the users a delivery capacity serves in shape s.
func (s Shape) UsersAt(deliveriesPerS float64) float64 {
	per := s.talkers() * s.RatePerS
	if per <= 0 {
		return math.Inf(1)
	}
	oneRoom := math.Sqrt(deliveriesPerS / per)
	if s.RoomSize <= 0 || oneRoom <= s.RoomSize {
		return oneRoom
	}
	return deliveriesPerS / (per * s.RoomSize)
}

func (s Shape) talkers() float64 {
	if s.Talkers <= 0 {
		return 1
	}
	return s.Talkers
}

// ScaleClaim is the one scaling rule for the blog's users-per-server
// claims, used by estimate and by sweep's table: a claim of users on
// fromCores in shape from asks a delivery capacity (from.DeliveriesPerS);
// capacity grows with cores; the same capacity on toCores serves
// to.UsersAt(capacity) users in shape to. In one room of everyone this is
// N ∝ √(cores / rate); in rooms of fixed size, N ∝ cores / rate. Unknown
// (zero) cores or rates are not scaled.
func ScaleClaim(users float64, from Shape, fromCores float64, to Shape, toCores float64) float64 {
	if to.RatePerS <= 0 || from.RatePerS <= 0 {
		return math.Floor(users) // an unknown rate is not scaled
	}
	c := from.DeliveriesPerS(users)
	if fromCores > 0 && toCores > 0 {
		c *= toCores / fromCores
	}
	return math.Floor(to.UsersAt(c) + 1e-9)
}

// ShapeOf is the shape a run ran: one room of everyone, or the receivers
// of an average message from the deliveries its layout asked for.
func ShapeOf(r Run) Shape {
	s := Shape{RatePerS: r.RatePerS, Talkers: 1, Text: r.RoomSizes}
	if r.Clients > 0 && r.Senders > 0 {
		s.Talkers = float64(r.Senders) / float64(r.Clients)
	}
	if r.Rooms > 1 && r.RoomSize < r.Clients {
		s.RoomSize = float64(r.RoomSize)
		if per := float64(r.Senders) * r.RatePerS; r.RequestedPerS > 0 && per > 0 {
			s.RoomSize = r.RequestedPerS / per
		}
	}
	return s
}
