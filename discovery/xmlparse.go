package discovery

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"

	"github.com/beevik/etree"

	"github.com/as4gw/as4gw/as4/soap"
)

// XMLLimits bound what an SML/SMP response may hold. Zero fields take the
// defaults of DefaultXMLLimits.
type XMLLimits struct {
	// MaxBytes caps the response body. 2 MiB: a ServiceMetadata with a few
	// endpoints and certificates is 10–30 KB; a ServiceGroup of a large
	// participant lists a few hundred references.
	MaxBytes int64
	// MaxDepth caps element nesting (SMP documents are about 8 deep).
	MaxDepth int
	// MaxElements caps the element count.
	MaxElements int
	// MaxAttributes caps the attributes of one element.
	MaxAttributes int
}

// DefaultXMLLimits returns the limits used when none are configured.
func DefaultXMLLimits() XMLLimits {
	return XMLLimits{MaxBytes: 2 << 20, MaxDepth: 32, MaxElements: 20000, MaxAttributes: 32}
}

func (l XMLLimits) withDefaults() XMLLimits {
	d := DefaultXMLLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxElements <= 0 {
		l.MaxElements = d.MaxElements
	}
	if l.MaxAttributes <= 0 {
		l.MaxAttributes = d.MaxAttributes
	}
	return l
}

const (
	nsXML   = "http://www.w3.org/XML/1998/namespace"
	nsXMLNS = "http://www.w3.org/2000/xmlns/"
)

var errTooLarge = errors.New("response exceeds the size limit")

// readLimited reads r up to lim bytes; one byte more is an error.
func readLimited(r io.Reader, lim int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, lim+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > lim {
		return nil, fmt.Errorf("%w of %d bytes", errTooLarge, lim)
	}
	return data, nil
}

// parseXML scans data with encoding/xml (the lexer etree uses) and rejects
// what an SMP response never needs and an attacker would: a DTD or any
// markup declaration (so no entity expansion, no external entities),
// processing instructions other than the XML declaration, unbound prefixes,
// duplicate attributes, more than one document element, and anything over
// lim. Only then does etree build the tree, from attribute values
// normalised per XML 1.0 §3.3.3 as C14N expects.
func parseXML(data []byte, lim XMLLimits) (*etree.Document, error) {
	lim = lim.withDefaults()
	if int64(len(data)) > lim.MaxBytes {
		return nil, fmt.Errorf("%w of %d bytes", errTooLarge, lim.MaxBytes)
	}
	data = bytes.TrimPrefix(data, []byte{0xEF, 0xBB, 0xBF})
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	var (
		depth, elements int
		rootSeen        bool
		scopes          []map[string]string
		open            []xml.Name // RawToken does not match end tags
	)
	lookup := func(prefix string) bool {
		if prefix == "xml" || prefix == "" {
			return true
		}
		for i := len(scopes) - 1; i >= 0; i-- {
			if _, ok := scopes[i][prefix]; ok {
				return true
			}
		}
		return false
	}
	for {
		off := dec.InputOffset()
		tok, err := dec.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("not well-formed XML at byte %d: %w", off, err)
		}
		switch t := tok.(type) {
		case xml.ProcInst:
			if t.Target == "xml" && off == 0 {
				continue
			}
			return nil, fmt.Errorf("processing instruction <?%s?> at byte %d is not allowed", t.Target, off)
		case xml.Directive:
			return nil, fmt.Errorf("DTD or markup declaration at byte %d is not allowed", off)
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return nil, fmt.Errorf("text outside the document element at byte %d", off)
			}
		case xml.StartElement:
			if depth == 0 && rootSeen {
				return nil, fmt.Errorf("second document element at byte %d", off)
			}
			rootSeen = true
			depth++
			elements++
			switch {
			case depth > lim.MaxDepth:
				return nil, fmt.Errorf("element depth exceeds %d", lim.MaxDepth)
			case elements > lim.MaxElements:
				return nil, fmt.Errorf("more than %d elements", lim.MaxElements)
			case len(t.Attr) > lim.MaxAttributes:
				return nil, fmt.Errorf("element <%s> has more than %d attributes", t.Name.Local, lim.MaxAttributes)
			}
			scope := map[string]string{}
			for _, a := range t.Attr {
				switch {
				case a.Name.Space == "xmlns":
					if a.Name.Local == "xmlns" || a.Value == "" || a.Value == nsXMLNS || (a.Value == nsXML) != (a.Name.Local == "xml") {
						return nil, fmt.Errorf("invalid namespace declaration xmlns:%s=%q", a.Name.Local, a.Value)
					}
					scope[a.Name.Local] = a.Value
				case a.Name.Space == "" && a.Name.Local == "xmlns":
					if a.Value == nsXML || a.Value == nsXMLNS {
						return nil, fmt.Errorf("invalid default namespace %q", a.Value)
					}
				}
			}
			scopes = append(scopes, scope)
			open = append(open, t.Name)
			if !lookup(t.Name.Space) {
				return nil, fmt.Errorf("unbound prefix %q on <%s:%s>", t.Name.Space, t.Name.Space, t.Name.Local)
			}
			seen := map[xml.Name]bool{}
			for _, a := range t.Attr {
				if a.Name.Space != "" && a.Name.Space != "xmlns" && !lookup(a.Name.Space) {
					return nil, fmt.Errorf("unbound prefix %q on attribute %s:%s", a.Name.Space, a.Name.Space, a.Name.Local)
				}
				if seen[a.Name] {
					return nil, fmt.Errorf("duplicate attribute %s on <%s>", a.Name.Local, t.Name.Local)
				}
				seen[a.Name] = true
			}
			// Two prefixes bound to one URI can still yield the same
			// expanded attribute name.
			expanded := map[[2]string]bool{}
			for _, a := range t.Attr {
				if a.Name.Space == "" || a.Name.Space == "xmlns" {
					continue
				}
				uri := resolvePrefix(scopes, a.Name.Space)
				k := [2]string{uri, a.Name.Local}
				if expanded[k] {
					return nil, fmt.Errorf("duplicate attribute {%s}%s on <%s>", uri, a.Name.Local, t.Name.Local)
				}
				expanded[k] = true
			}
		case xml.EndElement:
			if len(open) == 0 || open[len(open)-1] != t.Name {
				return nil, fmt.Errorf("end tag </%s> at byte %d does not match the open element", t.Name.Local, off)
			}
			open = open[:len(open)-1]
			depth--
			scopes = scopes[:len(scopes)-1]
		}
	}
	if !rootSeen || len(open) > 0 {
		return nil, errors.New("no complete document element")
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(soap.NormalizeAttributeWhitespace(data)); err != nil {
		return nil, fmt.Errorf("not well-formed XML: %w", err)
	}
	if doc.Root() == nil {
		return nil, errors.New("no document element")
	}
	return doc, nil
}

func resolvePrefix(scopes []map[string]string, prefix string) string {
	if prefix == "xml" {
		return nsXML
	}
	for i := len(scopes) - 1; i >= 0; i-- {
		if uri, ok := scopes[i][prefix]; ok {
			return uri
		}
	}
	return ""
}
