package rabbitmq

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestBusyConnectionIsAlive: a passive declare whose answer is late (queued
// behind deliveries) passes the check if deliveries arrived meanwhile, and
// is still awaited by the next check; with nothing arriving it fails.
func TestBusyConnectionIsAlive(t *testing.T) {
	check := func(s *session, deliveries int) error {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		before := s.received.Load()
		s.received.Add(uint64(deliveries)) // arriving during the check
		return s.awaitCheck(ctx, before)
	}
	answer := make(chan error, 1)
	s := &session{checking: answer} // a declare already on its way
	if err := check(s, 1); err != nil {
		t.Fatalf("busy connection failed the check: %v", err)
	}
	if s.checking != answer {
		t.Fatal("the declare on its way was forgotten")
	}
	if err := check(s, 0); err == nil {
		t.Fatal("a silent connection passed the check")
	}
	want := errors.New("NOT_FOUND")
	answer <- want
	s.checking = answer
	if err := check(s, 0); !errors.Is(err, want) {
		t.Fatalf("Check = %v, want the declare's answer", err)
	}
	if s.checking != nil {
		t.Error("an answered declare is still awaited")
	}
}
