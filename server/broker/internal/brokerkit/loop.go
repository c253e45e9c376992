package brokerkit

import (
	"context"
	"fmt"
	"time"
)

// run owns the sessions: it serves one until it fails, then marks the
// backend down, closes the session and dials a new one with backoff, forever,
// until Close.
func (s *Supervisor) run(sess Session, sink *Sink) {
	defer close(s.loopDone)
	for {
		since, err := s.serve(sess, sink)
		if err == nil || s.ctx.Err() != nil {
			s.live.Store(nil)
			sess.Close()
			return
		}
		s.setDown(err, since) // before closing: that may take a second
		sess.Close()
		s.cfg.Logger.Warn(s.cfg.Backend+": connection lost, reconnecting", "where", s.cfg.Where, "err", err)
		if sess, sink = s.redial(); sess == nil {
			return
		}
		s.metrics.Reconnected()
		s.cfg.Logger.Info(s.cfg.Backend+": reconnected", "where", s.cfg.Where)
	}
}

// serve makes sess live and keeps it so: it applies room changes, checks the
// backend's health, and returns when the session fails (with when the
// outage began and why) or Close cancels the loop (with a nil error).
func (s *Supervisor) serve(sess Session, sink *Sink) (time.Time, error) {
	s.setUp(sess)
	tick := time.NewTicker(s.life.HealthInterval)
	defer tick.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return time.Time{}, nil
		case f := <-sink.failed:
			s.metrics.Error(OpReceive, 1)
			return f.since, f.err
		case <-sink.changed:
			if reason := sink.blockedReason(); reason != nil {
				s.setNotReady(&NotReadyError{Backend: s.cfg.Backend, State: s.cfg.Where + " blocked publishing", Cause: reason})
				s.metrics.SetDown(time.Time{})
			} else {
				s.setUp(sess)
			}
		case <-tick.C:
			start := time.Now()
			if err := s.check(sess); err != nil {
				return start, err
			}
		case <-s.rooms.Changed():
			if err := s.apply(s.ctx, sess); err != nil {
				return time.Now(), err
			}
		}
	}
}

// check runs one health check: the outage it finds began when it started.
func (s *Supervisor) check(sess Session) error {
	ctx, cancel := context.WithTimeout(s.ctx, s.life.HealthTimeout)
	defer cancel()
	err := sess.Check(ctx)
	if err == nil || s.ctx.Err() != nil {
		return nil
	}
	s.metrics.Error(OpHealth, 1)
	return fmt.Errorf("health check: no answer within %v: %w", s.life.HealthTimeout, err)
}

// apply brings sess's subscriptions to the wanted rooms.
func (s *Supervisor) apply(ctx context.Context, sess Session) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	err := sess.Apply(ctx, s.rooms.Snapshot())
	if err != nil {
		s.metrics.Error(opOf(err, OpSubscribe), 1)
	}
	return err
}

// connect dials a session and subscribes the wanted rooms, within ctx.
func (s *Supervisor) connect(ctx context.Context) (Session, *Sink, error) {
	sink := newSink(s)
	sess, err := s.t.Dial(ctx, sink)
	if err != nil {
		return nil, nil, err
	}
	if err := s.apply(ctx, sess); err != nil {
		sess.Close()
		return nil, nil, err
	}
	return sess, sink, nil
}

// redial connects again with backoff until it succeeds (returning the new
// session) or Close cancels it (returning nil).
func (s *Supervisor) redial() (Session, *Sink) {
	pause := time.NewTimer(0)
	defer pause.Stop()
	<-pause.C
	for attempt := 0; ; attempt++ {
		pause.Reset(Backoff(attempt, s.life.ReconnectMin, s.life.ReconnectMax))
		select {
		case <-s.ctx.Done():
			return nil, nil
		case <-pause.C:
		}
		ctx, cancel := context.WithTimeout(s.ctx, opTimeout)
		sess, sink, err := s.connect(ctx)
		cancel()
		if err == nil {
			return sess, sink
		}
		if s.ctx.Err() != nil {
			return nil, nil
		}
		s.metrics.Error(OpConnect, 1)
		s.setDown(err, time.Time{})
	}
}
