package as4

import (
	"time"

	"github.com/as4gw/as4gw/ebms"
	"github.com/as4gw/as4gw/pmode"
)

// SendResult is what became of one outbound message after an attempt.
type SendResult string

// Send results.
const (
	SentAcknowledged SendResult = "acknowledged" // a verified receipt (with or without warnings)
	SentFailed       SendResult = "failed"       // SEND_FAILURE: retries spent or a permanent error
	SentRetry        SendResult = "retry"        // the attempt failed; another is scheduled
)

// ReceiveResult is how an inbound UserMessage was answered.
type ReceiveResult string

// Receive results.
const (
	ReceivedStored    ReceiveResult = "received"  // stored, receipt sent
	ReceivedDuplicate ReceiveResult = "duplicate" // already held: receipt sent again, not stored
	ReceivedRefused   ReceiveResult = "refused"   // answered with an ebMS error (or an HTTP error)
)

// AttemptOutcome is the result of one HTTP exchange with a partner.
type AttemptOutcome string

// Attempt outcomes.
const (
	AttemptAcknowledged   AttemptOutcome = "acknowledged"    // a receipt that verified
	AttemptTransportError AttemptOutcome = "transport_error" // no answer, or HTTP 5xx (EBMS:0005 or the peer's trouble)
	AttemptMissingReceipt AttemptOutcome = "missing_receipt" // an answer without a usable signal (EBMS:0301)
	AttemptInvalidReceipt AttemptOutcome = "invalid_receipt" // a receipt that failed its checks (EBMS:0302)
	AttemptErrorSignal    AttemptOutcome = "error_signal"    // the partner refused the message with an ebMS error
	AttemptLocalError     AttemptOutcome = "local_error"     // nothing was sent: configuration or build problem here
)

// Observer receives the MSH's events for metrics. partner is the configured
// P-Mode party name of the peer access point, or "" when the peer is not a
// configured party; leg is nil when no P-Mode leg matched. Implementations
// must be safe for concurrent use, cheap, and must not block.
type Observer interface {
	// Sent: an outbound message's attempt was recorded with this result.
	Sent(leg *pmode.Leg, partner string, result SendResult)
	// Received: an inbound UserMessage was answered.
	Received(leg *pmode.Leg, partner string, result ReceiveResult)
	// Attempt: one send attempt (HTTP exchange) to partner ended.
	Attempt(partner string, outcome AttemptOutcome)
	// SendToReceipt: the time from submission to the verified receipt.
	SendToReceipt(d time.Duration)
	// InboundDuration: the time the AS4 endpoint took for one POST.
	InboundDuration(d time.Duration)
	// SecurityFailure: an inbound message failed WS-Security (signature,
	// decryption, policy) with this EBMS code.
	SecurityFailure(code ebms.Code)
}

// NopObserver ignores every event; it is the default.
type NopObserver struct{}

func (NopObserver) Sent(*pmode.Leg, string, SendResult)        {}
func (NopObserver) Received(*pmode.Leg, string, ReceiveResult) {}
func (NopObserver) Attempt(string, AttemptOutcome)             {}
func (NopObserver) SendToReceipt(time.Duration)                {}
func (NopObserver) InboundDuration(time.Duration)              {}
func (NopObserver) SecurityFailure(ebms.Code)                  {}

func (g *Gateway) observer() Observer {
	if g.Observer != nil {
		return g.Observer
	}
	return NopObserver{}
}

// partnerName is the configured name of the party with one of ids, or "".
func (g *Gateway) partnerName(ids []ebms.PartyID) string {
	if g.PModes == nil {
		return ""
	}
	for _, id := range ids {
		if p := g.PModes.PartyByID(pmode.PartyID{Value: id.Value, Type: id.Type}); p != nil {
			return p.Name
		}
	}
	return ""
}

// outboundPartnerName is the configured name of an outbound message's
// receiving party, or "".
func (g *Gateway) outboundPartnerName(id, typ string) string {
	return g.partnerName([]ebms.PartyID{{Value: id, Type: typ}})
}

// attemptOutcome classifies one attempt for metrics.
func attemptOutcome(out sendOutcome) AttemptOutcome {
	switch {
	case out.receipt != nil:
		return AttemptAcknowledged
	case out.transport:
		return AttemptTransportError
	case out.problem.Code == string(ebms.CodeMissingReceipt):
		return AttemptMissingReceipt
	case out.problem.Code == string(ebms.CodeInvalidReceipt):
		return AttemptInvalidReceipt
	case out.status == 0:
		return AttemptLocalError // attempt() returned before any HTTP exchange
	}
	return AttemptErrorSignal
}

// securityCode reports whether a refusal is a WS-Security failure, and its
// EBMS code.
func securityCode(f *Failure) (ebms.Code, bool) {
	switch c := f.Signal.ErrorCode; c {
	case ebms.CodeFailedAuthentication, ebms.CodeFailedDecryption, ebms.CodePolicyNoncompliance:
		return c, true
	}
	return "", false
}
