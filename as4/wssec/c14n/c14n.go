// Package c14n implements Exclusive XML Canonicalization 1.0 without comments
// (http://www.w3.org/2001/10/xml-exc-c14n#) over etree elements, as used by
// WS-Security for ds:SignedInfo and for same-document references (#id).
//
// It is written directly against etree instead of wrapping goxmldsig's
// exclusive canonicalizer: fixing that one's pitfalls (ancestor namespaces,
// mutation of the input, attribute order across namespaces, "#default" in the
// PrefixList, spurious xmlns="", a fixed 1,000-element budget) needs the same
// per-element namespace bookkeeping as the algorithm itself, so a wrapper
// would have been a second canonicalizer around the first.
//
// The canonicalizer only reads the tree: the element and its document are
// never modified (not even on error), and one tree may be canonicalized from
// several goroutines at once as long as nobody writes to it. The namespace
// context comes from el's ancestors in its tree, so pass the element in place,
// not an etree Copy (which has no ancestors).
//
// Cost: the state of a canonicalization (namespace stacks, a 16 KB output
// chunk) is pooled, so in steady state Canonicalize allocates only the
// returned slice, of exactly the output's length, and CanonicalizeTo
// allocates nothing. To digest an element, stream it into the hash with
// CanonicalizeTo rather than hashing the result of Canonicalize.
//
// What the input must already satisfy (the parser's job, see as4/soap):
// attribute values normalised per XML 1.0 §3.3.3 (literal tab/CR/LF -> space;
// encoding/xml does not do it), line endings normalised (encoding/xml does),
// no DTD, entities expanded, valid UTF-8 and XML characters (not re-checked
// here). CDATA sections are plain text here, comments are dropped, processing
// instructions inside the element are rendered.
package c14n

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/beevik/etree"
)

// Algorithm is the URI of the canonicalization this package implements.
const Algorithm = "http://www.w3.org/2001/10/xml-exc-c14n#"

const (
	xmlNamespace   = "http://www.w3.org/XML/1998/namespace"
	xmlnsNamespace = "http://www.w3.org/2000/xmlns/"
	// defaultToken names the default namespace in an InclusiveNamespaces
	// PrefixList (Exc-C14N §3).
	defaultToken = "#default"
)

// Errors returned for limits set in Options.
var (
	ErrTooManyElements = errors.New("c14n: element count limit exceeded")
	ErrTooDeep         = errors.New("c14n: element depth limit exceeded")
)

// UndeclaredPrefixError reports a prefix used by an element or attribute
// without an in-scope namespace declaration (ancestors included).
type UndeclaredPrefixError struct {
	Prefix  string
	Element string // qualified name of the element where it was used
}

func (e *UndeclaredPrefixError) Error() string {
	return fmt.Sprintf("c14n: undeclared namespace prefix %q on element <%s>", e.Prefix, e.Element)
}

// Options tunes a canonicalization.
type Options struct {
	// InclusivePrefixes is the InclusiveNamespaces PrefixList (see
	// ParsePrefixList); "#default" stands for the default namespace. These
	// namespaces are rendered as in inclusive C14N whether used or not.
	InclusivePrefixes []string
	// MaxElements caps the number of elements in the canonicalized subtree
	// (0 = no limit). Meant for untrusted input whose size the parser did
	// not already bound.
	MaxElements int
	// MaxDepth caps the nesting depth below el, el being depth 1
	// (0 = no limit).
	MaxDepth int
}

// ParsePrefixList splits the PrefixList attribute of ec:InclusiveNamespaces
// (an xsd:NMTOKENS: separated by XML white space only, so not strings.Fields,
// which would also split on U+00A0 and friends). Duplicates are dropped.
func ParsePrefixList(s string) []string {
	fields := strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r'
	})
	out := fields[:0]
	for _, f := range fields {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// Canonicalize returns the exclusive canonical form of el and its subtree,
// honouring namespaces declared on el's ancestors and the given
// InclusiveNamespaces prefixes. It has no size limit; see
// CanonicalizeWithOptions.
func Canonicalize(el *etree.Element, inclusivePrefixes []string) ([]byte, error) {
	return CanonicalizeWithOptions(el, Options{InclusivePrefixes: inclusivePrefixes})
}

// CanonicalizeWithOptions is Canonicalize with limits.
func CanonicalizeWithOptions(el *etree.Element, opts Options) ([]byte, error) {
	return toBytes(opts.MaxElements, opts.MaxDepth, func(c *canonicalizer) error { return c.exclusive(el, opts.InclusivePrefixes) })
}

// CanonicalizeTo streams the canonical form of el to w, e.g. straight into a
// hash.Hash for a DigestValue without holding a 1 MB Body in memory twice.
// On error w may already have received part of the output: a digest computed
// from it must be discarded.
func CanonicalizeTo(w io.Writer, el *etree.Element, opts Options) error {
	return toWriter(w, opts.MaxElements, opts.MaxDepth, func(c *canonicalizer) error { return c.exclusive(el, opts.InclusivePrefixes) })
}

// toBytes runs one canonicalization into a pooled canonicalizer's buffer.
func toBytes(maxElements, maxDepth int, run func(*canonicalizer) error) ([]byte, error) {
	c := getCanonicalizer(nil, maxElements, maxDepth)
	defer c.free()
	if err := run(c); err != nil {
		return nil, err
	}
	return c.o.bytes(), nil
}

// toWriter runs one canonicalization streaming to w.
func toWriter(w io.Writer, maxElements, maxDepth int, run func(*canonicalizer) error) error {
	if w == nil {
		return errors.New("c14n: nil writer")
	}
	c := getCanonicalizer(w, maxElements, maxDepth)
	defer c.free()
	if err := run(c); err != nil {
		return err
	}
	return c.o.flush()
}

// binding is one prefix -> namespace URI pair; prefix "" is the default
// namespace and URI "" means "no namespace" (xmlns="").
type binding struct{ prefix, uri string }

type attr struct {
	uri string
	a   *etree.Attr
}

// canonicalizer is the state of one canonicalization, exclusive or
// inclusive. It is pooled with its stacks and first output chunk, so a
// call in steady state allocates only its result.
type canonicalizer struct {
	o         out
	inclusive []string // InclusivePrefixes with "#default" mapped to ""
	maxElems  int
	maxDepth  int
	elems     int
	// scope holds the declarations in force (input document), rendered the
	// ones emitted by output ancestors (canonical output); both are stacks,
	// innermost last, popped when an element ends. Lookups scan backwards:
	// SOAP messages have a handful of declarations, so this beats maps.
	scope    []binding
	rendered []binding
	// scratch slices, reused per element: an element's start tag is complete
	// before its children are visited.
	nsOut []binding
	attrs []attr
	chain []*etree.Element

	// Inclusive mode only: the element left out, and the xml:* attributes
	// of the apex's ancestors, nearest first.
	exclude   *etree.Element
	inherited []etree.Attr
}

var canonPool = sync.Pool{New: func() any { return new(canonicalizer) }}

func getCanonicalizer(w io.Writer, maxElems, maxDepth int) *canonicalizer {
	c := canonPool.Get().(*canonicalizer)
	c.o.reset(w)
	c.maxElems, c.maxDepth, c.elems = maxElems, maxDepth, 0
	return c
}

// maxPooledStack bounds the stacks kept in the pool, so one pathological
// document does not pin its scratch memory for the life of the process.
const maxPooledStack = 1024

// free returns c to the pool. The stacks are cleared over their whole
// capacity: a pooled canonicalizer must not keep the caller's tree (attrs
// and inherited point into it) or its strings alive.
func (c *canonicalizer) free() {
	c.o.release()
	c.scope = resetStack(c.scope)
	c.rendered = resetStack(c.rendered)
	c.nsOut = resetStack(c.nsOut)
	c.attrs = resetStack(c.attrs)
	c.chain = resetStack(c.chain)
	c.inherited = resetStack(c.inherited)
	c.inclusive = resetStack(c.inclusive)
	c.exclude = nil
	canonPool.Put(c)
}

func resetStack[T any](s []T) []T {
	if cap(s) > maxPooledStack {
		return nil
	}
	clear(s[:cap(s)])
	return s[:0]
}

// ancestors declares the namespaces of el's ancestors (pitfall 1: the
// element's namespace context comes from all of them), outermost first so
// inner declarations shadow outer ones. It leaves the chain, nearest
// first, in c.chain.
func (c *canonicalizer) ancestors(el *etree.Element) error {
	for p := el.Parent(); p != nil; p = p.Parent() {
		c.chain = append(c.chain, p)
	}
	for i := len(c.chain) - 1; i >= 0; i-- {
		if err := c.declare(c.chain[i]); err != nil {
			return err
		}
	}
	return nil
}

func (c *canonicalizer) exclusive(el *etree.Element, prefixes []string) error {
	if el == nil {
		return errors.New("c14n: nil element")
	}
	for _, p := range prefixes {
		switch p {
		case defaultToken:
			c.inclusive = append(c.inclusive, "")
		case "", "xml", "xmlns":
			// "" is not an NMTOKEN; xml is never rendered; xmlns is not a
			// namespace prefix at all.
		default:
			c.inclusive = append(c.inclusive, p)
		}
	}
	if err := c.ancestors(el); err != nil {
		return err
	}
	return c.element(el, 1)
}

// declare pushes el's namespace declarations onto the scope stack.
func (c *canonicalizer) declare(el *etree.Element) error {
	for i := range el.Attr {
		a := &el.Attr[i]
		switch {
		case a.Space == "" && a.Key == "xmlns":
			if a.Value == xmlnsNamespace || a.Value == xmlNamespace {
				return fmt.Errorf("c14n: reserved namespace %q declared as default on <%s>", a.Value, el.FullTag())
			}
			c.scope = append(c.scope, binding{"", a.Value})
		case a.Space == "xmlns":
			switch {
			case a.Key == "xml" && a.Value == xmlNamespace:
				// Allowed and meaningless: xml is bound implicitly and
				// never rendered.
			case a.Key == "xml" || a.Key == "xmlns" || a.Value == xmlNamespace || a.Value == xmlnsNamespace:
				return fmt.Errorf("c14n: reserved prefix or namespace in xmlns:%s=%q on <%s>", a.Key, a.Value, el.FullTag())
			case a.Value == "":
				// Undeclaring a prefix is XML 1.1 only.
				return fmt.Errorf("c14n: empty namespace for prefix %q on <%s>", a.Key, el.FullTag())
			default:
				c.scope = append(c.scope, binding{a.Key, a.Value})
			}
		}
	}
	return nil
}

func lookup(stack []binding, prefix string) (string, bool) {
	for i := len(stack) - 1; i >= 0; i-- {
		if stack[i].prefix == prefix {
			return stack[i].uri, true
		}
	}
	return "", false
}

// resolve returns the URI bound to prefix in the input document.
func (c *canonicalizer) resolve(prefix string) (string, bool) {
	if prefix == "xml" {
		return xmlNamespace, true
	}
	uri, ok := lookup(c.scope, prefix)
	if prefix == "" {
		// No default declaration in scope means no namespace.
		return uri, true
	}
	return uri, ok
}

func isNSDecl(a *etree.Attr) bool {
	return a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns")
}

// enter counts el against the limits.
func (c *canonicalizer) enter(depth int) error {
	c.elems++
	if c.maxElems > 0 && c.elems > c.maxElems {
		return ErrTooManyElements
	}
	if c.maxDepth > 0 && depth > c.maxDepth {
		return ErrTooDeep
	}
	return nil
}

func (c *canonicalizer) element(el *etree.Element, depth int) error {
	if err := c.enter(depth); err != nil {
		return err
	}
	scopeMark, renderedMark := len(c.scope), len(c.rendered)
	if err := c.declare(el); err != nil {
		return err
	}

	// Namespace axis (Exc-C14N §3): a prefix is rendered when it is visibly
	// utilized (the element's own prefix, or "" for an unprefixed element;
	// the prefixes of its attributes, unprefixed attributes being in no
	// namespace) or listed in InclusivePrefixes, and the output ancestors
	// have not already rendered the same binding.
	c.nsOut = c.nsOut[:0]
	if err := c.consider(el, el.Space, true); err != nil {
		return err
	}
	c.attrs = c.attrs[:0]
	for i := range el.Attr {
		a := &el.Attr[i]
		if isNSDecl(a) {
			continue
		}
		uri := ""
		if a.Space != "" {
			if err := c.consider(el, a.Space, true); err != nil {
				return err
			}
			uri, _ = c.resolve(a.Space)
		}
		c.attrs = append(c.attrs, attr{uri, a})
	}
	for _, p := range c.inclusive {
		if err := c.consider(el, p, false); err != nil {
			return err
		}
	}
	c.rendered = append(c.rendered, c.nsOut...)

	if err := c.writeStartTag(el); err != nil {
		return err
	}
	for _, tok := range el.Child {
		var err error
		if child, ok := tok.(*etree.Element); ok {
			err = c.element(child, depth+1)
		} else {
			err = c.leaf(el, tok)
		}
		if err != nil {
			return err
		}
	}
	c.writeEndTag(el)

	c.scope = c.scope[:scopeMark]
	c.rendered = c.rendered[:renderedMark]
	return nil
}

// consider adds prefix to the namespace declarations to render on el if the
// output ancestors do not already have its current binding in effect.
// utilized says whether el visibly uses the prefix (an unbound one is then an
// error) or it merely appears in InclusivePrefixes (an unbound one is then
// skipped, as there is no namespace node to render).
func (c *canonicalizer) consider(el *etree.Element, prefix string, utilized bool) error {
	if prefix == "xml" {
		return nil
	}
	for _, ns := range c.nsOut {
		if ns.prefix == prefix {
			return nil
		}
	}
	uri, ok := c.resolve(prefix)
	if !ok {
		if utilized {
			return &UndeclaredPrefixError{Prefix: prefix, Element: el.FullTag()}
		}
		return nil
	}
	have, haveOK := lookup(c.rendered, prefix)
	if prefix == "" {
		// Pitfall 6: the default namespace. Not having rendered one equals
		// having rendered xmlns="", so xmlns="" appears only to undo a
		// non-empty default rendered by an output ancestor, never because
		// of a default declared on an ancestor outside the output.
		if have == uri {
			return nil
		}
	} else if haveOK && have == uri {
		return nil
	}
	c.nsOut = append(c.nsOut, binding{prefix, uri})
	return nil
}

// insertionMax is the length up to which the start-tag sorts use insertion
// sort: no comparator calls through a func value, and SOAP elements carry a
// handful of attributes. Longer (hostile) lists go to slices.SortFunc to
// stay O(n log n).
const insertionMax = 12

func sortNS(s []binding) {
	if len(s) > insertionMax {
		slices.SortFunc(s, func(x, y binding) int { return strings.Compare(x.prefix, y.prefix) })
		return
	}
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].prefix < s[j-1].prefix; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func attrLess(x, y *attr) bool {
	if x.uri != y.uri {
		return x.uri < y.uri
	}
	return x.a.Key < y.a.Key
}

func sortAttrs(s []attr) {
	if len(s) > insertionMax {
		slices.SortFunc(s, func(x, y attr) int {
			return cmp.Or(strings.Compare(x.uri, y.uri), strings.Compare(x.a.Key, y.a.Key))
		})
		return
	}
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && attrLess(&s[j], &s[j-1]); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// writeStartTag sorts the namespace declarations and attributes collected for
// el and writes its start tag. Pitfall 3: attributes sort by (namespace URI,
// local name), unqualified ones (URI "") first; namespace nodes come before
// them, by prefix, the default one ("") first.
func (c *canonicalizer) writeStartTag(el *etree.Element) error {
	sortNS(c.nsOut)
	sortAttrs(c.attrs)
	for i := 1; i < len(c.attrs); i++ {
		if c.attrs[i].uri == c.attrs[i-1].uri && c.attrs[i].a.Key == c.attrs[i-1].a.Key {
			return fmt.Errorf("c14n: duplicate attribute {%s}%s on <%s>", c.attrs[i].uri, c.attrs[i].a.Key, el.FullTag())
		}
	}
	o := &c.o
	o.byte('<')
	o.qname(el.Space, el.Tag)
	for _, ns := range c.nsOut {
		if ns.prefix == "" {
			o.str(` xmlns="`)
		} else {
			o.str(" xmlns:")
			o.str(ns.prefix)
			o.str(`="`)
		}
		o.escape(ns.uri, &escAttr)
		o.byte('"')
	}
	for _, a := range c.attrs {
		o.byte(' ')
		o.qname(a.a.Space, a.a.Key)
		o.str(`="`)
		o.escape(a.a.Value, &escAttr)
		o.byte('"')
	}
	o.byte('>')
	return nil
}

// leaf writes a non-element child of el: text escaped, processing
// instructions as they are, comments dropped.
func (c *canonicalizer) leaf(el *etree.Element, tok etree.Token) error {
	o := &c.o
	switch t := tok.(type) {
	case *etree.CharData:
		// CDATA sections are text in the data model: escaped, never
		// re-emitted as <![CDATA[.
		o.escape(t.Data, &escText)
	case *etree.ProcInst:
		o.str("<?")
		o.str(t.Target)
		if t.Inst != "" {
			o.byte(' ')
			o.str(t.Inst)
		}
		o.str("?>")
	case *etree.Comment:
		// Dropped: this is the without-comments variant.
	case *etree.Directive:
		return fmt.Errorf("c14n: directive inside <%s>", el.FullTag())
	}
	return nil
}

// writeEndTag closes el: empty elements too get a start/end pair (C14N §2.3).
func (c *canonicalizer) writeEndTag(el *etree.Element) {
	c.o.str("</")
	c.o.qname(el.Space, el.Tag)
	c.o.byte('>')
}
