package server_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chatbench/chatbench/server"
	"github.com/chatbench/chatbench/server/tlstest"
	"github.com/coder/websocket"
)

// startTLSServer starts a server with a fresh self-signed certificate and
// returns it (base is https://) and a client trusting that certificate.
func startTLSServer(t *testing.T, cfg server.Config) (*testServer, *http.Client) {
	t.Helper()
	cert, key, err := tlstest.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg.TLSCertFile, cfg.TLSKeyFile = cert, key
	ts := startServer(t, cfg)
	if !strings.HasPrefix(ts.URL(), "https://") {
		t.Fatalf("URL() = %q, want https://", ts.URL())
	}
	ts.base = ts.URL()
	pem, err := os.ReadFile(cert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(tr.CloseIdleConnections)
	return ts, &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

func dialTLS(t *testing.T, ts *testServer, hc *http.Client, query string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, ts.wsURL(query), &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		t.Fatalf("dial %s: %v", ts.wsURL(query), err)
	}
	c.SetReadLimit(1 << 20)
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// serve over TLS: https routes, wss broadcast with batches coalesced into one
// TLS write (frames intact and in order, from 10 bytes to over a chunk), a
// plain-http request refused, a client without the CA refused.
func TestTLSServesHTTPSAndWSS(t *testing.T) {
	// One sender bursts 300 messages while the test reads one receiver at
	// a time: queues deep enough to hold the burst (with 256, a 20 ms write
	// delay let the unread one overflow now and then).
	ts, hc := startTLSServer(t, config(func(c *server.Config) {
		c.MaxMessageBytes, c.WriteDelay, c.MaxMsgRate, c.SendQueue = 256<<10, 20*time.Millisecond, 0, 1024
	}))
	resp, err := hc.Get(ts.base + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz over https: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil || resp.Proto != "HTTP/1.1" {
		t.Errorf("https /healthz: %d, tls %v, %s; want 200 over TLS, HTTP/1.1", resp.StatusCode, resp.TLS != nil, resp.Proto)
	}
	if resp, err := http.Get("http://" + ts.Addr() + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain http to the TLS port: %d, want 400", resp.StatusCode)
		}
	}

	alice := dialTLS(t, ts, hc, "room=tls&user=alice")
	bob := dialTLS(t, ts, hc, "room=tls&user=bob")
	ts.waitMembers("tls", 2)
	const n = 300
	msg := func(i int) string {
		size := 10 + i*7
		if i == 150 {
			size = 100 << 10 // over one coalesced chunk: written on its own
		}
		return fmt.Sprintf("%04d:", i) + strings.Repeat(string(rune('a'+i%26)), size)
	}
	go func() {
		for i := range n {
			if alice.Write(context.Background(), websocket.MessageText, []byte(msg(i))) != nil {
				return
			}
		}
	}()
	// Both receivers read at once, as real clients do: one left unread
	// while the other is read would be a slow consumer on a busy machine.
	errs := make(chan error, 2)
	for _, c := range []*websocket.Conn{bob, alice} {
		go func() {
			for i := range n {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, b, err := c.Read(ctx)
				cancel()
				var m chatMsg
				if err == nil {
					err = json.Unmarshal(b, &m)
				}
				if err != nil {
					errs <- fmt.Errorf("message %d: %w", i, err)
					return
				}
				if m.User != "alice" || m.Room != "tls" || m.Message != msg(i) {
					errs <- fmt.Errorf("message %d: %s/%s %.20q (%d bytes), want alice/tls %.20q (%d bytes)", i, m.User, m.Room, m.Message, len(m.Message), msg(i), len(msg(i)))
					return
				}
			}
			errs <- nil
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if batches, frames := counter(t, ts, "chatbench_write_batch_frames"), counter(t, ts, "chatbench_deliveries_total"); frames != 2*n || batches >= frames {
		t.Errorf("%v frames in %v batches: want %d frames, several per batch (coalesced TLS writes)", frames, batches, 2*n)
	} else {
		t.Logf("%v frames in %v coalesced batches", frames, batches)
	}

	// A client that does not trust the certificate cannot connect.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if c, _, err := websocket.Dial(ctx, ts.wsURL("room=tls&user=eve"), nil); err == nil {
		c.CloseNow()
		t.Error("a client without the CA connected")
	} else if !strings.Contains(err.Error(), "certificate") {
		t.Errorf("dial without the CA: %v, want a certificate error", err)
	}
}

func TestTLSConfigErrors(t *testing.T) {
	dir := t.TempDir()
	cert, key, err := tlstest.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cert, key, want string
	}{
		{cert, "", "needs both"},
		{"", key, "needs both"},
		{dir + "/missing.pem", key, "missing.pem"},
		{key, cert, "certificate"}, // swapped
	} {
		_, err := server.New(config(func(c *server.Config) { c.Addr, c.TLSCertFile, c.TLSKeyFile = "127.0.0.1:0", tc.cert, tc.key }))
		var te *server.TLSConfigError
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.As(err, &te) {
			t.Errorf("cert %q key %q: %v, want a TLSConfigError with %q", tc.cert, tc.key, err, tc.want)
		}
	}
}
