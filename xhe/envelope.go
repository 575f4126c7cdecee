package xhe

import (
	"encoding/xml"
	"slices"
)

// Values of DIGG's XHE profile and the SDK transport profile. pmode/sdk.go holds the AS4 side
// of the same values (SDKService, SDKServiceType, SDKActionMessage...); a test ties the two.
const (
	// XHEVersion is the only XHEVersionID the profile allows (R9-XHE).
	XHEVersion = "1.0"
	// SDKCustomizationID is the only CustomizationID the profile allows (R3-XHE).
	SDKCustomizationID = "urn:fdc:digg.se:edelivery:xhe:1"
	// ParticipantScheme is the schemeID of FromParty and ToParty ids (R10-XHE, R11-XHE) and
	// the type of the originalSender and finalRecipient message properties.
	ParticipantScheme = "iso6523-actorid-upis"
	// DocumentIDScheme is the DOCUMENTID_SCHEME SDK uses and the prefix of every SDK action.
	DocumentIDScheme = "busdox-docid-qns"
	// ProcessIDScheme is the PROCESSID_SCHEME SDK uses, the type of eb:Service.
	ProcessIDScheme = "urn:fdc:digg.se:edelivery:process"
	// TransportModelSuffix ends every DOCUMENTID SDK carries: the only transport model of the
	// SDK transport profile.
	TransportModelSuffix = "::tm-base-ext-sigenc"
)

// BusinessScopeCriterionTypeCode values the profile requires, one criterion each (R4..R8).
const (
	ScopeDocumentID       = "DOCUMENTID"
	ScopeDocumentIDScheme = "DOCUMENTID_SCHEME"
	ScopeProcessID        = "PROCESSID"
	ScopeProcessIDScheme  = "PROCESSID_SCHEME"
	ScopeFederationID     = "FEDERATIONID"
)

// requiredScopes lists the five criteria with the rule requiring each (R4..R8).
var requiredScopes = []struct{ code, rule string }{
	{ScopeDocumentID, RuleR4},
	{ScopeDocumentIDScheme, RuleR5},
	{ScopeProcessID, RuleR6},
	{ScopeProcessIDScheme, RuleR7},
	{ScopeFederationID, RuleR8},
}

// participantICDs are the ISO 6523 ICDs SDK participant ids use (sdk-profile.md, "Addressing
// and discovery": 0203 domain names; 0007 organisationsnummer and 0088 GLN also allowed).
var participantICDs = []string{"0203", "0007", "0088"}

// ParticipantICDs returns the ICDs Check accepts in party ids.
func ParticipantICDs() []string { return slices.Clone(participantICDs) }

// Envelope is a parsed XHE envelope. Its accessors read the first occurrence of each element
// and return "" for an absent one; Check says whether the envelope is valid.
type Envelope struct {
	root *node
}

// Criterion is one BusinessScope/BusinessScopeCriterion.
type Criterion struct {
	TypeCode string
	Value    string
}

// PartyID is the PartyIdentification/ID of a FromParty or ToParty.
type PartyID struct {
	Value  string
	Scheme string // @schemeID
}

// Payload summarises Payloads/Payload.
type Payload struct {
	DocumentTypeCode            string
	ContentTypeCode             string
	HandlingServiceID           string
	InstanceEncryptionIndicator string
	// HasContent: PayloadContent is present. Content names its element children (normally
	// one: the payload's apex element, xenc:EncryptedData when encrypted); ContentText
	// reports text directly inside it (a base64 payload).
	HasContent  bool
	Content     []xml.Name
	ContentText bool
}

func (e *Envelope) header() *node {
	if e == nil || e.root == nil {
		return nil
	}
	return e.root.first(NamespaceAggregate, "Header")
}

func text(n *node) string {
	if n == nil {
		return ""
	}
	return n.value()
}

// VersionID returns XHEVersionID.
func (e *Envelope) VersionID() string {
	if e == nil || e.root == nil {
		return ""
	}
	return text(e.root.first(NamespaceBasic, "XHEVersionID"))
}

// CustomizationID returns the envelope's CustomizationID.
func (e *Envelope) CustomizationID() string {
	if e == nil || e.root == nil {
		return ""
	}
	return text(e.root.first(NamespaceBasic, "CustomizationID"))
}

// ID returns Header/ID, which becomes the AS4 ConversationId.
func (e *Envelope) ID() string { return text(e.header().first(NamespaceBasic, "ID")) }

// CreationDateTime returns Header/CreationDateTime as written.
func (e *Envelope) CreationDateTime() string {
	return text(e.header().first(NamespaceBasic, "CreationDateTime"))
}

// Criteria returns the BusinessScope criteria in document order.
func (e *Envelope) Criteria() []Criterion {
	scope := e.header().first(NamespaceAggregate, "BusinessScope")
	if scope == nil {
		return nil
	}
	var out []Criterion
	for _, c := range scope.all(NamespaceAggregate, "BusinessScopeCriterion") {
		out = append(out, Criterion{
			TypeCode: text(c.first(NamespaceBasic, "BusinessScopeCriterionTypeCode")),
			Value:    text(c.first(NamespaceBasic, "BusinessScopeCriterionValue")),
		})
	}
	return out
}

// criterion returns the value of the first criterion with the type code and its node.
func (e *Envelope) criterion(code string) (string, *node) {
	scope := e.header().first(NamespaceAggregate, "BusinessScope")
	if scope == nil {
		return "", nil
	}
	for _, c := range scope.all(NamespaceAggregate, "BusinessScopeCriterion") {
		if text(c.first(NamespaceBasic, "BusinessScopeCriterionTypeCode")) == code {
			return text(c.first(NamespaceBasic, "BusinessScopeCriterionValue")), c
		}
	}
	return "", nil
}

// Criterion returns the value of the first criterion with the type code, or "".
func (e *Envelope) Criterion(code string) string {
	v, _ := e.criterion(code)
	return v
}

// DocumentID returns the DOCUMENTID criterion.
func (e *Envelope) DocumentID() string { return e.Criterion(ScopeDocumentID) }

// DocumentIDScheme returns the DOCUMENTID_SCHEME criterion.
func (e *Envelope) DocumentIDScheme() string { return e.Criterion(ScopeDocumentIDScheme) }

// ProcessID returns the PROCESSID criterion.
func (e *Envelope) ProcessID() string { return e.Criterion(ScopeProcessID) }

// ProcessIDScheme returns the PROCESSID_SCHEME criterion.
func (e *Envelope) ProcessIDScheme() string { return e.Criterion(ScopeProcessIDScheme) }

// FederationID returns the FEDERATIONID criterion (e.g.
// urn:fdc:digg.se:edelivery:federation:test in DIGG's samples).
func (e *Envelope) FederationID() string { return e.Criterion(ScopeFederationID) }

func partyID(party *node) PartyID {
	id := party.first(NamespaceAggregate, "PartyIdentification").first(NamespaceBasic, "ID")
	if id == nil {
		return PartyID{}
	}
	scheme, _ := id.attr("schemeID")
	return PartyID{Value: id.value(), Scheme: trimXMLSpace(scheme)}
}

// FromParty returns the first FromParty's id: the sending participant (C1).
func (e *Envelope) FromParty() PartyID {
	return partyID(e.header().first(NamespaceAggregate, "FromParty"))
}

// ToParty returns the first ToParty's id: the receiving participant (C4).
func (e *Envelope) ToParty() PartyID {
	return partyID(e.header().first(NamespaceAggregate, "ToParty"))
}

// Payloads summarises every Payloads/Payload (the profile allows exactly one).
func (e *Envelope) Payloads() []Payload {
	if e == nil || e.root == nil {
		return nil
	}
	var out []Payload
	for _, p := range e.root.first(NamespaceAggregate, "Payloads").all(NamespaceAggregate, "Payload") {
		pl := Payload{
			DocumentTypeCode:            text(p.first(NamespaceBasic, "DocumentTypeCode")),
			ContentTypeCode:             text(p.first(NamespaceBasic, "ContentTypeCode")),
			HandlingServiceID:           text(p.first(NamespaceBasic, "HandlingServiceID")),
			InstanceEncryptionIndicator: text(p.first(NamespaceBasic, "InstanceEncryptionIndicator")),
		}
		if c := p.first(NamespaceAggregate, "PayloadContent"); c != nil {
			pl.HasContent = true
			pl.Content = slices.Clone(c.apex)
			pl.ContentText = c.hasText
		}
		out = append(out, pl)
	}
	return out
}

// Signatures returns how many ds:Signature elements the envelope carries at its root (the
// message service's end-to-end signature; the access point does not verify it).
func (e *Envelope) Signatures() int {
	if e == nil || e.root == nil {
		return 0
	}
	return len(e.root.all(NamespaceDS, "Signature"))
}

// criterionPath returns the path of the value of the first criterion with the type code, or
// of BusinessScope when there is none.
func (e *Envelope) criterionPath(code string) string {
	h := e.header()
	hp := childPath("XHE", e.root, h)
	scope := h.first(NamespaceAggregate, "BusinessScope")
	if scope == nil {
		return hp + "/BusinessScope"
	}
	sp := childPath(hp, h, scope)
	_, cr := e.criterion(code)
	if cr == nil {
		return sp
	}
	cp := childPath(sp, scope, cr)
	v := cr.first(NamespaceBasic, "BusinessScopeCriterionValue")
	if v == nil {
		return cp
	}
	return childPath(cp, cr, v)
}

// partyPath returns the path of the first FromParty or ToParty's PartyIdentification/ID.
func (e *Envelope) partyPath(name string) string {
	h := e.header()
	p := childPath("XHE", e.root, h) + "/" + name
	party := h.first(NamespaceAggregate, name)
	if party == nil {
		return p
	}
	p = childPath(childPath("XHE", e.root, h), h, party)
	pi := party.first(NamespaceAggregate, "PartyIdentification")
	if pi == nil {
		return p + "/PartyIdentification/ID"
	}
	p = childPath(p, party, pi)
	if id := pi.first(NamespaceBasic, "ID"); id != nil {
		return childPath(p, pi, id)
	}
	return p + "/ID"
}

// idPath returns the path of Header/ID.
func (e *Envelope) idPath() string {
	h := e.header()
	hp := childPath("XHE", e.root, h)
	if id := h.first(NamespaceBasic, "ID"); id != nil {
		return childPath(hp, h, id)
	}
	return hp + "/ID"
}
