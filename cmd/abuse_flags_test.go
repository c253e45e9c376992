package cmd

import (
	"strings"
	"testing"
)

func TestServeAbuseFlagsAreValidated(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--max-msg-rate", "fast"}, `--max-msg-rate "fast": want a rate such as 20/s or 600/min (0: no limit)`},
		{[]string{"--max-msg-rate", "10/s", "--rate-limit-policy", "kick"}, `rate limit policy "kick" is not one of "drop", "close"`},
		{[]string{"--max-msg-rate", "10/s", "--max-msg-burst", "-1"}, `max message burst -1 must not be negative`},
		{[]string{"--read-header-timeout", "-1s"}, `read header timeout -1s must not be negative`},
	} {
		code, _, stderr := runCLI(append([]string{"serve", "--addr", "127.0.0.1:0"}, tc.args...)...)
		if code != ExitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("serve %v: exit %d, stderr %q; want exit %d and %q", tc.args, code, stderr, ExitUsage, tc.want)
		}
	}
}
