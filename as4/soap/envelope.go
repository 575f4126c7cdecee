package soap

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	"github.com/beevik/etree"
)

// Version is a SOAP version. The zero value is not a valid version.
type Version int

const (
	SOAP12 Version = 12 // SOAP 1.2, what AS4 uses
	SOAP11 Version = 11 // SOAP 1.1, allowed by ebMS 3 and still sent by some peers
)

// SOAP envelope namespaces and media types.
const (
	NamespaceSOAP12 = "http://www.w3.org/2003/05/soap-envelope"
	NamespaceSOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"

	MediaTypeSOAP12 = "application/soap+xml"
	MediaTypeSOAP11 = "text/xml"
)

// Namespace returns the envelope namespace URI of v.
func (v Version) Namespace() string {
	switch v {
	case SOAP12:
		return NamespaceSOAP12
	case SOAP11:
		return NamespaceSOAP11
	}
	return ""
}

// MediaType returns the media type of a bare v envelope: application/soap+xml
// for SOAP 1.2, text/xml for SOAP 1.1.
func (v Version) MediaType() string {
	if v == SOAP11 {
		return MediaTypeSOAP11
	}
	return MediaTypeSOAP12
}

// ContentType returns the HTTP Content-Type value for a bare v envelope
// written by this package (always UTF-8).
func (v Version) ContentType() string {
	return v.MediaType() + "; charset=UTF-8"
}

func (v Version) String() string {
	switch v {
	case SOAP12:
		return "SOAP 1.2"
	case SOAP11:
		return "SOAP 1.1"
	}
	return fmt.Sprintf("soap.Version(%d)", int(v))
}

// prefix is the namespace prefix NewEnvelope uses. Fixed prefixes keep our
// own output predictable (the prefix ends up in exclusive C14N output only
// where it is visibly used, so any choice verifies).
func (v Version) prefix() string {
	if v == SOAP11 {
		return "S11"
	}
	return "S12"
}

// Envelope is a SOAP envelope as an etree tree. Root, Header and Body point
// into Doc; Header is nil when a parsed envelope has none.
type Envelope struct {
	Doc     *etree.Document
	Version Version
	Root    *etree.Element
	Header  *etree.Element
	Body    *etree.Element
}

// EnvelopeError reports an envelope that is not acceptable XML or not a
// SOAP envelope. Offset is the byte offset where the problem was found, or
// -1 when it concerns the structure as a whole; it counts in the envelope
// after the prolog is trimmed and attribute values are normalised (a CRLF
// inside an attribute value shortens to one byte). The MSH maps it to a
// SOAP Sender fault / EBMS:0009.
type EnvelopeError struct {
	Offset int64
	Reason string
	Err    error
}

func (e *EnvelopeError) Error() string {
	msg := "soap: invalid envelope"
	if e.Offset >= 0 {
		msg += fmt.Sprintf(" at byte %d", e.Offset)
	}
	msg += ": " + e.Reason
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *EnvelopeError) Unwrap() error { return e.Err }

func envelopeErr(offset int64, reason string, err error) *EnvelopeError {
	return &EnvelopeError{Offset: offset, Reason: reason, Err: err}
}

// ParseEnvelope reads one SOAP 1.2 or 1.1 envelope from r, enforcing lim
// (MaxEnvelopeBytes on the input, the XML limits while scanning).
//
// A UTF-8 byte-order mark and whitespace or comments in front of the XML
// declaration are dropped. DOCTYPE/DTD, entity declarations and processing
// instructions other than the XML declaration are rejected, as are
// unbound namespace prefixes and duplicate attributes.
//
// Attribute values are normalised as XML 1.0 §3.3.3 requires for CDATA
// attributes (see NormalizeAttributeWhitespace): each literal tab, CR or LF
// becomes a space, while character references such as &#10; survive.
func ParseEnvelope(r io.Reader, lim Limits) (*Envelope, error) {
	lim, err := lim.effective()
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(newCapReader(r, lim.MaxEnvelopeBytes, "MaxEnvelopeBytes"))
	if err != nil {
		return nil, err
	}
	return parseEnvelopeBytes(data, lim)
}

// parseEnvelopeBytes expects effective limits and data within
// MaxEnvelopeBytes.
func parseEnvelopeBytes(data []byte, lim Limits) (*Envelope, error) {
	// The scan runs on exactly the bytes etree parses: namespace URIs it
	// compares are then the ones the tree holds (normalisation can make
	// two differently written URIs equal).
	data = NormalizeAttributeWhitespace(trimProlog(data))
	if _, err := scanXML(data, lim); err != nil {
		return nil, err
	}
	// parseTree builds exactly the tree etree's ReadFromBytes would, at a
	// fraction of the cost (see xmltree.go). MaxDepth is already enforced
	// by the scan; belt and braces.
	doc, err := parseTree(data, lim.MaxXMLDepth)
	if err != nil {
		return nil, envelopeErr(-1, "not well-formed XML", err)
	}
	env, err := envelopeFromDocument(doc)
	if err != nil {
		return nil, err
	}
	doc.WriteSettings = envelopeWriteSettings
	return env, nil
}

// envelopeFromDocument checks the SOAP structure: Envelope in a SOAP
// namespace, at most one Header and it comes first, exactly one Body, and
// nothing else but whitespace and comments. SOAP 1.1 allowed elements after
// Body; we reject them for both versions because a second element next to
// Body is a classic signature-wrapping hiding place and no AS4 peer sends it.
func envelopeFromDocument(doc *etree.Document) (*Envelope, error) {
	root := doc.Root()
	if root == nil {
		return nil, envelopeErr(-1, "no document element", nil)
	}
	env := &Envelope{Doc: doc, Root: root}
	switch ns := root.NamespaceURI(); ns {
	case NamespaceSOAP12:
		env.Version = SOAP12
	case NamespaceSOAP11:
		env.Version = SOAP11
	default:
		return nil, envelopeErr(-1, fmt.Sprintf("document element is {%s}%s, want Envelope in the SOAP 1.2 or 1.1 namespace", ns, root.Tag), nil)
	}
	if root.Tag != "Envelope" {
		return nil, envelopeErr(-1, fmt.Sprintf("document element is %s, want Envelope", root.Tag), nil)
	}
	ns := env.Version.Namespace()
	for _, tok := range root.Child {
		switch t := tok.(type) {
		case *etree.CharData:
			if !isXMLSpace([]byte(t.Data)) {
				return nil, envelopeErr(-1, "text directly inside Envelope", nil)
			}
		case *etree.Element:
			switch {
			case t.Tag == "Header" && t.NamespaceURI() == ns:
				if env.Header != nil || env.Body != nil {
					return nil, envelopeErr(-1, "Header must appear once, before Body", nil)
				}
				env.Header = t
			case t.Tag == "Body" && t.NamespaceURI() == ns:
				if env.Body != nil {
					return nil, envelopeErr(-1, "more than one Body", nil)
				}
				env.Body = t
			default:
				return nil, envelopeErr(-1, fmt.Sprintf("unexpected element {%s}%s in Envelope", t.NamespaceURI(), t.Tag), nil)
			}
		}
	}
	if env.Body == nil {
		return nil, envelopeErr(-1, "Envelope has no Body", nil)
	}
	return env, nil
}

// envelopeWriteSettings escape the way C14N does, so that what we send and
// what a verifier canonicalises agree byte for byte in text and attributes,
// and write explicit end tags as C14N does.
var envelopeWriteSettings = etree.WriteSettings{
	CanonicalEndTags: true,
	CanonicalText:    true,
	CanonicalAttrVal: true,
}

// NewEnvelope returns an empty envelope of version v with a Header and a
// Body. The elements use the prefix S12 (or S11) and the root declares only
// that namespace; header blocks declare their own namespaces, which keeps
// exclusive C14N of each signed part self-contained. A version other than
// SOAP11 gives SOAP 1.2, the AS4 default.
func NewEnvelope(v Version) *Envelope {
	if v != SOAP11 {
		v = SOAP12
	}
	p := v.prefix()
	doc := etree.NewDocument()
	doc.WriteSettings = envelopeWriteSettings
	root := doc.CreateElement(p + ":Envelope")
	root.CreateAttr("xmlns:"+p, v.Namespace())
	header := root.CreateElement(p + ":Header")
	body := root.CreateElement(p + ":Body")
	return &Envelope{Doc: doc, Version: v, Root: root, Header: header, Body: body}
}

// WriteTo writes the Envelope element and everything in it, without an XML
// declaration and without whatever preceded the element in a parsed document
// (BOM, declaration, comments). The declaration is left out on purpose: it
// is optional for UTF-8, it is never signed, and leaving it out means the
// bytes we sign and the bytes we send start at the same place.
func (e *Envelope) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	bw := bufio.NewWriter(cw)
	settings := envelopeWriteSettings
	e.Root.WriteTo(bw, &settings)
	err := bw.Flush()
	return cw.n, err
}

// Bytes returns what WriteTo writes.
func (e *Envelope) Bytes() ([]byte, error) {
	var buf bytes.Buffer
	if _, err := e.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// EnsureHeader returns the Header, creating it (as the first child of
// Envelope, with the Envelope's prefix) when the envelope has none.
func (e *Envelope) EnsureHeader() *etree.Element {
	if e.Header != nil {
		return e.Header
	}
	tag := "Header"
	if e.Root.Space != "" {
		tag = e.Root.Space + ":Header"
	}
	h := etree.NewElement(tag)
	e.Root.InsertChildAt(0, h)
	e.Header = h
	return h
}

// HeaderChildren returns the header blocks named {ns}local, in document
// order.
func (e *Envelope) HeaderChildren(ns, local string) []*etree.Element {
	if e.Header == nil {
		return nil
	}
	var found []*etree.Element
	for _, c := range e.Header.ChildElements() {
		if IsElement(c, ns, local) {
			found = append(found, c)
		}
	}
	return found
}

// HeaderChild returns the one header block named {ns}local, nil if there is
// none, and an error if there are several: a second eb:Messaging or
// wsse:Security block is a wrapping attempt or a broken peer, never
// something to pick from.
func (e *Envelope) HeaderChild(ns, local string) (*etree.Element, error) {
	found := e.HeaderChildren(ns, local)
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return found[0], nil
	}
	return nil, fmt.Errorf("soap: %d {%s}%s header blocks, want at most one", len(found), ns, local)
}

// IsElement reports whether el is named {ns}local, resolving its prefix
// through the in-scope declarations.
func IsElement(el *etree.Element, ns, local string) bool {
	return el != nil && el.Tag == local && el.NamespaceURI() == ns
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
