package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Retention removes what a finished message no longer needs, in two steps and per state:
//
//   - payload purge: the payload files go; the message keeps its record, its history and
//     its state (a backend asking for the status of a delivered message still learns that
//     it was delivered). Payload.Blob is cleared, Size and SHA256 stay, as for DELETED, so
//     the API answers a download with 410 Gone. No event is written: the state does not
//     change, and a burst of purges must not flood event consumers.
//   - metadata purge: the message record goes with its indexes, its history, its
//     duplicate-detection entry and any payload files left.
//
// Only final states are purged (see retainable). Each step runs in batches, each batch one
// write operation through the group commit, so traffic interleaves with a run and no
// transaction grows large. Candidates are found in a read transaction from the retention
// index (retention_index.go), which yields only expired entries; the write operation
// checks each again before it purges. Payload files go after the commit that dropped their
// references (commit.go's finish): a crash in between leaves orphans for the sweep.
//
// Duplicate detection: the inbound duplicate index entry (MessageId, From) is removed with
// the metadata. After that, a partner re-sending the same message would have it stored and
// delivered again, and a backend could submit its MessageId again. Partners resend within
// their retry window (minutes to hours; Domibus's receptionAwareness); the configuration
// refuses metadata retention shorter than a day (config.MinMetadataRetention) so that the
// index always outlives any such window.
//
// The change log (events bucket) is trimmed by age too (RetentionPolicy.Events): it is
// the only other structure that grows with traffic. bbolt reuses the pages freed by the
// deletions, so under a steady stream the database file stops growing.

// RetentionRules give, per final state, how long after a message entered the state its
// payloads and its metadata are kept. A state not listed (or 0) is kept forever.
type RetentionRules struct {
	Payloads map[State]time.Duration
	Metadata map[State]time.Duration
}

// RetentionPolicy is what one retention run applies.
type RetentionPolicy struct {
	// Default applies to every message unless its owner's rules say otherwise.
	Default RetentionRules
	// Parties are the rules of organisations, by participant: for a message owned by
	// (shown through the API to) one of these participants, a state listed here overrides
	// Default for that state (0: keep forever); unlisted states follow Default.
	Parties map[PartyID]RetentionRules
	// Events is how long change-log entries are kept (0: forever). Consumers that follow
	// the log (long polls, webhooks) must not fall further behind than this.
	Events time.Duration
	// BatchSize caps the messages (or events) purged per write operation. Default 500.
	BatchSize int
}

// DefaultRetentionBatch is the batch size when RetentionPolicy.BatchSize is 0.
const DefaultRetentionBatch = 500

// maxRetentionBatch keeps a batch's transaction short whatever the configuration says.
const maxRetentionBatch = 10000

// Validate checks states and durations.
func (p *RetentionPolicy) Validate() error {
	check := func(where string, r RetentionRules) error {
		for _, m := range []struct {
			name string
			m    map[State]time.Duration
		}{{"payloads", r.Payloads}, {"metadata", r.Metadata}} {
			for st, d := range m.m {
				if !st.retainable() {
					return fmt.Errorf("%w: retention %s %s: %s is not a final state (retention applies to %v)", ErrInvalid, where, m.name, st, RetentionStates)
				}
				if d < 0 {
					return fmt.Errorf("%w: retention %s %s %s: negative duration %s", ErrInvalid, where, m.name, st, d)
				}
			}
		}
		return nil
	}
	if err := check("default", p.Default); err != nil {
		return err
	}
	for party, r := range p.Parties {
		if err := check("of "+party.String(), r); err != nil {
			return err
		}
	}
	if p.Events < 0 || p.BatchSize < 0 || p.BatchSize > maxRetentionBatch {
		return fmt.Errorf("%w: retention: events %s, batch size %d (0..%d)", ErrInvalid, p.Events, p.BatchSize, maxRetentionBatch)
	}
	return nil
}

// RetentionResult counts what one run removed.
type RetentionResult struct {
	Payloads     int   // messages whose payload files were removed
	PayloadFiles int   // files removed (by either kind of purge)
	PayloadBytes int64 // their size
	Metadata     int   // messages removed entirely
	Events       int   // change-log entries removed
	Batches      int   // write operations used
}

// Purged reports whether the run removed anything.
func (r RetentionResult) Purged() bool { return r.Payloads+r.Metadata+r.Events+r.PayloadFiles > 0 }

// ruleSet is one (kind, state)'s durations: the default and the owners that differ.
type ruleSet struct {
	def    time.Duration
	owners map[string]time.Duration // by partyKey
}

func (r ruleSet) active() bool {
	if r.def > 0 {
		return true
	}
	for _, d := range r.owners {
		if d > 0 {
			return true
		}
	}
	return false
}

func (r ruleSet) ttl(owner string) time.Duration {
	if d, ok := r.owners[owner]; ok {
		return d
	}
	return r.def
}

func (p *RetentionPolicy) compile(kind byte) map[State]ruleSet {
	pick := func(r RetentionRules) map[State]time.Duration {
		if kind == retainPayload {
			return r.Payloads
		}
		return r.Metadata
	}
	out := map[State]ruleSet{}
	for _, st := range RetentionStates {
		rs := ruleSet{def: pick(p.Default)[st], owners: map[string]time.Duration{}}
		for party, r := range p.Parties {
			if d, ok := pick(r)[st]; ok {
				rs.owners[partyKey(party)] = d
			}
		}
		out[st] = rs
	}
	return out
}

// RunRetention applies the policy once: payload purges, then metadata purges, then the
// change log, each in batches, until nothing more has expired or ctx ends. Expiry is
// measured from the time a message entered its current state, against the store's clock.
// The first run on a database written before the retention index existed indexes it
// first (in batches too).
func (s *BoltStore) RunRetention(ctx context.Context, p RetentionPolicy) (RetentionResult, error) {
	var res RetentionResult
	if err := p.Validate(); err != nil {
		return res, err
	}
	batch := p.BatchSize
	if batch == 0 {
		batch = DefaultRetentionBatch
	}
	for done := false; !done; {
		_, err := s.update(ctx, func(w *wtx) (err error) {
			done, err = w.backfillStep(4 * batch)
			return err
		})
		if err != nil {
			return res, err
		}
	}
	now := s.opts.Clock()
	for _, kind := range []byte{retainPayload, retainMeta} {
		rules := p.compile(kind)
		for _, st := range RetentionStates {
			rs := rules[st]
			if !rs.active() {
				continue
			}
			from := retainPrefix(kind, st)
			for {
				cands, next, err := s.expired(ctx, kind, st, rs, now, from, batch)
				if err != nil {
					return res, err
				}
				if len(cands) == 0 {
					break
				}
				if err := s.purge(ctx, kind, st, rs, now, cands, &res); err != nil {
					return res, err
				}
				if len(cands) < batch {
					break
				}
				from = next
			}
		}
	}
	if p.Events > 0 {
		cutoff := now.Add(-p.Events)
		for {
			n, err := s.trimEvents(ctx, cutoff, batch)
			if err != nil {
				return res, err
			}
			if n > 0 {
				res.Events += n
				res.Batches++
			}
			if n < batch {
				break
			}
		}
	}
	return res, nil
}

// candidate is an expired index entry.
type candidate struct {
	ikey    []byte
	owner   string
	entered uint64
	key     Key
}

// expired reads up to limit expired entries of (kind, state) from the index, starting at
// from, and returns where the next call continues. Per owner it reads the expired range
// and one entry past it, then seeks to the next owner.
func (s *BoltStore) expired(ctx context.Context, kind byte, st State, rs ruleSet, now time.Time, from []byte, limit int) ([]candidate, []byte, error) {
	prefix := retainPrefix(kind, st)
	var out []candidate
	var next []byte
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bRetain).Cursor()
		k, _ := c.Seek(from)
		for k != nil && bytes.HasPrefix(k, prefix) {
			owner, entered, key, ok := splitRetainKey(k[len(prefix):])
			if !ok {
				return fmt.Errorf("store: malformed retention index key %x", k)
			}
			ttl := rs.ttl(owner)
			if ttl <= 0 || entered > timeKey(now.Add(-ttl)) {
				// Nothing (more) of this owner has expired: on to the next owner. Owner
				// strings hold no control characters, so 0x01 sorts after all of its keys.
				k, _ = c.Seek(join(prefix, []byte(owner), []byte{1}))
				continue
			}
			out = append(out, candidate{ikey: bytes.Clone(k), owner: owner, entered: entered, key: key})
			if len(out) == limit {
				next = join(k, sep) // just after this entry, even if it stays
				return nil
			}
			k, _ = c.Next()
		}
		return nil
	})
	return out, next, err
}

// purge removes the candidates in one write operation, checking each again: the entry must
// still be there (the message has not left the state) and still be expired.
func (s *BoltStore) purge(ctx context.Context, kind byte, st State, rs ruleSet, now time.Time, cands []candidate, res *RetentionResult) error {
	var got RetentionResult
	_, err := s.update(ctx, func(w *wtx) error {
		got = RetentionResult{Batches: 1} // an operation may run twice: count afresh
		c := w.tx.Bucket(bRetain).Cursor()
		for _, cd := range cands {
			if k, _ := c.Seek(cd.ikey); !bytes.Equal(k, cd.ikey) {
				continue // purged or moved meanwhile
			}
			m, err := w.load(cd.key)
			if err != nil || m.State != st || m.retentionOwner() != cd.owner || timeKey(m.Updated) != cd.entered {
				// An entry that matches no message is debris (the index is kept with every
				// change, so this is a bug or damage): drop it rather than trip over it
				// every run.
				if err := w.del(bRetain, cd.ikey); err != nil {
					return err
				}
				continue
			}
			if ttl := rs.ttl(cd.owner); ttl <= 0 || m.Updated.After(now.Add(-ttl)) {
				continue
			}
			files, size, err := w.dropPayloads(m)
			if err != nil {
				return err
			}
			got.PayloadFiles += files
			got.PayloadBytes += size
			if kind == retainPayload {
				if err := w.del(bRetain, cd.ikey); err != nil {
					return err
				}
				if err := w.save(m); err != nil {
					return err
				}
				got.Payloads++
				continue
			}
			if err := w.dropMessage(m); err != nil {
				return err
			}
			got.Metadata++
		}
		return nil
	})
	if err != nil {
		return err
	}
	res.Payloads += got.Payloads
	res.PayloadFiles += got.PayloadFiles
	res.PayloadBytes += got.PayloadBytes
	res.Metadata += got.Metadata
	res.Batches += got.Batches
	return nil
}

// dropPayloads unreferences m's payload blobs and clears their Blob; Size and SHA256
// stay. Inline ones go in this transaction, files after the commit. The caller saves m or
// drops it.
func (w *wtx) dropPayloads(m *Message) (files int, size int64, err error) {
	var inlined, inlineBytes int64
	for i := range m.Payloads {
		p := &m.Payloads[i]
		if p.Blob == "" {
			continue
		}
		if err := w.del(bBlobs, []byte(p.Blob)); err != nil {
			return 0, 0, err
		}
		ok, err := w.dropInline(p.Blob)
		if err != nil {
			return 0, 0, err
		}
		if ok {
			inlined++
			inlineBytes += p.Size
		} else {
			w.removeBlobs = append(w.removeBlobs, p.Blob)
		}
		size += p.Size
		files++
		p.Blob = ""
	}
	if files == 0 {
		return 0, 0, nil
	}
	if err := w.addInlineCounts(-inlined, -inlineBytes); err != nil {
		return 0, 0, err
	}
	if err := w.addCount(bMeta, kPayloadFiles, -int64(files)); err != nil {
		return 0, 0, err
	}
	return files, size, w.addCount(bMeta, kPayloadBytes, -size)
}

// dropMessage removes a message in a final state and everything that refers to it: the
// record, its id index entry, its participant entries, its history, its retention entries
// and its state count. Final states are in none of the queue, lease or inbox indexes.
func (w *wtx) dropMessage(m *Message) error {
	if !m.State.retainable() {
		return fatal(fmt.Errorf("store: message %s (key %d) is %s, not in a final state: not purged", m.ID, m.Key, m.State))
	}
	if _, _, err := w.dropPayloads(m); err != nil {
		return err
	}
	idBucket, idKey := bOutID, []byte(m.ID)
	if m.Direction == Inbound {
		idBucket, idKey = bInDup, inDupKey(m.ID, m.From)
	}
	if Key(getU64(w.tx.Bucket(idBucket).Get(idKey))) == m.Key {
		if err := w.del(idBucket, idKey); err != nil {
			return err
		}
	}
	for _, p := range m.Parties() {
		if err := w.del(bParty, partyIndexKey(p, m.Key)); err != nil {
			return err
		}
	}
	// Collect, then delete: deleting under a moving bbolt cursor can skip keys.
	prefix := msgKey(m.Key)
	var hist [][]byte
	c := w.tx.Bucket(bHist).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		hist = append(hist, bytes.Clone(k))
	}
	for _, k := range hist {
		if err := w.del(bHist, k); err != nil {
			return err
		}
	}
	if err := w.leaveRetention(m); err != nil {
		return err
	}
	if err := w.addCount(bMeta, stateCountKey(m.State), -1); err != nil {
		return err
	}
	return w.del(bMsg, msgKey(m.Key))
}

// trimEvents removes up to limit change-log entries older than cutoff, oldest first. The
// log is in sequence order, which is commit order, so its times increase (but for a clock
// stepped back, which at worst keeps an entry a little longer).
func (s *BoltStore) trimEvents(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	var n int
	_, err := s.update(ctx, func(w *wtx) error {
		var keys [][]byte
		c := w.tx.Bucket(bEvents).Cursor()
		for k, v := c.First(); k != nil && len(keys) < limit; k, v = c.Next() {
			var e struct {
				Time time.Time `json:"time"`
			}
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("store: event %d: %w", getU64(k), err)
			}
			if !e.Time.Before(cutoff) {
				break
			}
			keys = append(keys, bytes.Clone(k))
		}
		n = len(keys)
		for _, k := range keys {
			if err := w.del(bEvents, k); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}
