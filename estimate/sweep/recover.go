package sweep

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"github.com/chatbench/chatbench/loadgen"
	"github.com/chatbench/chatbench/loadgen/results"
	"github.com/chatbench/chatbench/loadgen/wsclient"
)

// Recovery is how sweep waits, before each step against a running target,
// until the target has worked off the last step: a server still sending a
// failed step's backlog would fail the next step for the last one's sake.
type Recovery struct {
	// MaxWait bounds the wait for idle CPU and readiness (default 30 s).
	MaxWait time.Duration
	// MinWait is a fixed cool-down taken first (0: none).
	MinWait time.Duration
	// IdleCores is the CPU use, in cores, under which the target is idle
	// (default 0.05: 5% of one core), read over Window (default 500 ms).
	IdleCores float64
	Window    time.Duration
	// ReadyTimeout bounds one readiness probe (default 2 s).
	ReadyTimeout time.Duration
}

func (r *Recovery) defaults() {
	if r.MaxWait <= 0 {
		r.MaxWait = 30 * time.Second
	}
	if r.IdleCores <= 0 {
		r.IdleCores = 0.05
	}
	if r.Window <= 0 {
		r.Window = 500 * time.Millisecond
	}
	if r.ReadyTimeout <= 0 {
		r.ReadyTimeout = 2 * time.Second
	}
}

// TargetDownError ends a sweep: the target refused connections or never
// answered its readiness probe, so no further step can measure it.
type TargetDownError struct {
	URL string
	Err error
}

func (e *TargetDownError) Error() string {
	return fmt.Sprintf("target %s is down: %v", e.URL, e.Err)
}
func (e *TargetDownError) Unwrap() error { return e.Err }

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// await waits for lc's target to be idle (its CPU, when a pid or metrics
// URL gives it) and ready. A target that stays busy past MaxWait is
// reported not recovered; one that refuses connections, or never answers
// the readiness probe, is down.
func (r Recovery) await(ctx context.Context, lc loadgen.Config) (*results.Recovery, error) {
	t0 := time.Now()
	rec := &results.Recovery{CPUCores: -1}
	done := func() *results.Recovery { rec.WaitS = time.Since(t0).Seconds(); return rec }
	if err := sleep(ctx, r.MinWait); err != nil {
		return done(), err
	}
	deadline := time.Now().Add(r.MaxWait)
	idle, err := r.awaitIdle(ctx, lc, deadline, rec)
	if err != nil {
		return done(), err
	}
	// Every URL: a step loads them all, and one node down or busy fails
	// the step as surely as the first.
	p := prober{timeout: r.ReadyTimeout, lc: lc}
	for _, u := range lc.URLs {
		how, err := p.awaitReady(ctx, u, deadline)
		if err != nil {
			return done(), err
		}
		rec.Ready = how
	}
	rec.Recovered = idle
	return done(), nil
}

// awaitReady probes target u until it answers or the deadline passes; a
// refused connection is down at once.
func (p prober) awaitReady(ctx context.Context, u string, deadline time.Time) (string, error) {
	for {
		how, err := p.probe(ctx, u)
		if err == nil {
			return how, nil
		}
		if errors.Is(err, syscall.ECONNREFUSED) || !time.Now().Before(deadline) {
			return "", &TargetDownError{URL: u, Err: fmt.Errorf("readiness: %w", err)}
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return "", err
		}
	}
}

// awaitIdle reads the target's CPU over Window until it is under
// IdleCores or the deadline passes. Without a cost source it cannot tell:
// the target counts as idle, and rec says why.
func (r Recovery) awaitIdle(ctx context.Context, lc loadgen.Config, deadline time.Time, rec *results.Recovery) (bool, error) {
	if len(lc.ServerPIDs) == 0 && len(lc.MetricsURLs) == 0 {
		rec.Why = "CPU not read (no --server-pid or --metrics-url): readiness only"
		return true, nil
	}
	for {
		c0, err := loadgen.ServerCPU(ctx, lc.ServerPIDs, lc.MetricsURLs, lc.TLS)
		if err == nil {
			if err = sleep(ctx, r.Window); err != nil {
				return false, err
			}
			var c1 float64
			if c1, err = loadgen.ServerCPU(ctx, lc.ServerPIDs, lc.MetricsURLs, lc.TLS); err == nil {
				rec.CPUCores = (c1 - c0) / r.Window.Seconds()
				if rec.CPUCores < r.IdleCores {
					return true, nil
				}
			}
		}
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		if err != nil {
			rec.Why = "CPU not read: " + err.Error()
			return true, nil // the readiness probe decides whether it is down
		}
		if !time.Now().Before(deadline) {
			rec.Why = fmt.Sprintf("still using %.2f cores after %v (idle: under %.2f)", rec.CPUCores, r.MaxWait, r.IdleCores)
			return false, nil
		}
	}
}

// prober asks each of a target's URLs whether it is ready: its host's /readyz when it has one,
// else a test message echoed back through a room of its own (raw
// protocol), else a completed WebSocket handshake.
type prober struct {
	timeout time.Duration
	lc      loadgen.Config
}

func (p prober) probe(ctx context.Context, u string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	target := strings.NewReplacer("{{user}}", "chatbench-ready", "{{room}}", "chatbench-ready", "{{client}}", "0").Replace(u)
	ok, err := readyz(ctx, target, p.lc.TLS)
	if ok || err != nil {
		return "/readyz", err
	}
	return p.echo(ctx, target)
}

// readyz GETs the target host's /readyz: ok on 200; not ok and no error
// when the server has no such route (404, 405).
func readyz(ctx context.Context, target string, tlsCfg *tls.Config) (bool, error) {
	u, err := url.Parse(target)
	if err != nil {
		return false, err
	}
	switch u.Scheme {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	}
	u.Path, u.RawQuery = "/readyz", ""
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return false, err
	}
	resp, err := wsclient.HTTPClient(tlsCfg).Do(req)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		return false, nil
	}
	return false, fmt.Errorf("GET %s: HTTP %d", u, resp.StatusCode)
}

// echo dials the target and, for the raw protocol with echo, sends a test
// message (after the hello) and waits for it to come back.
func (p prober) echo(ctx context.Context, target string) (string, error) {
	c, _, err := websocket.Dial(ctx, target, &websocket.DialOptions{HTTPClient: wsclient.HTTPClient(p.lc.TLS), HTTPHeader: p.lc.Header})
	if err != nil {
		return "", err
	}
	defer c.CloseNow()
	if (p.lc.Protocol != "" && p.lc.Protocol != "raw") || p.lc.NoEcho {
		return "connect", nil
	}
	fill := strings.NewReplacer("{{user}}", "chatbench-ready", "{{room}}", "chatbench-ready", "{{client}}", "0")
	if p.lc.Hello != "" {
		if err := c.Write(ctx, websocket.MessageText, []byte(fill.Replace(p.lc.Hello))); err != nil {
			return "", err
		}
	}
	token := fmt.Sprintf("chatbench-ready-%d", time.Now().UnixNano())
	msg := p.lc.Message
	if msg == "" {
		msg = "{{probe}}"
	}
	if err := c.Write(ctx, websocket.MessageText, []byte(strings.ReplaceAll(fill.Replace(msg), "{{probe}}", token))); err != nil {
		return "", err
	}
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			return "", fmt.Errorf("test message not echoed: %w", err)
		}
		if strings.Contains(string(b), token) {
			return "echo", nil
		}
	}
}
