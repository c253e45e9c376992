package loadgen_test

import (
	"context"
	"testing"

	"github.com/chatbench/chatbench/loadgen"
	"github.com/chatbench/chatbench/loadgen/errkind"
	"github.com/chatbench/chatbench/loadgen/results"
	"github.com/chatbench/chatbench/loadgen/wsclient"
	"github.com/chatbench/chatbench/server"
	"github.com/chatbench/chatbench/server/tlstest"
)

// startTLSRef runs the reference server over TLS and returns its address
// and the certificate file (also the CA to trust).
func startTLSRef(t *testing.T) (addr, cert string) {
	t.Helper()
	cert, key, err := tlstest.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	scfg := server.DefaultConfig()
	scfg.Addr, scfg.TLSCertFile, scfg.TLSKeyFile = "127.0.0.1:0", cert, key
	srv, err := server.New(scfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	return srv.Addr(), cert
}

// swarm over wss:// against the reference server over TLS: trusting its
// certificate with --ca, nothing is lost and the server's cost is scraped
// over https; --insecure connects too.
func TestSwarmOverWSS(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	addr, cert := startTLSRef(t)
	for _, tc := range []struct {
		name     string
		ca       string
		insecure bool
	}{{"ca", cert, false}, {"insecure", "", true}} {
		t.Run(tc.name, func(t *testing.T) {
			tlsCfg, err := wsclient.TLSConfig(tc.ca, tc.insecure)
			if err != nil {
				t.Fatal(err)
			}
			cfg := smallRun("wss://" + addr + "/ws?room={{room}}&user={{user}}")
			cfg.TLS = tlsCfg
			cfg.MetricsURLs = []string{"https://" + addr + "/metrics"}
			res := mustRun(t, cfg)
			sm := res.Summary
			t.Logf("wss: p50 %.2f p99 %.2f ms, expected %d delivered %d, connect p50 %.2f ms, server %+v",
				sm.LatencyMs.P50, sm.LatencyMs.P99, sm.Expected, sm.Delivered, sm.ConnectMs.P50, res.Server)
			if sm.Connected != 20 || sm.Lost != 0 || sm.Sent == 0 || sm.Expected != sm.Sent*20 || sm.Duplicated != 0 {
				t.Errorf("connected %d sent %d expected %d lost %d dup %d; want 20 sockets, no loss", sm.Connected, sm.Sent, sm.Expected, sm.Lost, sm.Duplicated)
			}
			if p := res.Server.Processes; len(p) != 1 || p[0].Error != "" || p[0].End == nil {
				t.Errorf("server cost over https not scraped: %+v", res.Server)
			}
		})
	}
}

// Without the CA (and without --insecure) every connect fails with kind
// "tls", counted, and the run fails without a panic; the same for wss:// to a
// server that does not speak TLS.
func TestSwarmTLSErrorsAreCountedByKind(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
	addr, _ := startTLSRef(t)
	plain := startBcast(t, &bcastServer{})
	for _, tc := range []struct{ name, url string }{
		{"unknown CA", "wss://" + addr + "/ws"},
		{"server without TLS", "wss" + plain.url[len("ws"):]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := smallRun(tc.url)
			cfg.Clients = 4
			res, err := loadgen.Run(context.Background(), cfg)
			if err != nil || res.Outcome.Verdict != results.Invalid || res.Summary.Connected != 0 {
				t.Fatalf("err %v outcome %+v connected %d; want an invalid run (nothing connected)", err, res.Outcome, res.Summary.Connected)
			}
			if res.Errors.Connect[errkind.TLS] != 4 || res.Summary.ConnectErrors != 4 {
				t.Errorf("connect errors %v, want tls: 4", res.Errors.Connect)
			}
			t.Logf("%s: %v", tc.name, res.Outcome.Reasons)
		})
	}
}

func TestTLSConfigCAFile(t *testing.T) {
	if _, err := wsclient.TLSConfig(t.TempDir()+"/none.pem", false); err == nil {
		t.Error("a missing CA file is accepted")
	}
	dir := t.TempDir()
	_, key, err := tlstest.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wsclient.TLSConfig(key, false); err == nil {
		t.Error("a CA file without a certificate is accepted")
	}
	if c, err := wsclient.TLSConfig("", false); c != nil || err != nil {
		t.Errorf("no --ca, no --insecure: %v, %v; want nil (system roots)", c, err)
	}
}
