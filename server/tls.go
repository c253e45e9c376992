package server

import (
	"crypto/tls"
	"fmt"
	"net"
	"sync"
)

// TLS: with Config.TLSCertFile and Config.TLSKeyFile set, the server speaks
// https and wss on its one listener. The hijacked connection is then a
// *tls.Conn, which has no writev: a batch of frames is copied into one
// pooled buffer and written with one Write (one set of TLS records per
// batch, instead of one record and one system call per frame).

// tlsConfig loads the certificate and key, or returns nil when TLS is off.
func (c *Config) tlsConfig() (*tls.Config, error) {
	if c.TLSCertFile == "" && c.TLSKeyFile == "" {
		return nil, nil
	}
	if c.TLSCertFile == "" || c.TLSKeyFile == "" {
		return nil, fmt.Errorf("TLS needs both a certificate and a key file (--tls-cert and --tls-key)")
	}
	cert, err := tls.LoadX509KeyPair(c.TLSCertFile, c.TLSKeyFile)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate %s / key %s: %w", c.TLSCertFile, c.TLSKeyFile, err)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		// HTTP/1.1 only: a WebSocket upgrade hijacks an HTTP/1.1
		// connection; over h2 it would need RFC 8441, which the server
		// does not speak. Browsers fall back to http/1.1 for wss.
		NextProtos: []string{"http/1.1"},
	}, nil
}

// TLSConfigError is returned by New when the TLS certificate or key cannot
// be used.
type TLSConfigError struct{ Err error }

func (e *TLSConfigError) Error() string { return e.Err.Error() }
func (e *TLSConfigError) Unwrap() error { return e.Err }

// URL is the server's base URL: http://ADDR, or https://ADDR with TLS.
func (s *Server) URL() string {
	if s.tls {
		return "https://" + s.Addr()
	}
	return "http://" + s.Addr()
}

// coalesceChunk bounds one coalesced write: a batch larger than this is
// written in several Writes of about this size, so a burst never needs a
// buffer much larger (TLS cuts it into 16 KiB records anyway).
const coalesceChunk = 64 << 10

// coalescePool holds the buffers batches are copied into on connections
// without writev. Pooled, not per connection: an idle TLS connection keeps
// no write buffer of its own.
var coalescePool = sync.Pool{New: func() any { b := make([]byte, 0, coalesceChunk); return &b }}

// needsCoalescing reports whether batches to conn must be copied into one
// buffer: writev (net.Buffers) only reaches the kernel in one call on a plain
// TCP socket; on anything else it is one Write per frame (for TLS, one record
// each).
func needsCoalescing(conn net.Conn) bool {
	_, ok := conn.(*tls.Conn)
	return ok
}

// writeCoalesced writes frames through w.conn with one Write per
// coalesceChunk bytes. Called with w.mu held.
func (w *wireWriter) writeCoalesced(frames net.Buffers) (int64, error) {
	bp := coalescePool.Get().(*[]byte)
	buf := (*bp)[:0]
	var total int64
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		n, err := w.conn.Write(buf)
		total += int64(n)
		buf = buf[:0]
		return err
	}
	var err error
	for _, f := range frames {
		if len(buf) > 0 && len(buf)+len(f) > coalesceChunk {
			if err = flush(); err != nil {
				break
			}
		}
		if len(f) >= coalesceChunk {
			// A frame as large as a chunk goes out as it is.
			var n int
			n, err = w.conn.Write(f)
			total += int64(n)
			if err != nil {
				break
			}
			continue
		}
		buf = append(buf, f...)
	}
	if err == nil {
		err = flush()
	}
	clear(frames) // drop references to shared frames, as WriteTo does
	if cap(buf) <= 4*coalesceChunk {
		*bp = buf[:0]
		coalescePool.Put(bp)
	}
	return total, err
}
