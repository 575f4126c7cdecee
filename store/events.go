package store

import (
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// The event log. Events are written by setState/insert in the transaction of the change
// they describe, with sequence numbers from the events bucket's own counter, which bbolt
// persists with the transaction: numbers are strictly increasing, and an event is visible
// exactly when its change is.

// maxEventScan bounds the events one EventsAfter call examines.
const maxEventScan = 10000

// EventsAfter returns events after the sequence number that match f (see Events.EventsAfter).
func (s *BoltStore) EventsAfter(ctx context.Context, after uint64, limit int, f EventFilter) ([]Event, uint64, error) {
	limit = pageSize(limit)
	parties := map[PartyID]bool{}
	for _, p := range f.Parties {
		parties[p] = true
	}
	var out []Event
	next := after
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bEvents).Cursor()
		scanned := 0
		for k, v := c.Seek(u64(after + 1)); k != nil && len(out) < limit && scanned < maxEventScan; k, v = c.Next() {
			scanned++
			var e Event
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("store: event %d: %w", getU64(k), err)
			}
			next = e.Seq
			if f.match(&e, parties) {
				out = append(out, e)
			}
		}
		return nil
	})
	if err != nil {
		return nil, after, err
	}
	return out, next, nil
}

func (f *EventFilter) match(e *Event, parties map[PartyID]bool) bool {
	if f.Direction != "" && e.Direction != f.Direction {
		return false
	}
	if len(parties) == 0 {
		return true
	}
	for _, p := range e.Parties {
		if parties[p] {
			return true
		}
	}
	return false
}

// LastEventSeq returns the sequence number of the newest committed event.
func (s *BoltStore) LastEventSeq() uint64 { return s.lastSeq.Load() }

// Changed returns a channel closed at the next commit that writes an event.
func (s *BoltStore) Changed() <-chan struct{} {
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	return s.notifyCh
}

// notify wakes everyone waiting on Changed. It runs after the commit, so a woken reader
// always finds the new events.
func (s *BoltStore) notify() {
	s.notifyMu.Lock()
	close(s.notifyCh)
	s.notifyCh = make(chan struct{})
	s.notifyMu.Unlock()
}
