package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The retention index lets a retention run read only what has expired instead of every
// message. It holds one entry per message in a final state (see retainable), two kinds:
//
//	retain  'm'|state|0x00|owner|0x00|entered(8)|key(8)  → nil   every message in a final state
//	        'p'|state|0x00|owner|0x00|entered(8)|key(8)  → nil   ... that still has payload files
//
// owner is the partyKey of the participant whose organisation's rules apply (see
// retentionOwner), entered the time the message entered the state. Within one (kind,
// state, owner) the entries are in entry-time order, so "everything of this owner that
// entered the state before the cutoff" is one range: a run seeks once per owner and reads
// only expired entries. Owners, not organisation names, are in the key so that changing
// the configuration (another client, another duration) needs no reindexing.
//
// Invariant the index relies on: Message.Updated is the time the message entered its
// current state. Only setState and insert change it; a payload purge saves the message
// without touching it.

var (
	bRetain = []byte("retain")
	// kRetainIndexed marks a database whose retain bucket covers every message (new, or
	// backfilled); kRetainBackfill is the last message key a resumable backfill has done.
	kRetainIndexed  = []byte("retain_indexed")
	kRetainBackfill = []byte("retain_backfill")
)

const (
	retainMeta    byte = 'm'
	retainPayload byte = 'p'
)

// retainable reports whether retention may purge a message in s: the final states. A
// message waiting to be sent (SEND_ENQUEUED, SEND_IN_PROGRESS, WAITING_FOR_RETRY) or to be
// downloaded (RECEIVED, RECEIVED_WITH_WARNINGS) is never purged, whatever its age.
// SEND_FAILURE is final for retention although an operator may still resend it: a resend
// leaves the state and so the index; Transition refuses to resend a message whose payloads
// are gone.
func (s State) retainable() bool {
	switch s {
	case Acknowledged, AcknowledgedWithWarning, SendFailure, Downloaded, Deleted:
		return true
	}
	return false
}

// RetentionStates are the states retention rules may name.
var RetentionStates = []State{Acknowledged, AcknowledgedWithWarning, SendFailure, Downloaded, Deleted}

// retentionOwner is the participant whose organisation's rules apply: the one the backend
// API shows the message to (outbound: originalSender, inbound: the recipient). An
// outbound message without originalSender (submitted outside the API) falls back to From.
func (m *Message) retentionOwner() string {
	if m.Direction == Inbound {
		return partyKey(m.Recipient())
	}
	if !m.OriginalSender.IsZero() {
		return partyKey(m.OriginalSender)
	}
	return partyKey(m.From)
}

func hasBlobs(m *Message) bool {
	for _, p := range m.Payloads {
		if p.Blob != "" {
			return true
		}
	}
	return false
}

func retainPrefix(kind byte, st State) []byte {
	return join([]byte{kind}, []byte(st), sep)
}

func retainOwnerPrefix(kind byte, st State, owner string) []byte {
	return join(retainPrefix(kind, st), []byte(owner), sep)
}

func retainKey(kind byte, st State, owner string, entered time.Time, k Key) []byte {
	return join(retainOwnerPrefix(kind, st, owner), u64(timeKey(entered)), msgKey(k))
}

// splitRetainKey takes apart the part after retainPrefix: owner|0x00|entered(8)|key(8).
func splitRetainKey(rest []byte) (owner string, entered uint64, k Key, ok bool) {
	if len(rest) < 17 || rest[len(rest)-17] != 0 {
		return "", 0, 0, false
	}
	n := len(rest) - 16
	return string(rest[:n-1]), binary.BigEndian.Uint64(rest[n : n+8]), keySuffix(rest), true
}

// enterRetention indexes m as it enters state to (at w.now).
func (w *wtx) enterRetention(m *Message, to State) error {
	if !to.retainable() {
		return nil
	}
	owner := m.retentionOwner()
	if err := w.put(bRetain, retainKey(retainMeta, to, owner, w.now, m.Key), nil); err != nil {
		return err
	}
	if hasBlobs(m) {
		return w.put(bRetain, retainKey(retainPayload, to, owner, w.now, m.Key), nil)
	}
	return nil
}

// leaveRetention drops m's entries for its current state (entered at m.Updated).
func (w *wtx) leaveRetention(m *Message) error {
	if !m.State.retainable() {
		return nil
	}
	owner := m.retentionOwner()
	for _, kind := range []byte{retainMeta, retainPayload} {
		if err := w.del(bRetain, retainKey(kind, m.State, owner, m.Updated, m.Key)); err != nil {
			return err
		}
	}
	return nil
}

// indexRetention writes the entries a message in its current state should have.
func indexRetention(b *bolt.Bucket, m *Message) error {
	if !m.State.retainable() {
		return nil
	}
	owner := m.retentionOwner()
	if err := b.Put(retainKey(retainMeta, m.State, owner, m.Updated, m.Key), nil); err != nil {
		return err
	}
	if hasBlobs(m) {
		return b.Put(retainKey(retainPayload, m.State, owner, m.Updated, m.Key), nil)
	}
	return nil
}

// backfillRetentionIndex fills the retain bucket from every message of a database
// written before the index existed, in one transaction, and marks the database indexed.
// The schema migration that introduces the bucket should call it; a store that was not
// migrated is backfilled in small batches by the first retention run instead
// (backfillStep), so either way works and running both is harmless.
func backfillRetentionIndex(tx *bolt.Tx) error {
	b, err := tx.CreateBucketIfNotExists(bRetain)
	if err != nil {
		return err
	}
	err = tx.Bucket(bMsg).ForEach(func(k, v []byte) error {
		m := new(Message)
		if err := json.Unmarshal(v, m); err != nil {
			return fmt.Errorf("message key %d: %w", getU64(k), err)
		}
		return indexRetention(b, m)
	})
	if err != nil {
		return fmt.Errorf("store: backfill retention index: %w", err)
	}
	meta := tx.Bucket(bMeta)
	if err := meta.Delete(kRetainBackfill); err != nil {
		return err
	}
	return meta.Put(kRetainIndexed, []byte("1"))
}

// backfillStep indexes up to limit messages after the last one done and reports whether
// the whole store is indexed. An empty store (a new database) is done at once. Each step
// is its own write operation, so backfilling a large store never holds up traffic; a
// message that changes state meanwhile is indexed by setState as usual, and the step sees
// its current state, so the two never disagree.
func (w *wtx) backfillStep(limit int) (done bool, err error) {
	meta := w.tx.Bucket(bMeta)
	if meta.Get(kRetainIndexed) != nil {
		return true, nil
	}
	b := w.tx.Bucket(bRetain)
	start := getU64(meta.Get(kRetainBackfill)) + 1
	c := w.tx.Bucket(bMsg).Cursor()
	n := 0
	var last uint64
	for k, _ := c.Seek(u64(start)); k != nil; k, _ = c.Next() {
		if n == limit {
			return false, w.put(bMeta, kRetainBackfill, u64(last))
		}
		m, err := w.load(Key(getU64(k)))
		if err != nil {
			return false, fatal(err)
		}
		w.dirty = true
		if err := indexRetention(b, m); err != nil {
			return false, fatal(err)
		}
		last = getU64(k)
		n++
	}
	if err := w.del(bMeta, kRetainBackfill); err != nil {
		return false, err
	}
	return true, w.put(bMeta, kRetainIndexed, []byte("1"))
}

// payloadsPurged reports whether some payload of m has lost its file (retention, or
// DELETED): such a message cannot be sent again.
func payloadsPurged(m *Message) bool {
	for _, p := range m.Payloads {
		if p.Blob == "" {
			return true
		}
	}
	return false
}
