package soap

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// This file keeps the pre-scan as it was before the hand-written scanner
// replaced it: encoding/xml's RawToken stream checked token by token. It is
// the reference FuzzScanDifferential holds the new scanner to; do not
// change it, or the differential target stops proving anything.

// refScanXML checks data (already passed through trimProlog) for
// well-formedness as far as SOAP processing needs it and against lim.
func refScanXML(data []byte, lim Limits) (xmlStats, error) {
	var (
		stats    xmlStats
		open     []xml.Name // raw names of open elements, for end-tag matching
		scope    refNamespaceScope
		rootSeen bool
	)
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true // no undefined entities, no unquoted attributes
	for {
		offset := dec.InputOffset()
		tok, err := dec.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return stats, envelopeErr(offset, "not well-formed XML", err)
		}
		switch t := tok.(type) {
		case xml.ProcInst:
			// The XML declaration is reported as a ProcInst; it is only
			// legal as the very first thing in the document.
			if t.Target == "xml" && offset == 0 {
				continue
			}
			return stats, envelopeErr(offset, fmt.Sprintf("processing instruction <?%s?> is not allowed in a SOAP message", t.Target), nil)
		case xml.Directive:
			// DOCTYPE (with or without an internal subset holding ENTITY
			// declarations), and any other <!...> markup declaration.
			// SOAP 1.2 forbids a DTD; rejecting it here also rules out
			// entity expansion bombs and external entities.
			return stats, envelopeErr(offset, "document type or markup declaration (<!"+refDirectiveName(t)+"...>) is not allowed in a SOAP message", nil)
		case xml.Comment:
			// Comments are legal anywhere; C14N without comments drops them.
		case xml.CharData:
			if len(open) == 0 && !isXMLSpace(t) {
				return stats, envelopeErr(offset, "text outside the document element", nil)
			}
		case xml.StartElement:
			if len(open) == 0 && rootSeen {
				return stats, envelopeErr(offset, "more than one document element", nil)
			}
			rootSeen = true
			stats.Elements++
			if stats.Elements > lim.MaxElements {
				return stats, limitErr("MaxElements", int64(lim.MaxElements))
			}
			depth := len(open) + 1
			if depth > lim.MaxXMLDepth {
				return stats, limitErr("MaxXMLDepth", int64(lim.MaxXMLDepth))
			}
			stats.MaxDepth = max(stats.MaxDepth, depth)
			if len(t.Attr) > lim.MaxAttributesPerElement {
				return stats, limitErr("MaxAttributesPerElement", int64(lim.MaxAttributesPerElement))
			}
			decls, err := scope.enter(t.Attr)
			if err != nil {
				return stats, envelopeErr(offset, err.Error(), nil)
			}
			stats.NamespaceDeclarations += decls
			if stats.NamespaceDeclarations > lim.MaxNamespaceDeclarations {
				return stats, limitErr("MaxNamespaceDeclarations", int64(lim.MaxNamespaceDeclarations))
			}
			if err := scope.checkNames(t); err != nil {
				return stats, envelopeErr(offset, err.Error(), nil)
			}
			open = append(open, t.Name)
		case xml.EndElement:
			if len(open) == 0 || open[len(open)-1] != t.Name {
				return stats, envelopeErr(offset, "end tag </"+refRawName(t.Name)+"> does not match the open element", nil)
			}
			open = open[:len(open)-1]
			scope.leave()
		}
	}
	if len(open) > 0 {
		return stats, envelopeErr(dec.InputOffset(), "document ends inside <"+refRawName(open[len(open)-1])+">", nil)
	}
	if !rootSeen {
		return stats, envelopeErr(0, "no document element", nil)
	}
	return stats, nil
}

func refDirectiveName(d xml.Directive) string {
	end := bytes.IndexAny(d, " \t\r\n[")
	if end < 0 || end > 16 {
		end = min(len(d), 16)
	}
	return string(d[:end])
}

func refRawName(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

// refNamespaceScope tracks prefix bindings so that unbound prefixes and
// duplicate expanded attribute names are caught (encoding/xml checks
// neither, and a later C14N would fail or, worse, different parsers would
// disagree about which duplicate attribute counts).
type refNamespaceScope struct {
	bindings map[string][]string // prefix ("" = default) -> stack of URIs
	frames   [][]string          // prefixes bound by each open element
}

func refIsNamespaceDecl(a xml.Attr) bool {
	return a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns")
}

// enter binds the namespace declarations among attrs and returns how many
// there were.
func (s *refNamespaceScope) enter(attrs []xml.Attr) (int, error) {
	var bound []string
	for _, a := range attrs {
		if !refIsNamespaceDecl(a) {
			continue
		}
		prefix := ""
		if a.Name.Space == "xmlns" {
			prefix = a.Name.Local
		}
		if err := refCheckNamespaceDecl(prefix, a.Value); err != nil {
			return len(bound), err
		}
		if s.bindings == nil {
			s.bindings = make(map[string][]string)
		}
		s.bindings[prefix] = append(s.bindings[prefix], a.Value)
		bound = append(bound, prefix)
	}
	s.frames = append(s.frames, bound)
	return len(bound), nil
}

func (s *refNamespaceScope) leave() {
	top := s.frames[len(s.frames)-1]
	s.frames = s.frames[:len(s.frames)-1]
	for _, prefix := range top {
		stack := s.bindings[prefix]
		s.bindings[prefix] = stack[:len(stack)-1]
	}
}

func (s *refNamespaceScope) lookup(prefix string) (string, bool) {
	if prefix == "xml" {
		return namespaceXML, true
	}
	stack := s.bindings[prefix]
	if len(stack) == 0 {
		return "", prefix == "" // no default namespace is fine, an unbound prefix is not
	}
	return stack[len(stack)-1], true
}

func refCheckNamespaceDecl(prefix, uri string) error {
	switch {
	case prefix == "xmlns":
		return fmt.Errorf("the xmlns prefix must not be declared")
	case prefix == "xml" && uri != namespaceXML:
		return fmt.Errorf("the xml prefix must not be bound to %q", uri)
	case prefix != "xml" && uri == namespaceXML:
		return fmt.Errorf("prefix %q must not be bound to the XML namespace", prefix)
	case uri == namespaceXMLNS:
		return fmt.Errorf("prefix %q must not be bound to the xmlns namespace", prefix)
	case prefix != "" && uri == "":
		return fmt.Errorf("prefix %q must not be undeclared (xmlns:%s=\"\" is not allowed in XML 1.0 namespaces)", prefix, prefix)
	}
	return nil
}

// checkNames resolves the element's and its attributes' prefixes and
// rejects duplicate attributes, by qualified name and by expanded name.
func (s *refNamespaceScope) checkNames(t xml.StartElement) error {
	if err := refCheckLocalName(t.Name); err != nil {
		return err
	}
	if _, ok := s.lookup(t.Name.Space); !ok {
		return fmt.Errorf("element <%s> uses the undeclared namespace prefix %q", refRawName(t.Name), t.Name.Space)
	}
	type expanded struct{ uri, local string }
	seen := make([]expanded, 0, len(t.Attr))
	for i, a := range t.Attr {
		if err := refCheckLocalName(a.Name); err != nil {
			return err
		}
		for _, b := range t.Attr[:i] {
			if a.Name == b.Name {
				return fmt.Errorf("element <%s> has the attribute %s twice", refRawName(t.Name), refRawName(a.Name))
			}
		}
		if refIsNamespaceDecl(a) {
			continue
		}
		uri := ""
		if a.Name.Space != "" {
			var ok bool
			if uri, ok = s.lookup(a.Name.Space); !ok {
				return fmt.Errorf("attribute %s on <%s> uses an undeclared namespace prefix", refRawName(a.Name), refRawName(t.Name))
			}
		}
		e := expanded{uri, a.Name.Local}
		for _, prev := range seen {
			if prev == e {
				return fmt.Errorf("element <%s> has the attribute {%s}%s twice (under different prefixes)", refRawName(t.Name), uri, a.Name.Local)
			}
		}
		seen = append(seen, e)
	}
	return nil
}

func refCheckLocalName(n xml.Name) error {
	if n.Local == "" || strings.IndexByte(n.Local, ':') >= 0 {
		return fmt.Errorf("%q is not a namespace-well-formed name", refRawName(n))
	}
	return nil
}
