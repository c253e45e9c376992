package cmd

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// runAsChatbenchEnv makes the test binary behave as the chatbench binary
// (see TestMain), so tests can run whole commands as real processes: exit
// codes, signals, stdout and stderr.
const runAsChatbenchEnv = "CHATBENCH_TEST_RUN_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runAsChatbenchEnv) != "" {
		os.Exit(Execute(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	// Commands run in-process too (runCLI, estimate and sweep drive loadgen
	// and server in this process): none may leave a goroutine behind.
	goleak.VerifyTestMain(m)
}

// runCLI runs chatbench in-process with empty stdin and returns its exit
// code and output.
func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = Execute(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// chatbench returns a command that runs "chatbench args..." in a child
// process.
func chatbench(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), runAsChatbenchEnv+"=1")
	return cmd
}

// runChatbench runs a command to completion and returns its exit code and
// output.
func runChatbench(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := chatbench(args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("chatbench %v did not finish in 60s", args)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

// startServe runs "chatbench serve" with args and returns the process and
// the address from its first stdout line.
func startServe(t *testing.T, args ...string) (*exec.Cmd, string, *bytes.Buffer) {
	t.Helper()
	cmd := chatbench(append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("serve printed no address: %v; stderr: %s", err, stderr.String())
	}
	const prefix = "chatbench serve: listening on http://"
	if !strings.HasPrefix(line, prefix) {
		t.Fatalf("first stdout line %q, want %q...", line, prefix)
	}
	addr := strings.Fields(strings.TrimPrefix(line, prefix))[0]
	return cmd, addr, &stderr
}
