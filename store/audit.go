package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The audit log (SDK profile: one record per message event, kept at least 12 months, each
// participant's records apart from the others').
//
// Every event (insert or state change, see writeEvent) also writes an AuditRecord, in the
// same transaction, so a change is never visible without its record and a record never
// describes a change that did not commit. The record copies what an auditor needs from the
// message at that moment (parties, peer access point, signature/receipt references,
// error), so it stays meaningful after the message itself is deleted by message retention;
// the audit log has a retention of its own (PurgeAudit).
//
// Buckets ("|" is concatenation, owner = partyKey of the record's owner, see auditOwner):
//
//	audit   seq(8)                                 → hw(8)|JSON AuditRecord
//	auditp  owner|0x00|seq(8)                      → nil   the owner's records
//	auditm  owner|0x00|messageId|0x00|seq(8)       → nil   by MessageId, per owner
//	auditc  owner|0x00|conversationId|0x00|seq(8)  → nil   by ConversationId, per owner
//
// seq is the event's sequence number. Every index starts with the owner, so a query for
// one organisation's participants never reads another organisation's entries.
//
// hw is the high-water mark of record times: the largest Time of this record and all
// before it. It never decreases along seq even when the clock steps back, which makes two
// things exact without a separate time index: a query's lower time bound (binary search
// for the first seq whose hw reaches it; every earlier record is older) and purging (a
// record whose hw is before the cutoff is older than the cutoff, and so is every record
// before it).
var (
	bAudit  = []byte("audit")
	bAuditP = []byte("auditp")
	bAuditM = []byte("auditm")
	bAuditC = []byte("auditc")
)

const (
	// maxAuditScan bounds the index entries one ListAudit call examines.
	maxAuditScan = 10000
	// auditClockSlack is how far past a query's To a record's time must be before the scan
	// stops: records are in commit order, which follows the clock except when it steps
	// back. Only a step back of more than this can hide a record from a To-bounded query;
	// queries without To and the purge are exact regardless.
	auditClockSlack = time.Minute
	// DefaultAuditPurgeBatch is PurgeAudit's batch size when none is given.
	DefaultAuditPurgeBatch = 1000
)

// Audit outcomes: what the event meant, in words an auditor can filter on.
const (
	OutcomeSubmitted            = "submitted"              // outbound message accepted from a backend
	OutcomeSending              = "sending"                // a sender worker took it
	OutcomeAttemptFailed        = "attempt_failed"         // one attempt failed; it will be retried
	OutcomeRequeued             = "requeued"               // a lease expired or an operator resent it
	OutcomeFailed               = "failed"                 // given up: no receipt
	OutcomeDelivered            = "delivered"              // the peer's receipt was verified
	OutcomeDeliveredWithWarning = "delivered_with_warning" // receipt plus an ebMS warning
	OutcomeReceived             = "received"               // inbound stored and receipt sent
	OutcomeReceivedWithWarnings = "received_with_warnings"
	OutcomeDownloaded           = "downloaded" // the backend acknowledged the inbound message
	OutcomeDeleted              = "deleted"    // payloads removed
)

// Audit is the audit log.
type Audit interface {
	// ListAudit returns the records of the query's participants (their owners, see
	// AuditRecord.Owner) that match its filters, oldest first, and the After value of the
	// next call, 0 when there is nothing more. It examines a bounded number of index
	// entries per call, so a page may be short or empty with a non-zero next.
	ListAudit(ctx context.Context, q AuditQuery) ([]AuditRecord, uint64, error)
	// PurgeAudit deletes records older than before, oldest first, in transactions of at
	// most batch records (default DefaultAuditPurgeBatch) so that traffic is not held up,
	// until none is left or ctx ends. It returns how many it deleted.
	PurgeAudit(ctx context.Context, before time.Time, batch int) (int, error)
}

var _ Audit = (*BoltStore)(nil)

// AuditRecord is one message event as the audit log keeps it.
type AuditRecord struct {
	Seq            uint64    `json:"seq"` // the event's sequence number
	Time           time.Time `json:"time"`
	Key            Key       `json:"key"`
	MessageID      string    `json:"messageId"`
	ConversationID string    `json:"conversationId,omitempty"`
	RefToMessageID string    `json:"refToMessageId,omitempty"`
	Direction      Direction `json:"direction"`
	Leg            string    `json:"leg,omitempty"`
	Service        string    `json:"service,omitempty"`
	ServiceType    string    `json:"serviceType,omitempty"`
	Action         string    `json:"action,omitempty"`
	FromState      State     `json:"fromState,omitempty"` // "" for the insert
	ToState        State     `json:"toState"`
	Outcome        string    `json:"outcome"`
	Reason         string    `json:"reason,omitempty"`
	// Error is the failed attempt's error, or the receipt's first warning.
	Error      Problem `json:"error,omitzero"`
	HTTPStatus int     `json:"httpStatus,omitempty"` // of the attempt this event records
	Attempts   int     `json:"attempts,omitempty"`   // attempts so far
	// Owner is the participant the record belongs to: the local sender of an outbound
	// message (originalSender, else From), the recipient of an inbound one.
	Owner          PartyID `json:"owner"`
	From           PartyID `json:"from,omitzero"`
	To             PartyID `json:"to,omitzero"`
	OriginalSender PartyID `json:"originalSender,omitzero"`
	FinalRecipient PartyID `json:"finalRecipient,omitzero"`
	// Peer is the other access point; its CertSHA256 is the certificate that signed the
	// inbound message or the outbound message's receipt.
	Peer      PeerAP          `json:"peer,omitzero"`
	Signature *AuditSignature `json:"signature,omitempty"`
}

// AuditSignature references the signed evidence of an exchange: for an outbound message
// the peer's receipt, for an inbound one the sender's signature (whose ds:Reference
// digests our receipt repeats as non-repudiation information) and the receipt we sent.
type AuditSignature struct {
	ReceiptID   string    `json:"receiptId,omitempty"` // the receipt signal's MessageId
	ReceiptTime time.Time `json:"receiptTime,omitzero"`
	// NRRSHA256 digests the non-repudiation references: the signed parts' digests.
	NRRSHA256 Digest `json:"nrrSha256,omitzero"`
	// ReceiptSHA256 digests the receipt envelope as received or sent.
	ReceiptSHA256 Digest `json:"receiptSha256,omitzero"`
}

// AuditQuery selects audit records.
type AuditQuery struct {
	Parties        []PartyID // required: the owners whose records to return
	From           time.Time // optional: Time >= From
	To             time.Time // optional: Time < To
	MessageID      string    // optional
	ConversationID string    // optional
	After          uint64    // continue after this seq (the previous call's next)
	Limit          int       // default 100, at most 1000
}

// auditOwner is the participant whose log a message's records go to: the one this gateway
// acts for. The other participants are another access point's customers.
func auditOwner(m *Message) PartyID {
	if m.Direction == Inbound {
		return m.Recipient()
	}
	if !m.OriginalSender.IsZero() {
		return m.OriginalSender
	}
	return m.From
}

func auditOutcome(from, to State, attempted bool) string {
	switch to {
	case SendEnqueued:
		if from == "" {
			return OutcomeSubmitted
		}
		return OutcomeRequeued
	case SendInProgress:
		return OutcomeSending
	case WaitingForRetry:
		if attempted {
			return OutcomeAttemptFailed
		}
		return OutcomeRequeued
	case SendFailure:
		return OutcomeFailed
	case Acknowledged:
		return OutcomeDelivered
	case AcknowledgedWithWarning:
		return OutcomeDeliveredWithWarning
	case Received:
		return OutcomeReceived
	case ReceivedWithWarnings:
		return OutcomeReceivedWithWarnings
	case Downloaded:
		return OutcomeDownloaded
	case Deleted:
		return OutcomeDeleted
	}
	return string(to)
}

// writeAudit appends the audit record of event ev of m (called by writeEvent).
func (w *wtx) writeAudit(ev *Event, m *Message) error {
	attempt := w.attempt
	w.attempt = nil // one attempt per event; RecoverLeases writes several events per wtx
	r := AuditRecord{
		Seq: ev.Seq, Time: ev.Time, Key: m.Key, MessageID: m.ID, ConversationID: m.ConversationID,
		RefToMessageID: m.RefToMessageID, Direction: m.Direction, Leg: m.LegName,
		Service: m.Service, ServiceType: m.ServiceType, Action: m.Action,
		FromState: ev.From, ToState: ev.To, Outcome: auditOutcome(ev.From, ev.To, attempt != nil),
		Reason: ev.Reason, Attempts: len(m.Attempts), Owner: auditOwner(m),
		From: m.From, To: m.To, OriginalSender: m.OriginalSender, FinalRecipient: m.FinalRecipient,
		Peer: m.PeerAP,
	}
	if attempt != nil {
		r.Error, r.HTTPStatus = attempt.Error, attempt.HTTPStatus
		if attempt.Peer != (PeerAP{}) {
			r.Peer = attempt.Peer // found by discovery for this attempt
		}
	}
	if rc := m.Receipt; rc != nil {
		sig := &AuditSignature{ReceiptID: rc.MessageID, ReceiptTime: rc.Time}
		if len(rc.NRR) > 0 {
			sig.NRRSHA256 = sha256.Sum256(rc.NRR)
		}
		if len(rc.Raw) > 0 {
			sig.ReceiptSHA256 = sha256.Sum256(rc.Raw)
		}
		r.Signature = sig
		if r.Peer.CertSHA256 == "" {
			r.Peer.CertSHA256 = rc.CertSHA256
		}
		if r.Error.Code == "" && len(rc.Warnings) > 0 && (ev.To == AcknowledgedWithWarning) {
			r.Error = rc.Warnings[0]
		}
	}
	js, err := json.Marshal(&r)
	if err != nil {
		return fatal(err)
	}
	hw := timeKey(r.Time)
	if _, last := w.tx.Bucket(bAudit).Cursor().Last(); len(last) >= 8 {
		hw = max(hw, getU64(last[:8]))
	}
	if err := w.put(bAudit, u64(r.Seq), join(u64(hw), js)); err != nil {
		return err
	}
	for _, k := range auditIndexKeys(&r) {
		if err := w.put(k.bucket, k.key, nil); err != nil {
			return err
		}
	}
	return nil
}

type auditIndexKey struct{ bucket, key []byte }

// auditIndexKeys lists the index entries of a record. Ids that could not be queried (too
// long, control characters) are not indexed; the record is still found by owner.
func auditIndexKeys(r *AuditRecord) []auditIndexKey {
	owner := []byte(partyKey(r.Owner))
	seq := u64(r.Seq)
	out := []auditIndexKey{{bAuditP, join(owner, sep, seq)}}
	if checkKeyString("", r.MessageID, maxIDLen, true) == nil {
		out = append(out, auditIndexKey{bAuditM, join(owner, sep, []byte(r.MessageID), sep, seq)})
	}
	if checkKeyString("", r.ConversationID, maxIDLen, true) == nil {
		out = append(out, auditIndexKey{bAuditC, join(owner, sep, []byte(r.ConversationID), sep, seq)})
	}
	return out
}

func decodeAudit(seq uint64, v []byte) (AuditRecord, uint64, error) {
	var r AuditRecord
	if len(v) < 8 {
		return r, 0, fmt.Errorf("store: audit record %d: truncated", seq)
	}
	if err := json.Unmarshal(v[8:], &r); err != nil {
		return r, 0, fmt.Errorf("store: audit record %d: %w", seq, err)
	}
	return r, getU64(v[:8]), nil
}

// auditStart returns the first seq whose high-water mark reaches from: all records before
// it are older than from (see hw above). Binary search over seq by cursor seeks.
func auditStart(b *bolt.Bucket, from time.Time) uint64 {
	c := b.Cursor()
	first, _ := c.First()
	last, _ := c.Last()
	if first == nil {
		return 0
	}
	want := timeKey(from)
	lo, hi := getU64(first), getU64(last)+1 // answer in [lo, hi]; hi means none
	for lo < hi {
		mid := lo + (hi-lo)/2
		k, v := c.Seek(u64(mid))
		if k == nil {
			hi = mid
			continue
		}
		if len(v) >= 8 && getU64(v[:8]) >= want {
			hi = mid
		} else {
			lo = getU64(k) + 1
		}
	}
	return lo
}

// ListAudit returns matching records of the query's participants (see Audit.ListAudit).
func (s *BoltStore) ListAudit(ctx context.Context, q AuditQuery) ([]AuditRecord, uint64, error) {
	if len(q.Parties) == 0 {
		return nil, 0, fmt.Errorf("%w: audit query names no participant", ErrInvalid)
	}
	for i, p := range q.Parties {
		if err := checkParty(fmt.Sprintf("participant %d", i), p, true); err != nil {
			return nil, 0, err
		}
	}
	if err := checkKeyString("messageId", q.MessageID, maxIDLen, false); err != nil {
		return nil, 0, err
	}
	if err := checkKeyString("conversationId", q.ConversationID, maxIDLen, false); err != nil {
		return nil, 0, err
	}
	from, to := normTime(q.From), normTime(q.To)
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return nil, 0, fmt.Errorf("%w: audit query time range is empty (from %s is not before to %s)", ErrInvalid, from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano))
	}
	limit := pageSize(q.Limit)
	var out []AuditRecord
	var next uint64
	err := s.view(ctx, func(tx *bolt.Tx) error {
		records := tx.Bucket(bAudit)
		start := q.After + 1
		if !from.IsZero() {
			start = max(start, auditStart(records, from))
		}
		bucket, id := bAuditP, ""
		switch {
		case q.MessageID != "":
			bucket, id = bAuditM, q.MessageID
		case q.ConversationID != "":
			bucket, id = bAuditC, q.ConversationID
		}
		mc := newAuditMerge(tx.Bucket(bucket), q.Parties, id, start)
		scanned := 0
		for len(out) < limit {
			if scanned == maxAuditScan {
				return nil // next is the last seq examined
			}
			k, _, ok := mc.next()
			if !ok {
				next = 0
				return nil
			}
			scanned++
			seq := uint64(k)
			next = seq
			v := records.Get(u64(seq))
			if v == nil {
				continue // purged while the index entry was still there: never within one tx
			}
			r, _, err := decodeAudit(seq, v)
			if err != nil {
				return err
			}
			if !to.IsZero() && !r.Time.Before(to) {
				if !r.Time.Before(to.Add(auditClockSlack)) {
					next = 0
					return nil
				}
				continue
			}
			if !from.IsZero() && r.Time.Before(from) {
				continue
			}
			if q.MessageID != "" && r.MessageID != q.MessageID ||
				q.ConversationID != "" && r.ConversationID != q.ConversationID {
				continue
			}
			out = append(out, r)
		}
		if !mc.more() {
			next = 0
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return out, next, nil
}

// newAuditMerge walks the owners' ranges of an audit index (with id: the range of that
// MessageId or ConversationId within each owner) in seq order, from seq start.
func newAuditMerge(b *bolt.Bucket, parties []PartyID, id string, start uint64) *mergeCursor {
	mc := &mergeCursor{}
	seen := map[string]bool{}
	for _, p := range parties {
		pk := partyKey(p)
		if seen[pk] {
			continue
		}
		seen[pk] = true
		prefix := join([]byte(pk), sep)
		if id != "" {
			prefix = join(prefix, []byte(id), sep)
		}
		c := b.Cursor()
		k, v := c.Seek(join(prefix, u64(start)))
		h := mergeHead{prefix: prefix, c: c, k: k, v: v}
		if h.valid() {
			mc.heads = append(mc.heads, h)
		}
	}
	return mc
}

// PurgeAudit deletes records older than before (see Audit.PurgeAudit).
func (s *BoltStore) PurgeAudit(ctx context.Context, before time.Time, batch int) (int, error) {
	if batch <= 0 {
		batch = DefaultAuditPurgeBatch
	}
	cutoff := timeKey(normTime(before))
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n := 0
		_, err := s.update(ctx, func(w *wtx) error {
			n = 0 // an operation may run more than once (see commit.go)
			var dead [][]byte
			c := w.tx.Bucket(bAudit).Cursor()
			for k, v := c.First(); k != nil && len(dead) < batch; k, v = c.Next() {
				r, hw, err := decodeAudit(getU64(k), v)
				if err != nil {
					return fatal(err)
				}
				if hw >= cutoff {
					break
				}
				dead = append(dead, bytes.Clone(k))
				for _, ik := range auditIndexKeys(&r) {
					if err := w.del(ik.bucket, ik.key); err != nil {
						return err
					}
				}
			}
			for _, k := range dead {
				if err := w.del(bAudit, k); err != nil {
					return err
				}
			}
			n = len(dead)
			return nil
		})
		total += n
		if err != nil || n < batch {
			return total, err
		}
	}
}
