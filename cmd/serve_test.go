package cmd

import (
	"context"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestServeBadInputIsOneLineAndExit2(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--slow-policy", "sometimes"}, `slow policy "sometimes" is not one of "disconnect", "drop"`},
		{[]string{"serve", "--backend", "kafka"}, `--backend "kafka": want one of memory`},
		{[]string{"serve", "--max-conns", "nope"}, `invalid argument "nope" for "--max-conns"`},
		{[]string{"serve", "--no-such-flag"}, "unknown flag: --no-such-flag"},
		{[]string{"serve", "--addr", ln.Addr().String()}, "address already in use; pick another --addr"},
		{[]string{"serve", "--log-level", "loud"}, `--log-level "loud"`},
		{[]string{"serve", "--allow-origin", "[bad"}, `origin pattern "[bad" is malformed`},
		{[]string{"serve", "extra-arg"}, `unknown command "extra-arg"`},
		{[]string{"serve", "--amqp-guarantee"}, "--amqp-guarantee: only with --backend rabbitmq"},
		{[]string{"serve", "--backend", "rabbitmq", "--amqp-guarantee"}, "guarantee mode needs a stable node ID (--node-id)"},
	}
	for _, tc := range cases {
		code, _, stderr := runChatbench(t, tc.args...)
		if code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", tc.args, code, ExitUsage)
		}
		if lines := strings.Split(strings.TrimSpace(stderr), "\n"); len(lines) != 1 {
			t.Errorf("%v: %d lines on stderr, want one:\n%s", tc.args, len(lines), stderr)
		}
		if !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: stderr %q lacks %q", tc.args, stderr, tc.want)
		}
		if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic") {
			t.Errorf("%v: stack trace on stderr:\n%s", tc.args, stderr)
		}
	}
}

func TestServeSIGTERMClosesSocketsWith1001AndExits0(t *testing.T) {
	cmd, addr, stderr := startServe(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws?user=a", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Read(ctx)
	if code := websocket.CloseStatus(err); code != websocket.StatusGoingAway {
		t.Errorf("close code %v (%v), want 1001", code, err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve exited with %v after SIGTERM, want 0; stderr:\n%s", err, stderr)
	}
}

func TestVersionAndCompletion(t *testing.T) {
	code, out, _ := runChatbench(t, "--version")
	if code != 0 || !strings.HasPrefix(out, "chatbench version ") {
		t.Errorf("--version: exit %d, %q", code, out)
	}
	code, out, _ = runChatbench(t, "completion", "bash")
	if code != 0 || !strings.Contains(out, "bash completion") {
		t.Errorf("completion bash: exit %d, %d bytes", code, len(out))
	}
}
