package loadgen_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(fakeServeEnv) != "" {
		fakeServe()
	}
	goleak.VerifyTestMain(m)
}
