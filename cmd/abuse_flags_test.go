package cmd

import (
	"context"
	"fmt"
	"net"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatbench/chatbench/server"
	"github.com/chatbench/chatbench/server/wstest"
	"github.com/spf13/cobra"
)

// Zero and out-of-range values are refused with exit 2 and one line that
// names the value; none silently means something else.
func TestServeAbuseFlagsAreValidated(t *testing.T) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	hard := int(min(lim.Max, 1<<30)) // serve raises its soft limit to this
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--max-msg-rate", "fast"}, `--max-msg-rate "fast": want a rate like 10/s, 600/min, 1/h or 0.5/s`},
		{[]string{"--max-ping-rate", "often"}, `--max-ping-rate "often": want a rate like 10/s, 600/min, 1/h or 0.5/s`},
		{[]string{"--rate-limit-policy", "kick"}, `rate limit policy "kick" is not one of "drop", "close"`},
		{[]string{"--max-msg-burst", "-1"}, `max message burst -1 must be 0 (one second's worth) to 1000000`},
		{[]string{"--max-msg-burst", "1000001"}, `max message burst 1000001 must be 0`},
		{[]string{"--read-header-timeout", "-1s"}, `read header timeout -1s must not be negative`},
		{[]string{"--read-header-timeout", "0"}, `read header timeout must be positive`},
		{[]string{"--name-timeout", "0"}, `name timeout must be positive`},
		{[]string{"--write-timeout", "0"}, `write timeout must be positive`},
		{[]string{"--ping-timeout", "0"}, `ping timeout must be positive`},
		{[]string{"--shutdown-timeout", "-1s"}, `shutdown timeout -1s must not be negative`},
		{[]string{"--max-message-bytes", "0"}, `max message size 0 must be 1 byte to 64 MiB`},
		{[]string{"--max-message-bytes", "67108865"}, `max message size 67108865 must be 1 byte to 64 MiB`},
		{[]string{"--send-queue", "0"}, `send queue 0 must be at least 1 frame`},
		{[]string{"--max-pending", "0"}, `max pending connections 0 must be at least 1`},
		{[]string{"--max-conns", "-2"}, `max connections -2 must be -1`},
		{[]string{"--fd-reserve", "-1"}, `fd reserve -1 must not be negative`},
		{[]string{"--fd-reserve", fmt.Sprint(hard)}, fmt.Sprintf("the open-files limit %d leaves no connection after fd reserve %d", hard, hard)},
		{[]string{"--max-conns", fmt.Sprint(hard)}, fmt.Sprintf("max connections %d does not fit the open-files limit %d with fd reserve 64 and 256 pending connections: at most %d", hard, hard, hard-320)},
	} {
		code, _, stderr := runCLI(append([]string{"serve", "--addr", "127.0.0.1:0"}, tc.args...)...)
		if code != ExitUsage || !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("serve %v: exit %d, stderr %q; want exit %d and one line with %q", tc.args, code, stderr, ExitUsage, tc.want)
		}
	}
}

// The flags' defaults are server.DefaultConfig: serve with no flags runs
// the server a library user gets from DefaultConfig.
func TestServeFlagDefaultsAreTheLibrarysDefaults(t *testing.T) {
	o := &serveOptions{cfg: server.DefaultConfig()}
	c := &cobra.Command{}
	o.bindFlags(c)
	if err := c.ParseFlags(nil); err != nil {
		t.Fatal(err)
	}
	if want := server.DefaultConfig(); !reflect.DeepEqual(o.cfg, want) {
		t.Errorf("flags without arguments give\n%+v\nwant DefaultConfig\n%+v", o.cfg, want)
	}
	for flag, want := range map[string]string{"max-msg-rate": "50/s", "max-ping-rate": "10/s", "send-queue": "256", "max-conns": "-1"} {
		if got := c.Flags().Lookup(flag).DefValue; got != want {
			t.Errorf("--%s default %q, want %q", flag, got, want)
		}
	}
}

// Zeros that mean something do what the help says: --max-msg-rate 0 lets
// a burst of 200 through, --shutdown-timeout 0 exits at once even with a
// socket that would not answer its close.
func TestServeZerosMeanWhatTheySay(t *testing.T) {
	noRaceExitSleep(t)
	cmd, addr, stderr := startServe(t, "--max-msg-rate", "0", "--max-ping-rate", "0", "--max-conns", "0", "--write-delay", "0",
		"--ping-interval", "0", "--shutdown-timeout", "0", "--trim-memory-after", "0", "--fd-reserve", "0", "--max-msg-burst", "0")
	nc, br, err := wstest.Upgrade(&net.Dialer{}, addr, "user=burst")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Write(wstest.Repeat(wstest.Text("m"), 200)); err != nil {
		t.Fatal(err)
	}
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for i := range 200 {
		if _, err := wstest.ReadFrame(br); err != nil {
			t.Fatalf("echo %d of a burst of 200 with --max-msg-rate 0: %v", i, err)
		}
	}
	if got := serveMetric(t, addr, "chatbench_messages_rejected_total"); got != 0 {
		t.Errorf("%v messages rejected with --max-msg-rate 0", got)
	}
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	select {
	case err := <-done:
		if took := time.Since(start); err != nil || took > 500*time.Millisecond {
			t.Errorf("--shutdown-timeout 0: exit %v after %v, want 0 at once; stderr:\n%s", err, took, stderr.String())
		}
	case <-ctx.Done():
		t.Fatal("serve did not exit 10 s after SIGTERM")
	}
}
