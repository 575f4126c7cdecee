package ebms

import (
	"encoding/base64"
	"strings"

	"github.com/beevik/etree"
)

func (d *decoder) signalMessage(el *etree.Element, path string) (*SignalMessage, error) {
	s := &SignalMessage{}
	c, err := ebChildren(el, path, "MessageInfo", "PullRequest", "Receipt", "Error")
	if err != nil {
		return nil, err
	}
	miEl, err := c.single("MessageInfo", path, true)
	if err != nil {
		return nil, err
	}
	if s.MessageInfo, err = d.messageInfo(miEl, childPath(path, "eb:MessageInfo")); err != nil {
		return nil, err
	}
	prEl, err := c.single("PullRequest", path, false)
	if err != nil {
		return nil, err
	}
	if prEl != nil {
		s.PullRequest = &PullRequest{}
		s.PullRequest.MPC, _ = attrValue(prEl, "mpc")
	}
	rcEl, err := c.single("Receipt", path, false)
	if err != nil {
		return nil, err
	}
	if rcEl != nil {
		rcPath := childPath(path, "eb:Receipt")
		if s.MessageInfo.RefToMessageID == "" {
			// A receipt that does not say what it acknowledges acknowledges nothing.
			return nil, newError(CodeValueInconsistent, childPath(path, "eb:MessageInfo/eb:RefToMessageId"), "a Receipt must refer to the message it acknowledges")
		}
		if s.Receipt, err = d.receipt(rcEl, rcPath); err != nil {
			return nil, err
		}
	}
	errs := c.byName["Error"]
	for i, eEl := range errs {
		e, err := d.signalError(eEl, indexedPath(path, "eb:Error", i, len(errs)))
		if err != nil {
			return nil, err
		}
		s.Errors = append(s.Errors, e)
	}
	for _, f := range c.foreign {
		s.Other = append(s.Other, detachedCopy(f))
	}
	if s.PullRequest == nil && s.Receipt == nil && len(s.Errors) == 0 && len(s.Other) == 0 {
		return nil, newError(CodeInvalidHeader, path, "SignalMessage carries no signal (PullRequest, Receipt or Error)")
	}
	return s, nil
}

func (d *decoder) signalError(el *etree.Element, path string) (Error, error) {
	var e Error
	code, _ := attrValue(el, "errorCode")
	if code == "" {
		return e, newError(CodeInvalidHeader, path+"/@errorCode", "missing required attribute")
	}
	e.ErrorCode = Code(code)
	if known, ok := LookupCode(code); ok {
		e.ErrorCode = known
	}
	sev, ok := attrValue(el, "severity")
	if !ok || sev == "" {
		return e, newError(CodeInvalidHeader, path+"/@severity", "missing required attribute")
	}
	if e.Severity, ok = canonicalSeverity(sev); !ok {
		return e, newError(CodeValueNotRecognized, path+"/@severity", "severity %q is neither failure nor warning", sev)
	}
	cat, _ := attrValue(el, "category")
	e.Category = canonicalCategory(cat)
	e.Origin, _ = attrValue(el, "origin")
	e.ShortDescription, _ = attrValue(el, "shortDescription")
	e.RefToMessageInError, _ = attrValue(el, "refToMessageInError")
	if e.RefToMessageInError != "" {
		if err := d.checkMessageID(e.RefToMessageInError); err != nil {
			return e, newError(CodeValueNotRecognized, path+"/@refToMessageInError", "%v", err)
		}
	}
	c, err := ebChildren(el, path, "Description", "ErrorDetail")
	if err != nil {
		return e, err
	}
	descEl, err := c.single("Description", path, false)
	if err != nil {
		return e, err
	}
	if descEl != nil {
		if e.Description, err = description(descEl, childPath(path, "eb:Description")); err != nil {
			return e, err
		}
	}
	detailEl, err := c.single("ErrorDetail", path, false)
	if err != nil {
		return e, err
	}
	if detailEl != nil {
		if e.ErrorDetail, err = simpleText(detailEl, childPath(path, "eb:ErrorDetail")); err != nil {
			return e, err
		}
	}
	return e, nil
}

func (d *decoder) receipt(el *etree.Element, path string) (*Receipt, error) {
	r := &Receipt{}
	for _, child := range el.ChildElements() {
		ns := namespaceOf(child)
		switch {
		case ns == NamespaceEBBP && child.Tag == "NonRepudiationInformation":
			nriPath := childPath(path, "ebbp:NonRepudiationInformation")
			if r.NonRepudiationInformation != nil {
				return nil, newError(CodeInvalidHeader, nriPath, "element appears more than once")
			}
			nri, err := nonRepudiationInformation(child, nriPath)
			if err != nil {
				return nil, err
			}
			r.NonRepudiationInformation = nri

		case ns == NamespaceEbMS && child.Tag == "UserMessage":
			umPath := childPath(path, "eb:UserMessage")
			if r.UserMessage != nil {
				return nil, newError(CodeInvalidHeader, umPath, "receipt holds more than one UserMessage copy")
			}
			um, err := d.userMessage(child, umPath)
			if err != nil {
				return nil, err
			}
			r.UserMessage = um

		case (ns == NamespaceSOAP12 || ns == NamespaceSOAP11) && child.Tag == "Envelope":
			// phase4 (SOAP 1.1) copies the whole received envelope into the receipt. Keep it
			// as it is and also read the UserMessage inside, which is what a verifier compares.
			umEl, umPath := envelopeUserMessage(child, path)
			if umEl != nil {
				if r.UserMessage != nil {
					return nil, newError(CodeInvalidHeader, umPath, "receipt holds more than one UserMessage copy")
				}
				um, err := d.userMessage(umEl, umPath)
				if err != nil {
					return nil, err
				}
				r.UserMessage = um
				r.UserMessageInEnvelope = true
			}
			r.Other = append(r.Other, detachedCopy(child))

		default:
			r.Other = append(r.Other, detachedCopy(child))
		}
	}
	if r.NonRepudiationInformation == nil && r.UserMessage == nil && len(r.Other) == 0 {
		return nil, newError(CodeInvalidHeader, path, "empty Receipt")
	}
	return r, nil
}

// envelopeUserMessage finds Envelope/Header/Messaging/UserMessage in a copied envelope.
func envelopeUserMessage(env *etree.Element, receiptPath string) (*etree.Element, string) {
	soapNS := namespaceOf(env)
	prefix := "S12:"
	if soapNS == NamespaceSOAP11 {
		prefix = "S11:"
	}
	for _, header := range env.ChildElements() {
		if !isElement(header, soapNS, "Header") {
			continue
		}
		for _, messaging := range header.ChildElements() {
			if !isElement(messaging, NamespaceEbMS, "Messaging") {
				continue
			}
			for _, um := range messaging.ChildElements() {
				if isElement(um, NamespaceEbMS, "UserMessage") {
					return um, receiptPath + "/" + prefix + "Envelope/" + prefix + "Header/eb:Messaging/eb:UserMessage"
				}
			}
		}
	}
	return nil, ""
}

func nonRepudiationInformation(el *etree.Element, path string) (*NonRepudiationInformation, error) {
	var parts []*etree.Element
	for _, child := range el.ChildElements() {
		if namespaceOf(child) != NamespaceEBBP {
			continue
		}
		if child.Tag != "MessagePartNRInformation" {
			return nil, newError(CodeInvalidHeader, childPath(path, "ebbp:"+child.Tag), "unexpected element in ebbp:NonRepudiationInformation")
		}
		parts = append(parts, child)
	}
	if len(parts) == 0 {
		return nil, newError(CodeInvalidHeader, childPath(path, "ebbp:MessagePartNRInformation"), "missing required element (at least one)")
	}
	nri := &NonRepudiationInformation{Parts: make([]MessagePartNRInformation, 0, len(parts))}
	for i, partEl := range parts {
		part, err := messagePartNRInformation(partEl, indexedPath(path, "ebbp:MessagePartNRInformation", i, len(parts)))
		if err != nil {
			return nil, err
		}
		nri.Parts = append(nri.Parts, part)
	}
	return nri, nil
}

func messagePartNRInformation(el *etree.Element, path string) (MessagePartNRInformation, error) {
	var part MessagePartNRInformation
	var refEl, idEl *etree.Element
	count := 0
	for _, child := range el.ChildElements() {
		ns := namespaceOf(child)
		switch {
		case ns == NamespaceEBBP && child.Tag == "MessagePartIdentifier":
			idEl = child
			count++
		case child.Tag == "Reference":
			// Any namespace: a Reference outside ds is recorded, not dropped, so the receipt
			// verifier can reject it with a precise reason.
			refEl = child
			count++
		}
	}
	switch {
	case count == 0:
		return part, newError(CodeInvalidHeader, childPath(path, "ds:Reference"), "missing required element (ds:Reference or ebbp:MessagePartIdentifier)")
	case count > 1:
		return part, newError(CodeInvalidHeader, path, "holds %d references, exactly one allowed", count)
	}
	if idEl != nil {
		id, err := requiredText(idEl, childPath(path, "ebbp:MessagePartIdentifier"))
		part.MessagePartIdentifier = id
		return part, err
	}
	ns := namespaceOf(refEl)
	if ns != NamespaceDS {
		part.NonDSReference = true
		part.ReferenceNamespace = ns
	}
	ref, err := reference(refEl, ns, path)
	part.Reference = ref
	return part, err
}

// reference reads a Reference whose children are in namespace ns (XMLDSig, or the foreign
// namespace a non-conforming peer put it in).
func reference(el *etree.Element, ns, parentPath string) (*Reference, error) {
	prefix := ""
	if ns == NamespaceDS {
		prefix = "ds:"
	}
	path := childPath(parentPath, prefix+"Reference")
	ref := &Reference{}
	ref.URI, _ = attrValue(el, "URI")

	var transformsEl, methodEl, valueEl *etree.Element
	for _, child := range el.ChildElements() {
		if namespaceOf(child) != ns {
			continue
		}
		var slot **etree.Element
		switch child.Tag {
		case "Transforms":
			slot = &transformsEl
		case "DigestMethod":
			slot = &methodEl
		case "DigestValue":
			slot = &valueEl
		default:
			continue
		}
		if *slot != nil {
			return nil, newError(CodeInvalidHeader, childPath(path, prefix+child.Tag), "element appears more than once")
		}
		*slot = child
	}

	if transformsEl != nil {
		tPath := childPath(path, prefix+"Transforms")
		var list []*etree.Element
		for _, t := range transformsEl.ChildElements() {
			if isElement(t, ns, "Transform") {
				list = append(list, t)
			}
		}
		for i, t := range list {
			trPath := indexedPath(tPath, prefix+"Transform", i, len(list))
			tr := Transform{}
			tr.Algorithm, _ = attrValue(t, "Algorithm")
			if tr.Algorithm == "" {
				return nil, newError(CodeInvalidHeader, trPath+"/@Algorithm", "missing required attribute")
			}
			for _, inc := range t.ChildElements() {
				if isElement(inc, NamespaceExcC14N, "InclusiveNamespaces") {
					prefixList, _ := attrValue(inc, "PrefixList")
					tr.InclusiveNamespaces = &InclusiveNamespaces{}
					if prefixes := strings.Fields(prefixList); len(prefixes) > 0 {
						tr.InclusiveNamespaces.PrefixList = prefixes
					}
				}
			}
			ref.Transforms = append(ref.Transforms, tr)
		}
	}

	if methodEl == nil {
		return nil, newError(CodeInvalidHeader, childPath(path, prefix+"DigestMethod"), "missing required element")
	}
	ref.DigestAlgorithm, _ = attrValue(methodEl, "Algorithm")
	if ref.DigestAlgorithm == "" {
		return nil, newError(CodeInvalidHeader, childPath(path, prefix+"DigestMethod")+"/@Algorithm", "missing required attribute")
	}

	valuePath := childPath(path, prefix+"DigestValue")
	if valueEl == nil {
		return nil, newError(CodeInvalidHeader, valuePath, "missing required element")
	}
	text, err := requiredText(valueEl, valuePath)
	if err != nil {
		return nil, err
	}
	// base64Binary may be wrapped over lines.
	digest, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(text), ""))
	if err != nil {
		return nil, newError(CodeValueNotRecognized, valuePath, "digest value is not base64: %v", err)
	}
	ref.DigestValue = digest
	return ref, nil
}
