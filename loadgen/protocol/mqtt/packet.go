package mqtt

import (
	"encoding/binary"
	"fmt"
)

// MQTT 3.1.1 control packet types (the high nibble of the first byte).
const (
	typeConnect = 1
	typeConnack = 2
	typePublish = 3
	typePuback  = 4
	typeSubscr  = 8
	typeSuback  = 9
	typePingreq = 12
)

// packetError is bytes that are not an MQTT packet stream.
type packetError string

func (e packetError) Error() string { return "mqtt: " + string(e) }

// appendLength appends MQTT's variable-length "remaining length".
func appendLength(dst []byte, n int) []byte {
	for {
		b := byte(n & 0x7f)
		n >>= 7
		if n > 0 {
			b |= 0x80
		}
		dst = append(dst, b)
		if n == 0 {
			return dst
		}
	}
}

// appendString appends an MQTT UTF-8 string (length-prefixed).
func appendString(dst []byte, s string) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(s)))
	return append(dst, s...)
}

// split cuts the first whole packet off b: its first byte, its body (the
// remaining length's bytes) and what follows. whole is false when b ends
// inside the packet (MQTT over WebSocket may split a packet over frames).
func split(b []byte) (head byte, body, rest []byte, whole bool, err error) {
	if len(b) < 2 {
		return 0, nil, b, false, nil
	}
	n, mult, i := 0, 1, 1
	for {
		if i >= len(b) {
			return 0, nil, b, false, nil
		}
		if i > 4 {
			return 0, nil, nil, false, packetError("remaining length over 4 bytes")
		}
		n += int(b[i]&0x7f) * mult
		mult <<= 7
		i++
		if b[i-1]&0x80 == 0 {
			break
		}
	}
	if len(b)-i < n {
		return 0, nil, b, false, nil
	}
	return b[0], b[i : i+n], b[i+n:], true, nil
}

// publishParts reads a PUBLISH body: its QoS (from the first byte), packet
// id (QoS 1 and 2) and payload.
func publishParts(head byte, body []byte) (qos byte, id uint16, payload []byte, err error) {
	qos = head >> 1 & 3
	if len(body) < 2 {
		return 0, 0, nil, packetError("PUBLISH without a topic")
	}
	tl := int(binary.BigEndian.Uint16(body))
	p := 2 + tl
	if qos > 0 {
		p += 2
	}
	if len(body) < p {
		return 0, 0, nil, packetError("PUBLISH shorter than its topic")
	}
	if qos > 0 {
		id = binary.BigEndian.Uint16(body[p-2:])
	}
	return qos, id, body[p:], nil
}

// connackReasons are MQTT 3.1.1's CONNACK return codes (section 3.2.2.3).
var connackReasons = map[byte]string{
	1: "connection refused: unacceptable protocol version",
	2: "connection refused: identifier rejected",
	3: "connection refused: server unavailable",
	4: "connection refused: bad user name or password",
	5: "connection refused: not authorized",
}

func connackReason(code byte) string {
	if r, ok := connackReasons[code]; ok {
		return r
	}
	return fmt.Sprintf("connection refused: return code %d (reserved)", code)
}
