package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/chatbench/chatbench/server"
	"github.com/coder/websocket"
)

// FuzzClientFrames sends a live server the blog's protocol with any bytes:
// a first frame (the user name) and a message. The server answers each
// case the documented way and never falls over: an invalid name closes
// with 1007 (not UTF-8) or 1008 (empty or too long after trimming), an
// invalid message with 1007, an oversized frame with 1009; otherwise the
// message comes back as JSON carrying exactly the trimmed name and the text.
func FuzzClientFrames(f *testing.F) {
	f.Add([]byte("alice"), []byte("hello"))
	f.Add([]byte("  bob \n"), []byte(`{"user":"mallory","message":"x"}`))
	f.Add([]byte(" \t "), []byte("hi"))
	f.Add([]byte("\xff\xfe"), []byte("hi"))
	f.Add([]byte("carol"), []byte("\xc3\x28"))
	f.Add(bytes.Repeat([]byte("n"), 129), []byte("hi"))
	f.Add([]byte("dave"), bytes.Repeat([]byte("m"), 16385))
	f.Add([]byte("eve"), []byte("cb1.run.1.2.3.s4 \x00 \u2028 😀"))
	srv, err := server.New(config(func(c *server.Config) { c.Addr, c.MaxMessageBytes, c.MaxUserBytes = "127.0.0.1:0", 16<<10, 128 }))
	if err != nil {
		f.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	f.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			f.Errorf("Run: %v", err)
		}
	})
	url := "ws://" + srv.Addr() + "/ws?room=fuzz"

	f.Fuzz(func(t *testing.T, name, msg []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		defer c.CloseNow()
		c.SetReadLimit(1 << 20)
		// expectClose reads the server's close and checks its code.
		expectClose := func(what string, want websocket.StatusCode) {
			t.Helper()
			_, b, err := c.Read(ctx)
			if err == nil {
				t.Fatalf("%s: got a frame %.60q, want close %d", what, b, want)
			}
			if got := websocket.CloseStatus(err); got != want {
				t.Fatalf("%s: connection ended with %v (status %d), want close %d", what, err, got, want)
			}
		}
		if err := c.Write(ctx, websocket.MessageText, name); err != nil {
			t.Fatalf("write name: %v", err)
		}
		trimmed := bytes.TrimSpace(name)
		switch {
		case len(name) > 16<<10:
			expectClose("oversized name frame", websocket.StatusMessageTooBig)
			return
		case !utf8.Valid(name):
			expectClose("name not UTF-8", websocket.StatusInvalidFramePayloadData)
			return
		case len(trimmed) == 0 || len(trimmed) > 128:
			expectClose("empty or long name", websocket.StatusPolicyViolation)
			return
		}
		if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
			t.Fatalf("write message: %v", err)
		}
		switch {
		case len(msg) > 16<<10:
			expectClose("oversized message", websocket.StatusMessageTooBig)
			return
		case !utf8.Valid(msg):
			expectClose("message not UTF-8", websocket.StatusInvalidFramePayloadData)
			return
		}
		typ, b, err := c.Read(ctx)
		if err != nil || typ != websocket.MessageText {
			t.Fatalf("echo: %v %v", typ, err)
		}
		var m struct {
			User, Room, Message string
		}
		if !json.Valid(b) {
			t.Fatalf("broadcast %q is not valid JSON", b)
		}
		if err := json.Unmarshal(b, &m); err != nil || m.User != string(trimmed) || m.Room != "fuzz" || m.Message != string(msg) {
			t.Fatalf("broadcast %q (%v): want user %q, room fuzz, message %q", b, err, trimmed, msg)
		}
		if err := c.Close(websocket.StatusNormalClosure, ""); err != nil && !errors.Is(err, context.Canceled) && websocket.CloseStatus(err) != websocket.StatusNormalClosure {
			t.Fatalf("close: %v", err)
		}
	})
}
