package loadgen_test

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"syscall"
	"testing"

	"github.com/chatbench/chatbench/loadgen"
)

// ServerCPU reads a process's CPU as the kernel accounts it (this
// process's, against getrusage, to within a clock tick each way) and adds
// up every node's; with no source it says what to give.
func TestServerCPU(t *testing.T) {
	var before, after syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &before); err != nil {
		t.Fatal(err)
	}
	got, err := loadgen.ServerCPU(context.Background(), []int{os.Getpid()}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &after); err != nil {
		t.Fatal(err)
	}
	secs := func(r syscall.Rusage) float64 {
		return float64(r.Utime.Sec+r.Stime.Sec) + float64(r.Utime.Usec+r.Stime.Usec)/1e6
	}
	if got < secs(before)-0.02 || got > secs(after)+0.02 {
		t.Errorf("ServerCPU(self) = %v s; getrusage says %v..%v s", got, secs(before), secs(after))
	}
	metrics := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "process_cpu_seconds_total 2.5\nprocess_resident_memory_bytes 1e6\nprocess_start_time_seconds 1\n")
	}))
	defer metrics.Close()
	two, err := loadgen.ServerCPU(context.Background(), nil, []string{metrics.URL, metrics.URL}, nil)
	if err != nil || math.Abs(two-5) > 1e-9 {
		t.Errorf("two nodes at 2.5 s each: %v, %v; want 5", two, err)
	}
	if _, err := loadgen.ServerCPU(context.Background(), nil, nil, nil); err == nil || fmt.Sprint(err) != "no server process to read (give --server-pid or --metrics-url)" {
		t.Errorf("no source: %v", err)
	}
}
