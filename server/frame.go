package server

import (
	"encoding/binary"
	"unicode/utf8"

	"github.com/coder/websocket"
)

// maxFrameHeader is the largest server-to-client WebSocket frame header:
// 2 bytes plus an 8-byte extended length (server frames are not masked).
const maxFrameHeader = 10

// Opcodes and flags of RFC 6455 frames written directly by the server.
const (
	finBit   = 0x80
	opText   = 0x1
	opClose  = 0x8
	opPing   = 0x9
	opcodeOf = 0x0f
)

// pingFrame is the keepalive ping (empty payload). It is queued like a data
// frame so it never interleaves with one; its identity tells the writer not
// to count it as a delivery.
var pingFrame = []byte{finBit | opPing, 0}

// broadcastFrame builds the complete text frame for one chat message, encoded
// once and shared by every receiver:
//
//	{"user":"U","room":"R","message":"M"}
//
// It returns the wire bytes (header + payload) and the payload alone (a
// sub-slice, for the broker). msg must be valid UTF-8 (the reader checks).
func broadcastFrame(user, room string, msg []byte) (wire, payload []byte) {
	n := maxFrameHeader + len(`{"user":"","room":"","message":""}`) + len(user) + len(room) + len(msg) + 16
	buf := make([]byte, maxFrameHeader, n)
	buf = append(buf, `{"user":`...)
	buf = appendJSONString(buf, user)
	buf = append(buf, `,"room":`...)
	buf = appendJSONString(buf, room)
	buf = append(buf, `,"message":`...)
	buf = appendJSONString(buf, msg)
	buf = append(buf, '}')
	return withHeader(buf)
}

// frameFromPayload wraps a payload received from another node in a text
// frame header: one allocation, shared by every local receiver.
func frameFromPayload(payload []byte) []byte {
	buf := make([]byte, maxFrameHeader, maxFrameHeader+len(payload))
	buf = append(buf, payload...)
	wire, _ := withHeader(buf)
	return wire
}

// withHeader writes the text frame header right-aligned into the first
// maxFrameHeader bytes of buf, whose remainder is the payload.
func withHeader(buf []byte) (wire, payload []byte) {
	payload = buf[maxFrameHeader:]
	n := len(payload)
	var hdr [maxFrameHeader]byte
	hdr[0] = finBit | opText
	hl := 2
	switch {
	case n <= 125:
		hdr[1] = byte(n)
	case n <= 0xffff:
		hdr[1] = 126
		binary.BigEndian.PutUint16(hdr[2:], uint16(n))
		hl = 4
	default:
		hdr[1] = 127
		binary.BigEndian.PutUint64(hdr[2:], uint64(n))
		hl = 10
	}
	start := maxFrameHeader - hl
	copy(buf[start:], hdr[:hl])
	return buf[start:], payload
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. s is valid UTF-8; control
// characters, quotes and backslashes are escaped, everything else is copied.
func appendJSONString[S string | []byte](buf []byte, s S) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		buf = append(buf, s[start:i]...)
		switch c {
		case '"', '\\':
			buf = append(buf, '\\', c)
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		case '\t':
			buf = append(buf, '\\', 't')
		default:
			buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

// closeFrame is a server close frame (unmasked) with code and text (at most
// 123 bytes, as every text in the disconnect table is).
func closeFrame(code websocket.StatusCode, text string) []byte {
	f := make([]byte, 4, 4+len(text))
	f[0], f[1] = finBit|opClose, byte(2+len(text))
	binary.BigEndian.PutUint16(f[2:], uint16(code))
	return append(f, text...)
}

// validText reports whether b may be carried in a text frame.
func validText(b []byte) bool { return utf8.Valid(b) }
