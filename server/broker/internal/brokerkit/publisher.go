package brokerkit

import (
	"context"
	"errors"
	"time"

	"github.com/chatbench/chatbench/server/broker"
)

// publisher drains the publish queue into the live session, as many
// messages at a time as have accumulated (up to maxBatch). While there is no
// live session the messages are dropped and counted.
func (s *Supervisor) publisher() {
	defer close(s.pubDone)
	batch := make([]broker.Message, 0, maxBatch)
	for {
		select {
		case <-s.flush:
			s.drain(batch)
			return
		case m := <-s.pubq:
			batch = s.fill(append(batch[:0], m))
			s.send(batch, time.Now().Add(opTimeout))
		}
	}
}

// fill adds what is queued to batch, without waiting, up to maxBatch.
func (s *Supervisor) fill(batch []broker.Message) []broker.Message {
	for len(batch) < maxBatch {
		select {
		case m := <-s.pubq:
			batch = append(batch, m)
		default:
			return batch
		}
	}
	return batch
}

// drain publishes what is queued when Close begins, for closeFlushTimeout at
// most; what is left then is counted as lost.
func (s *Supervisor) drain(batch []broker.Message) {
	deadline := time.Now().Add(closeFlushTimeout)
	for time.Now().Before(deadline) {
		if batch = s.fill(batch[:0]); len(batch) == 0 {
			return
		}
		s.send(batch, deadline)
	}
	if left := len(s.pubq); left > 0 {
		s.metrics.Error(OpPublish, left)
		s.metrics.Drop(DropPublishError, left)
	}
}

// send hands batch to the live session by deadline and counts what was lost.
func (s *Supervisor) send(batch []broker.Message, deadline time.Time) {
	defer clear(batch) // let the payloads go
	l := s.live.Load()
	if l == nil && s.cfg.Outbox != nil {
		s.metrics.Drop(DropRetryFull, s.cfg.Outbox.Hold(batch))
		return
	}
	if l == nil {
		s.metrics.Error(OpPublish, len(batch))
		s.metrics.Drop(DropDown, len(batch))
		return
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	failed, err := l.sess.Publish(ctx, batch)
	cancel()
	if failed > 0 && s.cfg.Outbox != nil && errors.Is(err, ErrRetryFull) {
		s.metrics.Drop(DropRetryFull, failed)
		return
	}
	if failed > 0 {
		s.metrics.Error(OpPublish, failed)
		s.metrics.Drop(DropPublishError, failed)
		s.cfg.Logger.Warn(s.cfg.Backend+": publish failed", "where", s.cfg.Where, "messages", failed, "err", err)
	}
}
