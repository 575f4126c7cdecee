package store

import (
	"encoding/hex"
	"fmt"
	"time"
)

// Key is the store's own number for a message: assigned on insert, unique across both
// directions, increasing in commit order, never reused. The AS4 MessageId cannot be the key
// because the same MessageId may exist once outbound and once inbound, and inbound
// uniqueness is per sending party (see Receive).
type Key uint64

// Direction says whether a message was sent by this gateway or received by it.
type Direction string

// The two directions. The strings are stored and appear in events.
const (
	Outbound Direction = "out"
	Inbound  Direction = "in"
)

// PartyID is an ebMS party identifier (eb:PartyId, or the originalSender/finalRecipient
// message property): a value and its type. Indexes match both exactly, so the MSH should
// normalise ids (e.g. fill the profile's default type) before storing or querying them.
type PartyID struct {
	Type string `json:"type,omitempty"`
	ID   string `json:"id"`
}

// IsZero reports whether the id is empty.
func (p PartyID) IsZero() bool { return p.ID == "" && p.Type == "" }

// String renders the id for logs: "type::id", or the bare id when it has no type.
func (p PartyID) String() string {
	if p.Type == "" {
		return p.ID
	}
	return p.Type + "::" + p.ID
}

// Property is an ebMS property (eb:Property in MessageProperties or PartProperties).
// A slice keeps order and allows repeated names, as the schema does.
type Property struct {
	Name  string `json:"name"`
	Type  string `json:"type,omitempty"`
	Value string `json:"value"`
}

// Digest is a SHA-256 value. It marshals as lowercase hex.
type Digest [32]byte

// String returns the digest in lowercase hex.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// IsZero reports whether the digest is all zero bytes (i.e. unset).
func (d Digest) IsZero() bool { return d == Digest{} }

// MarshalText implements encoding.TextMarshaler.
func (d Digest) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Digest) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Digest{}
		return nil
	}
	if len(b) != 64 {
		return fmt.Errorf("store: digest must be 64 hex characters, got %d", len(b))
	}
	_, err := hex.Decode(d[:], b)
	return err
}

// BlobRef names a payload file in the store's payload directory. It is opaque to callers:
// they get one from PutPayload and hand it back in Payload.Blob.
type BlobRef string

// Blob describes a payload file that PutPayload has made durable.
type Blob struct {
	Ref    BlobRef
	Size   int64
	SHA256 Digest
}

// Payload is one part of a user message (eb:PartInfo) and where its bytes live.
type Payload struct {
	// ID is the payload id the backend used (Domibus's payloadId) or the PartInfo href.
	ID        string `json:"id,omitempty"`
	ContentID string `json:"contentId,omitempty"`
	MimeType  string `json:"mimeType,omitempty"`
	FileName  string `json:"fileName,omitempty"`
	// Compressed says the stored bytes are AS4-gzip compressed (the PartInfo
	// CompressionType property); the store never looks inside.
	Compressed bool       `json:"compressed,omitempty"`
	Properties []Property `json:"properties,omitempty"`
	// Size and SHA256 describe the stored bytes. Insert checks them against the blob.
	Size   int64  `json:"size"`
	SHA256 Digest `json:"sha256"`
	// Blob is the stored file. It is cleared when the message is DELETED (the file is
	// removed); Size and SHA256 stay as a record of what was there.
	Blob BlobRef `json:"blob,omitempty"`
}

// Problem is an error or warning as an EBMS code plus text, e.g. {"EBMS:0005", "connection
// refused"}. Code may also be a local code; the store does not interpret it.
type Problem struct {
	Code   string `json:"code,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Attempt records one try to send an outbound message.
type Attempt struct {
	At time.Time `json:"at"`
	// HTTPStatus is the peer's HTTP status, 0 when no response arrived.
	HTTPStatus int `json:"httpStatus,omitempty"`
	// Error is empty for a successful attempt.
	Error Problem `json:"error,omitzero"`
	// Peer is the access point this attempt went to, when the sender knew it (for
	// receivers found by discovery it is only known at send time).
	Peer PeerAP `json:"peer,omitzero"`
}

// Receipt is an AS4 receipt: for an outbound message the one the peer sent us, for an
// inbound message the one we sent (kept so a duplicate gets the original receipt again).
type Receipt struct {
	MessageID string    `json:"messageId,omitempty"` // the receipt signal's own MessageId
	Time      time.Time `json:"time,omitzero"`
	// NRR holds the non-repudiation references (ds:Reference digests), opaque to the store.
	NRR []byte `json:"nrr,omitempty"`
	// Raw is the signed receipt as sent or received, optional.
	Raw []byte `json:"raw,omitempty"`
	// Warnings came with the receipt (an ebMS error signal of severity warning); a receipt
	// with warnings makes the message ACKNOWLEDGED_WITH_WARNING.
	Warnings []Problem `json:"warnings,omitempty"`
	// CertSHA256 is the fingerprint (hex) of the certificate that signed a received
	// receipt, for the audit log; empty for receipts we send and for unsigned ones.
	CertSHA256 string `json:"certSha256,omitempty"`
}

// PeerAP identifies the other access point: for inbound messages the sender, for outbound
// the receiver where known at submit time.
type PeerAP struct {
	PartyID    string `json:"partyId,omitempty"`
	CertSHA256 string `json:"certSha256,omitempty"` // of its signing certificate, hex
	Endpoint   string `json:"endpoint,omitempty"`
}

// Lease is held by a sender worker while an outbound message is SEND_IN_PROGRESS.
type Lease struct {
	// Token identifies the claim; ScheduleRetry and MarkFailed must present it, so a worker
	// whose lease expired (and whose message was claimed again) cannot overwrite the newer
	// claim's outcome.
	Token uint64    `json:"token"`
	Until time.Time `json:"until"`
}

// Message is a user message and its delivery state. Fields the store fills are noted;
// everything else is the caller's and is stored as given.
type Message struct {
	Key       Key       `json:"key"`       // set by the store
	ID        string    `json:"id"`        // eb:MessageId
	Direction Direction `json:"direction"` // set by Submit/Receive
	State     State     `json:"state"`     // set by the store

	LegName        string     `json:"leg,omitempty"`
	From           PartyID    `json:"from"`
	To             PartyID    `json:"to"`
	OriginalSender PartyID    `json:"originalSender,omitzero"`
	FinalRecipient PartyID    `json:"finalRecipient,omitzero"`
	Service        string     `json:"service,omitempty"`
	ServiceType    string     `json:"serviceType,omitempty"`
	Action         string     `json:"action,omitempty"`
	ConversationID string     `json:"conversationId,omitempty"`
	RefToMessageID string     `json:"refToMessageId,omitempty"`
	AgreementRef   string     `json:"agreementRef,omitempty"`
	Properties     []Property `json:"properties,omitempty"`
	Payloads       []Payload  `json:"payloads,omitempty"`

	Created time.Time `json:"created"` // set by the store
	Updated time.Time `json:"updated"` // set by the store

	Attempts    []Attempt `json:"attempts,omitempty"`
	NextAttempt time.Time `json:"nextAttempt,omitzero"` // outbound: when it is due
	Lease       Lease     `json:"lease,omitzero"`       // outbound: while SEND_IN_PROGRESS

	Receipt *Receipt `json:"receipt,omitempty"`
	PeerAP  PeerAP   `json:"peerAp,omitzero"`
	// Header is the eb:Messaging header as the MSH wants to keep it (XML or JSON), opaque.
	Header []byte `json:"header,omitempty"`
}

// QueueKey is the partner an outbound message waits for: the receiving AP's party id when
// known at submit, else the To party ("type::id"). ClaimDue's skip function and Queues see
// this value (readable, so it can label metrics); it keeps a partner in backoff from
// holding up the others. It never changes after insert.
func (m *Message) QueueKey() string {
	switch {
	case m.PeerAP.PartyID != "":
		return m.PeerAP.PartyID
	case m.To.IsZero() && !m.FinalRecipient.IsZero():
		// The receiving access point is found by discovery when the message is sent.
		return "recipient:" + m.FinalRecipient.String()
	}
	return m.To.String()
}

// Recipient is the party whose inbox an inbound message is in: FinalRecipient, or To when
// the message has no finalRecipient property.
func (m *Message) Recipient() PartyID {
	if !m.FinalRecipient.IsZero() {
		return m.FinalRecipient
	}
	return m.To
}

// Parties lists the distinct participants of the message (From, To, OriginalSender,
// FinalRecipient), the keys of the participant index and of event filters.
func (m *Message) Parties() []PartyID {
	out := make([]PartyID, 0, 4)
	for _, p := range []PartyID{m.From, m.To, m.OriginalSender, m.FinalRecipient} {
		if p.IsZero() {
			continue
		}
		dup := false
		for _, q := range out {
			if q == p {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, p)
		}
	}
	return out
}

// Viewer is the participant the backend API shows the message to: outbound, the
// originalSender (none when it was submitted without one); inbound, the recipient.
func (m *Message) Viewer() PartyID {
	switch m.Direction {
	case Outbound:
		return m.OriginalSender
	case Inbound:
		return m.Recipient()
	}
	return PartyID{}
}

// Event is one change of state. Every change is written with its event in the same
// transaction, so the event log and the messages never disagree. History returns the same
// records for one message (without Parties and Viewer).
type Event struct {
	Seq       uint64    `json:"seq"` // strictly increasing across the store
	Time      time.Time `json:"time"`
	Key       Key       `json:"key"`
	MessageID string    `json:"messageId"`
	Direction Direction `json:"direction"`
	From      State     `json:"from,omitempty"` // "" for the insert
	To        State     `json:"to"`
	Reason    string    `json:"reason,omitempty"`
	Parties   []PartyID `json:"parties,omitempty"`
	// Viewer is the message's Viewer, so that an event feed can tell who may see the
	// event without loading the message; nil in events written before it was recorded.
	Viewer *PartyID `json:"viewer,omitempty"`
}

// PartnerQueue summarises the outbound messages waiting for one partner (see QueueKey).
type PartnerQueue struct {
	Partner string
	Waiting int       // SEND_ENQUEUED + WAITING_FOR_RETRY
	NextDue time.Time // earliest due time among them
}

// Cursor continues a listing where the previous page ended. Empty means "from the start".
type Cursor string

// InboxQuery selects inbound messages waiting for download.
type InboxQuery struct {
	Recipients []PartyID // required: the caller's participants (see Message.Recipient)
	After      Cursor
	Limit      int // default 100, at most 1000
}

// ListQuery selects messages by participant. States and Direction filter further.
type ListQuery struct {
	Parties   []PartyID // required: matches From, To, OriginalSender or FinalRecipient
	Direction Direction // optional
	States    []State   // optional
	After     Cursor
	Limit     int // default 100, at most 1000
}

// EventFilter selects events. Zero fields match everything.
type EventFilter struct {
	Parties   []PartyID // any of the event's parties
	Direction Direction
}

// Stats are sizes and counters for metrics.
type Stats struct {
	DBBytes      int64 // database file size
	PayloadFiles int64 // committed payload blobs, files and inline
	PayloadBytes int64 // their total size
	// Of those, the ones kept inline in the database (inline.go).
	InlinePayloads     int64
	InlinePayloadBytes int64
	// Inline payloads staged in memory, not yet inserted (or discarded), and their memory.
	StagedInlinePayloads int64
	StagedInlineBytes    int64
	Messages             map[State]int64 // messages per state
	LastEventSeq         uint64          // newest event sequence number
	Commits              uint64          // write transactions since open
	CommitLatency        CommitLatency   // how long those commits took (write + fsync)
	WriteOps             uint64          // operations they carried (WriteOps/Commits = batching)
}
