package mqtt_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chatbench/chatbench/loadgen/protocol/internal/prototest"
	"github.com/chatbench/chatbench/loadgen/protocol/mqtt"
)

// mosquittoConf: an anonymous WebSocket listener, one that refuses
// anonymous clients, and a plain MQTT listener (Mosquitto 2.0.11 will not
// start with WebSocket listeners only). socket_domain ipv4 keeps the
// WebSocket listeners on 127.0.0.1. At QoS 1 the broker keeps at most 20
// messages in flight to a client (its default, set here so it is known):
// a client that did not PUBACK would get no more than that. Its queue is
// unbounded, so nothing is dropped for a slow acknowledgement.
const mosquittoConf = `per_listener_settings true
listener %d 127.0.0.1
protocol mqtt
allow_anonymous false
listener %d 127.0.0.1
protocol websockets
socket_domain ipv4
allow_anonymous true
listener %d 127.0.0.1
protocol websockets
socket_domain ipv4
allow_anonymous false
max_queued_messages 0
max_inflight_messages 20
persistence false
log_dest stderr
`

// startMosquitto starts a Mosquitto of the test's own and returns the URLs
// of its anonymous and its refusing WebSocket listeners.
func startMosquitto(t *testing.T) (open, refusing string) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration")
	}
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		t.Fatalf("mosquitto is needed (Debian package mosquitto): %v", err)
	}
	ports := []int{prototest.FreePort(t), prototest.FreePort(t), prototest.FreePort(t)}
	conf := filepath.Join(t.TempDir(), "mosquitto.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, mosquittoConf, ports[0], ports[1], ports[2]), 0o600); err != nil {
		t.Fatal(err)
	}
	prototest.Start(t, exec.Command(bin, "-c", conf), `mosquitto version \S+ (running)`)
	return fmt.Sprintf("ws://127.0.0.1:%d/", ports[1]), fmt.Sprintf("ws://127.0.0.1:%d/", ports[2])
}

// 20 clients in 2 rooms for 7 s with a 1 s keep alive, at QoS 0 and 1:
// half the clients only listen, so Mosquitto keeps them (it drops a silent
// WebSocket client about 5 s after its last packet: see the control below)
// only for their PINGREQs. Every probe reaches its room's 10 members
// exactly once.
func TestMosquitto(t *testing.T) {
	url, _ := startMosquitto(t)
	for _, qos := range []string{"0", "1"} {
		t.Run("qos="+qos, func(t *testing.T) {
			cfg := prototest.Config(url, "mqtt", map[string]string{"qos": qos, "keepalive": "1s", "topic": "chat/qos" + qos + "/{{room}}"}, 20, 2, 7*time.Second)
			prototest.Exact(t, prototest.Run(t, cfg), 20, 10)
		})
	}
}

// A CONNACK with return code 5 (not authorized: the listener refuses
// anonymous clients) is connect error mqtt_connack_5 with its meaning.
func TestMosquittoConnackRefused(t *testing.T) {
	_, refusing := startMosquitto(t)
	res := prototest.Run(t, prototest.ErrorRun(refusing, "mqtt", nil, 3))
	prototest.ConnectErrors(t, res, 3, mqtt.KindConnack+"5", "not authorized")
}

// The control: Mosquitto drops a client that announced a 1 s keep alive
// and then stays silent (2.0.11 takes about 5 s over WebSocket, not the
// 1.5 s MQTT allows), within the 9 s the run above keeps its
// listening-only sockets.
func TestMosquittoDropsSilentClient(t *testing.T) {
	url, _ := startMosquitto(t)
	p, err := mqtt.New(map[string]string{"keepalive": "1s"})
	if err != nil {
		t.Fatal(err)
	}
	prototest.SilentSessionDropped(t, p, url, 8*time.Second)
}
