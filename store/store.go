package store

import (
	"context"
	"errors"
	"io"
	"time"
)

// Errors. Operations wrap them with the message and the reason; test with errors.Is.
var (
	ErrNotFound          = errors.New("store: not found")
	ErrDuplicate         = errors.New("store: duplicate message")
	ErrIllegalTransition = errors.New("store: illegal state transition")
	// ErrLeaseLost: the message is no longer held by this claim (the lease expired and the
	// message was recovered or claimed again). The worker drops its outcome.
	ErrLeaseLost = errors.New("store: lease lost")
	ErrInvalid   = errors.New("store: invalid argument")
	// ErrPayloadMissing: a Payload.Blob names no staged file, or one whose size differs.
	ErrPayloadMissing = errors.New("store: payload blob missing")
	ErrClosed         = errors.New("store: closed")
)

// Store is the contract between the store and its users (the MSH and the backend API). It
// is split by concern so that a user can depend on the part it needs. Every method that
// changes something returns only after the change is durable (fsync'd); see the package
// documentation for how the bbolt engine keeps that promise.
type Store interface {
	Payloads
	Messages
	Queue
	Inbox
	Events
	Audit
	Stats(ctx context.Context) (Stats, error)
	// Close waits for writes in flight, then releases the store.
	Close() error
}

// Payloads stores payload bytes. A payload is streamed in first (PutPayload), then the
// message that references it is inserted; the blob is durable no later than the insert's
// commit (a file before it, a small inline blob in the same transaction), so committed
// metadata never points at a missing payload.
type Payloads interface {
	// PutPayload streams r into a new durable blob. Until a message referencing it is
	// inserted, the blob is "staged": DiscardPayload removes it, and an orphan sweep
	// removes it after a grace period.
	PutPayload(ctx context.Context, r io.Reader) (Blob, error)
	// OpenPayload opens a blob for reading.
	OpenPayload(ctx context.Context, ref BlobRef) (io.ReadCloser, error)
	// DiscardPayload removes a staged blob; a blob a message references is left alone.
	DiscardPayload(ctx context.Context, ref BlobRef) error
}

// Messages inserts and reads messages and makes the state changes that carry no
// sending-queue data.
type Messages interface {
	// Submit inserts an outbound message as SEND_ENQUEUED, due at m.NextAttempt (now when
	// zero), with its payload blobs, atomically. A second outbound message with the same
	// MessageId is refused with ErrDuplicate and the existing message.
	Submit(ctx context.Context, m Message) (Message, error)
	// Receive inserts an inbound message as RECEIVED (or RECEIVED_WITH_WARNINGS when
	// m.State says so) together with its entry in the duplicate index, keyed by
	// (MessageId, From). A duplicate is refused with ErrDuplicate and the existing message,
	// whose Receipt the MSH sends again. Build the receipt before calling so that it is
	// stored in the same transaction.
	Receive(ctx context.Context, m Message) (Message, error)
	// Get returns a message by key.
	Get(ctx context.Context, key Key) (Message, error)
	// Find returns the messages with a MessageId in one direction: at most one outbound;
	// inbound, one per sending party (normally one).
	Find(ctx context.Context, dir Direction, messageID string) ([]Message, error)
	// History returns a message's state changes, oldest first.
	History(ctx context.Context, key Key) ([]Event, error)
	// Transition makes an operator's or backend's change: resend (SEND_FAILURE →
	// SEND_ENQUEUED), give up (→ SEND_FAILURE), DOWNLOADED, DELETED. Moving to the state the
	// message is in already is a no-op. DELETED removes the payload files.
	Transition(ctx context.Context, key Key, to State, reason string) (Message, error)
	// List returns messages with any of the given participants, oldest first.
	List(ctx context.Context, q ListQuery) ([]Message, Cursor, error)
}

// Queue is the outbound sending queue.
type Queue interface {
	// ClaimDue atomically moves up to limit queued messages (SEND_ENQUEUED,
	// WAITING_FOR_RETRY) that are due at now to SEND_IN_PROGRESS with a lease until
	// now+lease. Partners (Message.QueueKey) for which skip returns true are passed over, and
	// the others are served round-robin, so a partner in backoff or with a long queue does
	// not hold up the rest. skip runs inside the store's transactions (a read one first,
	// see BoltStore.ClaimDue): it must be quick and must not call the store. A nil skip
	// skips nothing.
	ClaimDue(ctx context.Context, now time.Time, limit int, lease time.Duration, skip func(partner string) bool) ([]Message, error)
	// RecoverLeases makes messages whose lease expired at or before now due again (at now).
	RecoverLeases(ctx context.Context, now time.Time) (int, error)
	// Queues summarises the waiting messages per partner.
	Queues(ctx context.Context) ([]PartnerQueue, error)
	// MarkAcknowledged records a verified receipt (and the attempt that got it):
	// ACKNOWLEDGED, or ACKNOWLEDGED_WITH_WARNING when the receipt carries warnings. It needs
	// no lease: a receipt is proof of delivery whenever it arrives. Repeating it is a no-op.
	MarkAcknowledged(ctx context.Context, key Key, a Attempt, r Receipt) (Message, error)
	// ScheduleRetry records a failed attempt and makes the message due again at next
	// (WAITING_FOR_RETRY). token is the claim's Lease.Token; ErrLeaseLost if it is stale.
	ScheduleRetry(ctx context.Context, key Key, token uint64, a Attempt, next time.Time) (Message, error)
	// MarkFailed records the last attempt and gives up: SEND_FAILURE. Same lease rule.
	MarkFailed(ctx context.Context, key Key, token uint64, a Attempt) (Message, error)
}

// Inbox serves inbound messages to backends.
type Inbox interface {
	// Inbox lists RECEIVED messages for the given recipients (Message.Recipient) not yet
	// downloaded, oldest first. The cursor continues after the last message of the page;
	// it is empty when there is nothing more.
	Inbox(ctx context.Context, q InboxQuery) ([]Message, Cursor, error)
	// MarkDownloaded moves an inbound message to DOWNLOADED; repeating it is a no-op.
	MarkDownloaded(ctx context.Context, key Key) (Message, error)
}

// Events is the change log.
type Events interface {
	// EventsAfter returns up to limit events with Seq > after that match f, oldest first,
	// and the cursor to pass next time. It examines a bounded number of events per call, so
	// with a narrow filter it may return no events and a cursor further on: call again until
	// the cursor stops moving, then wait on Changed.
	EventsAfter(ctx context.Context, after uint64, limit int, f EventFilter) ([]Event, uint64, error)
	// Changed returns a channel that is closed when an event is committed after the call.
	// To wait without missing one: ch := Changed(); EventsAfter(...); if empty, <-ch.
	Changed() <-chan struct{}
}
