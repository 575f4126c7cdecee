package store

import (
	"context"
	"errors"
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"
)

// Submit inserts an outbound message as SEND_ENQUEUED (see Messages.Submit).
func (s *BoltStore) Submit(ctx context.Context, m Message) (Message, error) {
	if m.State != "" && m.State != SendEnqueued {
		return Message{}, fmt.Errorf("%w: outbound message %s: a new outbound message starts as %s, not %s", ErrInvalid, m.ID, SendEnqueued, m.State)
	}
	m.Direction, m.State = Outbound, SendEnqueued
	if err := validateNew(&m); err != nil {
		return Message{}, err
	}
	m.NextAttempt = normTime(m.NextAttempt)
	var out Message
	_, err := s.update(ctx, func(w *wtx) error {
		if v := w.tx.Bucket(bOutID).Get([]byte(m.ID)); v != nil {
			return w.duplicate(&out, Key(getU64(v)), "outbound "+m.ID)
		}
		if err := w.checkBlobs(&m); err != nil {
			return err
		}
		mm := m // a run may repeat: work on a copy
		if mm.NextAttempt.IsZero() {
			mm.NextAttempt = w.now
		}
		if err := w.insert(&mm, "submitted"); err != nil {
			return err
		}
		out = mm
		return nil
	})
	return out, err
}

// Receive inserts an inbound message as RECEIVED, or refuses a duplicate
// (see Messages.Receive).
//
// The duplicate index is keyed by (MessageId, From party), not MessageId alone: otherwise
// any peer could send a message with another party's MessageId first and have the real
// message dropped as a "duplicate" (and answered with a receipt that is not its own).
func (s *BoltStore) Receive(ctx context.Context, m Message) (Message, error) {
	switch m.State {
	case "":
		m.State = Received
	case Received, ReceivedWithWarnings:
	default:
		return Message{}, fmt.Errorf("%w: inbound message %s: a new inbound message starts as %s or %s, not %s", ErrInvalid, m.ID, Received, ReceivedWithWarnings, m.State)
	}
	m.Direction = Inbound
	if err := validateNew(&m); err != nil {
		return Message{}, err
	}
	if m.From.IsZero() {
		return Message{}, fmt.Errorf("%w: inbound message %s has no From party (the duplicate index needs it)", ErrInvalid, m.ID)
	}
	dupKey := inDupKey(m.ID, m.From)
	what := fmt.Sprintf("inbound %s from %s", m.ID, m.From)

	// A re-sent message is common (the peer missed our receipt): answer it from a read
	// transaction, without a commit. The write below checks again, atomically.
	var out Message
	err := s.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bInDup).Get(dupKey)
		if v == nil {
			return nil
		}
		ex, err := loadMessage(tx, Key(getU64(v)))
		if err != nil {
			return err
		}
		out = *ex
		return fmt.Errorf("%w: %s is stored as key %d", ErrDuplicate, what, ex.Key)
	})
	if err != nil {
		return out, err
	}
	_, err = s.update(ctx, func(w *wtx) error {
		if v := w.tx.Bucket(bInDup).Get(dupKey); v != nil {
			return w.duplicate(&out, Key(getU64(v)), what)
		}
		if err := w.checkBlobs(&m); err != nil {
			return err
		}
		mm := m
		if err := w.insert(&mm, "received"); err != nil {
			return err
		}
		out = mm
		return nil
	})
	return out, err
}

// duplicate loads the existing message into out and returns ErrDuplicate.
func (w *wtx) duplicate(out *Message, k Key, what string) error {
	ex, err := w.load(k)
	if err != nil {
		return err
	}
	*out = *ex
	return fmt.Errorf("%w: %s is stored as key %d", ErrDuplicate, what, k)
}

// validateNew checks a message before insert, outside any transaction.
func validateNew(m *Message) error {
	if err := checkKeyString("message id", m.ID, maxIDLen, true); err != nil {
		return err
	}
	wrap := func(err error) error {
		if err == nil {
			return nil
		}
		return fmt.Errorf("%s message %s: %w", m.Direction, m.ID, err)
	}
	for _, c := range []struct {
		name     string
		p        PartyID
		required bool
	}{
		{"from", m.From, m.Direction == Inbound},
		{"to", m.To, m.Direction == Outbound && m.PeerAP.PartyID == "" && m.FinalRecipient.IsZero()},
		{"originalSender", m.OriginalSender, false},
		{"finalRecipient", m.FinalRecipient, false},
	} {
		if err := checkParty(c.name, c.p, c.required); err != nil {
			return wrap(err)
		}
	}
	if err := checkKeyString("peerAp.partyId", m.PeerAP.PartyID, maxPartyLen, false); err != nil {
		return wrap(err)
	}
	if m.Direction == Inbound && m.Recipient().IsZero() {
		return wrap(fmt.Errorf("%w: no finalRecipient and no To party: whose inbox would it be in?", ErrInvalid))
	}
	seen := make(map[BlobRef]bool, len(m.Payloads))
	for i, p := range m.Payloads {
		if !validRef(p.Blob) {
			return wrap(fmt.Errorf("%w: payload %d (%s): blob reference %q is not one PutPayload returned", ErrInvalid, i, p.ID, p.Blob))
		}
		if seen[p.Blob] {
			return wrap(fmt.Errorf("%w: payload %d (%s): blob %s used twice", ErrInvalid, i, p.ID, p.Blob))
		}
		seen[p.Blob] = true
		if p.Size < 0 {
			return wrap(fmt.Errorf("%w: payload %d (%s): negative size", ErrInvalid, i, p.ID))
		}
	}
	m.Key, m.Lease, m.Attempts = 0, Lease{}, nil
	return nil
}

// checkBlobs makes sure each payload names a staged (not yet referenced) blob of the
// stated size: a durable file, or an inline blob in memory that the insert writes into
// its own transaction. It runs inside the batch, which holds blobMu shared until the
// commit, so a concurrent sweep or discard cannot take a blob between this check and the
// commit.
func (w *wtx) checkBlobs(m *Message) error {
	blobs := w.tx.Bucket(bBlobs)
	for i, p := range m.Payloads {
		if v := blobs.Get([]byte(p.Blob)); v != nil {
			return fmt.Errorf("%w: %s message %s payload %d: blob %s already belongs to message key %d", ErrInvalid, m.Direction, m.ID, i, p.Blob, getU64(v))
		}
		if rec, ok := w.s.staged.get(p.Blob); ok {
			if n := int64(len(rec) - 1); n != p.Size {
				return fmt.Errorf("%w: %s message %s payload %d: blob %s has %d bytes, the payload says %d", ErrPayloadMissing, m.Direction, m.ID, i, p.Blob, n, p.Size)
			}
			continue
		}
		fi, err := os.Stat(w.s.blobPath(p.Blob))
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%w: %s message %s payload %d: blob %s does not exist (discarded, or swept after the %s grace period?)", ErrPayloadMissing, m.Direction, m.ID, i, p.Blob, w.s.opts.OrphanGrace)
		}
		if err != nil {
			return fmt.Errorf("store: %s message %s payload %d: %w", m.Direction, m.ID, i, err)
		}
		if fi.Size() != p.Size {
			return fmt.Errorf("%w: %s message %s payload %d: blob %s has %d bytes, the payload says %d", ErrPayloadMissing, m.Direction, m.ID, i, p.Blob, fi.Size(), p.Size)
		}
	}
	return nil
}
