package serveline

import "testing"

func TestRoundTrip(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:38211", "https://[::1]:8443"} {
		got, err := Parse(Format(u, "redis") + "\n")
		if err != nil || got != u {
			t.Errorf("Parse(Format(%q)) = %q, %v", u, got, err)
		}
	}
	for _, bad := range []string{"", "listening on http://x", "chatbench serve: listening on ftp://x (backend memory)", "chatbench serve: listening on  (backend memory)"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}
