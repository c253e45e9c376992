package errkind

import "testing"

// Every kind the client or the engine records has an explanation, except
// the two that say nothing more than their name (a run canceled, an error
// of no known kind); the built kinds have the file's key format.
func TestEveryKindIsExplained(t *testing.T) {
	for _, k := range []Kind{Refused, Timeout, Reset, FDLimit, PortExhausted, Handshake, TLS, FrameTooBig, Protocol,
		EOF, WriteFailed, PingTimeout, HTTP(503), Close(1008)} {
		if Explain(k) == "" {
			t.Errorf("%s: no explanation", k)
		}
	}
	for _, k := range []Kind{Canceled, Other, HTTP(418), Close(4000)} {
		if Explain(k) != "" {
			t.Errorf("%s: explained as %q, want nothing beyond its name", k, Explain(k))
		}
	}
	if HTTP(503) != "http_503" || Close(1008) != "close_1008" {
		t.Errorf("HTTP(503) = %s, Close(1008) = %s", HTTP(503), Close(1008))
	}
	if !SwarmSide(FDLimit) || !SwarmSide(PortExhausted) || SwarmSide(Refused) || SwarmSide(HTTP(503)) {
		t.Error("only fd_limit and port_exhaustion are swarm's own limits")
	}
}
