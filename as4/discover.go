package as4

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/as4gw/as4gw/discovery"
	"github.com/as4gw/as4gw/ebms"
	"github.com/as4gw/as4gw/pmode"
	"github.com/as4gw/as4gw/store"
)

// Discoverer finds the receiving access point of a recipient for one document
// type and process (SDK: the SML by DNS, then the SMP's signed metadata).
// *discovery.Resolver implements it.
type Discoverer interface {
	Resolve(ctx context.Context, participant, docType, process discovery.Identifier) (*discovery.Endpoint, error)
}

// discoverReceiver finds where a message submitted for discovery goes: the
// recipient is its finalRecipient, the document type its Action
// ("scheme::value", SDK busdox-docid-qns::...), the process its Service with
// the service type as scheme (how XHE's PROCESSID/PROCESSID_SCHEME map onto
// eb:Service). The discovered access point becomes a party for this attempt
// only: its certificate is what we encrypt for and expect on the receipt, the
// CN of that certificate is the eb:To PartyId (SDK transport profile).
//
// On failure it returns nil and the outcome to record. Its problem code is
// discovery's (RECIPIENT_NOT_REGISTERED, SMP_UNREACHABLE, ...) so that the
// backend learns from the message's events exactly why nothing was sent.
func (g *Gateway) discoverReceiver(ctx context.Context, m *store.Message) (*pmode.Party, sendOutcome) {
	fail := func(code string, retry, transport bool, format string, args ...any) (*pmode.Party, sendOutcome) {
		return nil, sendOutcome{problem: store.Problem{Code: code, Detail: fmt.Sprintf(format, args...)}, retry: retry, transport: transport, keepCode: true}
	}
	leg := g.PModes.Leg(m.LegName)
	if g.Discovery == nil || leg == nil {
		return fail(string(ebms.CodeOther), false, false,
			"no receiving access point is configured for finalRecipient %s and dynamic discovery is off (configure discovery: or a party with an endpoint)", m.FinalRecipient)
	}
	scheme := m.FinalRecipient.Type
	if scheme == "" {
		scheme = discovery.ParticipantScheme
	}
	participant := discovery.Identifier{Scheme: scheme, Value: m.FinalRecipient.ID}
	doc, err := discovery.ParseIdentifier(m.Action)
	if err != nil {
		return fail(discovery.KindDocumentTypeNotSupported.Code(), false, false, "the action %q is not a document type identifier (scheme::value): %v", m.Action, err)
	}
	process := discovery.Identifier{Scheme: m.ServiceType, Value: m.Service}
	if process.Scheme == "" {
		process.Scheme = discovery.ProcessScheme
	}
	ep, err := g.Discovery.Resolve(ctx, participant, doc, process)
	if err != nil {
		var le *discovery.LookupError
		if errors.As(err, &le) {
			// Unreachable SML/SMP and unknown revocation status may mend: retry
			// by the leg's policy, with partner backoff for the network ones.
			network := errors.Is(err, discovery.ErrSMLUnreachable) || errors.Is(err, discovery.ErrSMPUnreachable)
			return fail(le.Code(), le.Temporary, network, "not sent: %s", le.Reason)
		}
		return fail(string(ebms.CodeOther), true, false, "not sent: discovery for %s failed: %v", participant, err)
	}
	if ep.Certificate == nil {
		return fail(discovery.KindNoEndpoint.Code(), false, false, "not sent: the SMP gives no certificate for the access point of %s", participant)
	}
	cn := strings.TrimSpace(ep.Certificate.Subject.CommonName)
	if cn == "" {
		return fail(discovery.KindEndpointCertificate.Code(), false, false, "not sent: the certificate of the access point of %s has no CN to address it by", participant)
	}
	return &pmode.Party{
		Name:        "discovered:" + cn,
		PartyIDs:    []pmode.PartyID{{Value: cn, Type: leg.AnyPartyIDType}},
		Endpoint:    ep.URL,
		Certificate: ep.Certificate,
	}, sendOutcome{}
}

// peerOf describes the party an attempt went to, for the audit log.
func peerOf(p *pmode.Party) store.PeerAP {
	if p == nil {
		return store.PeerAP{}
	}
	peer := store.PeerAP{Endpoint: p.Endpoint, CertSHA256: fingerprint(p.Certificate)}
	if len(p.PartyIDs) > 0 {
		peer.PartyID = p.PartyIDs[0].Value
	}
	return peer
}
