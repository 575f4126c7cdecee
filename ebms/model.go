package ebms

import (
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// Messaging is the eb:Messaging SOAP header block.
type Messaging struct {
	// ID is the wsu:Id the signature references; "" when absent.
	ID string
	// MustUnderstand is the SOAP mustUnderstand attribute (AS4 requires true).
	MustUnderstand bool
	// UserMessage is the message unit carrying business payloads, if any.
	UserMessage *UserMessage
	// SignalMessages are the signal units (Receipt, Error, PullRequest). Core uses one; more
	// than one is Part 2 bundling, which is decoded but not expected from AS4 peers.
	SignalMessages []*SignalMessage
}

// MessageInfo identifies a message unit.
type MessageInfo struct {
	// Timestamp is when the message unit was created, in UTC.
	Timestamp time.Time
	// MessageID is the globally unique id of the unit, without angle brackets.
	MessageID string
	// RefToMessageID names the message unit this one relates to; "" when absent.
	RefToMessageID string
}

// UserMessage is an eb:UserMessage unit.
type UserMessage struct {
	// MPC is the message partition channel; "" means DefaultMPC (see EffectiveMPC).
	MPC               string
	MessageInfo       MessageInfo
	PartyInfo         PartyInfo
	CollaborationInfo CollaborationInfo
	MessageProperties []Property
	PayloadInfo       []PartInfo
}

// EffectiveMPC returns the MPC of the message, DefaultMPC when none is given.
func (u *UserMessage) EffectiveMPC() string {
	if u.MPC == "" {
		return DefaultMPC
	}
	return u.MPC
}

// MessageProperty returns the value of the first message property with the given name.
func (u *UserMessage) MessageProperty(name string) (string, bool) {
	return propertyValue(u.MessageProperties, name)
}

// PartyInfo names sender and receiver.
type PartyInfo struct {
	From Party
	To   Party
}

// Party is an eb:From or eb:To: one organisation under one or more identifiers, in a role.
type Party struct {
	PartyIDs []PartyID
	Role     string
}

// PartyID is an eb:PartyId. Without Type, Value must be a URI.
type PartyID struct {
	Value string
	Type  string
}

// CollaborationInfo places the message in a business collaboration.
type CollaborationInfo struct {
	AgreementRef   *AgreementRef
	Service        Service
	Action         string
	ConversationID string
}

// AgreementRef is the eb:AgreementRef with its optional type and pmode attributes.
type AgreementRef struct {
	Value string
	Type  string
	PMode string
}

// Service is the eb:Service. Without Type, Value must be a URI.
type Service struct {
	Value string
	Type  string
}

// Property is an eb:Property of MessageProperties or PartProperties.
type Property struct {
	Name  string
	Type  string
	Value string
}

func propertyValue(props []Property, name string) (string, bool) {
	for _, p := range props {
		if p.Name == name {
			return p.Value, true
		}
	}
	return "", false
}

// PartInfo describes one payload: the SOAP Body (no href, or "#id") or a MIME part ("cid:").
type PartInfo struct {
	Href           string
	Schema         *Schema
	Description    *Description
	PartProperties []Property
}

// Schema is the eb:Schema of a PartInfo.
type Schema struct {
	Location  string
	Version   string
	Namespace string
}

// Description is a text with its xml:lang, as in eb:PartInfo and eb:Error.
type Description struct {
	Text string
	Lang string
}

// Property returns the value of the first part property with the given name.
func (p *PartInfo) Property(name string) (string, bool) {
	return propertyValue(p.PartProperties, name)
}

// MimeType returns the MimeType part property, or "".
func (p *PartInfo) MimeType() string {
	v, _ := p.Property(PartPropertyMimeType)
	return v
}

// CompressionType returns the CompressionType part property, or "" for an uncompressed part.
func (p *PartInfo) CompressionType() string {
	v, _ := p.Property(PartPropertyCompressionType)
	return v
}

// CharacterSet returns the CharacterSet part property, or "".
func (p *PartInfo) CharacterSet() string {
	v, _ := p.Property(PartPropertyCharacterSet)
	return v
}

// IsBodyPayload reports whether the part is carried in the SOAP Body: no href, or a
// same-document reference "#id".
func (p *PartInfo) IsBodyPayload() bool {
	return p.Href == "" || strings.HasPrefix(p.Href, "#")
}

// ContentID returns the Content-ID a "cid:" href refers to, without "cid:" and percent-decoded
// as RFC 2392 requires, so it can be compared with a MIME part's Content-ID (without <>).
// It returns false for any other href or an invalid percent-encoding.
func (p *PartInfo) ContentID() (string, bool) {
	const scheme = "cid:"
	if len(p.Href) <= len(scheme) || !strings.EqualFold(p.Href[:len(scheme)], scheme) {
		return "", false
	}
	// PathUnescape, not QueryUnescape: '+' is a literal character in a Content-ID.
	id, err := url.PathUnescape(p.Href[len(scheme):])
	if err != nil || id == "" {
		return "", false
	}
	return id, true
}

// SignalMessage is an eb:SignalMessage unit.
type SignalMessage struct {
	MessageInfo MessageInfo
	Receipt     *Receipt
	Errors      []Error
	PullRequest *PullRequest
	// Other holds extension signals from other namespaces (Part 2), as detached copies.
	Other []*etree.Element
}

// PullRequest is an eb:PullRequest signal.
type PullRequest struct {
	// MPC is the partition to pull from; "" means DefaultMPC (see EffectiveMPC).
	MPC string
}

// EffectiveMPC returns the MPC pulled from, DefaultMPC when none is given.
func (p *PullRequest) EffectiveMPC() string {
	if p.MPC == "" {
		return DefaultMPC
	}
	return p.MPC
}

// Receipt is an eb:Receipt signal. AS4 receipts carry either non-repudiation information (the
// digests of the received message's signature) or a copy of the received UserMessage.
type Receipt struct {
	NonRepudiationInformation *NonRepudiationInformation
	// UserMessage is the copy of the acknowledged UserMessage, if the receipt holds one.
	UserMessage *UserMessage
	// UserMessageInEnvelope is set when UserMessage was read from a whole SOAP envelope copied
	// into the receipt (phase4's SOAP 1.1 style). The envelope itself stays in Other, and Encode
	// then writes Other only, so the copy is neither lost nor duplicated.
	UserMessageInEnvelope bool
	// Other holds any other receipt content as detached copies (in-scope namespaces declared).
	Other []*etree.Element
}

// NonRepudiationInformation is ebbp:NonRepudiationInformation: one entry per signed part of
// the acknowledged message.
type NonRepudiationInformation struct {
	Parts []MessagePartNRInformation
}

// MessagePartNRInformation is one ebbp:MessagePartNRInformation: normally a ds:Reference
// copied from the acknowledged message's signature.
type MessagePartNRInformation struct {
	Reference *Reference
	// MessagePartIdentifier is the ebbp alternative to a Reference; "" when a Reference is given.
	MessagePartIdentifier string
	// NonDSReference is set when Reference was read from an element that is not in the
	// XMLDSig namespace (seen from /n software). It is structurally a Reference but a verifier
	// must not accept it; ReferenceNamespace is the namespace it was in ("" for none).
	NonDSReference     bool
	ReferenceNamespace string
}

// Reference is a ds:Reference: what was signed and its digest.
type Reference struct {
	URI             string
	Transforms      []Transform
	DigestAlgorithm string
	DigestValue     []byte
}

// Transform is a ds:Transform with the PrefixList of an optional ec:InclusiveNamespaces.
type Transform struct {
	Algorithm           string
	InclusiveNamespaces *InclusiveNamespaces
}

// InclusiveNamespaces is ec:InclusiveNamespaces of exclusive C14N.
type InclusiveNamespaces struct {
	PrefixList []string
}

// Error is an eb:Error signal.
type Error struct {
	ErrorCode           Code
	Severity            Severity
	Category            Category
	Origin              string
	ShortDescription    string
	RefToMessageInError string
	Description         *Description
	ErrorDetail         string
}
