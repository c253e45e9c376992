package opts

import (
	"strings"
	"testing"
	"time"

	"github.com/chatbench/chatbench/loadgen"
)

func TestParseRefusesUnknown(t *testing.T) {
	_, err := Parse("mqtt", map[string]string{"topic": "a", "qos": "1", "tpoic": "b"}, "topic", "qos")
	if err == nil || err.Error() != `--protocol mqtt: unknown option "tpoic" (known: topic, qos)` {
		t.Fatalf("got %v", err)
	}
}

func TestTemplate(t *testing.T) {
	o, err := Parse("x", map[string]string{"empty": " ", "typo": "a/{{rooms}}", "open": "a/{{room", "twice": "{{probe}}{{probe}}",
		"none": "text", "ok": "t/{{room}}/{{user}}/{{client}}", "msg": `{"m":"{{probe}}","r":"{{room}}"}`},
		"empty", "typo", "open", "twice", "none", "ok", "msg")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		allowed []string
		wantErr string
	}{
		{"empty", []string{Room}, "empty: the template must leave a value"},
		{"typo", []string{Room}, "unknown placeholder {{rooms}} (allowed here: {{room}})"},
		{"open", []string{Room}, `"{{room" is not closed with }}`},
		{"twice", []string{Probe}, "must contain {{probe}} once"},
		{"none", []string{Probe}, "must contain {{probe}} once"},
		{"ok", []string{Room}, "unknown placeholder {{user}}"},
	} {
		if _, err := o.Template(tc.name, "def", tc.allowed...); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.wantErr)
		}
	}
	s := loadgen.Setup{Client: 7, Room: 3, User: "u7", RoomID: "room3"}
	ok, err := o.Template("ok", "", Room, User, Client)
	if err != nil || ok.Expand(s) != "t/room3/u7/7" {
		t.Errorf("ok: %q, %v", ok.Expand(s), err)
	}
	msg, err := o.Template("msg", "", Probe, Room)
	before, after := msg.Split(s)
	if err != nil || string(before) != `{"m":"` || string(after) != `","r":"room3"}` {
		t.Errorf("msg: %q %q, %v", before, after, err)
	}
	def, err := o.Template("missing", "d/{{room}}", Room)
	if err != nil || def.Expand(s) != "d/room3" {
		t.Errorf("default: %q, %v", def.Expand(s), err)
	}
}

func TestNumbers(t *testing.T) {
	o, _ := Parse("x", map[string]string{"d": "250ms", "bad": "soon", "n": "3", "big": "9"}, "d", "bad", "n", "big", "unset")
	if d, err := o.Duration("d", time.Second, 0); d != 250*time.Millisecond || err != nil {
		t.Errorf("d: %v %v", d, err)
	}
	if _, err := o.Duration("bad", time.Second, 0); err == nil || !strings.Contains(err.Error(), `--protocol-opt bad="soon": want a duration`) {
		t.Errorf("bad: %v", err)
	}
	if _, err := o.Duration("d", time.Second, time.Second); err == nil {
		t.Error("250ms accepted where at least 1s is asked")
	}
	if n, err := o.Int("n", 0, 0, 5); n != 3 || err != nil {
		t.Errorf("n: %v %v", n, err)
	}
	if _, err := o.Int("big", 0, 0, 5); err == nil {
		t.Error("9 accepted in 0..5")
	}
	if n, err := o.Int("unset", 4, 0, 5); n != 4 || err != nil {
		t.Errorf("unset: %v %v", n, err)
	}
}
