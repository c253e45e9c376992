package loadgen

import (
	"bytes"
	"crypto/rand"
	"strconv"
)

// ProbePrefix starts every probe. Receivers look for it anywhere in a frame.
const ProbePrefix = "cb1."

var probePrefix = []byte(ProbePrefix)

// maxProbeHeader is the longest probe without padding:
// "cb1." + run(16) + "." + 3×(19 digits + ".") + "s" + 19 digits.
const maxProbeHeader = 4 + 16 + 1 + 3*20 + 1 + 19

// NewRunID returns a random run id of 8 characters from [a-z0-9].
func NewRunID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	var b [8]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}

// Probe is one parsed probe.
type Probe struct {
	Run    []byte // run id; aliases the frame, valid only during the callback
	Client int64  // sender's client index
	Seq    int64  // sender's counter
	Due    int64  // scheduled send time, ns on the sender's monotonic clock
	// SendDelay is actual send time minus due time in ns, carried in the pad
	// as "s<ns>"; -1 when the probe has none (another tool's probe).
	SendDelay int64
}

// AppendProbe appends the probe text to dst and pads it with 'x' until the
// appended text is size bytes long (it is never cut shorter than its fields).
// The pad starts with "s<sendDelay>" so receivers can compute latency from
// the actual send time; it stays in [a-z0-9.] so JSON escaping never changes it.
func AppendProbe(dst []byte, run string, client, seq, due, sendDelay int64, size int) []byte {
	start := len(dst)
	dst = append(dst, ProbePrefix...)
	dst = append(dst, run...)
	dst = append(dst, '.')
	dst = strconv.AppendInt(dst, client, 10)
	dst = append(dst, '.')
	dst = strconv.AppendInt(dst, seq, 10)
	dst = append(dst, '.')
	dst = strconv.AppendInt(dst, due, 10)
	dst = append(dst, '.', 's')
	if sendDelay < 0 {
		sendDelay = 0
	}
	dst = strconv.AppendInt(dst, sendDelay, 10)
	for len(dst)-start < size {
		dst = append(dst, 'x')
	}
	return dst
}

// NextProbe finds the next well-formed probe in b, parses it into p and
// returns the bytes after it. found is false when b holds no more probes; bad
// counts malformed candidates skipped on the way. It does not allocate, and
// p.Run aliases b.
func NextProbe(b []byte, p *Probe) (rest []byte, found bool, bad int) {
	for {
		i := bytes.Index(b, probePrefix)
		if i < 0 {
			return nil, false, bad
		}
		b = b[i+len(probePrefix):]
		n, ok := parseProbe(b, p)
		if !ok {
			bad++
			continue
		}
		return b[n:], true, bad
	}
}

// parseProbe parses the fields after "cb1." and returns how many bytes it used.
func parseProbe(b []byte, p *Probe) (int, bool) {
	i := 0
	for i < len(b) && i <= 16 && isAlnum(b[i]) {
		i++
	}
	if i == 0 || i > 16 || i >= len(b) || b[i] != '.' {
		return 0, false
	}
	p.Run = b[:i]
	i++
	var ok bool
	if p.Client, i, ok = parseUint(b, i); !ok || i >= len(b) || b[i] != '.' {
		return 0, false
	}
	i++
	if p.Seq, i, ok = parseUint(b, i); !ok || i >= len(b) || b[i] != '.' {
		return 0, false
	}
	i++
	if p.Due, i, ok = parseUint(b, i); !ok {
		return 0, false
	}
	p.SendDelay = -1
	if i+1 < len(b) && b[i] == '.' && b[i+1] == 's' {
		if d, j, ok := parseUint(b, i+2); ok {
			p.SendDelay = d
			i = j
		}
	}
	return i, true
}

func parseUint(b []byte, i int) (int64, int, bool) {
	start := i
	var v int64
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		if i-start >= 18 {
			return 0, i, false
		}
		v = v*10 + int64(b[i]-'0')
		i++
	}
	return v, i, i > start
}

func isAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
