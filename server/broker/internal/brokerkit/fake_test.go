package brokerkit

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/chatbench/chatbench/server/broker"
)

// fakeTransport is a Transport without I/O: its sessions record what the
// supervisor asks of them, and the test decides whether dialling and health
// checks succeed.
type fakeTransport struct {
	mu       sync.Mutex
	dialErr  error
	frozen   bool  // Check waits for its deadline, as against a frozen backend
	pubErr   error // Publish reports every message of a batch lost with it
	sessions []*fakeSession
	events   []string // "publish N", "close session", "close transport", in order
}

type fakeSession struct {
	t      *fakeTransport
	sink   *Sink
	want   map[string]struct{}
	closed bool
}

func (f *fakeTransport) Dial(ctx context.Context, sink *Sink) (Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dialErr != nil {
		return nil, f.dialErr
	}
	s := &fakeSession{t: f, sink: sink}
	f.sessions = append(f.sessions, s)
	return s, nil
}

func (f *fakeTransport) Close() error {
	f.mu.Lock()
	f.events = append(f.events, "close transport")
	f.mu.Unlock()
	return nil
}

func (f *fakeTransport) set(fn func()) {
	f.mu.Lock()
	fn()
	f.mu.Unlock()
}

func (f *fakeTransport) last() *fakeSession {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sessions[len(f.sessions)-1]
}

func (f *fakeTransport) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sessions)
}

func (s *fakeSession) Apply(_ context.Context, want map[string]struct{}) error {
	s.t.mu.Lock()
	s.want = want
	s.t.mu.Unlock()
	return nil
}

func (s *fakeSession) Publish(_ context.Context, batch []broker.Message) (int, error) {
	s.t.mu.Lock()
	for range batch {
		s.t.events = append(s.t.events, "publish")
	}
	err := s.t.pubErr
	s.t.mu.Unlock()
	if err != nil {
		return len(batch), err
	}
	return 0, nil
}

func (s *fakeSession) Check(ctx context.Context) error {
	s.t.mu.Lock()
	frozen := s.t.frozen
	s.t.mu.Unlock()
	if !frozen {
		return nil
	}
	<-ctx.Done()
	return ctx.Err()
}

func (s *fakeSession) Close() {
	s.t.mu.Lock()
	s.closed = true
	s.t.events = append(s.t.events, "close session")
	s.t.mu.Unlock()
}

// startFake starts a supervisor named "me" on a fake transport.
func startFake(t *testing.T, l broker.Lifecycle, h broker.Handler) (*Supervisor, *fakeTransport) {
	t.Helper()
	f := &fakeTransport{}
	s, err := New(Config{Backend: "fake", Where: "fake://", Lifecycle: l}, f)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Start(context.Background(), "me", h); err != nil {
		t.Fatal(err)
	}
	return s, f
}

// eventually polls cond every millisecond for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

var errDial = errors.New("dial refused")
