package xhe

import (
	"fmt"
	"strings"

	"github.com/as4gw/as4gw/ebms"
)

// Headers are the AS4 header values an envelope determines (see "Mapping to AS4" in the
// package documentation).
type Headers struct {
	// OriginalSender is the originalSender message property: FromParty's id, typed with its
	// schemeID.
	OriginalSender ebms.Property
	// FinalRecipient is the finalRecipient message property: ToParty's id and schemeID.
	FinalRecipient ebms.Property
	// Service is PROCESSID typed with PROCESSID_SCHEME (bdx:noprocess,
	// urn:fdc:digg.se:edelivery:process for SDK messages).
	Service ebms.Service
	// Action is DOCUMENTID_SCHEME "::" DOCUMENTID.
	Action string
	// ConversationID is Header/ID.
	ConversationID string
	// FederationID is the FEDERATIONID criterion. No AS4 header carries it; the MSH may
	// compare it with the federation of the access point identity in use.
	FederationID string
}

// headers maps the envelope's values to AS4 headers without any check.
func (e *Envelope) headers() Headers {
	from, to := e.FromParty(), e.ToParty()
	return Headers{
		OriginalSender: ebms.Property{Name: ebms.PropertyOriginalSender, Type: from.Scheme, Value: from.Value},
		FinalRecipient: ebms.Property{Name: ebms.PropertyFinalRecipient, Type: to.Scheme, Value: to.Value},
		Service:        ebms.Service{Value: e.ProcessID(), Type: e.ProcessIDScheme()},
		Action:         e.DocumentIDScheme() + "::" + e.DocumentID(),
		ConversationID: e.ID(),
		FederationID:   e.FederationID(),
	}
}

// Derive returns the AS4 headers for submitting the envelope, for a backend that hands the
// gateway only the XHE. It checks the envelope first (an *Error of KindMalformed), then that
// SDK can carry it (an *Error of KindUnsupported, rule SDK-TRANSPORT): DOCUMENTID_SCHEME
// busdox-docid-qns, PROCESSID_SCHEME urn:fdc:digg.se:edelivery:process and a DOCUMENTID that
// ends in ::tm-base-ext-sigenc. The suffix is not appended when missing: the receiving access
// point compares the action with the envelope, so the envelope must already name it.
// Whether the document type and process are allowed for the recipient is the P-Mode's and
// the SMP's business, not Derive's.
func (e *Envelope) Derive() (Headers, error) {
	if err := e.Check(); err != nil {
		return Headers{}, err
	}
	var probs []Problem
	if s := e.DocumentIDScheme(); s != DocumentIDScheme {
		probs = append(probs, Problem{Path: e.criterionPath(ScopeDocumentIDScheme), Rule: RuleTransport,
			Msg: fmt.Sprintf("%q is not %s, the document identifier scheme of SDK actions", s, DocumentIDScheme)})
	}
	if d := e.DocumentID(); !strings.HasSuffix(d, TransportModelSuffix) || len(d) == len(TransportModelSuffix) {
		probs = append(probs, Problem{Path: e.criterionPath(ScopeDocumentID), Rule: RuleTransport,
			Msg: fmt.Sprintf("%q does not end in %s, the only transport model SDK carries", d, TransportModelSuffix)})
	}
	if s := e.ProcessIDScheme(); s != ProcessIDScheme {
		probs = append(probs, Problem{Path: e.criterionPath(ScopeProcessIDScheme), Rule: RuleTransport,
			Msg: fmt.Sprintf("%q is not %s, the service type of SDK messages", s, ProcessIDScheme)})
	}
	if len(probs) > 0 {
		return Headers{}, &Error{Kind: KindUnsupported, Problems: probs}
	}
	return e.headers(), nil
}

// Properties returns the originalSender and finalRecipient message properties.
func (h Headers) Properties() []ebms.Property {
	return []ebms.Property{h.OriginalSender, h.FinalRecipient}
}

// Apply writes the headers into u: Service, Action and ConversationId, and the
// originalSender and finalRecipient properties (replacing any present; other properties
// stay, in order). Party info, MPC and payloads are left alone.
func (h Headers) Apply(u *ebms.UserMessage) {
	u.CollaborationInfo.Service = h.Service
	u.CollaborationInfo.Action = h.Action
	u.CollaborationInfo.ConversationID = h.ConversationID
	props := u.MessageProperties[:0:0]
	for _, p := range u.MessageProperties {
		if p.Name != ebms.PropertyOriginalSender && p.Name != ebms.PropertyFinalRecipient {
			props = append(props, p)
		}
	}
	u.MessageProperties = append(props, h.Properties()...)
}
