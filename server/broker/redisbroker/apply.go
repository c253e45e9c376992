package redisbroker

import (
	"context"

	"github.com/chatbench/chatbench/server/broker/internal/brokerkit"
)

// Apply implements brokerkit.Session: UNSUBSCRIBEs first, then SUBSCRIBEs,
// in batches (one channel per command on a cluster, where a command's
// channels must share a slot). Redis confirms through the readers; a lost
// command shows as a failed connection.
func (s *session) Apply(ctx context.Context, want map[string]struct{}) error {
	if err := s.unsubscribe(ctx, want); err != nil {
		return &brokerkit.OpError{Op: brokerkit.OpUnsubscribe, Err: err}
	}
	var add []string
	for room := range want {
		if _, ok := s.subbed[room]; !ok {
			add = append(add, room)
		}
	}
	if err := s.subscribe(ctx, add); err != nil {
		return &brokerkit.OpError{Op: brokerkit.OpSubscribe, Err: err}
	}
	return nil
}

func (s *session) unsubscribe(ctx context.Context, want map[string]struct{}) error {
	gone := map[string][]string{} // subscriber -> channels
	for room, key := range s.subbed {
		if _, ok := want[room]; !ok {
			gone[key] = append(gone[key], s.t.cfg.Prefix+room)
			delete(s.subbed, room)
		}
	}
	for key, chans := range gone {
		ps := s.subscribers[key].ps
		for len(chans) > 0 {
			n := min(len(chans), subscribeBatch)
			var err error
			if s.t.cluster != nil {
				n = 1
				err = ps.SUnsubscribe(ctx, chans[0])
			} else {
				err = ps.Unsubscribe(ctx, chans[:n]...)
			}
			if err != nil {
				return err
			}
			chans = chans[n:]
		}
	}
	return nil
}

func (s *session) subscribe(ctx context.Context, add []string) error {
	if s.t.cluster != nil {
		for _, room := range add {
			ch := s.t.cfg.Prefix + room
			key, err := s.subscriberFor(ctx, ch)
			if err == nil {
				err = s.subscribers[key].ps.SSubscribe(ctx, ch)
			}
			if err != nil {
				return err
			}
			s.subbed[room] = key
		}
		return nil
	}
	ps := s.subscribers[""].ps
	for len(add) > 0 {
		n := min(len(add), subscribeBatch)
		chans := make([]string, n)
		for i, room := range add[:n] {
			chans[i] = s.t.cfg.Prefix + room
		}
		if err := ps.Subscribe(ctx, chans...); err != nil {
			return err
		}
		for _, room := range add[:n] {
			s.subbed[room] = ""
		}
		add = add[n:]
	}
	return nil
}
