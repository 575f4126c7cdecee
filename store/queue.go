package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The sending queue.
//
// A queued message (SEND_ENQUEUED, WAITING_FOR_RETRY) has one entry in "due", keyed
// partner|due|key, and its partner a count in "dueq". ClaimDue walks the partners in dueq
// and takes from each partner's due range in turn (round-robin), starting each call where
// the previous one stopped. So:
//   - a partner in backoff costs one skip call and no seek;
//   - a partner with a million queued messages gets one slot per round, like the others;
//   - a claim touches O(limit + partners passed over) keys, never the whole queue.
//
// A claimed message leaves "due" and enters "lease", keyed by expiry, so RecoverLeases
// finds the expired ones by a range scan from the start.

// ClaimDue leases due messages to a sender worker (see Queue.ClaimDue).
func (s *BoltStore) ClaimDue(ctx context.Context, now time.Time, limit int, lease time.Duration, skip func(partner string) bool) ([]Message, error) {
	if limit <= 0 {
		return nil, nil
	}
	if lease <= 0 {
		return nil, fmt.Errorf("%w: lease duration must be positive", ErrInvalid)
	}
	now = normTime(now)
	// Most calls find nothing (the sender asks after every commit, and a partner in
	// backoff keeps its queue): answer those from a read transaction, without queueing
	// behind the batch being committed (up to an fsync) and without a turn of the commit
	// goroutine that every writer waits for (BenchmarkStoreAtScale: claim-idle against
	// write-op-changing-nothing).
	some := false
	if err := s.view(ctx, func(tx *bolt.Tx) error {
		some = anyDue(tx, timeKey(now), skip)
		return nil
	}); err != nil {
		return nil, err
	}
	if !some {
		return nil, nil
	}
	var out []Message
	_, err := s.update(ctx, func(w *wtx) error {
		out = nil
		keys := w.pickDue(now, limit, skip)
		for _, k := range keys {
			m, err := w.load(k)
			if err != nil {
				return fatal(fmt.Errorf("store: due index names key %d: %w", k, err))
			}
			if !m.State.queued() {
				return fatal(fmt.Errorf("store: due index names message %s (key %d) in state %s", m.ID, k, m.State))
			}
			reason := fmt.Sprintf("claimed for attempt %d", len(m.Attempts)+1)
			err = w.setState(m, SendInProgress, reason, func(seq uint64) string {
				m.Lease = Lease{Token: seq, Until: now.Add(lease)}
				return ""
			})
			if err != nil {
				return err
			}
			out = append(out, *m)
		}
		return nil
	})
	return out, err
}

type partnerCursor struct {
	partner string
	prefix  []byte
	c       *bolt.Cursor
	k       []byte
}

// pickDue chooses up to limit due keys, round-robin over partners not skipped.
func (w *wtx) pickDue(now time.Time, limit int, skip func(string) bool) []Key {
	nowKey := timeKey(now)
	due := w.tx.Bucket(bDue)
	isDue := func(k, prefix []byte) bool { return dueAt(k, prefix, nowKey) }
	// Gather partners with something due, at most limit of them: one round takes one
	// message from each, so more could not be served by this call anyway.
	var parts []*partnerCursor
	visit := func(name []byte) bool {
		partner := string(name)
		if skip != nil && skip(partner) {
			return true
		}
		prefix := join(name, sep)
		c := due.Cursor()
		k, _ := c.Seek(prefix)
		if isDue(k, prefix) {
			parts = append(parts, &partnerCursor{partner, prefix, c, k})
		}
		return len(parts) < limit
	}
	start := []byte(w.s.rrStart)
	qc := w.tx.Bucket(bDueQ).Cursor()
	more := true
	for k, _ := qc.Seek(start); more && k != nil; k, _ = qc.Next() {
		more = visit(k)
	}
	for k, _ := qc.First(); more && k != nil && string(k) < string(start); k, _ = qc.Next() {
		more = visit(k)
	}
	if len(parts) == 0 {
		return nil
	}
	// The next call starts after the last partner served in the first round.
	last := parts[len(parts)-1].partner
	w.s.rrStart = last + "\x00"

	keys := make([]Key, 0, limit)
	for len(keys) < limit && len(parts) > 0 {
		next := parts[:0]
		for _, p := range parts {
			if len(keys) == limit {
				break
			}
			keys = append(keys, keySuffix(p.k))
			if k, _ := p.c.Next(); isDue(k, p.prefix) {
				p.k = k
				next = append(next, p)
			}
		}
		parts = next
	}
	return keys
}

// dueAt reports whether the due key k belongs to the partner of prefix and is due at nowKey.
func dueAt(k, prefix []byte, nowKey uint64) bool {
	return k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+16 &&
		binary.BigEndian.Uint64(k[len(prefix):]) <= nowKey
}

// anyDue reports whether a partner that skip lets through has a message due at nowKey: one
// seek per partner with a queue, whatever the queues' lengths.
func anyDue(tx *bolt.Tx, nowKey uint64, skip func(string) bool) bool {
	due := tx.Bucket(bDue).Cursor()
	qc := tx.Bucket(bDueQ).Cursor()
	for name, _ := qc.First(); name != nil; name, _ = qc.Next() {
		if skip != nil && skip(string(name)) {
			continue
		}
		prefix := join(name, sep)
		if k, _ := due.Seek(prefix); dueAt(k, prefix, nowKey) {
			return true
		}
	}
	return false
}

// RecoverLeases makes messages whose lease expired at or before now due again.
func (s *BoltStore) RecoverLeases(ctx context.Context, now time.Time) (int, error) {
	return s.recoverLeases(ctx, normTime(now), false, "lease expired: attempt interrupted")
}

// recoverLeases moves expired (or, with all, every) SEND_IN_PROGRESS message back to the
// queue, due now: SEND_ENQUEUED if it never had an attempt recorded, else
// WAITING_FOR_RETRY. The interrupted attempt is not counted: whether it reached the peer
// is unknown, and a resend is safe because the receiver detects duplicates.
func (s *BoltStore) recoverLeases(ctx context.Context, now time.Time, all bool, reason string) (int, error) {
	n := 0
	_, err := s.update(ctx, func(w *wtx) error {
		n = 0
		nowKey := timeKey(now)
		var keys []Key
		c := w.tx.Bucket(bLease).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if !all && getU64(k[:8]) > nowKey {
				break
			}
			keys = append(keys, keySuffix(k))
		}
		for _, k := range keys {
			m, err := w.load(k)
			if err != nil {
				return fatal(fmt.Errorf("store: lease index names key %d: %w", k, err))
			}
			if m.State != SendInProgress {
				return fatal(fmt.Errorf("store: lease index names message %s (key %d) in state %s", m.ID, k, m.State))
			}
			to := WaitingForRetry
			if len(m.Attempts) == 0 {
				to = SendEnqueued
			}
			err = w.setState(m, to, reason, func(uint64) string {
				m.NextAttempt = w.now
				return ""
			})
			if err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// Queues summarises the waiting messages per partner.
func (s *BoltStore) Queues(ctx context.Context) ([]PartnerQueue, error) {
	var out []PartnerQueue
	err := s.view(ctx, func(tx *bolt.Tx) error {
		due := tx.Bucket(bDue).Cursor()
		return tx.Bucket(bDueQ).ForEach(func(k, v []byte) error {
			q := PartnerQueue{Partner: string(k), Waiting: int(getU64(v))}
			if dk, _ := due.Seek(join(k, sep)); dk != nil {
				if partner, t, _, ok := splitDueKey(dk); ok && partner == q.Partner {
					q.NextDue = time.Unix(0, int64(t)).UTC()
				}
			}
			out = append(out, q)
			return nil
		})
	})
	return out, err
}

// MarkAcknowledged records a verified receipt (see Queue.MarkAcknowledged).
func (s *BoltStore) MarkAcknowledged(ctx context.Context, k Key, a Attempt, r Receipt) (Message, error) {
	to := Acknowledged
	if len(r.Warnings) > 0 {
		to = AcknowledgedWithWarning
	}
	r.Time = normTime(r.Time)
	return s.outcome(ctx, k, to, func(w *wtx, m *Message) error {
		if m.State == Acknowledged || m.State == AcknowledgedWithWarning {
			return errNoop
		}
		if !CanTransition(m.State, to) {
			return &TransitionError{Key: k, MessageID: m.ID, From: m.State, To: to}
		}
		return nil
	}, func(w *wtx, m *Message) string {
		w.addAttempt(m, a)
		rc := r
		m.Receipt = &rc
		m.NextAttempt = time.Time{}
		return fmt.Sprintf("receipt %s received", r.MessageID)
	})
}

// ScheduleRetry records a failed attempt and requeues the message at next.
func (s *BoltStore) ScheduleRetry(ctx context.Context, k Key, token uint64, a Attempt, next time.Time) (Message, error) {
	next = normTime(next)
	if next.IsZero() {
		return Message{}, fmt.Errorf("%w: ScheduleRetry needs the time of the next attempt", ErrInvalid)
	}
	return s.outcome(ctx, k, WaitingForRetry, leaseCheck(token), func(w *wtx, m *Message) string {
		n := w.addAttempt(m, a)
		m.NextAttempt = next
		return fmt.Sprintf("attempt %d failed (%s); next attempt at %s", n, problemText(a.Error), next.Format(time.RFC3339))
	})
}

// MarkFailed records the last attempt and gives up.
func (s *BoltStore) MarkFailed(ctx context.Context, k Key, token uint64, a Attempt) (Message, error) {
	return s.outcome(ctx, k, SendFailure, leaseCheck(token), func(w *wtx, m *Message) string {
		n := w.addAttempt(m, a)
		m.NextAttempt = time.Time{}
		return fmt.Sprintf("attempt %d failed (%s); giving up", n, problemText(a.Error))
	})
}

// errNoop tells outcome that the change has been made already.
var errNoop = fmt.Errorf("no-op")

// outcome loads an outbound message, runs check (which decides without writing), then
// moves it to the state to with apply's changes.
func (s *BoltStore) outcome(ctx context.Context, k Key, to State, check func(*wtx, *Message) error, apply func(*wtx, *Message) string) (Message, error) {
	var out Message
	_, err := s.update(ctx, func(w *wtx) error {
		m, err := w.load(k)
		if err != nil {
			return err
		}
		out = *m
		if m.Direction != Outbound {
			return &TransitionError{Key: k, MessageID: m.ID, From: m.State, To: to, Why: "not an outbound message"}
		}
		if err := check(w, m); err == errNoop {
			return nil
		} else if err != nil {
			return err
		}
		err = w.setState(m, to, "", func(uint64) string { return apply(w, m) })
		if err != nil {
			return err
		}
		out = *m
		return nil
	})
	if err != nil {
		return Message{}, err
	}
	return out, nil
}

func leaseCheck(token uint64) func(*wtx, *Message) error {
	return func(w *wtx, m *Message) error {
		if m.State != SendInProgress || m.Lease.Token != token {
			return fmt.Errorf("%w: message %s (key %d) is %s with lease token %d, not token %d", ErrLeaseLost, m.ID, m.Key, m.State, m.Lease.Token, token)
		}
		return nil
	}
}

// addAttempt appends a (time-stamped) attempt and returns its number.
func (w *wtx) addAttempt(m *Message, a Attempt) int {
	a.At = normTime(a.At)
	if a.At.IsZero() {
		a.At = w.now
	}
	m.Attempts = append(m.Attempts, a)
	w.attempt = &a
	return len(m.Attempts)
}

func problemText(p Problem) string {
	switch {
	case p.Code == "" && p.Detail == "":
		return "no detail"
	case p.Code == "":
		return p.Detail
	case p.Detail == "":
		return p.Code
	}
	return p.Code + " " + p.Detail
}
