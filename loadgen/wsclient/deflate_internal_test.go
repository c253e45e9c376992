package wsclient

import (
	"bytes"
	"compress/flate"
	"errors"
	"testing"

	"github.com/chatbench/chatbench/loadgen/errkind"
)

// An inflated message over the read limit, or a corrupt deflate stream, is a
// protocol error of its kind (so the socket is failed with 1009 or 1002 and
// counted as such), not an unclassified error.
func TestInflateErrorsAreProtocolErrors(t *testing.T) {
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestSpeed)
	_, _ = fw.Write(bytes.Repeat([]byte("cb1."), 5000)) // 20,000 bytes inflated
	_ = fw.Flush()
	payload := bytes.TrimSuffix(buf.Bytes(), []byte{0, 0, 0xff, 0xff}) // as permessage-deflate sends it
	var got int
	if err := inflateMessage(payload, 1<<20, func(p []byte) error { got = len(p); return nil }); err != nil || got != 20000 {
		t.Fatalf("within the limit: %d bytes, %v", got, err)
	}
	var pe *ProtocolError
	if err := inflateMessage(payload, 1000, func([]byte) error { return nil }); !errors.As(err, &pe) || pe.Kind != errkind.FrameTooBig {
		t.Errorf("over the limit: %v, want a %s protocol error", err, errkind.FrameTooBig)
	}
	if err := inflateMessage([]byte{0xff, 0xff, 0xff, 0xff}, 1<<20, func([]byte) error { return nil }); !errors.As(err, &pe) || pe.Kind != errkind.Protocol {
		t.Errorf("corrupt stream: %v, want a %s protocol error", err, errkind.Protocol)
	}
}
