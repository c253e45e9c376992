package wstest

import (
	"bufio"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Flood writes text frames on a WebSocket to addr as fast as the socket
// takes them, for d or until the server closes it, reading and dropping
// what comes back (its echoes). It returns how many frames it wrote.
func Flood(addr, query string, d time.Duration) (int, error) {
	nc, br, err := Upgrade(&net.Dialer{}, addr, query)
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _, _ = io.Copy(io.Discard, br) }()
	defer func() {
		nc.Close() // ends the reader too
		wg.Wait()
	}()
	frame := Text("flood flood flood flood")
	chunk := Repeat(frame, 2048)
	written := 0
	for end := time.Now().Add(d); time.Now().Before(end); {
		_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
		n, err := nc.Write(chunk)
		written += n / len(frame)
		if err != nil {
			break
		}
	}
	return written, nil
}

// PingFlooder writes ping frames as fast as the socket takes them and reads
// (and drops) what comes back; when the server closes it, it reconnects at
// once, until Stop.
type PingFlooder struct {
	pings, conns atomic.Int64
	stop, done   chan struct{}
}

// StartPingFlooder starts flooding addr.
func StartPingFlooder(addr string) *PingFlooder {
	f := &PingFlooder{stop: make(chan struct{}), done: make(chan struct{})}
	chunk := Repeat(Frame(OpPing, []byte("ping")), 4096)
	perPing := int64(len(chunk) / 4096)
	go func() {
		defer close(f.done)
		for {
			select {
			case <-f.stop:
				return
			default:
			}
			nc, br, err := Upgrade(&net.Dialer{}, addr, "room=pinger&user=pinger")
			if err != nil {
				time.Sleep(10 * time.Millisecond) // refused (at a limit): try again
				continue
			}
			f.conns.Add(1)
			f.flood(nc, br, chunk, perPing)
		}
	}()
	return f
}

// flood writes until the connection fails or the flooder is stopped.
func (f *PingFlooder) flood(nc net.Conn, br *bufio.Reader, chunk []byte, perPing int64) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _, _ = io.Copy(io.Discard, br) }() // pongs, then the close
	defer func() {
		nc.Close()
		wg.Wait()
	}()
	for {
		select {
		case <-f.stop:
			return
		default:
		}
		_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
		n, err := nc.Write(chunk)
		f.pings.Add(int64(n) / perPing)
		if err != nil {
			return
		}
	}
}

// Stop stops the flood and returns how many pings the kernel took and over
// how many connections.
func (f *PingFlooder) Stop() (pings, conns int64) {
	close(f.stop)
	<-f.done
	return f.pings.Load(), f.conns.Load()
}
