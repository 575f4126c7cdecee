package wssec

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/beevik/etree"

	"github.com/as4gw/as4gw/ebms"
)

// NewID returns a fresh xsd:ID value ("prefix-" + 128 random bits in hex). IDs
// must start with a letter, so the prefix is required.
func NewID(prefix string) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("wssec: crypto/rand failed: " + err.Error())
	}
	return prefix + "-" + hex.EncodeToString(b[:])
}

// idAttributes are the attribute local names treated as XML IDs when resolving
// "#id" references. Any of them, in any namespace, counts: an attacker must not be
// able to place a second element with the same value under a name we ignore.
var idAttributes = map[string]bool{"Id": true, "ID": true, "id": true}

// IDOf returns the element's ID attribute value (wsu:Id, Id, ID or id) and
// whether it has one.
func IDOf(el *etree.Element) (string, bool) {
	for _, a := range el.Attr {
		if idAttributes[a.Key] && (a.Space == "" || a.Space == "wsu" || a.NamespaceURI() == NSWSU || a.NamespaceURI() == "") {
			return a.Value, true
		}
	}
	for _, a := range el.Attr {
		if idAttributes[a.Key] {
			return a.Value, true
		}
	}
	return "", false
}

// IDIndex maps every ID value in a document to its element. Building it fails
// if any value occurs twice anywhere (anti-wrapping rule 2), whatever the
// attribute's namespace.
type IDIndex map[string]*etree.Element

// IndexIDs walks the whole tree under root and indexes ID attributes.
func IndexIDs(root *etree.Element) (IDIndex, error) {
	idx := IDIndex{}
	var walk func(el *etree.Element) error
	walk = func(el *etree.Element) error {
		for _, a := range el.Attr {
			if !idAttributes[a.Key] {
				continue
			}
			if prev, dup := idx[a.Value]; dup && prev != el {
				return &Error{Code: ebms.CodeFailedAuthentication, Check: "duplicate-id",
					Detail: fmt.Sprintf("ID %q occurs on <%s> and <%s>", a.Value, prev.FullTag(), el.FullTag())}
			} else if dup && prev == el {
				return &Error{Code: ebms.CodeFailedAuthentication, Check: "duplicate-id",
					Detail: fmt.Sprintf("element <%s> carries ID %q twice", el.FullTag(), a.Value)}
			}
			idx[a.Value] = el
		}
		for _, c := range el.ChildElements() {
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(root); err != nil {
		return nil, err
	}
	return idx, nil
}

// Resolve returns the element for a same-document reference "#id".
func (idx IDIndex) Resolve(uri string) (*etree.Element, bool) {
	if !strings.HasPrefix(uri, "#") {
		return nil, false
	}
	el, ok := idx[uri[1:]]
	return el, ok
}

// is reports whether el has the given namespace URI and local name.
func is(el *etree.Element, ns, local string) bool {
	return el != nil && el.Tag == local && el.NamespaceURI() == ns
}

// Children returns el's child elements with the given namespace and local
// name, in document order.
func Children(el *etree.Element, ns, local string) []*etree.Element { return childrenNS(el, ns, local) }

// Child returns the single child with that name, nil if there is none, and an
// error when there are several (never pick one of two).
func Child(el *etree.Element, ns, local string) (*etree.Element, error) {
	return childNS(el, ns, local)
}

// childrenNS returns el's child elements with the given namespace and local name.
func childrenNS(el *etree.Element, ns, local string) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if is(c, ns, local) {
			out = append(out, c)
		}
	}
	return out
}

// childNS returns the single child with that name, nil if there is none, and an
// error when there are several.
func childNS(el *etree.Element, ns, local string) (*etree.Element, error) {
	cs := childrenNS(el, ns, local)
	switch len(cs) {
	case 0:
		return nil, nil
	case 1:
		return cs[0], nil
	}
	return nil, fmt.Errorf("<%s> has %d <%s> children, want at most one", el.FullTag(), len(cs), local)
}

// SOAP roles every node plays, the ultimate receiver included.
const (
	roleSOAP12UltimateReceiver = "http://www.w3.org/2003/05/soap-envelope/role/ultimateReceiver"
	roleSOAP12Next             = "http://www.w3.org/2003/05/soap-envelope/role/next"
	actorSOAP11Next            = "http://schemas.xmlsoap.org/soap/actor/next"
)

// soapRoleTargetsUs reports whether a header block is addressed to the ultimate
// receiver: no role/actor, the SOAP 1.2 ultimateReceiver role, or the "next"
// role of either SOAP version (played by every node, the ultimate receiver
// included, so a Security header for "next" is ours too and counts when
// looking for a second one).
func soapRoleTargetsUs(el *etree.Element) bool {
	for _, a := range el.Attr {
		switch {
		case a.Key == "role" && a.NamespaceURI() == NSSOAP12:
			v := strings.TrimSpace(a.Value)
			return v == "" || v == roleSOAP12UltimateReceiver || v == roleSOAP12Next
		case a.Key == "actor" && a.NamespaceURI() == NSSOAP11:
			v := strings.TrimSpace(a.Value)
			return v == "" || v == actorSOAP11Next
		}
	}
	return true
}

// FindSecurity returns the one wsse:Security header block addressed to the
// ultimate receiver (anti-wrapping rule 3). It returns nil, nil when there is
// none and an error when there are several.
func FindSecurity(header *etree.Element) (*etree.Element, error) {
	if header == nil {
		return nil, nil
	}
	var found *etree.Element
	for _, c := range header.ChildElements() {
		if !is(c, NSWSSE, "Security") || !soapRoleTargetsUs(c) {
			continue
		}
		if found != nil {
			return nil, &Error{Code: ebms.CodeFailedAuthentication, Check: "security-header",
				Detail: "more than one wsse:Security header for the ultimate receiver"}
		}
		found = c
	}
	return found, nil
}

// EnsureSecurity returns the wsse:Security header block, creating it as the first
// header child (with mustUnderstand in the envelope's SOAP namespace) if absent.
// soapPrefix is the prefix under which the envelope declares its SOAP namespace;
// when it is empty (SOAP namespace as the default namespace) or not bound to the
// Header's namespace, the new element declares a prefix of its own.
func EnsureSecurity(header *etree.Element, soapPrefix string) (*etree.Element, error) {
	if header == nil {
		return nil, errors.New("wssec: no SOAP Header")
	}
	sec, err := FindSecurity(header)
	if err != nil || sec != nil {
		return sec, err
	}
	soapNS := header.NamespaceURI()
	sec = etree.NewElement("wsse:Security")
	header.InsertChildAt(0, sec)
	sec.CreateAttr("xmlns:wsse", NSWSSE)
	sec.CreateAttr("xmlns:wsu", NSWSU)
	mu := "true"
	if soapNS == NSSOAP11 {
		mu = "1"
	}
	if soapPrefix == "" || soapPrefix == "wsse" || soapPrefix == "wsu" || !declaresNS(header, soapPrefix, soapNS) {
		soapPrefix = "S12"
		if soapNS == NSSOAP11 {
			soapPrefix = "S11"
		}
		sec.CreateAttr("xmlns:"+soapPrefix, soapNS)
	}
	sec.CreateAttr(soapPrefix+":mustUnderstand", mu)
	return sec, nil
}
