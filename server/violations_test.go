package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chatbench/chatbench/server"
	"github.com/chatbench/chatbench/server/wstest"
	"github.com/coder/websocket"
)

// TestNothingBehindAViolatingFrameIsBroadcast: a client writes a violating
// frame and 50 valid ones behind it in one write, so all of them are in
// the server's buffer before the close goes out. The violation closes it
// with its code; none of the 50 reaches the room, and after a bad name the
// next frame does not become the name.
func TestNothingBehindAViolatingFrameIsBroadcast(t *testing.T) {
	const behind = 50
	ts := startServer(t, config(func(c *server.Config) { c.MaxMessageBytes, c.MaxMsgRate = 100, 0 }))
	watcher := ts.dial("room=v&user=watcher")
	ts.waitMembers("v", 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seen := make(chan chatMsg, 1000)
	go func() {
		for {
			_, b, err := watcher.Read(ctx)
			if err != nil {
				return
			}
			var m chatMsg
			if json.Unmarshal(b, &m) == nil {
				seen <- m
			}
		}
	}()
	cases := []struct {
		name, query string
		violation   []byte
		code        uint16
	}{
		{"binary", "room=v&user=bin", wstest.Frame(wstest.OpBinary, []byte{1, 2, 3}), 1003},
		{"invalid UTF-8", "room=v&user=utf", wstest.Frame(wstest.OpText, []byte{'a', 0xff, 'b'}), 1007},
		{"too big", "room=v&user=big", wstest.Text(strings.Repeat("x", 101)), 1009},
		{"empty first-frame name", "room=v", wstest.Text("   "), 1008},
	}
	for _, tc := range cases {
		nc, br, err := wstest.Upgrade(&net.Dialer{}, ts.Addr(), tc.query)
		if err != nil {
			t.Fatal(err)
		}
		burst := append(append([]byte{}, tc.violation...), wstest.Repeat(wstest.Text("behind"), behind)...)
		if _, err := nc.Write(burst); err != nil {
			t.Fatal(err)
		}
		_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		cf, texts, err := wstest.ReadUntilClose(br)
		nc.Close()
		if err != nil {
			t.Fatalf("%s: no close frame: %v", tc.name, err)
		}
		if cf.CloseCode() != tc.code || len(texts) != 0 {
			t.Errorf("%s: close %d %q after %d text frames, want %d and none", tc.name, cf.CloseCode(), cf.CloseReason(), len(texts), tc.code)
		}
	}
	// The watcher's own message, sent after every violator was closed,
	// must be the first thing it sees.
	send(t, watcher, "after")
	for m := range seen {
		if m.User != "watcher" || m.Message != "after" {
			t.Errorf("the room got %+v from behind a violation", m)
			continue
		}
		break
	}
	if n := counter(t, ts, "chatbench_messages_received_total"); n != 1 {
		t.Errorf("%v messages broadcast, want only the watcher's", n)
	}
}

// TestCloseReasonThatIsNotUTF8IsNotEchoed: a close frame whose reason is
// not UTF-8 is answered with 1007 and no reason (RFC 6455 7.1.6), not
// echoed.
func TestCloseReasonThatIsNotUTF8IsNotEchoed(t *testing.T) {
	ts := startServer(t, config(nil))
	for _, tc := range []struct {
		reason []byte
		code   uint16
	}{
		{[]byte{0xff, 0xfe, 'x'}, 1007},
		{[]byte("bye"), 1000}, // a valid one is echoed
	} {
		nc, br, err := wstest.Upgrade(&net.Dialer{}, ts.Addr(), "user=c")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := nc.Write(wstest.Close(1000, tc.reason)); err != nil {
			t.Fatal(err)
		}
		_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		cf, _, err := wstest.ReadUntilClose(br)
		nc.Close()
		if err != nil {
			t.Fatal(err)
		}
		wantReason := ""
		if tc.code == 1000 {
			wantReason = string(tc.reason)
		}
		if cf.CloseCode() != tc.code || string(cf.CloseReason()) != wantReason {
			t.Errorf("close reason %q answered with %d %q, want %d %q", tc.reason, cf.CloseCode(), cf.CloseReason(), tc.code, wantReason)
		}
	}
}

// TestUnnamedSocketGetsNothingAndIsClosedAfterNameTimeout: a socket that
// came without ?user= and never names itself is in no room (the room's
// messages never reach it) and is closed with 1008 after NameTimeout.
func TestUnnamedSocketGetsNothingAndIsClosedAfterNameTimeout(t *testing.T) {
	const timeout = 400 * time.Millisecond
	ts := startServer(t, config(func(c *server.Config) { c.NameTimeout = timeout }))
	talker := ts.dial("user=talker")
	ts.waitMembers("chat", 1)
	start := time.Now()
	nc, br, err := wstest.Upgrade(&net.Dialer{}, ts.Addr(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	for i := range 5 {
		send(t, talker, fmt.Sprintf("m%d", i))
		readMsg(t, talker)
	}
	if n := ts.RoomSize("chat"); n != 1 {
		t.Errorf("room has %d members with the unnamed socket open, want 1", n)
	}
	_ = nc.SetReadDeadline(time.Now().Add(timeout + 5*time.Second))
	cf, texts, err := wstest.ReadUntilClose(br)
	took := time.Since(start)
	nc.Close() // as good as an answer: the server need not wait out its close handshake
	if err != nil {
		t.Fatalf("no close frame: %v", err)
	}
	t.Logf("unnamed socket closed %v after its upgrade (NameTimeout %v) with %d %q", took.Round(time.Millisecond), timeout, cf.CloseCode(), cf.CloseReason())
	if len(texts) != 0 {
		t.Errorf("the unnamed socket received %d room messages: %q", len(texts), texts)
	}
	if cf.CloseCode() != uint16(websocket.StatusPolicyViolation) || took < timeout || took > timeout+time.Second {
		t.Errorf("closed with %d after %v, want 1008 after %v..%v", cf.CloseCode(), took, timeout, timeout+time.Second)
	}
	waitFor(t, "name_timeout counted", func() bool {
		return counter(t, ts, "chatbench_disconnects_total", "reason", "name_timeout") == 1
	})
}
