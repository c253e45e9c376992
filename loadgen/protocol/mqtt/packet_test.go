package mqtt

import (
	"bytes"
	"errors"
	"testing"

	"github.com/chatbench/chatbench/loadgen/protocol/internal/prototest"
	"github.com/chatbench/chatbench/loadgen/wsclient"
)

// MQTT 3.1.1 section 2.2.3's table of remaining-length encodings.
func TestAppendLength(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want []byte
	}{
		{0, []byte{0x00}}, {127, []byte{0x7f}}, {128, []byte{0x80, 0x01}}, {16383, []byte{0xff, 0x7f}},
		{16384, []byte{0x80, 0x80, 0x01}}, {2097151, []byte{0xff, 0xff, 0x7f}}, {268435455, []byte{0xff, 0xff, 0xff, 0x7f}},
	} {
		if got := appendLength(nil, tc.n); !bytes.Equal(got, tc.want) {
			t.Errorf("appendLength(%d) = % x, want % x", tc.n, got, tc.want)
		}
	}
}

// publish is a QoS 0 PUBLISH of payload to topic as a broker sends it.
func publish(topic string, payload []byte) []byte {
	b := appendLength([]byte{typePublish << 4}, 2+len(topic)+len(payload))
	b = appendString(b, topic)
	return append(b, payload...)
}

func TestReceivePackets(t *testing.T) {
	p := prototest.Probe()
	big := bytes.Repeat(p, 3) // a two-byte remaining length
	s := &session{}
	prototest.ReceiveProbes(t, s, publish("chat/room0", p), 1, true)
	prototest.ReceiveProbes(t, s, publish("chat/room0", big), 3, true)
	prototest.ReceiveProbes(t, s, append(publish("chat/room0", p), publish("chat/room1", p)...), 2, true)
	prototest.ReceiveProbes(t, s, []byte{typeSuback << 4, 3, 0, 1, 0}, 0, true)
	prototest.ReceiveProbes(t, s, []byte{0xd0, 0}, 0, true) // PINGRESP
	prototest.ReceiveProbes(t, s, []byte{typePuback << 4, 2, 0, 7}, 0, true)
}

// A packet split over WebSocket messages (even inside its length) is
// delivered once whole.
func TestReceiveSplitPacket(t *testing.T) {
	p := prototest.Probe()
	first := publish("chat/room0", bytes.Repeat(p, 2))
	two := append(first, publish("chat/room0", p)...)
	for _, cut := range []int{1, 2, 3, 20, len(first), len(two) - 1} {
		s := &session{}
		before := 0 // probes whole before the cut
		if cut >= len(first) {
			before = 2
		}
		prototest.ReceiveProbes(t, s, two[:cut], before, false)
		prototest.ReceiveProbes(t, s, two[cut:], 3-before, false)
		if len(s.pending) != 0 {
			t.Errorf("cut at %d: %d bytes still pending", cut, len(s.pending))
		}
	}
}

func TestReceiveRefusesBadPackets(t *testing.T) {
	for _, msg := range [][]byte{
		{typePublish << 4, 0xff, 0xff, 0xff, 0xff, 0x01}, // a five-byte length
		{typePublish << 4, 1, 0},                         // no room for the topic length
		{typePublish << 4, 3, 0, 9, 'a'},                 // a topic longer than the packet
	} {
		var pe packetError
		if err := (&session{}).Receive(msg, func([]byte) {}); !errors.As(err, &pe) {
			t.Errorf("Receive(% x) = %v, want a packet error", msg, err)
		}
	}
}

// What a session sends is a PUBLISH that reads back as its probe, at QoS
// 0 and at QoS 1 (with a packet id).
func TestAppendMessageRoundTrip(t *testing.T) {
	p := prototest.Probe()
	for _, qos := range []byte{0, 1} {
		s := &session{qos: qos, topic: appendString(nil, "chat/room3"), before: []byte("<"), after: []byte(">")}
		out, binary := s.AppendMessage(make([]byte, wsclient.HeaderRoom), p)
		pkt := out[wsclient.HeaderRoom:]
		head, body, rest, whole, err := split(pkt)
		if err != nil || !whole || len(rest) != 0 || !binary {
			t.Fatalf("qos %d: split: whole %v rest %d err %v binary %v", qos, whole, len(rest), err, binary)
		}
		gotQoS, id, payload, err := publishParts(head, body)
		if err != nil || gotQoS != qos || string(payload) != "<"+string(p)+">" || (qos == 1) != (id != 0) {
			t.Errorf("qos %d: read back qos %d id %d payload %q err %v", qos, gotQoS, id, payload, err)
		}
	}
}

func TestConnackReason(t *testing.T) {
	if got := connackReason(5); got != "connection refused: not authorized" {
		t.Errorf("connackReason(5) = %q", got)
	}
	if got := connackReason(9); got != "connection refused: return code 9 (reserved)" {
		t.Errorf("connackReason(9) = %q", got)
	}
}

func BenchmarkReceive(b *testing.B) {
	prototest.BenchReceive(b, "mqtt", &session{}, publish("chat/room0", prototest.Probe()))
}
