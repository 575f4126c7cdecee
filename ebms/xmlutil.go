package ebms

import (
	"strings"

	"github.com/beevik/etree"
)

// WriteSettings returns the settings outbound XML is written with: explicit end tags and
// canonical escaping, so that what is written is what exclusive C14N will see (no '>' or '\”
// escapes that a canonicalizer would rewrite, no self-closed elements).
func WriteSettings() etree.WriteSettings {
	return etree.WriteSettings{CanonicalEndTags: true, CanonicalText: true, CanonicalAttrVal: true}
}

// FindMessaging returns the eb:Messaging child of a SOAP Header element, matched by namespace
// URI so any prefix works. It fails with EBMS:0009 when there is none or more than one: a second
// eb:Messaging is a classic signature-wrapping vector, so it is never silently ignored.
func FindMessaging(header *etree.Element) (*etree.Element, error) {
	if header == nil {
		return nil, newError(CodeInvalidHeader, "eb:Messaging", "no SOAP Header")
	}
	var found *etree.Element
	for _, child := range header.ChildElements() {
		if isElement(child, NamespaceEbMS, "Messaging") {
			if found != nil {
				return nil, newError(CodeInvalidHeader, "eb:Messaging", "more than one eb:Messaging header")
			}
			found = child
		}
	}
	if found == nil {
		return nil, newError(CodeInvalidHeader, "eb:Messaging", "missing eb:Messaging header")
	}
	return found, nil
}

// namespaceOf returns the namespace URI of an element, resolving its prefix through the
// element's ancestors, so an element still inside its envelope resolves prefixes declared on
// the Envelope.
func namespaceOf(el *etree.Element) string {
	if el.Space == "xml" {
		return NamespaceXML
	}
	return el.NamespaceURI()
}

// attrNamespace returns the namespace URI of an attribute ("" when unprefixed).
func attrNamespace(a *etree.Attr) string {
	switch a.Space {
	case "":
		return ""
	case "xml":
		return NamespaceXML
	}
	return a.NamespaceURI()
}

func isElement(el *etree.Element, ns, local string) bool {
	return el.Tag == local && namespaceOf(el) == ns
}

// attrValue returns the trimmed value of the unprefixed attribute key and whether it exists.
// ebMS attributes are unqualified; a prefixed attribute of the same local name is a
// different attribute.
func attrValue(el *etree.Element, key string) (string, bool) {
	for i := range el.Attr {
		a := &el.Attr[i]
		if a.Space == "" && a.Key == key {
			return trimXMLSpace(a.Value), true
		}
	}
	return "", false
}

// attrValueNS returns the trimmed value of the attribute in namespace ns with local name key.
func attrValueNS(el *etree.Element, ns, key string) (string, bool) {
	for i := range el.Attr {
		a := &el.Attr[i]
		if a.Key == key && a.Space != "" && a.Space != "xmlns" && attrNamespace(a) == ns {
			return trimXMLSpace(a.Value), true
		}
	}
	return "", false
}

// simpleText returns the trimmed character content of an element that must not have child
// elements. Comments are skipped (peers comment out values) and all character data is joined,
// unlike etree's Text, which stops at the first comment.
func simpleText(el *etree.Element, path string) (string, error) {
	var b strings.Builder
	for _, tok := range el.Child {
		switch t := tok.(type) {
		case *etree.CharData:
			b.WriteString(t.Data)
		case *etree.Element:
			return "", newError(CodeInvalidHeader, path, "unexpected child element %s inside a text value", t.FullTag())
		}
	}
	return trimXMLSpace(b.String()), nil
}

// xmlSpace is the XML whitespace set (S production); Unicode spaces such as U+00A0 are data.
const xmlSpace = " \t\r\n"

func trimXMLSpace(s string) string { return strings.Trim(s, xmlSpace) }

// checkPrefixes verifies that every element and attribute prefix in the subtree of el is
// declared (XML Namespaces well-formedness, which encoding/xml does not enforce). An undeclared
// prefix would otherwise resolve to no namespace here and to whatever the envelope binds once
// the header is re-encoded elsewhere.
func checkPrefixes(el *etree.Element) error {
	inScope := map[string]bool{"xml": true}
	for e := el.Parent(); e != nil; e = e.Parent() {
		for _, a := range e.Attr {
			if a.Space == "xmlns" {
				inScope[a.Key] = true
			}
		}
	}
	var walk func(e *etree.Element, scope map[string]bool) error
	walk = func(e *etree.Element, scope map[string]bool) error {
		if hasDeclarations(e) {
			local := make(map[string]bool, len(scope)+2)
			for k := range scope {
				local[k] = true
			}
			for _, a := range e.Attr {
				if a.Space == "xmlns" {
					local[a.Key] = true
				}
			}
			scope = local
		}
		if e.Space != "" && !scope[e.Space] {
			return newError(CodeInvalidHeader, pathMessaging, "element %s uses an undeclared namespace prefix", e.FullTag())
		}
		for _, a := range e.Attr {
			if a.Space != "" && a.Space != "xmlns" && !scope[a.Space] {
				return newError(CodeInvalidHeader, pathMessaging, "attribute %s of %s uses an undeclared namespace prefix", a.FullKey(), e.FullTag())
			}
		}
		for _, c := range e.ChildElements() {
			if err := walk(c, scope); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(el, inScope)
}

// lookupPrefix resolves a prefix ("" for the default namespace) in the scope of el.
func lookupPrefix(el *etree.Element, prefix string) (string, bool) {
	switch prefix {
	case "xml":
		return NamespaceXML, true
	case "xmlns":
		return "", true
	}
	for e := el; e != nil; e = e.Parent() {
		for _, a := range e.Attr {
			if prefix == "" && a.Space == "" && a.Key == "xmlns" {
				return a.Value, true
			}
			if prefix != "" && a.Space == "xmlns" && a.Key == prefix {
				return a.Value, true
			}
		}
	}
	return "", false
}

// detachedCopy copies el out of its document and declares on the copy every namespace its
// subtree uses but inherits from outside, so the copy means the same thing on its own (etree's
// Copy keeps prefixes but not the declarations of ancestors). Only prefixes actually used are
// declared, so no stray declarations appear.
func detachedCopy(el *etree.Element) *etree.Element {
	cp := el.Copy()
	addedToRoot := map[string]bool{}
	var visit func(c *etree.Element, inCopy map[string]bool)
	visit = func(c *etree.Element, inCopy map[string]bool) {
		if hasDeclarations(c) {
			scope := make(map[string]bool, len(inCopy)+2)
			for k := range inCopy {
				scope[k] = true
			}
			for _, a := range c.Attr {
				if a.Space == "xmlns" {
					scope[a.Key] = true
				} else if a.Space == "" && a.Key == "xmlns" {
					scope[""] = true
				}
			}
			inCopy = scope
		}
		need := func(prefix string) {
			if prefix == "xml" || prefix == "xmlns" || inCopy[prefix] || addedToRoot[prefix] {
				return
			}
			addedToRoot[prefix] = true
			// Not declared inside the copy, so el's ancestors bind it.
			uri, ok := lookupPrefix(el, prefix)
			switch {
			case !ok || (prefix == "" && uri == ""):
				// Undeclared prefix or no default namespace: nothing to carry over.
			case prefix == "":
				cp.CreateAttr("xmlns", uri)
			default:
				cp.CreateAttr("xmlns:"+prefix, uri)
			}
		}
		need(c.Space)
		for _, a := range c.Attr {
			if a.Space != "" && a.Space != "xmlns" {
				need(a.Space)
			}
		}
		for _, child := range c.ChildElements() {
			visit(child, inCopy)
		}
	}
	visit(cp, map[string]bool{})
	// xmlns="" on a detached root only repeats that no default namespace is in scope.
	for i, a := range cp.Attr {
		if a.Space == "" && a.Key == "xmlns" && a.Value == "" {
			cp.RemoveAttr(cp.Attr[i].FullKey())
			break
		}
	}
	return cp
}

func hasDeclarations(el *etree.Element) bool {
	for _, a := range el.Attr {
		if a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns") {
			return true
		}
	}
	return false
}
