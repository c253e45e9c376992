package wsclient

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// DialOptions says how Dial opens a connection.
type DialOptions struct {
	// Dialer opens the TCP connection (its LocalAddr picks the source
	// address); nil: a zero net.Dialer.
	Dialer *net.Dialer
	// Header is added to the upgrade request.
	Header http.Header
	// ReadBuffer is the connection's own read buffer (at least 64 bytes).
	ReadBuffer int
	// Compression offers permessage-deflate without context takeover.
	Compression bool
	// TLS configures wss:// (nil: the system's roots).
	TLS *tls.Config
	// Limit is Conn.Limit.
	Limit int64
	// Subprotocol is offered in Sec-WebSocket-Protocol (e.g. "mqtt",
	// "v12.stomp") for servers that require one; "": none.
	Subprotocol string
}

// Dial opens a TCP connection (for wss://, TLS on it), performs the
// upgrade for u and returns the connection. ctx bounds the whole
// handshake. Kind names the kind of its error.
func Dial(ctx context.Context, u *url.URL, o DialOptions) (*Conn, error) {
	switch u.Scheme {
	case "ws", "http", "wss", "https":
	default:
		return nil, badFrame("unsupported scheme %q (want ws:// or wss://)", u.Scheme)
	}
	d := o.Dialer
	if d == nil {
		d = &net.Dialer{}
	}
	nc, err := dialTransport(ctx, d, u, o.TLS)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	c, err := handshake(nc, u, o)
	if !stop() || err != nil {
		nc.Close()
		if err == nil || ctx.Err() != nil {
			err = errors.Join(ctx.Err(), err)
		}
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	c.Limit = o.Limit
	return c, nil
}

func handshake(nc net.Conn, u *url.URL, o DialOptions) (*Conn, error) {
	var kb [16]byte
	_, _ = rand.Read(kb[:])
	key := base64.StdEncoding.EncodeToString(kb[:])
	var sb strings.Builder
	sb.WriteString("GET ")
	sb.WriteString(u.RequestURI())
	sb.WriteString(" HTTP/1.1\r\nHost: ")
	sb.WriteString(u.Host)
	sb.WriteString("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ")
	sb.WriteString(key)
	sb.WriteString("\r\n")
	if o.Compression {
		sb.WriteString("Sec-WebSocket-Extensions: " + deflateOffer + "\r\n")
	}
	if o.Subprotocol != "" {
		sb.WriteString("Sec-WebSocket-Protocol: " + o.Subprotocol + "\r\n")
	}
	for k, vs := range o.Header {
		for _, v := range vs {
			sb.WriteString(k)
			sb.WriteString(": ")
			sb.WriteString(v)
			sb.WriteString("\r\n")
		}
	}
	sb.WriteString("\r\n")
	if _, err := io.WriteString(nc, sb.String()); err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(nc, 1024)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return nil, &HandshakeError{Status: resp.StatusCode}
	}
	sum := sha1.Sum([]byte(key + wsGUID))
	if resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		return nil, errors.New("websocket upgrade: bad Sec-WebSocket-Accept")
	}
	// RFC 6455 4.1: a subprotocol the client did not offer fails the
	// connection (a server may also choose none).
	if sp := resp.Header.Get("Sec-WebSocket-Protocol"); sp != "" && sp != o.Subprotocol {
		return nil, fmt.Errorf("websocket upgrade: server chose subprotocol %q, offered %q", sp, o.Subprotocol)
	}
	c := &Conn{nc: nc, buf: make([]byte, max(o.ReadBuffer, 64))}
	if c.Compression, err = checkDeflateResponse(resp.Header.Get("Sec-WebSocket-Extensions")); err != nil {
		return nil, err
	}
	if c.Compression && !o.Compression {
		return nil, errors.New("websocket upgrade: server negotiated permessage-deflate that was not offered")
	}
	// Frames the server sent right after the 101 may already be buffered.
	if n := br.Buffered(); n > 0 {
		if n > len(c.buf) {
			c.buf = make([]byte, n)
		}
		c.w, _ = io.ReadFull(br, c.buf[:n])
	}
	return c, nil
}
