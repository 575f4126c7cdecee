package store

import "fmt"

// State is a message status in Domibus's vocabulary (the WS plugin's MessageStatus enum),
// kept string for string so that operators and backends recognise it.
type State string

// States this store enters. The transition table below says which changes are legal.
const (
	// Outbound.
	SendEnqueued            State = "SEND_ENQUEUED"    // stored, due for sending
	SendInProgress          State = "SEND_IN_PROGRESS" // claimed by a sender worker (leased)
	WaitingForRetry         State = "WAITING_FOR_RETRY"
	SendFailure             State = "SEND_FAILURE" // retries spent or a permanent error
	Acknowledged            State = "ACKNOWLEDGED" // receipt received and verified
	AcknowledgedWithWarning State = "ACKNOWLEDGED_WITH_WARNING"

	// Inbound.
	Received             State = "RECEIVED" // stored, receipt sent, in the recipient's inbox
	ReceivedWithWarnings State = "RECEIVED_WITH_WARNINGS"
	Downloaded           State = "DOWNLOADED" // the backend acknowledged it
	Deleted              State = "DELETED"    // payloads removed (both directions)
)

// The rest of the vocabulary. The store knows the names (a backend may send or expect them)
// but no operation enters them yet:
//   - ReadyToPull, BeingPulled: the pull MEP, which needs a claim of its own when it comes.
//   - WaitingForReceipt: asynchronous receipts.
//   - SendAttemptFailed: Domibus passes through it between attempts; WAITING_FOR_RETRY and
//     SEND_FAILURE already say which way an attempt went.
//   - ReadyToSend: Domibus's legacy name for SEND_ENQUEUED.
//   - NotFound: an answer to a status query, never stored.
const (
	ReadyToSend       State = "READY_TO_SEND"
	ReadyToPull       State = "READY_TO_PULL"
	BeingPulled       State = "BEING_PULLED"
	WaitingForReceipt State = "WAITING_FOR_RECEIPT"
	SendAttemptFailed State = "SEND_ATTEMPT_FAILED"
	NotFound          State = "NOT_FOUND"
)

// AllStates lists the whole vocabulary in the WS plugin's order.
var AllStates = []State{
	ReadyToSend, ReadyToPull, BeingPulled, SendEnqueued, SendInProgress, WaitingForReceipt,
	Acknowledged, AcknowledgedWithWarning, SendAttemptFailed, SendFailure, NotFound,
	WaitingForRetry, Received, ReceivedWithWarnings, Deleted, Downloaded,
}

// transitions is the legal state machine. Why some edges exist:
//   - SEND_IN_PROGRESS → SEND_ENQUEUED / WAITING_FOR_RETRY: a lease expired (worker crashed
//     or hung); the message becomes due again.
//   - * → ACKNOWLEDGED from every outbound state but the terminal ones: a receipt is proof
//     of delivery whenever it arrives, e.g. for a worker whose lease had already been
//     recovered. Losing that fact would send the message again for nothing.
//   - SEND_FAILURE → SEND_ENQUEUED: an operator resends a failed message.
//   - SEND_IN_PROGRESS → DELETED is absent: a worker holds the message; wait for its outcome.
var transitions = map[State][]State{
	SendEnqueued:            {SendInProgress, Acknowledged, AcknowledgedWithWarning, SendFailure, Deleted},
	SendInProgress:          {Acknowledged, AcknowledgedWithWarning, WaitingForRetry, SendFailure, SendEnqueued},
	WaitingForRetry:         {SendInProgress, Acknowledged, AcknowledgedWithWarning, SendFailure, Deleted},
	SendFailure:             {SendEnqueued, Acknowledged, AcknowledgedWithWarning, Deleted},
	Acknowledged:            {Deleted},
	AcknowledgedWithWarning: {Deleted},
	Received:                {Downloaded, Deleted},
	ReceivedWithWarnings:    {Downloaded, Deleted},
	Downloaded:              {Deleted},
	Deleted:                 nil,
}

// stateDirection says which direction a state belongs to ("" for both).
var stateDirection = map[State]Direction{
	SendEnqueued: Outbound, SendInProgress: Outbound, WaitingForRetry: Outbound,
	SendFailure: Outbound, Acknowledged: Outbound, AcknowledgedWithWarning: Outbound,
	Received: Inbound, ReceivedWithWarnings: Inbound, Downloaded: Inbound,
	Deleted: "",
}

// manualTargets are the states Transition may move a message to. The others carry data
// (a lease, an attempt, a receipt) and have their own operations: ClaimDue, ScheduleRetry,
// MarkFailed, MarkAcknowledged.
var manualTargets = map[State]bool{
	SendEnqueued: true, // resend a failed message
	SendFailure:  true, // give up on a queued message
	Downloaded:   true,
	Deleted:      true,
}

// CanTransition reports whether a message may go from one state to another.
func CanTransition(from, to State) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Known reports whether s is one of the vocabulary's strings.
func (s State) Known() bool {
	for _, k := range AllStates {
		if k == s {
			return true
		}
	}
	return false
}

// Terminal reports whether no operation can move a message out of s except deletion.
func (s State) Terminal() bool {
	switch s {
	case Acknowledged, AcknowledgedWithWarning, Downloaded, Deleted:
		return true
	}
	return false
}

// queued reports whether a message in s sits in the due index.
func (s State) queued() bool { return s == SendEnqueued || s == WaitingForRetry }

// inInbox reports whether a message in s sits in the inbox index.
func (s State) inInbox() bool { return s == Received || s == ReceivedWithWarnings }

// TransitionError reports a state change the state machine does not allow. It matches
// ErrIllegalTransition with errors.Is.
type TransitionError struct {
	Key       Key
	MessageID string
	From, To  State
	Why       string // optional detail
}

func (e *TransitionError) Error() string {
	s := fmt.Sprintf("store: message %s (key %d): illegal transition %s → %s", e.MessageID, e.Key, e.From, e.To)
	if e.Why != "" {
		s += ": " + e.Why
	}
	return s
}

// Is makes errors.Is(err, ErrIllegalTransition) true.
func (e *TransitionError) Is(target error) bool { return target == ErrIllegalTransition }
