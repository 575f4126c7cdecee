package pmode

import (
	"crypto/x509"
	"strings"

	"github.com/as4gw/as4gw/as4/wssec/aesgcm"
	"github.com/as4gw/as4gw/ebms"
)

// AnyParty in a leg's Initiators or Responders stands for any party: a peer
// that is not configured here but identified by a PartyId of the leg's
// AnyPartyIDType (SDK: every access point of the federation, found via SMP).
const AnyParty = "*"

// MEP and binding URIs (ebMS 3.0 Core). as4gw implements one-way push only.
const (
	MEPOneWay   = ebms.NamespaceEbMS + "oneWay"
	BindingPush = ebms.NamespaceEbMS + "push"
)

// ReplyPatternResponse: receipts and errors travel on the HTTP response of the
// same exchange. It is the only reply pattern as4gw supports (no callbacks).
const ReplyPatternResponse = "response"

// Set is every P-Mode of one access-point identity.
type Set struct {
	// Name labels the identity in logs and errors (e.g. "sdk-prod"); optional.
	Name string `mapstructure:"name" yaml:"name"`
	// Self is the name of our own party in Parties.
	Self    string  `mapstructure:"self" yaml:"self"`
	Parties []Party `mapstructure:"parties" yaml:"parties"`
	Legs    []Leg   `mapstructure:"legs" yaml:"legs"`
}

// Party is an access point: ours (Set.Self) or a configured peer.
type Party struct {
	Name     string    `mapstructure:"name" yaml:"name"`
	PartyIDs []PartyID `mapstructure:"partyIds" yaml:"partyIds"`
	// Endpoint is the peer's AS4 URL; empty when discovery provides it.
	Endpoint string `mapstructure:"endpoint" yaml:"endpoint"`
	// CertificateFile is a PEM (or DER) file with the party's AS4 certificate;
	// ResolveCertificates parses it into Certificate. Empty when the trust
	// store or SMP provides the certificate.
	CertificateFile string            `mapstructure:"certificateFile" yaml:"certificateFile"`
	Certificate     *x509.Certificate `mapstructure:"-" yaml:"-"`
}

// PartyID is one identifier of a party. Without Type the value must be a URI
// (ebMS 3.0 Core, eb:PartyId).
type PartyID struct {
	Value string `mapstructure:"value" yaml:"value"`
	Type  string `mapstructure:"type" yaml:"type"`
}

// Service is the eb:Service of a leg. Without Type the value must be a URI.
type Service struct {
	Value string `mapstructure:"value" yaml:"value"`
	Type  string `mapstructure:"type" yaml:"type"`
}

// AgreementRef is the eb:AgreementRef a leg sends and expects. An empty Value
// means none is sent, and any (or none) is accepted on receipt (SDK: "No
// AgreementRef is sent; accept one if present").
type AgreementRef struct {
	Value string `mapstructure:"value" yaml:"value"`
	Type  string `mapstructure:"type" yaml:"type"`
}

// Leg is one P-Mode leg: a one-way push exchange of one service and action
// between initiator and responder parties.
type Leg struct {
	Name string `mapstructure:"name" yaml:"name"`
	// MEP and Binding: "" or "oneway"/"push" (or their URIs); nothing else is implemented.
	MEP     string `mapstructure:"mep" yaml:"mep"`
	Binding string `mapstructure:"binding" yaml:"binding"`
	// Initiators and Responders are party names, or AnyParty. This access
	// point sends on the leg when Self is an initiator and receives when it is
	// a responder.
	Initiators []string `mapstructure:"initiators" yaml:"initiators"`
	Responders []string `mapstructure:"responders" yaml:"responders"`
	// AnyPartyIDType is the PartyId type a peer matched by AnyParty must carry;
	// "" accepts any type.
	AnyPartyIDType string `mapstructure:"anyPartyIdType" yaml:"anyPartyIdType"`
	// InitiatorRole and ResponderRole default to the ebMS initiator/responder roles.
	InitiatorRole string       `mapstructure:"initiatorRole" yaml:"initiatorRole"`
	ResponderRole string       `mapstructure:"responderRole" yaml:"responderRole"`
	Service       Service      `mapstructure:"service" yaml:"service"`
	Action        string       `mapstructure:"action" yaml:"action"`
	AgreementRef  AgreementRef `mapstructure:"agreementRef" yaml:"agreementRef"`
	// MPC defaults to the ebMS default MPC.
	MPC string `mapstructure:"mpc" yaml:"mpc"`
	// TransportProfile is the SMP transport profile id of the peer's endpoint
	// (SDK: digg-transport-as4-v1_0); used by discovery.
	TransportProfile string         `mapstructure:"transportProfile" yaml:"transportProfile"`
	Security         Security       `mapstructure:"security" yaml:"security"`
	Reliability      Reliability    `mapstructure:"reliability" yaml:"reliability"`
	PayloadProfile   PayloadProfile `mapstructure:"payloadProfile" yaml:"payloadProfile"`
	// Properties are the message properties the leg requires or allows.
	Properties []PropertyRule `mapstructure:"properties" yaml:"properties"`
	// Compression gzips payloads on send (AS4 compression).
	Compression bool `mapstructure:"compression" yaml:"compression"`
	// Envelope names the business envelope the leg's "message" payload
	// carries: "" (none checked) or EnvelopeXHE, whose envelope must agree with
	// the AS4 headers on receipt (SDK; see package xhe).
	Envelope string `mapstructure:"envelope" yaml:"envelope"`
}

// EnvelopeXHE is Leg.Envelope for OASIS XHE 1.0 envelopes (SDK).
const EnvelopeXHE = "xhe"

// EnvelopePartID is the Content-ID of the payload that carries the business
// envelope (SDK's payload profile: cid:message).
const EnvelopePartID = "message"

// Security says how a leg's messages are protected. Algorithms are URIs; the
// short names of algorithms.go ("rsa-sha256", "aes128-gcm", ...) are accepted
// and ApplyDefaults rewrites them to URIs.
type Security struct {
	Sign               bool   `mapstructure:"sign" yaml:"sign"`
	Encrypt            bool   `mapstructure:"encrypt" yaml:"encrypt"`
	SignatureAlgorithm string `mapstructure:"signatureAlgorithm" yaml:"signatureAlgorithm"`
	DigestAlgorithm    string `mapstructure:"digestAlgorithm" yaml:"digestAlgorithm"`
	DataEncryption     string `mapstructure:"dataEncryption" yaml:"dataEncryption"`
	KeyTransport       string `mapstructure:"keyTransport" yaml:"keyTransport"`
	// KeyTransportDigest and KeyTransportMGF are the RSA-OAEP digest and mask
	// generation function (eDelivery: SHA-256 and MGF1-SHA256).
	KeyTransportDigest string `mapstructure:"keyTransportDigest" yaml:"keyTransportDigest"`
	KeyTransportMGF    string `mapstructure:"keyTransportMgf" yaml:"keyTransportMgf"`
	// RequireSignedReceipt: a receipt for a message sent on this leg must be signed.
	RequireSignedReceipt bool `mapstructure:"requireSignedReceipt" yaml:"requireSignedReceipt"`
}

// Reliability is AS4 reception awareness: receipts, duplicate detection, retries.
type Reliability struct {
	// Receipts: the receiver answers with an ebMS Receipt.
	Receipts bool `mapstructure:"receipts" yaml:"receipts"`
	// NonRepudiation: receipts carry NonRepudiationInformation (the digests of
	// the received message's signature) rather than a copy of the UserMessage.
	NonRepudiation bool `mapstructure:"nonRepudiation" yaml:"nonRepudiation"`
	// ReplyPattern: "" or "response".
	ReplyPattern       string `mapstructure:"replyPattern" yaml:"replyPattern"`
	DuplicateDetection bool   `mapstructure:"duplicateDetection" yaml:"duplicateDetection"`
	// Retry is the send retry policy; the zero value sends once. In YAML it is
	// a Domibus string ("12;4;CONSTANT", via RetryPolicy.UnmarshalText) or a map.
	Retry RetryPolicy `mapstructure:"retry" yaml:"retry"`
}

// PayloadProfile lists the payloads a leg's messages may carry.
type PayloadProfile struct {
	// Parts in order; an inbound PartInfo takes the first unused part it
	// matches, so list specific Content-ID patterns before general ones.
	// Empty: any payloads are accepted.
	Parts []PayloadPart `mapstructure:"parts" yaml:"parts"`
	// MaxSize caps the total size of a message's payloads in bytes (as the
	// caller measures them); 0 means no limit from the P-Mode.
	MaxSize int64 `mapstructure:"maxSize" yaml:"maxSize"`
}

// PayloadPart is one payload of a profile.
type PayloadPart struct {
	// Name labels the part in errors; ContentID is the Content-ID pattern with
	// or without "cid:" ("message", "cid:message"); '*' matches any run of
	// characters ("attachment-*"). Compared case-insensitively, as Domibus does.
	Name      string `mapstructure:"name" yaml:"name"`
	ContentID string `mapstructure:"contentId" yaml:"contentId"`
	// InBody: the part is the SOAP Body rather than a MIME attachment.
	InBody bool `mapstructure:"inBody" yaml:"inBody"`
	// MimeType is compared with the MimeType part property (parameters ignored); "" accepts any.
	MimeType string `mapstructure:"mimeType" yaml:"mimeType"`
	Required bool   `mapstructure:"required" yaml:"required"`
}

// PropertyRule is a message property (eb:MessageProperties/eb:Property) a leg knows.
type PropertyRule struct {
	Name string `mapstructure:"name" yaml:"name"`
	// Type is the expected type attribute; a property without type is still
	// accepted unless TypeRequired (SDK: "type iso6523-actorid-upis; accept a
	// missing type"). "" accepts any type.
	Type         string `mapstructure:"type" yaml:"type"`
	TypeRequired bool   `mapstructure:"typeRequired" yaml:"typeRequired"`
	Required     bool   `mapstructure:"required" yaml:"required"`
}

// Party returns the party with the given name, or nil.
func (s *Set) Party(name string) *Party {
	for i := range s.Parties {
		if s.Parties[i].Name == name {
			return &s.Parties[i]
		}
	}
	return nil
}

// SelfParty returns our own party, or nil when Self names none.
func (s *Set) SelfParty() *Party { return s.Party(s.Self) }

// PartyByID returns the configured party that has the identifier, or nil.
func (s *Set) PartyByID(id PartyID) *Party {
	for i := range s.Parties {
		if s.Parties[i].hasID(id) {
			return &s.Parties[i]
		}
	}
	return nil
}

// Leg returns the leg with the given name, or nil.
func (s *Set) Leg(name string) *Leg {
	for i := range s.Legs {
		if s.Legs[i].Name == name {
			return &s.Legs[i]
		}
	}
	return nil
}

// hasID compares like Domibus: PartyId values and types case-insensitively
// (ids are certificate CNs and URNs; a peer changing case is not a new party).
func (p *Party) hasID(id PartyID) bool {
	for _, own := range p.PartyIDs {
		if strings.EqualFold(own.Value, id.Value) && strings.EqualFold(own.Type, id.Type) {
			return true
		}
	}
	return false
}

// EffectiveMPC returns the leg's MPC, the ebMS default MPC when unset.
func (l *Leg) EffectiveMPC() string {
	if l.MPC == "" {
		return ebms.DefaultMPC
	}
	return l.MPC
}

// EffectiveInitiatorRole returns the initiator role, the ebMS default when unset.
func (l *Leg) EffectiveInitiatorRole() string {
	if l.InitiatorRole == "" {
		return ebms.RoleInitiator
	}
	return l.InitiatorRole
}

// EffectiveResponderRole returns the responder role, the ebMS default when unset.
func (l *Leg) EffectiveResponderRole() string {
	if l.ResponderRole == "" {
		return ebms.RoleResponder
	}
	return l.ResponderRole
}

// Property returns the rule for a message property, or nil.
func (l *Leg) Property(name string) *PropertyRule {
	for i := range l.Properties {
		if l.Properties[i].Name == name {
			return &l.Properties[i]
		}
	}
	return nil
}

// Sends reports whether this access point (self) may initiate the leg.
func (l *Leg) Sends(self string) bool {
	return contains(l.Initiators, self) || contains(l.Initiators, AnyParty)
}

// Receives reports whether this access point (self) may respond on the leg.
func (l *Leg) Receives(self string) bool {
	return contains(l.Responders, self) || contains(l.Responders, AnyParty)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// ApplyDefaults fills what a configuration may leave out: MEP and binding
// URIs, roles, MPC, the reply pattern of a leg with receipts, algorithm URIs
// for the short names, and the eDelivery AS4 algorithms where a signing or
// encrypting leg names none. It does not invent anything Validate would
// otherwise report as missing (parties, service, action).
func (s *Set) ApplyDefaults() {
	for i := range s.Legs {
		l := &s.Legs[i]
		if l.MEP == "" || strings.EqualFold(l.MEP, "oneway") {
			l.MEP = MEPOneWay
		}
		if l.Binding == "" || strings.EqualFold(l.Binding, "push") {
			l.Binding = BindingPush
		}
		l.InitiatorRole = l.EffectiveInitiatorRole()
		l.ResponderRole = l.EffectiveResponderRole()
		l.MPC = l.EffectiveMPC()
		if l.Reliability.Receipts && l.Reliability.ReplyPattern == "" {
			l.Reliability.ReplyPattern = ReplyPatternResponse
		}
		l.Security.applyDefaults()
	}
}

func (sec *Security) applyDefaults() {
	// Short names become URIs whether or not the leg signs or encrypts;
	// unknown and refused names stay as written for Validate to report.
	fill := func(v *string, k algKind, used bool, dflt string) {
		switch uri, ok := resolveAlg(k, *v); {
		case ok:
			*v = uri
		case *v == "" && used:
			*v = dflt
		}
	}
	fill(&sec.SignatureAlgorithm, algSignature, sec.Sign, defaultSignature)
	fill(&sec.DigestAlgorithm, algDigest, sec.Sign, defaultDigest)
	fill(&sec.DataEncryption, algDataEncryption, sec.Encrypt, defaultDataEncryption)
	fill(&sec.KeyTransport, algKeyTransport, sec.Encrypt, defaultKeyTransport)
	fill(&sec.KeyTransportDigest, algOAEPDigest, sec.Encrypt, defaultOAEPDigest)
	mgf := defaultMGF
	if sec.KeyTransport == aesgcm.RSAOAEPMGF1P {
		mgf = aesgcm.MGF1SHA1 // fixed by that algorithm
	}
	fill(&sec.KeyTransportMGF, algMGF, sec.Encrypt, mgf)
}
