package wsclient

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/chatbench/chatbench/loadgen/errkind"
)

// frame builds an unmasked server frame.
func frame(fin bool, op byte, p []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	out := []byte{b0}
	switch {
	case len(p) <= 125:
		out = append(out, byte(len(p)))
	default:
		out = append(out, 126, byte(len(p)>>8), byte(len(p)))
	}
	return append(out, p...)
}

// readAll runs ReadLoop over the bytes b from a server and returns the
// messages it delivered and its error.
func readAll(t testing.TB, b []byte, limit int64) ([][]byte, error) {
	client, server := net.Pipe()
	c := &Conn{nc: client, buf: make([]byte, 64), Limit: limit}
	go func() {
		_ = server.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, _ = server.Write(b)
		server.Close()
	}()
	go func() { // take what the client answers (pongs, closes)
		var sink [256]byte
		for {
			if _, err := server.Read(sink[:]); err != nil {
				return
			}
		}
	}()
	var msgs [][]byte
	err := c.ReadLoop(func(m []byte) error { msgs = append(msgs, bytes.Clone(m)); return nil })
	return msgs, err
}

// A message split over continuation frames arrives whole; a ping between
// fragments is answered without breaking it.
func TestReadLoopReassemblesFragments(t *testing.T) {
	var b []byte
	b = append(b, frame(false, opText, []byte("cb1.run.1."))...)
	b = append(b, frame(true, opPing, []byte("x"))...)
	b = append(b, frame(false, opCont, bytes.Repeat([]byte("2"), 200))...)
	b = append(b, frame(true, opCont, []byte(".99.s0xx"))...)
	b = append(b, frame(true, opText, []byte("whole"))...)
	msgs, _ := readAll(t, b, 0)
	want := "cb1.run.1." + string(bytes.Repeat([]byte("2"), 200)) + ".99.s0xx"
	if len(msgs) != 2 || string(msgs[0]) != want || string(msgs[1]) != "whole" {
		t.Fatalf("messages %q", msgs)
	}
}

// Broken fragment sequences and reassembled messages over the limit are
// protocol errors of their kind.
func TestReadLoopRefusesBadFragments(t *testing.T) {
	for _, tc := range []struct {
		name  string
		b     []byte
		limit int64
		kind  errkind.Kind
	}{
		{"continuation first", frame(true, opCont, []byte("x")), 0, errkind.Protocol},
		{"new message inside one", append(frame(false, opText, []byte("a")), frame(true, opText, []byte("b"))...), 0, errkind.Protocol},
		{"over the limit", append(frame(false, opText, bytes.Repeat([]byte("a"), 100)), frame(true, opCont, bytes.Repeat([]byte("b"), 100))...), 150, errkind.FrameTooBig},
	} {
		msgs, err := readAll(t, tc.b, tc.limit)
		if Kind(err) != tc.kind || len(msgs) != 0 {
			t.Errorf("%s: %d messages, error %v (kind %s), want kind %s", tc.name, len(msgs), err, Kind(err), tc.kind)
		}
	}
}

// FuzzReadLoop: any bytes from a server end in an error (never a panic, a
// hang or a message over the limit).
func FuzzReadLoop(f *testing.F) {
	f.Add(frame(true, opText, []byte("hello")))
	f.Add(append(frame(false, opText, []byte("cb1.")), frame(true, opCont, []byte("r.1.2.3"))...))
	f.Add(append(frame(false, opBin, []byte("ab")), frame(true, opPing, nil)...))
	f.Add([]byte{0x81, 127, 0, 0, 1, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, err := readAll(t, b, 4096)
		if err == nil {
			t.Fatal("ReadLoop ended without an error")
		}
		for _, m := range msgs {
			if len(m) > 4096 {
				t.Fatalf("a %d-byte message passed the 4096-byte limit", len(m))
			}
		}
	})
}
