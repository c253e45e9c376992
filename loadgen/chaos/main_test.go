package chaos_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/chatbench/chatbench/cmd"
)

// runAsChatbench makes the test binary the chatbench binary for the serve
// nodes the experiments start (Config.Exe = os.Args[0]).
const runAsChatbench = "CHATBENCH_TEST_RUN_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runAsChatbench) != "" {
		os.Exit(cmd.Execute(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Setenv(runAsChatbench, "1") // for the children only: read above, before
	goleak.VerifyTestMain(m)
}
