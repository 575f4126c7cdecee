package ebms

import (
	"fmt"
	"strings"

	"github.com/beevik/etree"
)

// DecodeOptions tighten decoding beyond the interoperable defaults.
type DecodeOptions struct {
	// StrictMessageIDs requires MessageId, RefToMessageId and refToMessageInError to follow the
	// RFC 2822 msg-id syntax (see ValidateMessageID) instead of the lenient default rule.
	StrictMessageIDs bool
}

// Decode reads an eb:Messaging element into the model and checks it (see the package
// documentation for the rules). The element may still be inside its envelope: prefixes are
// resolved through its ancestors, and the tree is not modified. A failed check is returned as a
// *ValidationError.
func Decode(messaging *etree.Element) (*Messaging, error) {
	return DecodeWithOptions(messaging, DecodeOptions{})
}

// DecodeWithOptions is Decode with options.
func DecodeWithOptions(messaging *etree.Element, opts DecodeOptions) (*Messaging, error) {
	d := decoder{opts: opts}
	return d.messaging(messaging)
}

type decoder struct {
	opts DecodeOptions
}

const pathMessaging = "eb:Messaging"

func childPath(parent, name string) string { return parent + "/" + name }

// indexedPath names the i-th (0-based) of n sibling elements, 1-based and only when n > 1.
func indexedPath(parent, name string, i, n int) string {
	if n > 1 {
		return fmt.Sprintf("%s/%s[%d]", parent, name, i+1)
	}
	return childPath(parent, name)
}

// children sorts the child elements of an ebMS element: ebMS children by local name (only the
// allowed names; any other ebMS element is a structural error) and the rest as foreign.
type children struct {
	byName  map[string][]*etree.Element
	foreign []*etree.Element
}

func ebChildren(el *etree.Element, path string, allowed ...string) (children, error) {
	c := children{byName: make(map[string][]*etree.Element, len(allowed))}
	for _, child := range el.ChildElements() {
		if namespaceOf(child) != NamespaceEbMS {
			c.foreign = append(c.foreign, child)
			continue
		}
		known := false
		for _, name := range allowed {
			if child.Tag == name {
				known = true
				break
			}
		}
		if !known {
			return c, newError(CodeInvalidHeader, childPath(path, "eb:"+child.Tag), "unexpected element in %s", lastSegment(path))
		}
		c.byName[child.Tag] = append(c.byName[child.Tag], child)
	}
	return c, nil
}

// single returns the only child of that name; more than one is an error, and so is none when
// the element is required.
func (c children) single(name, path string, required bool) (*etree.Element, error) {
	list := c.byName[name]
	switch {
	case len(list) > 1:
		return nil, newError(CodeInvalidHeader, childPath(path, "eb:"+name), "element appears %d times, at most once allowed", len(list))
	case len(list) == 0 && required:
		return nil, newError(CodeInvalidHeader, childPath(path, "eb:"+name), "missing required element")
	case len(list) == 0:
		return nil, nil
	}
	return list[0], nil
}

func lastSegment(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[i+1:]
	}
	return path
}

// requiredText reads a text element that must not be empty.
func requiredText(el *etree.Element, path string) (string, error) {
	s, err := simpleText(el, path)
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", newError(CodeInvalidHeader, path, "empty value")
	}
	return s, nil
}

func (d *decoder) messaging(el *etree.Element) (*Messaging, error) {
	if el == nil {
		return nil, newError(CodeInvalidHeader, pathMessaging, "no element")
	}
	if !isElement(el, NamespaceEbMS, "Messaging") {
		return nil, newError(CodeInvalidHeader, pathMessaging, "element {%s}%s is not eb:Messaging", namespaceOf(el), el.Tag)
	}
	if err := checkPrefixes(el); err != nil {
		return nil, err
	}
	m := &Messaging{}
	m.ID, _ = attrValueNS(el, NamespaceWSU, "Id")
	mu, err := mustUnderstand(el)
	if err != nil {
		return nil, err
	}
	m.MustUnderstand = mu

	c, err := ebChildren(el, pathMessaging, "UserMessage", "SignalMessage")
	if err != nil {
		return nil, err
	}
	users, signals := c.byName["UserMessage"], c.byName["SignalMessage"]
	switch {
	case len(users) > 1:
		return nil, newError(CodeInvalidHeader, childPath(pathMessaging, "eb:UserMessage"),
			"%d UserMessage units; ebMS 3.0 Core and AS4 allow one per message", len(users))
	case len(users) == 0 && len(signals) == 0:
		return nil, newError(CodeInvalidHeader, pathMessaging, "neither UserMessage nor SignalMessage")
	}
	if len(users) == 1 {
		if m.UserMessage, err = d.userMessage(users[0], childPath(pathMessaging, "eb:UserMessage")); err != nil {
			return nil, err
		}
	}
	for i, s := range signals {
		sm, err := d.signalMessage(s, indexedPath(pathMessaging, "eb:SignalMessage", i, len(signals)))
		if err != nil {
			return nil, err
		}
		m.SignalMessages = append(m.SignalMessages, sm)
	}
	return m, nil
}

// mustUnderstand reads the SOAP 1.2 or SOAP 1.1 mustUnderstand attribute under any prefix.
func mustUnderstand(el *etree.Element) (bool, error) {
	for i := range el.Attr {
		a := &el.Attr[i]
		if a.Key != "mustUnderstand" || a.Space == "" || a.Space == "xmlns" {
			continue
		}
		if ns := attrNamespace(a); ns != NamespaceSOAP12 && ns != NamespaceSOAP11 {
			continue
		}
		switch trimXMLSpace(a.Value) {
		case "1", "true":
			return true, nil
		case "0", "false":
			return false, nil
		default:
			prefix := "S12:"
			if attrNamespace(a) == NamespaceSOAP11 {
				prefix = "S11:"
			}
			return false, newError(CodeValueNotRecognized, pathMessaging+"/@"+prefix+"mustUnderstand", "mustUnderstand %q is not a boolean", a.Value)
		}
	}
	return false, nil
}

func (d *decoder) checkMessageID(id string) error {
	if d.opts.StrictMessageIDs {
		return ValidateMessageID(id)
	}
	return checkMessageIDLenient(id)
}

func (d *decoder) messageInfo(el *etree.Element, path string) (MessageInfo, error) {
	var mi MessageInfo
	c, err := ebChildren(el, path, "Timestamp", "MessageId", "RefToMessageId")
	if err != nil {
		return mi, err
	}
	tsEl, err := c.single("Timestamp", path, true)
	if err != nil {
		return mi, err
	}
	tsPath := childPath(path, "eb:Timestamp")
	ts, err := requiredText(tsEl, tsPath)
	if err != nil {
		return mi, err
	}
	if mi.Timestamp, err = ParseTimestamp(ts); err != nil {
		return mi, newError(CodeValueNotRecognized, tsPath, "%v", err)
	}

	idEl, err := c.single("MessageId", path, true)
	if err != nil {
		return mi, err
	}
	idPath := childPath(path, "eb:MessageId")
	if mi.MessageID, err = requiredText(idEl, idPath); err != nil {
		return mi, err
	}
	if err := d.checkMessageID(mi.MessageID); err != nil {
		return mi, newError(CodeValueNotRecognized, idPath, "%v", err)
	}

	refEl, err := c.single("RefToMessageId", path, false)
	if err != nil || refEl == nil {
		return mi, err
	}
	refPath := childPath(path, "eb:RefToMessageId")
	if mi.RefToMessageID, err = requiredText(refEl, refPath); err != nil {
		return mi, err
	}
	if err := d.checkMessageID(mi.RefToMessageID); err != nil {
		return mi, newError(CodeValueNotRecognized, refPath, "%v", err)
	}
	return mi, nil
}

func (d *decoder) userMessage(el *etree.Element, path string) (*UserMessage, error) {
	u := &UserMessage{}
	u.MPC, _ = attrValue(el, "mpc")
	c, err := ebChildren(el, path, "MessageInfo", "PartyInfo", "CollaborationInfo", "MessageProperties", "PayloadInfo")
	if err != nil {
		return nil, err
	}
	miEl, err := c.single("MessageInfo", path, true)
	if err != nil {
		return nil, err
	}
	if u.MessageInfo, err = d.messageInfo(miEl, childPath(path, "eb:MessageInfo")); err != nil {
		return nil, err
	}
	piEl, err := c.single("PartyInfo", path, true)
	if err != nil {
		return nil, err
	}
	if u.PartyInfo, err = partyInfo(piEl, childPath(path, "eb:PartyInfo")); err != nil {
		return nil, err
	}
	ciEl, err := c.single("CollaborationInfo", path, true)
	if err != nil {
		return nil, err
	}
	if u.CollaborationInfo, err = collaborationInfo(ciEl, childPath(path, "eb:CollaborationInfo")); err != nil {
		return nil, err
	}
	mpEl, err := c.single("MessageProperties", path, false)
	if err != nil {
		return nil, err
	}
	if mpEl != nil {
		if u.MessageProperties, err = properties(mpEl, childPath(path, "eb:MessageProperties")); err != nil {
			return nil, err
		}
	}
	plEl, err := c.single("PayloadInfo", path, false)
	if err != nil {
		return nil, err
	}
	if plEl != nil {
		if u.PayloadInfo, err = payloadInfo(plEl, childPath(path, "eb:PayloadInfo")); err != nil {
			return nil, err
		}
	}
	return u, nil
}

func partyInfo(el *etree.Element, path string) (PartyInfo, error) {
	var pi PartyInfo
	c, err := ebChildren(el, path, "From", "To")
	if err != nil {
		return pi, err
	}
	fromEl, err := c.single("From", path, true)
	if err != nil {
		return pi, err
	}
	if pi.From, err = party(fromEl, childPath(path, "eb:From")); err != nil {
		return pi, err
	}
	toEl, err := c.single("To", path, true)
	if err != nil {
		return pi, err
	}
	pi.To, err = party(toEl, childPath(path, "eb:To"))
	return pi, err
}

func party(el *etree.Element, path string) (Party, error) {
	var p Party
	c, err := ebChildren(el, path, "PartyId", "Role")
	if err != nil {
		return p, err
	}
	ids := c.byName["PartyId"]
	if len(ids) == 0 {
		return p, newError(CodeInvalidHeader, childPath(path, "eb:PartyId"), "missing required element (at least one PartyId)")
	}
	for i, idEl := range ids {
		idPath := indexedPath(path, "eb:PartyId", i, len(ids))
		value, err := requiredText(idEl, idPath)
		if err != nil {
			return p, err
		}
		typ, _ := attrValue(idEl, "type")
		if typ == "" {
			// ebMS 3.0 Core (eb:PartyId): without a type the value must be a URI, else EBMS:0003.
			if err := checkURIReference(value); err != nil {
				return p, newError(CodeValueInconsistent, idPath, "PartyId without type attribute must be a URI: %v", err)
			}
		}
		p.PartyIDs = append(p.PartyIDs, PartyID{Value: value, Type: typ})
	}
	roleEl, err := c.single("Role", path, true)
	if err != nil {
		return p, err
	}
	p.Role, err = requiredText(roleEl, childPath(path, "eb:Role"))
	return p, err
}

func collaborationInfo(el *etree.Element, path string) (CollaborationInfo, error) {
	var ci CollaborationInfo
	c, err := ebChildren(el, path, "AgreementRef", "Service", "Action", "ConversationId")
	if err != nil {
		return ci, err
	}
	arEl, err := c.single("AgreementRef", path, false)
	if err != nil {
		return ci, err
	}
	if arEl != nil {
		value, err := simpleText(arEl, childPath(path, "eb:AgreementRef"))
		if err != nil {
			return ci, err
		}
		ci.AgreementRef = &AgreementRef{Value: value}
		ci.AgreementRef.Type, _ = attrValue(arEl, "type")
		ci.AgreementRef.PMode, _ = attrValue(arEl, "pmode")
	}

	svcEl, err := c.single("Service", path, true)
	if err != nil {
		return ci, err
	}
	svcPath := childPath(path, "eb:Service")
	if ci.Service.Value, err = requiredText(svcEl, svcPath); err != nil {
		return ci, err
	}
	ci.Service.Type, _ = attrValue(svcEl, "type")
	if ci.Service.Type == "" {
		// ebMS 3.0 Core (eb:Service): an untyped Service must be a URI, as for PartyId.
		if err := checkURIReference(ci.Service.Value); err != nil {
			return ci, newError(CodeValueInconsistent, svcPath, "Service without type attribute must be a URI: %v", err)
		}
	}

	actEl, err := c.single("Action", path, true)
	if err != nil {
		return ci, err
	}
	if ci.Action, err = requiredText(actEl, childPath(path, "eb:Action")); err != nil {
		return ci, err
	}
	convEl, err := c.single("ConversationId", path, true)
	if err != nil {
		return ci, err
	}
	ci.ConversationID, err = requiredText(convEl, childPath(path, "eb:ConversationId"))
	return ci, err
}

// properties reads the eb:Property children of MessageProperties or PartProperties.
func properties(el *etree.Element, path string) ([]Property, error) {
	c, err := ebChildren(el, path, "Property")
	if err != nil {
		return nil, err
	}
	list := c.byName["Property"]
	var props []Property
	for i, pEl := range list {
		pPath := indexedPath(path, "eb:Property", i, len(list))
		name, _ := attrValue(pEl, "name")
		if name == "" {
			return nil, newError(CodeInvalidHeader, pPath+"/@name", "missing required attribute")
		}
		value, err := simpleText(pEl, pPath)
		if err != nil {
			return nil, err
		}
		typ, _ := attrValue(pEl, "type")
		props = append(props, Property{Name: name, Type: typ, Value: value})
	}
	return props, nil
}

func payloadInfo(el *etree.Element, path string) ([]PartInfo, error) {
	c, err := ebChildren(el, path, "PartInfo")
	if err != nil {
		return nil, err
	}
	list := c.byName["PartInfo"]
	var parts []PartInfo
	seen := make(map[string]bool, len(list))
	for i, pEl := range list {
		pPath := indexedPath(path, "eb:PartInfo", i, len(list))
		p, err := partInfo(pEl, pPath)
		if err != nil {
			return nil, err
		}
		if p.Href != "" {
			// Two descriptions of one payload make it ambiguous which properties apply.
			if seen[p.Href] {
				return nil, newError(CodeValueInconsistent, pPath+"/@href", "payload %q is described twice", p.Href)
			}
			seen[p.Href] = true
		}
		parts = append(parts, p)
	}
	return parts, nil
}

func partInfo(el *etree.Element, path string) (PartInfo, error) {
	var p PartInfo
	p.Href, _ = attrValue(el, "href")
	c, err := ebChildren(el, path, "Schema", "Description", "PartProperties")
	if err != nil {
		return p, err
	}
	schemaEl, err := c.single("Schema", path, false)
	if err != nil {
		return p, err
	}
	if schemaEl != nil {
		s := &Schema{}
		s.Location, _ = attrValue(schemaEl, "location")
		if s.Location == "" {
			return p, newError(CodeInvalidHeader, childPath(path, "eb:Schema")+"/@location", "missing required attribute")
		}
		s.Version, _ = attrValue(schemaEl, "version")
		s.Namespace, _ = attrValue(schemaEl, "namespace")
		p.Schema = s
	}
	descEl, err := c.single("Description", path, false)
	if err != nil {
		return p, err
	}
	if descEl != nil {
		if p.Description, err = description(descEl, childPath(path, "eb:Description")); err != nil {
			return p, err
		}
	}
	propsEl, err := c.single("PartProperties", path, false)
	if err != nil {
		return p, err
	}
	if propsEl != nil {
		if p.PartProperties, err = properties(propsEl, childPath(path, "eb:PartProperties")); err != nil {
			return p, err
		}
	}
	return p, nil
}

func description(el *etree.Element, path string) (*Description, error) {
	text, err := simpleText(el, path)
	if err != nil {
		return nil, err
	}
	lang, _ := attrValueNS(el, NamespaceXML, "lang")
	return &Description{Text: text, Lang: lang}, nil
}
