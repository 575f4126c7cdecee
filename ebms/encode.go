package ebms

import (
	"encoding/base64"
	"strings"

	"github.com/beevik/etree"
)

// EncodeOptions control how Encode writes the header into the caller's envelope.
type EncodeOptions struct {
	// SOAPPrefix is the prefix the caller's envelope binds to its SOAP namespace, used for the
	// mustUnderstand attribute. Encode does not declare it, so the header carries no namespace
	// declaration the envelope already has. Default "S12".
	SOAPPrefix string
	// SOAP11 writes mustUnderstand="1" (the only true value SOAP 1.1 knows) instead of "true".
	SOAP11 bool
}

// Encode builds a new eb:Messaging element for the model. It uses the prefix eb and declares
// xmlns:eb (and xmlns:wsu when ID is set) on the element itself, ebbp/ds/ec only on the receipt
// elements that use them, and nothing else, so that the exclusive C14N of the header is
// predictable. Timestamps are written in UTC with millisecond precision. Encode does not check
// the model; Validate does. Write the surrounding document with WriteSettings().
//
// The envelope the element is placed in must bind opts.SOAPPrefix to its SOAP namespace and must
// not declare a default namespace (AS4 envelopes never do): kept raw receipt content and a
// non-XMLDSig Reference written back unprefixed rely on having no default namespace in scope.
func (m *Messaging) Encode(opts EncodeOptions) *etree.Element {
	soapPrefix := opts.SOAPPrefix
	if soapPrefix == "" {
		soapPrefix = "S12"
	}
	soapNS := NamespaceSOAP12
	if opts.SOAP11 {
		soapNS = NamespaceSOAP11
	}
	e := encoder{envelopeScope: map[string]string{soapPrefix: soapNS}}
	root := etree.NewElement("eb:Messaging")
	root.CreateAttr("xmlns:eb", NamespaceEbMS)
	if m.ID != "" {
		root.CreateAttr("xmlns:wsu", NamespaceWSU)
		root.CreateAttr("wsu:Id", m.ID)
	}
	if m.MustUnderstand {
		value := "true"
		if opts.SOAP11 {
			value = "1"
		}
		root.CreateAttr(soapPrefix+":mustUnderstand", value)
	}
	// The schema orders SignalMessage before UserMessage.
	for _, s := range m.SignalMessages {
		e.signalMessage(root, s)
	}
	if m.UserMessage != nil {
		encodeUserMessage(root, m.UserMessage)
	}
	return root
}

// Validate checks the model with the rules Decode applies to received headers, by encoding it
// and decoding the result, so outbound and inbound checks cannot drift apart.
func (m *Messaging) Validate(opts DecodeOptions) error {
	env := etree.NewElement("S12:Envelope")
	env.CreateAttr("xmlns:S12", NamespaceSOAP12)
	env.CreateElement("S12:Header").AddChild(m.Encode(EncodeOptions{}))
	messaging, err := FindMessaging(env.SelectElement("Header"))
	if err != nil {
		return err
	}
	_, err = DecodeWithOptions(messaging, opts)
	return err
}

func textElement(parent *etree.Element, tag, text string) *etree.Element {
	el := parent.CreateElement(tag)
	el.SetText(text)
	return el
}

func setAttrIfSet(el *etree.Element, key, value string) {
	if value != "" {
		el.CreateAttr(key, value)
	}
}

func encodeMessageInfo(parent *etree.Element, mi MessageInfo) {
	el := parent.CreateElement("eb:MessageInfo")
	textElement(el, "eb:Timestamp", FormatTimestamp(mi.Timestamp))
	textElement(el, "eb:MessageId", mi.MessageID)
	if mi.RefToMessageID != "" {
		textElement(el, "eb:RefToMessageId", mi.RefToMessageID)
	}
}

func encodeUserMessage(parent *etree.Element, u *UserMessage) {
	el := parent.CreateElement("eb:UserMessage")
	setAttrIfSet(el, "mpc", u.MPC)
	encodeMessageInfo(el, u.MessageInfo)

	pi := el.CreateElement("eb:PartyInfo")
	encodeParty(pi, "eb:From", u.PartyInfo.From)
	encodeParty(pi, "eb:To", u.PartyInfo.To)

	ci := el.CreateElement("eb:CollaborationInfo")
	c := u.CollaborationInfo
	if c.AgreementRef != nil {
		ar := textElement(ci, "eb:AgreementRef", c.AgreementRef.Value)
		setAttrIfSet(ar, "type", c.AgreementRef.Type)
		setAttrIfSet(ar, "pmode", c.AgreementRef.PMode)
	}
	svc := textElement(ci, "eb:Service", c.Service.Value)
	setAttrIfSet(svc, "type", c.Service.Type)
	textElement(ci, "eb:Action", c.Action)
	textElement(ci, "eb:ConversationId", c.ConversationID)

	if len(u.MessageProperties) > 0 {
		encodeProperties(el.CreateElement("eb:MessageProperties"), u.MessageProperties)
	}
	if len(u.PayloadInfo) > 0 {
		pl := el.CreateElement("eb:PayloadInfo")
		for _, p := range u.PayloadInfo {
			encodePartInfo(pl, p)
		}
	}
}

func encodeParty(parent *etree.Element, tag string, p Party) {
	el := parent.CreateElement(tag)
	for _, id := range p.PartyIDs {
		idEl := textElement(el, "eb:PartyId", id.Value)
		setAttrIfSet(idEl, "type", id.Type)
	}
	textElement(el, "eb:Role", p.Role)
}

func encodeProperties(parent *etree.Element, props []Property) {
	for _, p := range props {
		el := parent.CreateElement("eb:Property")
		el.CreateAttr("name", p.Name)
		setAttrIfSet(el, "type", p.Type)
		el.SetText(p.Value)
	}
}

func encodePartInfo(parent *etree.Element, p PartInfo) {
	el := parent.CreateElement("eb:PartInfo")
	setAttrIfSet(el, "href", p.Href)
	if p.Schema != nil {
		s := el.CreateElement("eb:Schema")
		s.CreateAttr("location", p.Schema.Location)
		setAttrIfSet(s, "version", p.Schema.Version)
		setAttrIfSet(s, "namespace", p.Schema.Namespace)
	}
	if p.Description != nil {
		encodeDescription(el, p.Description)
	}
	if len(p.PartProperties) > 0 {
		encodeProperties(el.CreateElement("eb:PartProperties"), p.PartProperties)
	}
}

// encodeDescription always writes xml:lang, which the schema requires (possibly empty).
func encodeDescription(parent *etree.Element, d *Description) {
	el := textElement(parent, "eb:Description", d.Text)
	el.CreateAttr("xml:lang", d.Lang)
}

// encoder carries what Encode knows about the envelope the header will be placed in.
type encoder struct {
	// envelopeScope holds the bindings the caller's envelope declares (its SOAP prefix).
	envelopeScope map[string]string
}

func (e *encoder) signalMessage(parent *etree.Element, s *SignalMessage) {
	el := parent.CreateElement("eb:SignalMessage")
	encodeMessageInfo(el, s.MessageInfo)
	if s.PullRequest != nil {
		pr := el.CreateElement("eb:PullRequest")
		setAttrIfSet(pr, "mpc", s.PullRequest.MPC)
	}
	if s.Receipt != nil {
		e.receipt(el, s.Receipt)
	}
	for _, se := range s.Errors {
		encodeError(el, se)
	}
	for _, o := range s.Other {
		e.addRawCopy(el, o)
	}
}

func encodeError(parent *etree.Element, e Error) {
	el := parent.CreateElement("eb:Error")
	setAttrIfSet(el, "category", string(e.Category))
	el.CreateAttr("errorCode", string(e.ErrorCode))
	setAttrIfSet(el, "origin", e.Origin)
	setAttrIfSet(el, "refToMessageInError", e.RefToMessageInError)
	el.CreateAttr("severity", string(e.Severity))
	setAttrIfSet(el, "shortDescription", e.ShortDescription)
	if e.Description != nil {
		encodeDescription(el, e.Description)
	}
	if e.ErrorDetail != "" {
		textElement(el, "eb:ErrorDetail", e.ErrorDetail)
	}
}

func (e *encoder) receipt(parent *etree.Element, r *Receipt) {
	el := parent.CreateElement("eb:Receipt")
	if r.NonRepudiationInformation != nil {
		encodeNRI(el, r.NonRepudiationInformation)
	}
	if r.UserMessage != nil && !r.UserMessageInEnvelope {
		encodeUserMessage(el, r.UserMessage)
	}
	for _, o := range r.Other {
		e.addRawCopy(el, o)
	}
}

func encodeNRI(parent *etree.Element, nri *NonRepudiationInformation) {
	el := parent.CreateElement("ebbp:NonRepudiationInformation")
	el.CreateAttr("xmlns:ebbp", NamespaceEBBP)
	for _, p := range nri.Parts {
		if p.Reference != nil && !p.NonDSReference {
			el.CreateAttr("xmlns:ds", NamespaceDS)
			break
		}
	}
	for _, p := range nri.Parts {
		partEl := el.CreateElement("ebbp:MessagePartNRInformation")
		switch {
		case p.Reference == nil:
			textElement(partEl, "ebbp:MessagePartIdentifier", p.MessagePartIdentifier)
		case p.NonDSReference:
			// Written back as received, in its own namespace, so nothing is lost; a verifier
			// rejects it either way.
			encodeReference(partEl, p.Reference, "", p.ReferenceNamespace)
		default:
			encodeReference(partEl, p.Reference, "ds:", "")
		}
	}
}

// encodeReference writes a Reference with the given prefix; defaultNS, when set, is declared
// as the default namespace of an unprefixed (non-XMLDSig) Reference.
func encodeReference(parent *etree.Element, ref *Reference, prefix, defaultNS string) {
	el := parent.CreateElement(prefix + "Reference")
	if prefix == "" && defaultNS != "" {
		el.CreateAttr("xmlns", defaultNS)
	}
	setAttrIfSet(el, "URI", ref.URI)
	if len(ref.Transforms) > 0 {
		ts := el.CreateElement(prefix + "Transforms")
		for _, t := range ref.Transforms {
			tEl := ts.CreateElement(prefix + "Transform")
			tEl.CreateAttr("Algorithm", t.Algorithm)
			if t.InclusiveNamespaces != nil {
				inc := tEl.CreateElement("ec:InclusiveNamespaces")
				inc.CreateAttr("xmlns:ec", NamespaceExcC14N)
				inc.CreateAttr("PrefixList", strings.Join(t.InclusiveNamespaces.PrefixList, " "))
			}
		}
	}
	el.CreateElement(prefix+"DigestMethod").CreateAttr("Algorithm", ref.DigestAlgorithm)
	textElement(el, prefix+"DigestValue", base64.StdEncoding.EncodeToString(ref.DigestValue))
}

// addRawCopy appends a copy of a kept element, dropping namespace declarations on its root
// that repeat a binding already in scope at parent or declared by the caller's envelope, so no
// duplicate declarations appear.
func (e *encoder) addRawCopy(parent *etree.Element, raw *etree.Element) {
	if raw == nil {
		return
	}
	cp := raw.Copy()
	kept := cp.Attr[:0]
	for _, a := range cp.Attr {
		var prefix string
		switch {
		case a.Space == "xmlns":
			prefix = a.Key
		case a.Space == "" && a.Key == "xmlns":
			prefix = ""
		default:
			kept = append(kept, a)
			continue
		}
		inScope, ok := lookupPrefix(parent, prefix)
		if !ok {
			inScope, ok = e.envelopeScope[prefix]
		}
		if ok && inScope == a.Value || !ok && prefix == "" && a.Value == "" {
			continue
		}
		kept = append(kept, a)
	}
	cp.Attr = kept
	parent.AddChild(cp)
}
