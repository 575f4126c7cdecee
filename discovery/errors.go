package discovery

import (
	"errors"
	"fmt"
)

// Sentinel errors, matched with errors.Is against the *LookupError a lookup
// returns. Each has a stable Code for backend events.
var (
	// ErrNotRegistered: the SML has no record for the participant
	// (NXDOMAIN or no Meta:SMP U-NAPTR), or its SMP answers 404 for it.
	ErrNotRegistered = errors.New("recipient not registered")
	// ErrSMLUnreachable: the DNS query failed (timeout, SERVFAIL, REFUSED,
	// network error). Temporary.
	ErrSMLUnreachable = errors.New("SML unreachable")
	// ErrSMPUnreachable: the SMP did not answer, or answered with a server
	// error or an unexpected status. Temporary.
	ErrSMPUnreachable = errors.New("SMP unreachable")
	// ErrDocumentTypeNotSupported: the SMP does not list the document type,
	// or lists it without the process, for the recipient.
	ErrDocumentTypeNotSupported = errors.New("document type not supported by recipient")
	// ErrNoEndpoint: the recipient takes the document type but not over the
	// federation's transport profile, or the endpoint is not active now.
	ErrNoEndpoint = errors.New("no usable endpoint for the transport profile")
	// ErrBadSignature: the SignedServiceMetadata signature is missing,
	// invalid, or made with a certificate the SMP trust store rejects.
	ErrBadSignature = errors.New("SMP signature invalid")
	// ErrBadResponse: the SML or SMP answered with something malformed
	// (not XML, over the limits, wrong participant or document type).
	ErrBadResponse = errors.New("malformed SML or SMP response")
	// ErrEndpointCertificate: the receiving access point's certificate
	// from the SMP is unreadable, untrusted or revoked (SDK TF-02).
	ErrEndpointCertificate = errors.New("receiver certificate rejected")
)

// Kind classifies a failed lookup.
type Kind int

const (
	KindNotRegistered Kind = iota + 1
	KindSMLUnreachable
	KindSMPUnreachable
	KindDocumentTypeNotSupported
	KindNoEndpoint
	KindBadSignature
	KindBadResponse
	KindEndpointCertificate
)

var kinds = map[Kind]struct {
	sentinel error
	code     string
}{
	KindNotRegistered:            {ErrNotRegistered, "RECIPIENT_NOT_REGISTERED"},
	KindSMLUnreachable:           {ErrSMLUnreachable, "SML_UNREACHABLE"},
	KindSMPUnreachable:           {ErrSMPUnreachable, "SMP_UNREACHABLE"},
	KindDocumentTypeNotSupported: {ErrDocumentTypeNotSupported, "DOCUMENT_TYPE_NOT_SUPPORTED"},
	KindNoEndpoint:               {ErrNoEndpoint, "NO_ENDPOINT"},
	KindBadSignature:             {ErrBadSignature, "SMP_SIGNATURE_INVALID"},
	KindBadResponse:              {ErrBadResponse, "SMP_RESPONSE_INVALID"},
	KindEndpointCertificate:      {ErrEndpointCertificate, "RECEIVER_CERTIFICATE_REJECTED"},
}

// Code returns the stable upper-case code of the kind, for events and logs.
func (k Kind) Code() string {
	if v, ok := kinds[k]; ok {
		return v.code
	}
	return "DISCOVERY_FAILED"
}

func (k Kind) String() string { return k.Code() }

// outcome is the lower-case label used in Observer events.
func (k Kind) outcome() string {
	switch k {
	case KindNotRegistered:
		return "not_registered"
	case KindSMLUnreachable:
		return "sml_unreachable"
	case KindSMPUnreachable:
		return "smp_unreachable"
	case KindDocumentTypeNotSupported:
		return "doctype_not_supported"
	case KindNoEndpoint:
		return "no_endpoint"
	case KindBadSignature:
		return "bad_signature"
	case KindBadResponse:
		return "bad_response"
	case KindEndpointCertificate:
		return "endpoint_certificate"
	}
	return "error"
}

// LookupError is what Resolve returns on failure. Reason is written for the
// sending participant's backend (no stack of Go errors, no secrets); Err
// holds the technical cause for the log.
type LookupError struct {
	Kind        Kind
	Participant string
	DocumentID  string
	ProcessID   string
	// Reason explains in one sentence what was found, for the backend event.
	Reason string
	// Temporary says a later retry may succeed without anyone changing a
	// registration (network trouble, revocation status unknown).
	Temporary bool
	Err       error
}

func (e *LookupError) Error() string {
	msg := fmt.Sprintf("discovery: %s: %s", e.Kind.Code(), e.Reason)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Code is Kind.Code, for callers that only hold an error.
func (e *LookupError) Code() string { return e.Kind.Code() }

// Is matches the sentinel of the error's kind.
func (e *LookupError) Is(target error) bool {
	v, ok := kinds[e.Kind]
	return ok && target == v.sentinel
}

func (e *LookupError) Unwrap() error { return e.Err }

// Outcome returns the Observer label for err: "ok" for nil, the kind's
// label for a *LookupError, "error" otherwise.
func Outcome(err error) string {
	if err == nil {
		return "ok"
	}
	var le *LookupError
	if errors.As(err, &le) {
		return le.Kind.outcome()
	}
	return "error"
}

func lookupErr(k Kind, reason string, err error) *LookupError {
	return &LookupError{Kind: k, Reason: reason, Err: err,
		Temporary: k == KindSMLUnreachable || k == KindSMPUnreachable}
}
