package xhe

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// XML namespaces of XHE 1.0 and of what DIGG's profile allows around it.
const (
	NamespaceXHE       = "http://docs.oasis-open.org/bdxr/ns/XHE/1/ExchangeHeaderEnvelope"
	NamespaceAggregate = "http://docs.oasis-open.org/bdxr/ns/XHE/1/AggregateComponents"
	NamespaceBasic     = "http://docs.oasis-open.org/bdxr/ns/XHE/1/BasicComponents"
	NamespaceExtension = "http://docs.oasis-open.org/bdxr/ns/XHE/1/ExtensionComponents"
	NamespaceXMLEnc    = "http://www.w3.org/2001/04/xmlenc#"
	NamespaceDS        = "http://www.w3.org/2000/09/xmldsig#"

	namespaceXML   = "http://www.w3.org/XML/1998/namespace"
	namespaceXMLNS = "http://www.w3.org/2000/xmlns/"
)

// node is one kept element. Opaque nodes (PayloadContent, the root's ds:Signature and
// ext:XHEExtensions) keep a summary of their content instead of children.
type node struct {
	space, local string
	attrs        []attr
	text         []byte
	children     []*node
	line         int

	opaque bool
	// apex lists the element children of an opaque node (resolved names).
	apex []xml.Name
	// hasText: an opaque node holds non-white-space text directly.
	hasText bool
}

type attr struct {
	space, local, value string
}

func (n *node) is(space, local string) bool { return n.space == space && n.local == local }

// value is the element's text with XML white space trimmed (normalize-space at the edges).
func (n *node) value() string { return trimXMLSpace(string(n.text)) }

func (n *node) attr(local string) (string, bool) {
	for _, a := range n.attrs {
		if a.space == "" && a.local == local {
			return a.value, true
		}
	}
	return "", false
}

func (n *node) all(space, local string) []*node {
	if n == nil {
		return nil
	}
	var out []*node
	for _, c := range n.children {
		if c.is(space, local) {
			out = append(out, c)
		}
	}
	return out
}

func (n *node) first(space, local string) *node {
	if n == nil {
		return nil
	}
	for _, c := range n.children {
		if c.is(space, local) {
			return c
		}
	}
	return nil
}

// childPath is the path of child c of n: its local name, indexed when siblings share it.
func childPath(parentPath string, n, c *node) string {
	if n == nil || c == nil {
		return parentPath
	}
	same, idx := 0, 0
	for _, s := range n.children {
		if s.space == c.space && s.local == c.local {
			same++
			if s == c {
				idx = same
			}
		}
	}
	p := parentPath + "/" + c.local
	if same > 1 {
		p += fmt.Sprintf("[%d]", idx)
	}
	return p
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// Parse reads one XHE envelope from r within lim (zero fields take DefaultLimits). It fails
// with an *Error of KindMalformed when the input is not well-formed, declares a DOCTYPE or
// other markup, holds a processing instruction other than the XML declaration, uses an
// unbound prefix or a duplicate attribute, is not UTF-8, exceeds lim (the *Error then wraps
// a *LimitError), or has a document element other than XHE in the XHE namespace.
// A negative limit is a plain error.
//
// Parse does not apply the profile's rules; call Check (Derive and CheckAgainst do).
func Parse(r io.Reader, lim Limits) (*Envelope, error) {
	if err := lim.Validate(); err != nil {
		return nil, err
	}
	lim = lim.WithDefaults()
	return parse(r, lim, max(lim.MaxValueBytes+1, minElideKeep))
}

// parse is Parse with the text elider keeping keep bytes of each text run (tests vary it).
func parse(r io.Reader, lim Limits, keep int) (*Envelope, error) {
	el := newTextElider(&capReader{r: r, max: lim.MaxBytes}, keep)
	if b, err := el.r.Peek(len(utf8BOM)); err == nil && bytes.Equal(b, utf8BOM) {
		_, _ = el.r.Discard(len(utf8BOM))
	}
	p := &parser{lim: lim, el: el, dec: xml.NewDecoder(el)}
	p.dec.Strict = true
	root, err := p.run()
	if err != nil {
		return nil, err
	}
	if !root.is(NamespaceXHE, "XHE") {
		return nil, malformed(Problem{Path: root.local, Rule: RuleXML,
			Msg: fmt.Sprintf("document element is {%s}%s, not an XHE envelope ({%s}XHE)", root.space, root.local, NamespaceXHE)})
	}
	return &Envelope{root: root}, nil
}

type frame struct {
	raw xml.Name // as written, for end-tag matching
	n   *node    // kept node; nil inside an opaque subtree
	// inOpaque: this frame lies below an opaque node.
	inOpaque bool
}

type parser struct {
	lim   Limits
	el    *textElider
	dec   *xml.Decoder
	stack []frame
	scope namespaceScope
	root  *node
	kept  int
}

func (p *parser) fail(rule, msg string, cause error) *Error {
	line, col := p.dec.InputPos()
	e := malformed(Problem{Path: p.path(), Rule: rule, Msg: fmt.Sprintf("%s (line %d, column %d)", msg, line, col)})
	e.Err = cause
	return e
}

// path is the local-name path of the open kept elements, for parse error messages.
func (p *parser) path() string {
	var parts []string
	for _, f := range p.stack {
		if f.n == nil {
			break
		}
		parts = append(parts, f.n.local)
	}
	return strings.Join(parts, "/")
}

func (p *parser) run() (*node, error) {
	for {
		offset := p.dec.InputOffset()
		tok, err := p.dec.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			var le *LimitError
			if errors.As(err, &le) {
				return nil, p.fail(RuleLimit, le.Error(), le)
			}
			return nil, p.fail(RuleXML, "not well-formed XML: "+err.Error(), err)
		}
		switch t := tok.(type) {
		case xml.ProcInst:
			if t.Target == "xml" && offset == 0 {
				continue
			}
			return nil, p.fail(RuleXML, fmt.Sprintf("processing instruction <?%s?> is not allowed", t.Target), nil)
		case xml.Directive:
			return nil, p.fail(RuleXML, "document type or markup declaration (<!"+directiveName(t)+"...>) is not allowed", nil)
		case xml.Comment:
		case xml.CharData:
			cut, elided := p.el.take(offset, p.dec.InputOffset())
			if cut.bad != "" {
				return nil, p.fail(RuleXML, "not well-formed XML: "+cut.bad+" in character data", nil)
			}
			if err := p.charData(t, elided, cut.nonSpace); err != nil {
				return nil, err
			}
		case xml.StartElement:
			if err := p.start(t); err != nil {
				return nil, err
			}
		case xml.EndElement:
			if len(p.stack) == 0 || p.stack[len(p.stack)-1].raw != t.Name {
				return nil, p.fail(RuleXML, "end tag </"+rawName(t.Name)+"> does not match the open element", nil)
			}
			p.stack = p.stack[:len(p.stack)-1]
			p.scope.leave()
		}
	}
	if len(p.stack) > 0 {
		return nil, p.fail(RuleXML, "document ends inside <"+rawName(p.stack[len(p.stack)-1].raw)+">", io.ErrUnexpectedEOF)
	}
	if p.root == nil {
		return nil, p.fail(RuleXML, "no document element", nil)
	}
	return p.root, nil
}

// charData takes a text token; elided says the elider cut its tail, cutNonSpace that the
// cut held more than white space.
func (p *parser) charData(t xml.CharData, elided, cutNonSpace bool) error {
	nonSpace := cutNonSpace || !isXMLSpace(t)
	if len(p.stack) == 0 {
		if nonSpace {
			return p.fail(RuleXML, "text outside the document element", nil)
		}
		return nil
	}
	top := p.stack[len(p.stack)-1]
	switch {
	case top.n == nil: // below an opaque node: not kept
	case top.n.opaque:
		top.n.hasText = top.n.hasText || nonSpace
	default:
		if elided || len(top.n.text)+len(t) > p.lim.MaxValueBytes {
			return p.fail(RuleLimit, fmt.Sprintf("text of <%s> exceeds limit MaxValueBytes (%d)", top.n.local, p.lim.MaxValueBytes),
				&LimitError{Limit: "MaxValueBytes", Value: int64(p.lim.MaxValueBytes)})
		}
		top.n.text = append(top.n.text, t...)
	}
	return nil
}

func (p *parser) start(t xml.StartElement) error {
	if len(p.stack) == 0 && p.root != nil {
		return p.fail(RuleXML, "more than one document element", nil)
	}
	if depth := len(p.stack) + 1; depth > p.lim.MaxDepth {
		return p.fail(RuleLimit, fmt.Sprintf("element nesting exceeds limit MaxDepth (%d)", p.lim.MaxDepth),
			&LimitError{Limit: "MaxDepth", Value: int64(p.lim.MaxDepth)})
	}
	if len(t.Attr) > p.lim.MaxAttributesPerElement {
		return p.fail(RuleLimit, fmt.Sprintf("<%s> has more attributes than limit MaxAttributesPerElement (%d)", rawName(t.Name), p.lim.MaxAttributesPerElement),
			&LimitError{Limit: "MaxAttributesPerElement", Value: int64(p.lim.MaxAttributesPerElement)})
	}
	if err := p.scope.enter(t.Attr); err != nil {
		return p.fail(RuleXML, err.Error(), nil)
	}
	name, attrs, err := p.scope.resolve(t)
	if err != nil {
		return p.fail(RuleXML, err.Error(), nil)
	}

	f := frame{raw: t.Name}
	var parent *frame
	if len(p.stack) > 0 {
		parent = &p.stack[len(p.stack)-1]
	}
	switch {
	case parent != nil && (parent.inOpaque || parent.n.opaque):
		if parent.n != nil { // direct child of the opaque node
			parent.n.apex = append(parent.n.apex, name)
		}
		f.inOpaque = true
	default:
		p.kept++
		if p.kept > p.lim.MaxEnvelopeElements {
			return p.fail(RuleLimit, fmt.Sprintf("envelope has more elements than limit MaxEnvelopeElements (%d)", p.lim.MaxEnvelopeElements),
				&LimitError{Limit: "MaxEnvelopeElements", Value: int64(p.lim.MaxEnvelopeElements)})
		}
		line, _ := p.dec.InputPos()
		n := &node{space: name.Space, local: name.Local, attrs: attrs, line: line}
		if parent == nil {
			p.root = n
		} else {
			n.opaque = isOpaque(parent.n, n, len(p.stack) == 1)
			parent.n.children = append(parent.n.children, n)
		}
		f.n = n
	}
	p.stack = append(p.stack, f)
	return nil
}

// isOpaque reports whether n (a child of parent) is summarised rather than kept: the payload
// itself, the root's signatures and the (forbidden) extension block.
func isOpaque(parent, n *node, parentIsRoot bool) bool {
	switch {
	case parent.is(NamespaceAggregate, "Payload") && n.is(NamespaceAggregate, "PayloadContent"):
		return true
	case parentIsRoot && n.is(NamespaceDS, "Signature"):
		return true
	case parentIsRoot && n.is(NamespaceExtension, "XHEExtensions"):
		return true
	}
	return false
}

func directiveName(d xml.Directive) string {
	end := bytes.IndexAny(d, " \t\r\n[")
	if end < 0 || end > 16 {
		end = min(len(d), 16)
	}
	return string(d[:end])
}

func rawName(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

func isXMLSpaceByte(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func isXMLSpace(b []byte) bool {
	for _, c := range b {
		if !isXMLSpaceByte(c) {
			return false
		}
	}
	return true
}

func trimXMLSpace(s string) string { return strings.Trim(s, " \t\r\n") }

// namespaceScope tracks prefix bindings so that names resolve to namespaces and unbound
// prefixes and duplicate attributes are caught (RawToken does neither).
type namespaceScope struct {
	bindings map[string][]string // prefix ("" = default) -> stack of URIs
	frames   [][]string          // prefixes bound by each open element
}

func isNamespaceDecl(a xml.Attr) bool {
	return a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns")
}

func (s *namespaceScope) enter(attrs []xml.Attr) error {
	var bound []string
	for _, a := range attrs {
		if !isNamespaceDecl(a) {
			continue
		}
		prefix := ""
		if a.Name.Space == "xmlns" {
			prefix = a.Name.Local
		}
		switch {
		case prefix == "xmlns":
			return errors.New("the xmlns prefix must not be declared")
		case prefix == "xml" && a.Value != namespaceXML:
			return fmt.Errorf("the xml prefix must not be bound to %q", a.Value)
		case prefix != "xml" && a.Value == namespaceXML:
			return fmt.Errorf("prefix %q must not be bound to the XML namespace", prefix)
		case a.Value == namespaceXMLNS:
			return fmt.Errorf("prefix %q must not be bound to the xmlns namespace", prefix)
		case prefix != "" && a.Value == "":
			return fmt.Errorf("prefix %q must not be undeclared (xmlns:%s=\"\")", prefix, prefix)
		}
		if s.bindings == nil {
			s.bindings = make(map[string][]string)
		}
		s.bindings[prefix] = append(s.bindings[prefix], a.Value)
		bound = append(bound, prefix)
	}
	s.frames = append(s.frames, bound)
	return nil
}

func (s *namespaceScope) leave() {
	top := s.frames[len(s.frames)-1]
	s.frames = s.frames[:len(s.frames)-1]
	for _, prefix := range top {
		stack := s.bindings[prefix]
		s.bindings[prefix] = stack[:len(stack)-1]
	}
}

func (s *namespaceScope) lookup(prefix string) (string, bool) {
	if prefix == "xml" {
		return namespaceXML, true
	}
	stack := s.bindings[prefix]
	if len(stack) == 0 {
		return "", prefix == "" // no default namespace is fine, an unbound prefix is not
	}
	return stack[len(stack)-1], true
}

// resolve returns the element's expanded name and its attributes other than namespace
// declarations, rejecting unbound prefixes and duplicate attributes.
func (s *namespaceScope) resolve(t xml.StartElement) (xml.Name, []attr, error) {
	if err := checkLocalName(t.Name); err != nil {
		return xml.Name{}, nil, err
	}
	space, ok := s.lookup(t.Name.Space)
	if !ok {
		return xml.Name{}, nil, fmt.Errorf("element <%s> uses the undeclared namespace prefix %q", rawName(t.Name), t.Name.Space)
	}
	var attrs []attr
	for i, a := range t.Attr {
		if err := checkLocalName(a.Name); err != nil {
			return xml.Name{}, nil, err
		}
		for _, b := range t.Attr[:i] {
			if a.Name == b.Name {
				return xml.Name{}, nil, fmt.Errorf("element <%s> has the attribute %s twice", rawName(t.Name), rawName(a.Name))
			}
		}
		if isNamespaceDecl(a) {
			continue
		}
		uri := ""
		if a.Name.Space != "" {
			if uri, ok = s.lookup(a.Name.Space); !ok {
				return xml.Name{}, nil, fmt.Errorf("attribute %s on <%s> uses an undeclared namespace prefix", rawName(a.Name), rawName(t.Name))
			}
		}
		for _, prev := range attrs {
			if prev.space == uri && prev.local == a.Name.Local {
				return xml.Name{}, nil, fmt.Errorf("element <%s> has the attribute {%s}%s twice", rawName(t.Name), uri, a.Name.Local)
			}
		}
		attrs = append(attrs, attr{space: uri, local: a.Name.Local, value: a.Value})
	}
	return xml.Name{Space: space, Local: t.Name.Local}, attrs, nil
}

func checkLocalName(n xml.Name) error {
	if n.Local == "" || strings.IndexByte(n.Local, ':') >= 0 {
		return fmt.Errorf("%q is not a namespace-well-formed name", rawName(n))
	}
	return nil
}
