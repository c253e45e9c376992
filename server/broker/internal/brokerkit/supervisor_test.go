package brokerkit

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatbench/chatbench/server/broker"
)

// gate is a Handler that records messages and can hold the first one.
type gate struct {
	mu      sync.Mutex
	got     map[string][]string // room -> payloads
	entered chan string
	release chan struct{}
	hold    string // room whose messages wait for release
}

func newGate(hold string) *gate {
	return &gate{got: map[string][]string{}, entered: make(chan string, 1024), release: make(chan struct{}), hold: hold}
}

func (g *gate) handle(m broker.Message) {
	select {
	case g.entered <- m.Room:
	default:
	}
	if m.Room == g.hold {
		<-g.release
	}
	g.mu.Lock()
	g.got[m.Room] = append(g.got[m.Room], string(m.Payload))
	g.mu.Unlock()
}

func (g *gate) messages(room string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.got[room])
}

// TestOwnOriginDroppedBeforeDispatch: with the Handler stuck and a lane of
// two places, a hundred of the node's own messages take no place: the two
// foreign messages after them are both queued and only the third is dropped.
func TestOwnOriginDroppedBeforeDispatch(t *testing.T) {
	g := newGate("r")
	s, f := startFake(t, broker.Lifecycle{Dispatchers: 1, DeliverQueue: 2}, g.handle)
	sink := f.last().sink
	sink.Deliver(broker.Message{Room: "r", Origin: "other", Payload: []byte("held")})
	<-g.entered
	for i := range 100 {
		if !sink.Deliver(broker.Message{Room: "r", Origin: "me", Payload: fmt.Appendf(nil, "own-%d", i)}) {
			t.Fatalf("own message %d refused", i)
		}
	}
	accepted := 0
	for i := range 3 {
		if sink.Deliver(broker.Message{Room: "r", Origin: "other", Payload: fmt.Appendf(nil, "f-%d", i)}) {
			accepted++
		}
	}
	if d := s.Stats().Dropped[DropDeliverFull]; accepted != 2 || d != 1 {
		t.Fatalf("accepted %d and dropped %d foreign messages, want 2 and 1", accepted, d)
	}
	close(g.release)
	eventually(t, "the queued messages", func() bool { return len(g.messages("r")) == 3 })
	if got := g.messages("r"); !slices.Equal(got, []string{"held", "f-0", "f-1"}) {
		t.Fatalf("handled %q", got)
	}
}

// TestRoomOrderKeptOverLanes: rooms spread over four lanes each get their
// messages complete and in order.
func TestRoomOrderKeptOverLanes(t *testing.T) {
	g := newGate("")
	_, f := startFake(t, broker.Lifecycle{Dispatchers: 4, DeliverQueue: 2000}, g.handle)
	sink := f.last().sink
	const rooms, per = 16, 100
	for i := range per {
		for r := range rooms {
			sink.Deliver(broker.Message{Room: fmt.Sprint("room-", r), Origin: "x", Payload: fmt.Append(nil, i)})
		}
	}
	lanes := map[int]bool{}
	for r := range rooms {
		room := fmt.Sprint("room-", r)
		lanes[LaneOf(room, 4)] = true
		eventually(t, room, func() bool { return len(g.messages(room)) == per })
		for i, p := range g.messages(room) {
			if p != fmt.Sprint(i) {
				t.Fatalf("%s: message %d is %q: order not kept", room, i, p)
			}
		}
	}
	if len(lanes) < 2 {
		t.Fatalf("16 rooms all hashed to one lane of 4")
	}
}

// TestStuckRoomStallsOnlyItsLane: while the Handler is stuck on one room,
// a room of another lane is still delivered.
func TestStuckRoomStallsOnlyItsLane(t *testing.T) {
	stuck, free := "a", ""
	for i := 0; free == ""; i++ {
		if r := fmt.Sprint("b", i); LaneOf(r, 2) != LaneOf(stuck, 2) {
			free = r
		}
	}
	g := newGate(stuck)
	_, f := startFake(t, broker.Lifecycle{Dispatchers: 2}, g.handle)
	sink := f.last().sink
	sink.Deliver(broker.Message{Room: stuck, Origin: "x", Payload: []byte("1")})
	sink.Deliver(broker.Message{Room: free, Origin: "x", Payload: []byte("2")})
	eventually(t, "the free room's message", func() bool { return len(g.messages(free)) == 1 })
	if len(g.messages(stuck)) != 0 {
		t.Fatal("the stuck room's Handler call returned before release")
	}
	close(g.release)
}

// TestFrozenBackendDownFromCheckStart: a health check that gets no answer
// marks the backend down once its timeout passes, counts the outage from
// the start of that check, and the supervisor dials a new session that gets
// the wanted rooms.
func TestFrozenBackendDownFromCheckStart(t *testing.T) {
	const timeout = 150 * time.Millisecond
	s, f := startFake(t, broker.Lifecycle{HealthInterval: 10 * time.Millisecond, HealthTimeout: timeout,
		ReconnectMin: time.Hour}, func(broker.Message) {})
	s.Subscribe("kept")
	eventually(t, "the room applied", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		_, ok := f.sessions[0].want["kept"]
		return ok
	})
	f.set(func() { f.frozen = true })
	eventually(t, "Ready to fail", func() bool { return s.Ready() != nil })
	st := s.Stats()
	if st.Down < timeout {
		t.Errorf("down %v when the outage was noticed, want >= the check's timeout %v: counted from the notice, not the check", st.Down, timeout)
	}
	if st.Up || st.Errors[OpHealth] != 1 || st.Errors[OpReceive] != 0 {
		t.Errorf("stats %+v, want down with errors{health}=1", st)
	}
	if err := s.Ready(); !errors.Is(err, broker.ErrNotReady) || !strings.Contains(err.Error(), "health check") {
		t.Errorf("Ready = %v, want ErrNotReady naming the health check", err)
	}
	if err := s.Publish(broker.Message{Room: "kept"}); !errors.Is(err, broker.ErrNotReady) {
		t.Errorf("Publish while down = %v", err)
	}
	eventually(t, "the frozen session closed", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.sessions[0].closed
	})
}

// TestReconnectReappliesRooms: after a session fails, the supervisor dials
// again (with backoff) until it succeeds, and the new session gets every
// wanted room, including one added while down.
func TestReconnectReappliesRooms(t *testing.T) {
	s, f := startFake(t, broker.Lifecycle{ReconnectMin: time.Millisecond, ReconnectMax: 5 * time.Millisecond}, func(broker.Message) {})
	s.Subscribe("kept")
	f.set(func() { f.dialErr = errDial })
	f.last().sink.Fail(errors.New("connection reset"))
	eventually(t, "Ready to fail", func() bool { return s.Ready() != nil })
	s.Subscribe("added")
	eventually(t, "failed dials counted", func() bool { return s.Stats().Errors[OpConnect] >= 3 })
	if err := s.Ready(); !strings.Contains(err.Error(), errDial.Error()) {
		t.Errorf("Ready = %v, want the latest dial error", err)
	}
	f.set(func() { f.dialErr = nil })
	eventually(t, "Ready again", func() bool { return s.Ready() == nil })
	st := s.Stats()
	if f.count() != 2 || st.Reconnects != 1 || st.Errors[OpReceive] != 1 || !st.Up {
		t.Fatalf("%d sessions, stats %+v; want 2 sessions, 1 reconnect, errors{receive}=1, up", f.count(), st)
	}
	f.mu.Lock()
	want := f.sessions[1].want
	f.mu.Unlock()
	if _, ok := want["kept"]; !ok || len(want) != 2 {
		t.Errorf("new session applied %v, want kept and added", want)
	}
}

// TestBlockedBackend: a session that reports the backend blocked makes Ready
// fail with the reason, without reconnecting, until it reports unblocked.
func TestBlockedBackend(t *testing.T) {
	s, f := startFake(t, broker.Lifecycle{}, func(broker.Message) {})
	sink := f.last().sink
	sink.Blocked(errors.New("low on memory"))
	eventually(t, "Ready to fail", func() bool { return s.Ready() != nil })
	if err := s.Ready(); !errors.Is(err, broker.ErrNotReady) || !strings.Contains(err.Error(), "low on memory") {
		t.Errorf("Ready = %v", err)
	}
	if s.Stats().Up {
		t.Error("up while blocked")
	}
	sink.Blocked(nil)
	eventually(t, "Ready again", func() bool { return s.Ready() == nil })
	if f.count() != 1 {
		t.Errorf("%d sessions, want 1: blocked must not reconnect", f.count())
	}
}

// TestCloseOrder: Close publishes what was queued before it closes the
// session, and closes the session before the transport.
func TestCloseOrder(t *testing.T) {
	s, f := startFake(t, broker.Lifecycle{}, func(broker.Message) {})
	const n = 100
	for range n {
		if err := s.Publish(broker.Message{Room: "r"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	want := append(slices.Repeat([]string{"publish"}, n), "close session", "close transport")
	f.mu.Lock()
	defer f.mu.Unlock()
	if !slices.Equal(f.events, want) {
		t.Fatalf("events %q, want %d publishes, then the session, then the transport closed", f.events, n)
	}
	if err := s.Publish(broker.Message{Room: "r"}); !errors.Is(err, broker.ErrClosed) {
		t.Errorf("Publish after Close = %v", err)
	}
}

// TestStartFailure: a Start that cannot dial returns a NotReadyError naming
// the backend, the cause and the hint, and Ready keeps it.
func TestStartFailure(t *testing.T) {
	f := &fakeTransport{dialErr: errDial}
	s, err := New(Config{Backend: "fake", Where: "fake://x", StartHint: "start it"}, f)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Start(t.Context(), "me", func(broker.Message) {})
	var nr *NotReadyError
	if !errors.As(err, &nr) || !errors.Is(err, errDial) || err.Error() != "fake: cannot reach fake://x: dial refused; start it" {
		t.Fatalf("Start = %v", err)
	}
	if s.Ready() != err {
		t.Errorf("Ready = %v, want Start's error", s.Ready())
	}
	if err := s.Start(t.Context(), "me", func(broker.Message) {}); err == nil {
		t.Error("second Start succeeded")
	}
}
