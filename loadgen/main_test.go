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
	if os.Getenv(procsWorkerEnv) != "" {
		procsWorker()
	}
	goleak.VerifyTestMain(m)
}
