package wsclient

import (
	"compress/flate"
	"errors"
	"io"
	"strings"
	"sync"
)

// permessage-deflate (RFC 7692), offered only when asked (DialOptions.Compression)
// and only without context takeover in both directions: every message then
// inflates on its own with a pooled inflater, so a compressed socket costs no
// more memory at rest than a plain one. swarm's own messages are sent
// uncompressed (allowed: compression is per message).

// deflateOffer is the Sec-WebSocket-Extensions value swarm offers.
const deflateOffer = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

// checkDeflateResponse reports whether the server accepted permessage-deflate
// in a way swarm can decode.
func checkDeflateResponse(ext string) (bool, error) {
	if !strings.Contains(ext, "permessage-deflate") {
		return false, nil
	}
	if !strings.Contains(ext, "server_no_context_takeover") {
		return true, errors.New("websocket upgrade: server accepted permessage-deflate without server_no_context_takeover")
	}
	return true, nil
}

// deflateTail ends a message's deflate stream: the sync marker the sender
// removed, then an empty final block so the inflater ends with io.EOF.
const deflateTail = "\x00\x00\xff\xff\x01\x00\x00\xff\xff"

// tailReader reads p then deflateTail; it is an io.ByteReader so flate does
// not wrap it in a bufio.Reader.
type tailReader struct {
	p []byte
	t int
}

func (r *tailReader) Read(b []byte) (int, error) {
	if len(r.p) > 0 {
		n := copy(b, r.p)
		r.p = r.p[n:]
		return n, nil
	}
	if r.t >= len(deflateTail) {
		return 0, io.EOF
	}
	n := copy(b, deflateTail[r.t:])
	r.t += n
	return n, nil
}

func (r *tailReader) ReadByte() (byte, error) {
	if len(r.p) > 0 {
		c := r.p[0]
		r.p = r.p[1:]
		return c, nil
	}
	if r.t >= len(deflateTail) {
		return 0, io.EOF
	}
	c := deflateTail[r.t]
	r.t++
	return c, nil
}

type inflater struct {
	src tailReader
	fr  io.ReadCloser
	out []byte
}

var inflaterPool sync.Pool

// inflateMessage decompresses one message and calls fn with the result
// (valid only during the call).
func inflateMessage(payload []byte, limit int64, fn func([]byte) error) error {
	f, _ := inflaterPool.Get().(*inflater)
	if f == nil {
		f = &inflater{out: make([]byte, 64<<10)}
		f.src = tailReader{p: payload}
		f.fr = flate.NewReader(&f.src)
	} else {
		f.src = tailReader{p: payload}
		if err := f.fr.(flate.Resetter).Reset(&f.src, nil); err != nil {
			return err
		}
	}
	defer inflaterPool.Put(f)
	n := 0
	for {
		if n == len(f.out) { // n ≤ limit here: checked after the last read
			f.out = append(f.out, make([]byte, len(f.out))...)
		}
		m, err := f.fr.Read(f.out[n:])
		n += m
		if int64(n) > limit {
			return frameTooBig(int64(n), limit)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return badFrame("inflate: %v", err)
		}
	}
	if err := fn(f.out[:n]); err != nil {
		return &handlerError{err}
	}
	return nil
}

// handlerError carries the message handler's own error out of
// inflateMessage, apart from the inflater's.
type handlerError struct{ err error }

func (e *handlerError) Error() string { return e.err.Error() }
