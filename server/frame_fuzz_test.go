package server

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// parseServerFrame checks one unmasked, final text frame and returns its payload.
func parseServerFrame(t *testing.T, wire []byte) []byte {
	t.Helper()
	if len(wire) < 2 || wire[0] != finBit|opText || wire[1]&0x80 != 0 {
		t.Fatalf("frame header % x: want FIN text, unmasked", wire[:min(len(wire), 2)])
	}
	n, hl := uint64(wire[1]&0x7f), 2
	switch n {
	case 126:
		n, hl = uint64(binary.BigEndian.Uint16(wire[2:])), 4
		if n < 126 {
			t.Fatalf("length %d in a 16-bit field: not minimal", n)
		}
	case 127:
		n, hl = binary.BigEndian.Uint64(wire[2:]), 10
		if n <= 0xffff {
			t.Fatalf("length %d in a 64-bit field: not minimal", n)
		}
	}
	if uint64(len(wire)-hl) != n {
		t.Fatalf("header says %d bytes, frame carries %d", n, len(wire)-hl)
	}
	return wire[hl:]
}

// FuzzBroadcastFrame: for any user, room and message that passed the
// reader's checks (valid UTF-8), the broadcast frame is one well-formed text
// frame whose payload is valid JSON giving back exactly the three strings,
// and the frame rebuilt from the payload (another node's copy) is identical.
// For any bytes at all, it never panics.
func FuzzBroadcastFrame(f *testing.F) {
	f.Add("alice", "chat", []byte("hello"))
	f.Add("", "", []byte(""))
	f.Add("u\"1\\", "r\n\t\r", []byte("<b>\x00\x1f\u2028\u2029 é 😀 </script>"))
	f.Add("bob", "room", bytes.Repeat([]byte("x"), 70000))
	f.Add("bob", "room", bytes.Repeat([]byte("y"), 200))
	f.Add("\xff", "room", []byte("\xc3\x28"))
	// Payloads at the frame header's length boundaries: 125/126 bytes
	// (7-bit / 16-bit length), 65535/65536 (16-bit / 64-bit). The JSON
	// around user "u", room "r" is 36 bytes.
	for _, n := range []int{125, 126, 65535, 65536} {
		f.Add("u", "r", bytes.Repeat([]byte("m"), n-36))
	}
	f.Fuzz(func(t *testing.T, user, room string, msg []byte) {
		wire, payload := broadcastFrame(user, room, msg)
		if !utf8.ValidString(user) || !utf8.ValidString(room) || !utf8.Valid(msg) {
			return // the reader refuses these before they get here; no panic is all
		}
		if got := parseServerFrame(t, wire); !bytes.Equal(got, payload) {
			t.Fatalf("payload is not the frame's body")
		}
		if !json.Valid(payload) {
			t.Fatalf("payload is not valid JSON: %q", payload)
		}
		var m struct {
			User    *string `json:"user"`
			Room    *string `json:"room"`
			Message *string `json:"message"`
		}
		if err := json.Unmarshal(payload, &m); err != nil || m.User == nil || m.Room == nil || m.Message == nil {
			t.Fatalf("payload %q: %v", payload, err)
		}
		if *m.User != user || *m.Room != room || *m.Message != string(msg) {
			t.Fatalf("round trip: %q/%q/%q, want %q/%q/%q", *m.User, *m.Room, *m.Message, user, room, msg)
		}
		if again := frameFromPayload(payload); !bytes.Equal(again, wire) {
			t.Fatalf("frame from payload differs from the broadcast frame")
		}
	})
}
