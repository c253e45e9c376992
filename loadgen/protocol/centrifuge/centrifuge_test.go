package centrifuge_test

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chatbench/chatbench/loadgen/errkind"
	"github.com/chatbench/chatbench/loadgen/protocol/centrifuge"
	"github.com/chatbench/chatbench/loadgen/protocol/internal/prototest"
)

func TestMain(m *testing.M) {
	if v := os.Getenv(serverEnv); v != "" {
		ping, err := time.ParseDuration(v)
		if err == nil {
			err = chatServer(ping)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startServer starts the chat server (this test binary) pinging every
// second and returns its WebSocket URL.
func startServer(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("integration")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), serverEnv+"=1s")
	port := prototest.Start(t, cmd, prototest.Listening)
	return "ws://127.0.0.1:" + port + "/connection/websocket"
}

// 20 clients in 2 rooms for 4 s while the server pings every second and
// drops a client that does not answer in 500 ms: every probe reaches its
// room's 10 members exactly once, and no socket is lost.
func TestCentrifugeServer(t *testing.T) {
	url := startServer(t)
	cfg := prototest.Config(url, "centrifuge", map[string]string{"channel": "chat:{{room}}", "token": "t-{{user}}"}, 20, 2, 4*time.Second)
	prototest.Exact(t, prototest.Run(t, cfg), 20, 10)
}

// A disconnect (close 3500 invalid token) and an error reply (101
// unauthorized) to connect are connect errors of Centrifuge's own kinds,
// with the server's words.
func TestCentrifugeServerErrors(t *testing.T) {
	url := startServer(t)
	for _, tc := range []struct {
		token  string
		kind   errkind.Kind
		reason string
	}{
		{"invalid", centrifuge.KindDisconnect + "3500", "invalid token"},
		{"denied", centrifuge.KindError + "101", "unauthorized"},
	} {
		t.Run(tc.token, func(t *testing.T) {
			res := prototest.Run(t, prototest.ErrorRun(url, "centrifuge", map[string]string{"token": tc.token}, 3))
			prototest.ConnectErrors(t, res, 3, tc.kind, tc.reason)
		})
	}
}

// The control: the server drops a session that does not answer its pings,
// well within the 5 s the run above keeps its sockets.
func TestCentrifugeServerDropsSilentClient(t *testing.T) {
	url := startServer(t)
	p, err := centrifuge.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	prototest.SilentSessionDropped(t, p, url, 3*time.Second)
}
