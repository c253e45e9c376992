package stomp

import (
	"bytes"
)

// frame is one STOMP frame, its parts slices of the received message.
type frame struct {
	command []byte
	headers []byte // the header lines, each ending in \n
	body    []byte
}

// frameError is a frame swarm cannot read (a server bug, or not STOMP).
type frameError string

func (e frameError) Error() string { return "stomp: " + string(e) }

// next parses the first frame in b after any heart-beat EOLs: ok is false
// when b held only EOLs. STOMP over WebSocket puts whole frames in each
// message (RabbitMQ's Web-STOMP and Spring send one frame per message), so
// a frame cut short is an error, not something to wait for.
func next(b []byte) (f frame, rest []byte, ok bool, err error) {
	for len(b) > 0 && (b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	if len(b) == 0 {
		return f, nil, false, nil
	}
	line, b, found := cutLine(b)
	if !found {
		return f, nil, false, frameError("frame without a header end")
	}
	f.command = line
	hstart := b
	for {
		line, b, found = cutLine(b)
		if !found {
			return f, nil, false, frameError("frame without a header end")
		}
		if len(line) == 0 {
			break
		}
	}
	f.headers = hstart[:len(hstart)-len(b)]
	// STOMP 1.2: the body is content-length bytes when the header is there,
	// else everything up to the NUL.
	if cl, has := header(f.headers, "content-length"); has {
		n, ok := atoi(cl)
		if !ok || n >= len(b) || b[n] != 0 {
			return f, nil, false, frameError("content-length does not match the frame")
		}
		f.body, rest = b[:n], b[n+1:]
		return f, rest, true, nil
	}
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return f, nil, false, frameError("frame not terminated by NUL")
	}
	f.body = b[:i]
	return f, b[i+1:], true, nil
}

// atoi reads a content-length (without allocating, unlike strconv on a
// []byte).
func atoi(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// cutLine cuts b at its first \n (a \r before it is dropped).
func cutLine(b []byte) (line, rest []byte, found bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return nil, b, false
	}
	line = b[:i]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, b[i+1:], true
}

// header is the value of the first header called name (STOMP 1.2: the
// first of repeated headers counts).
func header(headers []byte, name string) ([]byte, bool) {
	for len(headers) > 0 {
		var line []byte
		line, headers, _ = cutLine(headers)
		k, v, ok := bytes.Cut(line, []byte{':'})
		if ok && string(k) == name {
			return v, true
		}
	}
	return nil, false
}
