package server

import (
	"bytes"
	"crypto/tls"
	"net"
	"testing"
)

// recordConn records every Write.
type recordConn struct {
	net.Conn
	writes [][]byte
}

func (c *recordConn) Write(p []byte) (int, error) {
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

// On a connection without writev (TLS), a batch goes out in one Write per
// coalesceChunk bytes, in order; a frame of a chunk or more goes alone.
func TestWriteCoalescedOneWritePerChunk(t *testing.T) {
	var frames net.Buffers
	var want []byte
	add := func(n int, size int) {
		for i := 0; i < n; i++ {
			f := bytes.Repeat([]byte{byte('a' + len(frames)%26)}, size)
			frames = append(frames, f)
			want = append(want, f...)
		}
	}
	add(100, 1000) // 65 fit in the first chunk, 35 start the second
	add(1, 70_000) // flushes the 35, then goes alone
	add(10, 1000)  // the last write
	rc := &recordConn{}
	w := &wireWriter{conn: rc, coalesce: true}
	n, err := w.writeBatch(frames)
	if err != nil || n != int64(len(want)) {
		t.Fatalf("writeBatch = %d, %v; want %d, nil", n, err, len(want))
	}
	var sizes []int
	for _, b := range rc.writes {
		sizes = append(sizes, len(b))
	}
	if wantSizes := []int{65_000, 35_000, 70_000, 10_000}; len(sizes) != len(wantSizes) ||
		sizes[0] != wantSizes[0] || sizes[1] != wantSizes[1] || sizes[2] != wantSizes[2] || sizes[3] != wantSizes[3] {
		t.Errorf("writes of %v bytes, want %v", sizes, wantSizes)
	}
	if got := bytes.Join(rc.writes, nil); !bytes.Equal(got, want) {
		t.Error("the bytes written differ from the frames, in order")
	}
	// Small batch: exactly one Write.
	rc.writes = nil
	if _, err := w.writeBatch(net.Buffers{[]byte("ab"), []byte("cd"), []byte("e")}); err != nil || len(rc.writes) != 1 || string(rc.writes[0]) != "abcde" {
		t.Errorf("small batch: %q, %v; want one write of \"abcde\"", rc.writes, err)
	}
}

func TestNeedsCoalescingOnlyForTLS(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if needsCoalescing(a) {
		t.Error("a plain conn is coalesced")
	}
	if !needsCoalescing(tls.Client(a, &tls.Config{InsecureSkipVerify: true})) {
		t.Error("a *tls.Conn is not coalesced")
	}
	if needsCoalescing(&net.TCPConn{}) {
		t.Error("a TCP conn (writev) is coalesced")
	}
}
