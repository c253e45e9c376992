package cmd

import (
	"bufio"
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatbench/chatbench/loadgen/results"
	"github.com/chatbench/chatbench/server/tlstest"
)

// startServeTLS runs "chatbench serve" over TLS with a fresh certificate and
// returns its address and the certificate file (the CA to trust).
func startServeTLS(t *testing.T) (addr, cert string) {
	t.Helper()
	cert, key, err := tlstest.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cmd := chatbench("serve", "--addr", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	const prefix = "chatbench serve: listening on https://"
	if err != nil || !strings.HasPrefix(line, prefix) {
		t.Fatalf("first stdout line %q (%v), want %q...; stderr: %s", line, err, prefix, stderr.String())
	}
	return strings.Fields(strings.TrimPrefix(line, prefix))[0], cert
}

// serve --tls-cert/--tls-key and swarm over wss://: with --ca nothing is
// lost; with --insecure it connects; with neither, the certificate errors
// are counted (kind "tls") in partial results and the exit code is 1.
func TestServeTLSAndSwarmWSS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	addr, cert := startServeTLS(t)
	url := "wss://" + addr + "/ws?room={{room}}&user={{user}}"
	dir := t.TempDir()
	swarm := func(out string, extra ...string) (int, string, string) {
		args := append([]string{"swarm", "-n", "20", "--rate", "10/s", "--warmup", "200ms", "--duration", "1s",
			"--grace", "1s", "--settle", "0", "--url", url, "--out", filepath.Join(dir, out)}, extra...)
		return runChatbench(t, args...)
	}
	read := func(out string) *results.Result {
		r, err := results.ReadRun(filepath.Join(dir, out))
		if err != nil {
			t.Fatalf("--out: %v", err)
		}
		return r
	}

	code, stdout, stderr := swarm("ca.json", "--ca", cert)
	if code != 0 {
		t.Fatalf("swarm --ca: exit %d\n%s\n%s", code, stdout, stderr)
	}
	r := read("ca.json")
	if !r.Outcome.OK() || r.Summary.Connected != 20 || r.Summary.Sent == 0 || r.Summary.Lost != 0 || r.Summary.Delivered != r.Summary.Expected {
		t.Errorf("swarm --ca: %+v; want 20 connected, zero loss", r)
	}
	if p := r.Server.Processes; len(p) != 1 || !strings.HasPrefix(p[0].Name, "https://") || p[0].Error != "" || p[0].End == nil {
		t.Errorf("server cost not scraped over https: %+v\n%s", r.Server, stdout)
	}

	if code, stdout, stderr := swarm("insecure.json", "--insecure"); code != 0 || read("insecure.json").Summary.Lost != 0 {
		t.Errorf("swarm --insecure: exit %d\n%s\n%s", code, stdout, stderr)
	}

	code, stdout, stderr = swarm("noca.json")
	if code != ExitFailed || strings.Contains(stderr, "panic") {
		t.Errorf("swarm without --ca: exit %d, want 1 (failed run)\n%s\n%s", code, stdout, stderr)
	}
	r = read("noca.json")
	if r.Outcome.Verdict != results.Invalid || r.Errors.Connect["tls"] != 20 || r.Summary.Connected != 0 {
		t.Errorf("swarm without --ca: outcome %+v, connect errors %v; want invalid, tls: 20", r.Outcome, r.Errors.Connect)
	}
	if !strings.Contains(stderr, "tls 20: the TLS handshake or stream failed") {
		t.Errorf("stderr does not name the tls errors:\n%s", stderr)
	}
}

func TestSwarmHelpNamesInsecureAsUnsafe(t *testing.T) {
	code, out, _ := runCLI("swarm", "--help")
	if code != 0 || !strings.Contains(out, "--insecure") || !strings.Contains(out, "UNSAFE") || !strings.Contains(out, "--ca") {
		t.Errorf("swarm --help (exit %d) does not show --ca and --insecure as UNSAFE:\n%s", code, out)
	}
}
