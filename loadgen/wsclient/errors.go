package wsclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Error kinds: the keys under which swarm counts failed connects and lost
// sockets (Kind names them for any error of this package or the network).
const (
	KindRefused       = "refused"
	KindTimeout       = "timeout"
	KindReset         = "reset"
	KindFDLimit       = "fd_limit"        // EMFILE/ENFILE: out of file descriptors
	KindPortExhausted = "port_exhaustion" // EADDRNOTAVAIL: out of ephemeral ports
	KindHandshake     = "handshake"       // the upgrade answer is not HTTP or not a valid 101
	KindCanceled      = "canceled"
	KindOther         = "other"
	// KindTLS: a failed TLS handshake or a broken TLS stream (an unknown or
	// mismatched certificate, a server that does not speak TLS, an alert).
	KindTLS = "tls"
	// KindFrameTooBig: a frame or message longer than the read limit.
	// The client answers with close 1009 and drops the socket.
	KindFrameTooBig = "frame_too_big"
	// KindProtocol: bytes that are not a valid server frame (an unknown
	// opcode, reserved bits, a fragmented or oversized control frame, a
	// broken fragment sequence): garbage on the socket. Answered with 1002.
	KindProtocol = "protocol"
)

// ProtocolError is a frame the client cannot accept; Kind is
// KindFrameTooBig or KindProtocol.
type ProtocolError struct {
	Kind string
	msg  string
}

func (e *ProtocolError) Error() string { return "websocket: " + e.msg }

func frameTooBig(n, limit int64) error {
	return &ProtocolError{Kind: KindFrameTooBig, msg: fmt.Sprintf("frame of %d bytes is over the %d-byte read limit (--read-limit)", uint64(n), limit)}
}

func badFrame(format string, a ...any) error {
	return &ProtocolError{Kind: KindProtocol, msg: fmt.Sprintf(format, a...)}
}

// closeCode is the close status the client sends for a protocol error.
func (e *ProtocolError) closeCode() uint16 {
	if e.Kind == KindFrameTooBig {
		return 1009
	}
	return 1002
}

// CloseError is a close frame received from the server, with the reason
// it gave (protocols such as Centrifuge's put theirs there).
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string { return fmt.Sprintf("closed by server with status %d", e.Code) }

// HandshakeError is an upgrade answered with a status other than 101.
type HandshakeError struct{ Status int }

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("websocket upgrade answered HTTP %d", e.Status)
}

// Kind names the kind of a dial, upgrade or read error: one of the Kind
// constants, "http_<status>" for an upgrade refused with an HTTP status, or
// "close_<code>" for a close from the server.
func Kind(err error) string {
	var he *HandshakeError
	var ce *CloseError
	var ne net.Error
	var pe *ProtocolError
	switch {
	case errors.As(err, &he):
		return "http_" + strconv.Itoa(he.Status)
	case errors.As(err, &ce):
		return "close_" + strconv.Itoa(ce.Code)
	case isTLSError(err):
		return KindTLS
	case errors.As(err, &pe):
		return pe.Kind
	case errors.Is(err, syscall.ECONNREFUSED):
		return KindRefused
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return KindFDLimit
	case errors.Is(err, syscall.EADDRNOTAVAIL), errors.Is(err, syscall.EADDRINUSE):
		return KindPortExhausted
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return KindReset
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return KindTimeout
	case errors.Is(err, context.Canceled):
		return KindCanceled
	}
	if strings.Contains(err.Error(), "websocket") || strings.Contains(err.Error(), "malformed HTTP") {
		return KindHandshake
	}
	return KindOther
}
