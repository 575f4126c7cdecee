package store

import (
	"context"
	"fmt"
	"time"
)

// Bulk loading.
//
// Benchmarks and tests need stores with a million messages in them (is the duplicate check,
// a claim or an inbox page as cheap at 1M as at 0?). Receive and Submit commit one message
// per caller, so filling a store through them takes as long as receiving a million
// messages did. BulkLoad writes many messages in one transaction through the same insert
// and setState primitives, so the result has every index, counter, history record and
// event that live traffic would have left: a store that only looks full would measure the
// wrong thing.

// bulkPaths is how a message reaches each state BulkLoad accepts: the states it is inserted
// in and moved through, the way the MSH and the backend would have moved it.
var bulkPaths = map[State][]State{
	Received:             {Received},
	ReceivedWithWarnings: {ReceivedWithWarnings},
	Downloaded:           {Received, Downloaded},
	SendEnqueued:         {SendEnqueued},
	WaitingForRetry:      {SendEnqueued, SendInProgress, WaitingForRetry},
	Acknowledged:         {SendEnqueued, SendInProgress, Acknowledged},
	SendFailure:          {SendEnqueued, SendInProgress, SendFailure},
}

// MaxBulk caps the messages of one BulkLoad call: they share one transaction, whose dirty
// pages bbolt holds in memory until the commit.
const MaxBulk = 100000

// BulkLoad inserts ms in one transaction and returns them with their keys. Each message
// ends in m.State: RECEIVED, RECEIVED_WITH_WARNINGS or DOWNLOADED (inbound, From required);
// SEND_ENQUEUED, WAITING_FOR_RETRY, ACKNOWLEDGED or SEND_FAILURE (outbound). Messages
// are validated as by Receive and Submit, and every intermediate state change is recorded
// (a DOWNLOADED message has its RECEIVED event too). Outbound messages keep their Attempts
// and NextAttempt (when a WAITING_FOR_RETRY message is due; zero means now). Payloads must
// name staged blobs, as for Receive; metadata-only messages are the usual bulk content.
//
// Load a large store in calls of growing size (1,000 while it is small, up to tens of
// thousands): until a transaction commits, bbolt keeps what it inserts into one leaf in a
// sorted slice, so a first call of 50,000 into empty buckets spends minutes moving memory
// (O(n²)) where twenty calls of growing size take seconds.
//
// A duplicate (within ms, or of a stored message) refuses the whole call with ErrDuplicate
// before anything is written. BulkLoad is for tools filling a store, not for the MSH: it
// holds the commit goroutine for the whole transaction, so live writers wait meanwhile.
func (s *BoltStore) BulkLoad(ctx context.Context, ms []Message) ([]Message, error) {
	if len(ms) > MaxBulk {
		return nil, fmt.Errorf("%w: BulkLoad of %d messages, at most %d per call", ErrInvalid, len(ms), MaxBulk)
	}
	in := make([]Message, len(ms))
	for i, m := range ms {
		path, ok := bulkPaths[m.State]
		if !ok {
			return nil, fmt.Errorf("%w: message %d (%s): BulkLoad cannot create a message in state %q", ErrInvalid, i, m.ID, m.State)
		}
		m.Direction = Inbound
		if path[0] == SendEnqueued {
			m.Direction = Outbound
		}
		attempts := m.Attempts
		if err := validateNew(&m); err != nil {
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
		if m.Direction == Inbound && m.From.IsZero() {
			return nil, fmt.Errorf("%w: inbound message %d (%s) has no From party (the duplicate index needs it)", ErrInvalid, i, m.ID)
		}
		m.Attempts = attempts
		m.NextAttempt = normTime(m.NextAttempt)
		in[i] = m
	}
	var out []Message
	_, err := s.update(ctx, func(w *wtx) error {
		out = nil // the batch may run again (see commit.go)
		if err := w.bulkCheck(in); err != nil {
			return err
		}
		out = make([]Message, len(in))
		for i := range in {
			m := in[i]
			m.Attempts = append([]Attempt(nil), m.Attempts...)
			if err := w.bulkInsert(&m); err != nil {
				return err
			}
			out[i] = m
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// bulkCheck decides every expected failure before the first write.
func (w *wtx) bulkCheck(ms []Message) error {
	seen := make(map[string]bool, len(ms))
	outID, inDup := w.tx.Bucket(bOutID), w.tx.Bucket(bInDup)
	for i := range ms {
		m := &ms[i]
		k := string(inDupKey(m.ID, m.From))
		b := inDup
		if m.Direction == Outbound {
			k, b = "o"+m.ID, outID
		} else {
			k = "i" + k
		}
		if seen[k] {
			return fmt.Errorf("%w: %s message %s appears twice in the bulk load", ErrDuplicate, m.Direction, m.ID)
		}
		seen[k] = true
		if v := b.Get([]byte(k[1:])); v != nil {
			return fmt.Errorf("%w: %s message %s is stored as key %d", ErrDuplicate, m.Direction, m.ID, getU64(v))
		}
		if err := w.checkBlobs(m); err != nil {
			return err
		}
		for _, p := range m.Payloads {
			if seen["b"+string(p.Blob)] {
				return fmt.Errorf("%w: %s message %s: blob %s is used by another message of the bulk load", ErrInvalid, m.Direction, m.ID, p.Blob)
			}
			seen["b"+string(p.Blob)] = true
		}
	}
	return nil
}

// bulkInsert inserts m and walks it to its target state.
func (w *wtx) bulkInsert(m *Message) error {
	path := bulkPaths[m.State]
	target, attempts, next := m.State, m.Attempts, m.NextAttempt
	m.State, m.Attempts = path[0], nil
	if m.State == SendEnqueued {
		m.NextAttempt = w.now
		if target == SendEnqueued && !next.IsZero() {
			m.NextAttempt = next
		}
	}
	reason := "received"
	if m.Direction == Outbound {
		reason = "submitted"
	}
	if err := w.insert(m, reason); err != nil {
		return err
	}
	for _, to := range path[1:] {
		err := w.setState(m, to, "bulk load", func(seq uint64) string {
			switch to {
			case SendInProgress:
				m.Lease = Lease{Token: seq, Until: w.now}
			case WaitingForRetry:
				m.Attempts, m.NextAttempt = attempts, w.now
				if !next.IsZero() {
					m.NextAttempt = next
				}
			case Acknowledged, SendFailure:
				m.Attempts, m.NextAttempt = attempts, time.Time{}
			}
			return ""
		})
		if err != nil {
			return err
		}
	}
	return nil
}
