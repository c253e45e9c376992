package results_test

import (
	"strings"
	"testing"

	"github.com/chatbench/chatbench/loadgen/errkind"
	"github.com/chatbench/chatbench/loadgen/results"
)

// The server's words for an error kind survive the results file, merging
// (the first shard's words for a kind; other kinds added) and are printed
// under the connections line.
func TestErrorReasons(t *testing.T) {
	a, b := resultWith([]int64{1000}, 1), resultWith([]int64{2000}, 1)
	a.Errors.Connect = map[errkind.Kind]int64{"stomp_error": 2}
	a.Errors.Reasons = map[errkind.Kind]string{"stomp_error": "Bad CONNECT: Access refused for user 'guest'"}
	b.Errors.Connect = map[errkind.Kind]int64{"stomp_error": 1, "mqtt_connack_5": 3}
	b.Errors.Reasons = map[errkind.Kind]string{"stomp_error": "another refusal", "mqtt_connack_5": "connection refused: not authorized"}
	m, err := results.Merge(roundTrip(t, a), roundTrip(t, b))
	if err != nil {
		t.Fatal(err)
	}
	want := map[errkind.Kind]string{"stomp_error": "Bad CONNECT: Access refused for user 'guest'", "mqtt_connack_5": "connection refused: not authorized"}
	if len(m.Errors.Reasons) != 2 || m.Errors.Reasons["stomp_error"] != want["stomp_error"] || m.Errors.Reasons["mqtt_connack_5"] != want["mqtt_connack_5"] {
		t.Fatalf("merged reasons %v, want %v", m.Errors.Reasons, want)
	}
	var sb strings.Builder
	if err := results.WriteSummary(&sb, m); err != nil {
		t.Fatal(err)
	}
	out := sb.String()
	i, j := strings.Index(out, "mqtt_connack_5: connection refused: not authorized"), strings.Index(out, "stomp_error: Bad CONNECT")
	if i < 0 || j < i || strings.Index(out, "connections") > i {
		t.Errorf("summary does not list the reasons, sorted, after the connections line:\n%s", out)
	}
}
