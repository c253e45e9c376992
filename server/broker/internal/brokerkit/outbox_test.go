package brokerkit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/chatbench/chatbench/server/broker"
)

// fakeOutbox holds up to max messages and confirms nothing.
type fakeOutbox struct {
	mu      sync.Mutex
	max     int
	held    int
	flushed bool
}

func (o *fakeOutbox) Hold(batch []broker.Message) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	take := min(len(batch), o.max-o.held)
	o.held += take
	return len(batch) - take
}

func (o *fakeOutbox) Flush(ctx context.Context) {
	o.mu.Lock()
	o.flushed = true
	o.mu.Unlock()
	<-ctx.Done()
}

func (o *fakeOutbox) Abandon() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := o.held
	o.held = 0
	return n
}

func (o *fakeOutbox) Pending() int { return o.heldNow() }

func (o *fakeOutbox) heldNow() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.held
}

// TestOutboxHoldsWhileDown: with an Outbox, Publish before Start still
// fails (ErrNotReady), but once started Publish queues while the backend is
// down; the publisher hands the messages to the Outbox, whose refusals are
// counted retry_buffer_full; Close flushes it (bounded) and counts what is
// left unconfirmed_at_close. Nothing is counted backend_down.
func TestOutboxHoldsWhileDown(t *testing.T) {
	f, o := &fakeTransport{}, &fakeOutbox{max: 5}
	s, err := New(Config{Backend: "fake", Where: "fake://", Outbox: o,
		Lifecycle: broker.Lifecycle{ReconnectMin: time.Hour}}, f)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Publish(broker.Message{Room: "r"}); !errors.Is(err, broker.ErrNotReady) {
		t.Fatalf("Publish before Start = %v, want ErrNotReady", err)
	}
	if err := s.Start(context.Background(), "me", func(broker.Message) {}); err != nil {
		t.Fatal(err)
	}
	f.set(func() { f.dialErr = errDial })
	f.last().sink.Fail(errors.New("connection reset"))
	eventually(t, "Ready to fail", func() bool { return s.Ready() != nil })
	for i := range 8 {
		if err := s.Publish(broker.Message{Room: "r"}); err != nil {
			t.Fatalf("Publish %d while down = %v, want queued", i, err)
		}
	}
	eventually(t, "the outbox full", func() bool { return s.Stats().Dropped[DropRetryFull] == 3 })
	if o.heldNow() != 5 {
		t.Errorf("outbox holds %d, want 5", o.heldNow())
	}
	if got := testutil.ToFloat64(gauge(s.Collector(), "chatbench_backend_retry_buffered")); got != 5 {
		t.Errorf("chatbench_backend_retry_buffered = %v, want 5", got)
	}
	t0 := time.Now()
	_ = s.Close()
	if d := time.Since(t0); d > closeFlushTimeout+time.Second {
		t.Errorf("Close took %v: the flush is bounded by %v", d, closeFlushTimeout)
	}
	st := s.Stats()
	if !o.flushed || st.Dropped[DropUnconfirmed] != 5 || st.Dropped[DropDown] != 1 || st.Dropped[DropPublishError] != 0 {
		t.Errorf("flushed %v, stats %+v; want flushed, unconfirmed_at_close 5, backend_down 1 (only the Publish before Start), publish_failed 0", o.flushed, st)
	}
}

// TestDeliverWaitStops: a full lane makes DeliverWait wait, not drop; it
// gives up, reporting false and counting nothing, when stop closes.
func TestDeliverWaitStops(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	entered := make(chan struct{}, 1)
	s, f := startFake(t, broker.Lifecycle{Dispatchers: 1, DeliverQueue: 1}, func(broker.Message) {
		entered <- struct{}{}
		<-release
	})
	sink := f.last().sink
	m := broker.Message{Room: "r", Origin: "other"}
	if !sink.DeliverWait(m, nil) {
		t.Fatal("first DeliverWait refused")
	}
	<-entered // the handler holds the first; the lane is empty
	if !sink.DeliverWait(m, nil) {
		t.Fatal("second DeliverWait refused")
	}
	stop := make(chan struct{})
	done := make(chan bool)
	go func() { done <- sink.DeliverWait(m, stop) }()
	select {
	case <-done:
		t.Fatal("DeliverWait returned with its lane full")
	case <-time.After(50 * time.Millisecond): // absence has no signal
	}
	close(stop)
	if <-done {
		t.Error("DeliverWait reported success after stop")
	}
	if d := s.Stats().Dropped[DropDeliverFull]; d != 0 {
		t.Errorf("deliver_queue_full = %d, want 0: DeliverWait never drops", d)
	}
}

// TestSessionRetryFullCounted: a live session whose outbox refuses messages
// (ErrRetryFull) has them counted retry_buffer_full, not publish_failed.
func TestSessionRetryFullCounted(t *testing.T) {
	f := &fakeTransport{pubErr: fmt.Errorf("outbox at 5: %w", ErrRetryFull)}
	s, err := New(Config{Backend: "fake", Where: "fake://", Outbox: &fakeOutbox{max: 5}}, f)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Start(context.Background(), "me", func(broker.Message) {}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := s.Publish(broker.Message{Room: "r"}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "3 refusals counted", func() bool { return s.Stats().Dropped[DropRetryFull] == 3 })
	if st := s.Stats(); st.Dropped[DropPublishError] != 0 || st.Errors[OpPublish] != 0 {
		t.Errorf("stats %+v: a full retry buffer counted as a publish failure", st)
	}
}

// gauge returns the one series named name that c collects.
func gauge(c prometheus.Collector, name string) prometheus.Collector {
	ch := make(chan prometheus.Metric, 64)
	c.Collect(ch)
	close(ch)
	for m := range ch {
		if strings.Contains(m.Desc().String(), `"`+name+`"`) {
			return constCollector{m}
		}
	}
	return constCollector{}
}

type constCollector struct{ m prometheus.Metric }

func (c constCollector) Describe(ch chan<- *prometheus.Desc) {
	if c.m != nil {
		ch <- c.m.Desc()
	}
}

func (c constCollector) Collect(ch chan<- prometheus.Metric) {
	if c.m != nil {
		ch <- c.m
	}
}
