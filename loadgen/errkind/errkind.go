// Package errkind is the vocabulary of swarm's error counts: the kinds
// under which a results file counts failed connects (errors.connect) and
// lost sockets (errors.disconnect), and what each means and what to change.
// The WebSocket client names its errors with it, the engine adds its own,
// protocol adapters build theirs with Protocol, and reports explain them.
package errkind

import "strconv"

// Kind names one kind of failed connect or lost socket; as a string it is
// the key in a results file.
type Kind string

// The kinds of the network and the WebSocket.
const (
	Refused       Kind = "refused"
	Timeout       Kind = "timeout"
	Reset         Kind = "reset"
	FDLimit       Kind = "fd_limit"        // EMFILE/ENFILE: out of file descriptors
	PortExhausted Kind = "port_exhaustion" // EADDRNOTAVAIL: out of ephemeral ports
	Handshake     Kind = "handshake"       // the upgrade answer is not HTTP or not a valid 101
	Canceled      Kind = "canceled"
	Other         Kind = "other"
	// TLS: a failed TLS handshake or a broken TLS stream (an unknown or
	// mismatched certificate, a server that does not speak TLS, an alert).
	TLS Kind = "tls"
	// FrameTooBig: a frame or message longer than the read limit; the
	// client answers with close 1009 and drops the socket.
	FrameTooBig Kind = "frame_too_big"
	// Protocol: bytes that are not a valid server frame (an unknown
	// opcode, reserved bits, a fragmented or oversized control frame, a
	// broken fragment sequence): garbage on the socket. Answered with 1002.
	Protocol Kind = "protocol"
)

// The kinds of a socket lost mid-run that swarm tells apart itself.
const (
	// EOF: the server closed the TCP connection without a close frame.
	EOF Kind = "eof"
	// WriteFailed: swarm's write failed or timed out: the server stopped
	// reading the socket.
	WriteFailed Kind = "write_failed"
	// PingTimeout: swarm closed the socket because the server went
	// silent: nothing arrived for the ping interval, a ping went out, and
	// still nothing arrived for the ping timeout (a frozen, partitioned or
	// vanished server whose socket looks open).
	PingTimeout Kind = "ping_timeout"
)

// HTTP is an upgrade refused with an HTTP status.
func HTTP(status int) Kind { return Kind("http_" + strconv.Itoa(status)) }

// Close is a close frame from the server with a status code.
func Close(code int) Kind { return Kind("close_" + strconv.Itoa(code)) }
