package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// The two primitives every change goes through: insert and setState. Between them they
// keep all indexes, the per-state counters, the history and the event log consistent with
// the message record, inside the operation's transaction.

// nextEvent reserves the next event sequence number.
func (w *wtx) nextEvent() (uint64, error) {
	return w.nextSeq(bEvents)
}

// writeEvent appends the event to the log and to the message's history.
func (w *wtx) writeEvent(seq uint64, m *Message, from, to State, reason string) error {
	viewer := m.Viewer()
	ev := Event{
		Seq: seq, Time: w.now, Key: m.Key, MessageID: m.ID, Direction: m.Direction,
		From: from, To: to, Reason: reason, Parties: m.Parties(), Viewer: &viewer,
	}
	v, err := json.Marshal(ev)
	if err != nil {
		return fatal(err)
	}
	if err := w.put(bEvents, u64(seq), v); err != nil {
		return err
	}
	ev.Parties, ev.Viewer = nil, nil
	if v, err = json.Marshal(ev); err != nil {
		return fatal(err)
	}
	if err := w.put(bHist, histKey(m.Key, seq), v); err != nil {
		return err
	}
	w.lastSeq = seq
	return w.writeAudit(&ev, m)
}

// insert stores a new message in m.State with all its index entries. The caller has
// checked everything that can fail (duplicates, blobs); from here on only fatal errors.
func (w *wtx) insert(m *Message, reason string) error {
	k, err := w.nextSeq(bMsg)
	if err != nil {
		return err
	}
	m.Key = Key(k)
	m.Created, m.Updated = w.now, w.now
	seq, err := w.nextEvent()
	if err != nil {
		return err
	}
	switch m.Direction {
	case Outbound:
		err = w.put(bOutID, []byte(m.ID), msgKey(m.Key))
	case Inbound:
		err = w.put(bInDup, inDupKey(m.ID, m.From), msgKey(m.Key))
	}
	if err != nil {
		return err
	}
	dir := []byte(m.Direction[:1])
	for _, p := range m.Parties() {
		if err := w.put(bParty, partyIndexKey(p, m.Key), dir); err != nil {
			return err
		}
	}
	var bytes, inlined, inlineBytes int64
	for _, p := range m.Payloads {
		if err := w.put(bBlobs, []byte(p.Blob), msgKey(m.Key)); err != nil {
			return err
		}
		bytes += p.Size
		ok, err := w.insertInline(p.Blob)
		if err != nil {
			return err
		}
		if ok {
			inlined++
			inlineBytes += p.Size
		}
	}
	if err := w.addInlineCounts(inlined, inlineBytes); err != nil {
		return err
	}
	if err := w.addCount(bMeta, kPayloadFiles, int64(len(m.Payloads))); err != nil {
		return err
	}
	if err := w.addCount(bMeta, kPayloadBytes, bytes); err != nil {
		return err
	}
	if err := w.enter(m, m.State); err != nil {
		return err
	}
	if err := w.writeEvent(seq, m, "", m.State, reason); err != nil {
		return err
	}
	return w.save(m)
}

// setState moves m to the state to. prepare, if given, runs after m has left the indexes
// of its old state and before it enters those of the new one: that is where the caller
// sets NextAttempt, the Lease (whose token is the event's sequence number), attempts or
// the receipt; a non-empty string it returns replaces reason. The caller has checked the
// transition; a bad one here is a bug and aborts.
func (w *wtx) setState(m *Message, to State, reason string, prepare func(seq uint64) string) error {
	from := m.State
	if !CanTransition(from, to) {
		return fatal(&TransitionError{Key: m.Key, MessageID: m.ID, From: from, To: to, Why: "not checked before setState"})
	}
	seq, err := w.nextEvent()
	if err != nil {
		return err
	}
	if err := w.leave(m); err != nil {
		return err
	}
	if prepare != nil {
		if r := prepare(seq); r != "" {
			reason = r
		}
	}
	if err := w.enter(m, to); err != nil {
		return err
	}
	m.State = to
	m.Updated = w.now
	if err := w.writeEvent(seq, m, from, to, reason); err != nil {
		return err
	}
	return w.save(m)
}

// leave removes m from the indexes of its current state.
func (w *wtx) leave(m *Message) error {
	switch {
	case m.State.queued():
		partner := m.QueueKey()
		if err := w.del(bDue, dueKey(partner, m.NextAttempt, m.Key)); err != nil {
			return err
		}
		if err := w.addCount(bDueQ, []byte(partner), -1); err != nil {
			return err
		}
	case m.State == SendInProgress:
		if err := w.del(bLease, leaseKey(m.Lease.Until, m.Key)); err != nil {
			return err
		}
		m.Lease = Lease{}
	case m.State.inInbox():
		if err := w.del(bInbox, partyIndexKey(m.Recipient(), m.Key)); err != nil {
			return err
		}
	}
	if err := w.leaveRetention(m); err != nil {
		return err
	}
	return w.addCount(bMeta, stateCountKey(m.State), -1)
}

// enter adds m to the indexes of state to (m.State may still be the old state).
func (w *wtx) enter(m *Message, to State) error {
	switch {
	case to.queued():
		partner := m.QueueKey()
		if err := w.put(bDue, dueKey(partner, m.NextAttempt, m.Key), nil); err != nil {
			return err
		}
		if err := w.addCount(bDueQ, []byte(partner), 1); err != nil {
			return err
		}
	case to == SendInProgress:
		if err := w.put(bLease, leaseKey(m.Lease.Until, m.Key), nil); err != nil {
			return err
		}
	case to.inInbox():
		if err := w.put(bInbox, partyIndexKey(m.Recipient(), m.Key), nil); err != nil {
			return err
		}
	case to == Deleted:
		// The files go after the commit (see finish); the record keeps size and digest.
		if _, _, err := w.dropPayloads(m); err != nil {
			return err
		}
	}
	if err := w.enterRetention(m, to); err != nil {
		return err
	}
	return w.addCount(bMeta, stateCountKey(to), 1)
}

// Transition makes an operator's or backend's state change (see Messages.Transition).
func (s *BoltStore) Transition(ctx context.Context, k Key, to State, reason string) (Message, error) {
	if !manualTargets[to] {
		return Message{}, fmt.Errorf("%w: Transition cannot move a message to %s (use ClaimDue, ScheduleRetry, MarkFailed or MarkAcknowledged)", ErrInvalid, to)
	}
	if reason == "" {
		reason = "set to " + string(to)
	}
	var out Message
	_, err := s.update(ctx, func(w *wtx) error {
		m, err := w.load(k)
		if err != nil {
			return err
		}
		out = *m
		if m.State == to {
			return nil // repeating a change is a no-op: a backend may retry an ack
		}
		if m.State == SendInProgress {
			return &TransitionError{Key: k, MessageID: m.ID, From: m.State, To: to,
				Why: "a sender worker holds it until " + m.Lease.Until.Format(time.RFC3339) + "; wait for its outcome"}
		}
		if !CanTransition(m.State, to) {
			return &TransitionError{Key: k, MessageID: m.ID, From: m.State, To: to}
		}
		if to == SendEnqueued && payloadsPurged(m) {
			return &TransitionError{Key: k, MessageID: m.ID, From: m.State, To: to,
				Why: "its payloads were removed by retention; submit it anew"}
		}
		err = w.setState(m, to, reason, func(uint64) string {
			if to == SendEnqueued {
				m.NextAttempt = w.now // a resend is due at once
			}
			return ""
		})
		out = *m
		return err
	})
	if err != nil {
		return Message{}, err
	}
	return out, nil
}

// MarkDownloaded moves an inbound message to DOWNLOADED; repeating it is a no-op.
func (s *BoltStore) MarkDownloaded(ctx context.Context, k Key) (Message, error) {
	return s.Transition(ctx, k, Downloaded, "downloaded by the backend")
}

// normTime drops the monotonic reading and the zone, so that what a caller gets back from
// an operation equals what Get later decodes.
func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Round(0)
}
