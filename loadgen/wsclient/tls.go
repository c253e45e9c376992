package wsclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"syscall"
	"time"
)

// TLSConfig returns the client TLS configuration for wss:// targets. caFile
// (PEM, one or more certificates) is trusted in addition to the system's
// roots; insecure skips certificate verification altogether (UNSAFE: for
// self-signed test servers only). Both empty gives nil: the system's roots.
func TLSConfig(caFile string, insecure bool) (*tls.Config, error) {
	if caFile == "" && !insecure {
		return nil, nil
	}
	cfg := &tls.Config{
		InsecureSkipVerify: insecure, //nolint:gosec // asked for by --insecure, named unsafe in its help
		// Thousands of sockets to a few servers: resume sessions as
		// browsers do, so the ramp is not all full handshakes.
		ClientSessionCache: tls.NewLRUClientSessionCache(256),
		NextProtos:         []string{"http/1.1"},
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s: no PEM certificate in it", caFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// defaultTLS is the client config of wss:// runs without --ca or
// --insecure: the system's roots, with session resumption.
var defaultTLS = &tls.Config{
	ClientSessionCache: tls.NewLRUClientSessionCache(256),
	NextProtos:         []string{"http/1.1"},
}

// tlsError is a failed TLS handshake (see errkind.TLS).
type tlsError struct{ err error }

func (e *tlsError) Error() string { return "tls handshake: " + e.err.Error() }
func (e *tlsError) Unwrap() error { return e.err }

// isTLSError reports whether err comes from TLS itself (certificates,
// records, alerts) rather than from the network under it.
func isTLSError(err error) bool {
	var (
		te  *tlsError
		cve *tls.CertificateVerificationError
		uae x509.UnknownAuthorityError
		cie x509.CertificateInvalidError
		hne x509.HostnameError
		rhe tls.RecordHeaderError
		ae  tls.AlertError
	)
	return errors.As(err, &te) || errors.As(err, &cve) || errors.As(err, &uae) || errors.As(err, &cie) ||
		errors.As(err, &hne) || errors.As(err, &rhe) || errors.As(err, &ae)
}

// tlsConfigs caches one client config per server name (a clone of the
// run's, with ServerName set): tls.Client needs the name, and a clone per
// socket would cost memory on every one of thousands of sockets.
var tlsConfigs sync.Map // key tlsKey, value *tls.Config

type tlsKey struct {
	base *tls.Config
	name string
}

func tlsConfigFor(base *tls.Config, serverName string) *tls.Config {
	k := tlsKey{base, serverName}
	if c, ok := tlsConfigs.Load(k); ok {
		return c.(*tls.Config)
	}
	c := base.Clone()
	c.ServerName = serverName
	got, _ := tlsConfigs.LoadOrStore(k, c)
	return got.(*tls.Config)
}

// isSecure reports whether u is a wss:// (or https://) URL.
func isSecure(u *url.URL) bool { return u.Scheme == "wss" || u.Scheme == "https" }

// dialTransport opens the connection under the WebSocket: TCP, and for
// wss:// a TLS client on it with the handshake done (bounded by ctx). A
// handshake error is a *tlsError unless the network under it failed
// (refused, reset, timeout, cancelled), so connect errors count by kind.
func dialTransport(ctx context.Context, d *net.Dialer, u *url.URL, cfg *tls.Config) (net.Conn, error) {
	port := u.Port()
	if port == "" {
		port = "80"
		if isSecure(u) {
			port = "443"
		}
	}
	nc, err := d.DialContext(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil || !isSecure(u) {
		return nc, err
	}
	if cfg == nil {
		cfg = defaultTLS // one shared config: the cache below is keyed by it
	}
	tc := tls.Client(nc, tlsConfigFor(cfg, u.Hostname()))
	if err := tc.HandshakeContext(ctx); err != nil {
		nc.Close()
		var ne net.Error
		switch {
		case ctx.Err() != nil, errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
			errors.As(err, &ne) && ne.Timeout():
			return nil, err
		}
		return nil, &tlsError{err: err}
	}
	return tc, nil
}

// HTTPClient returns the HTTP client that scrapes the server's /metrics:
// a client with a short timeout, or for a TLS run one that trusts the same certificates
// as the sockets (without keep-alive: three scrapes a run).
func HTTPClient(cfg *tls.Config) *http.Client {
	if cfg == nil {
		return &http.Client{Timeout: 10 * time.Second}
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: cfg.Clone(), DisableKeepAlives: true, ForceAttemptHTTP2: false,
	}}
}
