package loadgen

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/chatbench/chatbench/internal/serveline"
)

// ChildServer is a `chatbench serve` started by swarm.
type ChildServer struct {
	BaseURL string // http://127.0.0.1:PORT
	Pid     int
	cmd     *exec.Cmd
	done    chan error
}

// StartChild runs exe with args (e.g. os.Executable(), "serve", "--addr",
// "127.0.0.1:0", "--max-conns", "0"), reads the address from its first stdout
// line, and waits until GET /readyz answers 200. stderr receives the child's
// stderr. The child is stopped with Stop.
func StartChild(ctx context.Context, exe string, args []string, stderr io.Writer) (*ChildServer, error) {
	cmd := exec.Command(exe, args...)
	// Keep the start of the child's stderr: when it exits before listening,
	// its own one-line error (a port in use, a backend down) is the reason.
	errTail := &headWriter{max: 4096}
	if stderr != nil {
		cmd.Stderr = io.MultiWriter(stderr, errTail)
	} else {
		cmd.Stderr = errTail
	}
	// Its own process group: a Ctrl-C for swarm does not reach the server,
	// which swarm stops itself after writing its results. If swarm dies
	// without stopping it (killed, a broken pipe), the kernel sends it
	// SIGTERM: the server never outlives swarm.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", exe, err)
	}
	c := &ChildServer{Pid: cmd.Process.Pid, cmd: cmd, done: make(chan error, 1)}
	lines := make(chan string, 1)
	go func() {
		br := bufio.NewReader(out)
		line, _ := br.ReadString('\n')
		lines <- line
		_, _ = io.Copy(io.Discard, br) // keep the pipe drained
		c.done <- cmd.Wait()
	}()
	fail := func(err error) (*ChildServer, error) {
		_ = cmd.Process.Kill()
		return nil, err
	}
	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	select {
	case line := <-lines:
		base, perr := serveline.Parse(line)
		if perr != nil {
			if line == "" { // exited: wait for it, then say why in its words
				select {
				case <-c.done:
				case <-time.After(5 * time.Second):
				}
				if msg := errTail.firstError(); msg != "" {
					return fail(errors.New(msg))
				}
			}
			return fail(fmt.Errorf("serve did not print its address (first line %q)", strings.TrimSpace(line)))
		}
		c.BaseURL = base
	case <-startCtx.Done():
		return fail(fmt.Errorf("serve did not start: %w", startCtx.Err()))
	}
	// Poll /readyz: the server offers no other readiness signal.
	for {
		req, _ := http.NewRequestWithContext(startCtx, http.MethodGet, c.BaseURL+"/readyz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c, nil
			}
		}
		select {
		case <-startCtx.Done():
			return fail(fmt.Errorf("serve at %s not ready: %w", c.BaseURL, errors.Join(startCtx.Err(), err)))
		case err := <-c.done:
			return nil, fmt.Errorf("serve exited before it was ready: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// headWriter keeps the first max bytes written to it.
type headWriter struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (w *headWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if room := w.max - len(w.buf); room > 0 {
		w.buf = append(w.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// firstError returns the child's "chatbench: ..." line without the prefix,
// or its last non-empty line.
func (w *headWriter) firstError() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	last := ""
	for _, l := range strings.Split(string(w.buf), "\n") {
		if strings.HasPrefix(l, "chatbench: ") {
			return strings.TrimPrefix(l, "chatbench: ")
		}
		if strings.TrimSpace(l) != "" {
			last = strings.TrimSpace(l)
		}
	}
	return last
}

// WSURL is the child's WebSocket endpoint, ws://HOST:PORT/ws (wss:// when it
// serves https), followed by query (e.g. "?room={{room}}&user={{user}}").
func (c *ChildServer) WSURL(query string) string {
	return "ws" + strings.TrimPrefix(c.BaseURL, "http") + "/ws" + query
}

// Stop sends SIGTERM and waits up to 10 s for the child to exit, then kills it.
func (c *ChildServer) Stop() error {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-c.done:
		return err
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		return fmt.Errorf("serve did not exit 10 s after SIGTERM; killed: %w", <-c.done)
	}
}
