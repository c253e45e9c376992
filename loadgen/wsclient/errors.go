package wsclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/chatbench/chatbench/loadgen/errkind"
)

// ProtocolError is a frame the client cannot accept; Kind is
// errkind.FrameTooBig or errkind.Protocol.
type ProtocolError struct {
	Kind errkind.Kind
	msg  string
}

func (e *ProtocolError) Error() string { return "websocket: " + e.msg }

func frameTooBig(n, limit int64) error {
	return &ProtocolError{Kind: errkind.FrameTooBig, msg: fmt.Sprintf("frame of %d bytes is over the %d-byte read limit (--read-limit)", uint64(n), limit)}
}

func badFrame(format string, a ...any) error {
	return &ProtocolError{Kind: errkind.Protocol, msg: fmt.Sprintf(format, a...)}
}

// closeCode is the close status the client sends for a protocol error.
func (e *ProtocolError) closeCode() uint16 {
	if e.Kind == errkind.FrameTooBig {
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

// Kind names the kind of a dial, upgrade or read error: one of errkind's
// network and WebSocket kinds, errkind.HTTP for an upgrade refused with an
// HTTP status, or errkind.Close for a close from the server.
func Kind(err error) errkind.Kind {
	var he *HandshakeError
	var ce *CloseError
	var ne net.Error
	var pe *ProtocolError
	switch {
	case errors.As(err, &he):
		return errkind.HTTP(he.Status)
	case errors.As(err, &ce):
		return errkind.Close(ce.Code)
	case isTLSError(err):
		return errkind.TLS
	case errors.As(err, &pe):
		return pe.Kind
	case errors.Is(err, syscall.ECONNREFUSED):
		return errkind.Refused
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return errkind.FDLimit
	case errors.Is(err, syscall.EADDRNOTAVAIL), errors.Is(err, syscall.EADDRINUSE):
		return errkind.PortExhausted
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return errkind.Reset
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return errkind.Timeout
	case errors.Is(err, context.Canceled):
		return errkind.Canceled
	}
	if strings.Contains(err.Error(), "websocket") || strings.Contains(err.Error(), "malformed HTTP") {
		return errkind.Handshake
	}
	return errkind.Other
}
