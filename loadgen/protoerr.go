package loadgen

import "fmt"

// Disconnect kinds of a server that breaks the WebSocket protocol (keys of
// Result.Errors.Disconnect, next to close_<code>, eof, reset, tls, ...).
const (
	// ErrFrameTooBig: a frame longer than swarm's read limit (Config.ReadLimit).
	// swarm answers with close 1009 and drops the socket.
	ErrFrameTooBig = "frame_too_big"
	// ErrProtocol: bytes that are not a valid server frame (an unknown
	// opcode, reserved bits, a fragmented or oversized control frame):
	// garbage on the socket. swarm answers with close 1002.
	ErrProtocol = "protocol"
)

// protocolError is a frame swarm cannot accept; kind is ErrFrameTooBig or
// ErrProtocol.
type protocolError struct {
	kind string
	msg  string
}

func (e *protocolError) Error() string { return "websocket: " + e.msg }

func frameTooBig(n, limit int64) error {
	return &protocolError{kind: ErrFrameTooBig, msg: fmt.Sprintf("frame of %d bytes is over the %d-byte read limit (--read-limit)", uint64(n), limit)}
}

func badFrame(format string, a ...any) error {
	return &protocolError{kind: ErrProtocol, msg: fmt.Sprintf(format, a...)}
}

// closeCode is the close status swarm sends for a protocol error.
func (e *protocolError) closeCode() uint16 {
	if e.kind == ErrFrameTooBig {
		return 1009
	}
	return 1002
}

// frameErrors counts the frames a chat server should not send (see
// Errors.Frames); nil when there were none. Called after every reader ended.
func (r *run) frameErrors() map[string]int64 {
	var bin, bad int64
	for _, c := range r.clients {
		if c != nil {
			bin += c.ws.binary
		}
	}
	for _, sh := range r.shards {
		bad += sh.bad.Load()
	}
	if bin == 0 && bad == 0 {
		return nil
	}
	m := map[string]int64{}
	if bin > 0 {
		m["binary"] = bin
	}
	if bad > 0 {
		m["bad_probe"] = bad
	}
	return m
}
