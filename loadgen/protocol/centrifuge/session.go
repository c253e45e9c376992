package centrifuge

import (
	"bytes"
	"encoding/json"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/chatbench/chatbench/loadgen/wsclient"
)

// session is one client's Centrifuge session.
type session struct {
	conn *wsclient.Conn
	pong bool // the server wants its pings answered
	// nextID numbers the publish commands (the protocol wants an id on
	// every command but the pong); middle and after go around the probe.
	nextID        atomic.Uint32
	middle, after []byte
	// pongBuf is the reader's buffer for pongs (no allocation per ping).
	pongBuf [wsclient.HeaderRoom + 2]byte
}

var (
	pushPrefix    = []byte(`{"push":`)
	disconnectKey = []byte(`"disconnect":{`)
	errorKey      = []byte(`"error":{`)
)

func (s *session) AppendMessage(dst, text []byte) ([]byte, bool) {
	dst = append(dst, `{"id":`...)
	dst = strconv.AppendUint(dst, uint64(s.nextID.Add(1)), 10)
	dst = append(dst, s.middle...)
	dst = append(dst, text...)
	return append(dst, s.after...), false
}

// Receive reads each line of msg: pushes go to deliver (a disconnect push
// ends the session), pings are answered, an error reply (a refused
// publish) ends the session, other replies need nothing.
func (s *session) Receive(msg []byte, deliver func([]byte)) error {
	for len(msg) > 0 {
		var line []byte
		line, msg, _ = bytes.Cut(msg, []byte{'\n'})
		switch {
		case len(line) == 2 && line[0] == '{' && line[1] == '}':
			if s.pong {
				if err := s.answerPing(); err != nil {
					return err
				}
			}
		case bytes.HasPrefix(line, pushPrefix):
			if bytes.Contains(line, disconnectKey) {
				return lineErr(line)
			}
			deliver(line)
		case bytes.Contains(line, errorKey):
			return lineErr(line)
		}
	}
	return nil
}

// answerPing writes the pong, {}.
func (s *session) answerPing() error {
	b := s.pongBuf[:]
	b[wsclient.HeaderRoom], b[wsclient.HeaderRoom+1] = '{', '}'
	return s.conn.WriteText(b, 0x2f6b0c1d, time.Now().Add(5*time.Second))
}

// lineErr is the server's error or disconnect in a line.
func lineErr(line []byte) error {
	var r reply
	if err := json.Unmarshal(line, &r); err != nil {
		return err
	}
	return r.err()
}
