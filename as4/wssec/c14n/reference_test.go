package c14n

// The canonicalizer as it was before the single-buffer rewrite, kept
// verbatim (identifiers prefixed with ref) as the oracle for the differential
// tests: the rewrite must not change a single output byte or error.

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/beevik/etree"
)

func refCanonicalizeBytes(el *etree.Element, opts Options) ([]byte, error) {
	return refToBytes(func(w refWriter) error { return refCanonicalize(w, el, opts) })
}

func refCanonicalizeInclusiveBytes(el *etree.Element, opts InclusiveOptions) ([]byte, error) {
	return refToBytes(func(w refWriter) error { return refCanonicalizeInclusive(w, el, opts) })
}

func refCanonicalizeTo(w io.Writer, el *etree.Element, opts Options) error {
	return refStreamTo(w, func(w refWriter) error { return refCanonicalize(w, el, opts) })
}

// refToBytes runs a canonicalization into a buffer.
func refToBytes(run func(refWriter) error) ([]byte, error) {
	var buf bytes.Buffer
	if err := run(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// refStreamTo runs a canonicalization into w, buffered unless w is a buffer.
func refStreamTo(w io.Writer, run func(refWriter) error) error {
	if buf, ok := w.(*bytes.Buffer); ok {
		return run(buf)
	}
	bw := bufio.NewWriterSize(w, 32<<10)
	if err := run(bw); err != nil {
		return err
	}
	return bw.Flush()
}

// refWriter is what both *bytes.Buffer and *bufio.Writer offer; their write
// errors are sticky (bufio) or impossible (bytes), so the result of each
// call is checked once, at Flush.
type refWriter interface {
	io.Writer
	io.StringWriter
	io.ByteWriter
}

// refBinding is one prefix -> namespace URI pair; prefix "" is the default
// namespace and URI "" means "no namespace" (xmlns="").
type refBinding struct{ prefix, uri string }

type refAttr struct {
	uri string
	a   *etree.Attr
}

type refCanonicalizer struct {
	w         refWriter
	inclusive []string // InclusivePrefixes with "#default" mapped to ""
	maxElems  int
	maxDepth  int
	elems     int
	// scope holds the declarations in force (input document), rendered the
	// ones emitted by output ancestors (canonical output); both are stacks,
	// innermost last, popped when an element ends. Lookups scan backwards:
	// SOAP messages have a handful of declarations, so this beats maps.
	scope    []refBinding
	rendered []refBinding
	// scratch slices, reused per element: an element's start tag is complete
	// before its children are visited.
	nsOut []refBinding
	attrs []refAttr
}

func refCanonicalize(w refWriter, el *etree.Element, opts Options) error {
	if el == nil {
		return errors.New("c14n: nil element")
	}
	c := &refCanonicalizer{w: w, maxElems: opts.MaxElements, maxDepth: opts.MaxDepth}
	for _, p := range opts.InclusivePrefixes {
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
	// Pitfall 1: the element's namespace context comes from all its
	// ancestors, outermost first so inner declarations shadow outer ones.
	var chain []*etree.Element
	for p := el.Parent(); p != nil; p = p.Parent() {
		chain = append(chain, p)
	}
	for i := len(chain) - 1; i >= 0; i-- {
		if err := c.declare(chain[i]); err != nil {
			return err
		}
	}
	return c.element(el, 1)
}

// declare pushes el's namespace declarations onto the scope stack.
func (c *refCanonicalizer) declare(el *etree.Element) error {
	for i := range el.Attr {
		a := &el.Attr[i]
		switch {
		case a.Space == "" && a.Key == "xmlns":
			if a.Value == xmlnsNamespace || a.Value == xmlNamespace {
				return fmt.Errorf("c14n: reserved namespace %q declared as default on <%s>", a.Value, el.FullTag())
			}
			c.scope = append(c.scope, refBinding{"", a.Value})
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
				c.scope = append(c.scope, refBinding{a.Key, a.Value})
			}
		}
	}
	return nil
}

func refLookup(stack []refBinding, prefix string) (string, bool) {
	for i := len(stack) - 1; i >= 0; i-- {
		if stack[i].prefix == prefix {
			return stack[i].uri, true
		}
	}
	return "", false
}

// resolve returns the URI bound to prefix in the input document.
func (c *refCanonicalizer) resolve(prefix string) (string, bool) {
	if prefix == "xml" {
		return xmlNamespace, true
	}
	uri, ok := refLookup(c.scope, prefix)
	if prefix == "" {
		// No default declaration in scope means no namespace.
		return uri, true
	}
	return uri, ok
}

func refIsNSDecl(a *etree.Attr) bool {
	return a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns")
}

func (c *refCanonicalizer) element(el *etree.Element, depth int) error {
	c.elems++
	if c.maxElems > 0 && c.elems > c.maxElems {
		return ErrTooManyElements
	}
	if c.maxDepth > 0 && depth > c.maxDepth {
		return ErrTooDeep
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
		if refIsNSDecl(a) {
			continue
		}
		uri := ""
		if a.Space != "" {
			if err := c.consider(el, a.Space, true); err != nil {
				return err
			}
			uri, _ = c.resolve(a.Space)
		}
		c.attrs = append(c.attrs, refAttr{uri, a})
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
	if err := c.writeChildren(el, nil, func(child *etree.Element) error { return c.element(child, depth+1) }); err != nil {
		return err
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
func (c *refCanonicalizer) consider(el *etree.Element, prefix string, utilized bool) error {
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
	have, haveOK := refLookup(c.rendered, prefix)
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
	c.nsOut = append(c.nsOut, refBinding{prefix, uri})
	return nil
}

func refWriteQName(w refWriter, prefix, local string) {
	if prefix != "" {
		w.WriteString(prefix)
		w.WriteByte(':')
	}
	w.WriteString(local)
}

// refEscape writes s with the C14N character references (§2.3): in attribute
// values & < " TAB LF CR, in text & < > CR. Scanning bytes is safe for UTF-8:
// these ASCII bytes never occur inside a multi-byte sequence.
func refEscape(w refWriter, s string, inAttr bool) {
	last := 0
	for i := 0; i < len(s); i++ {
		var ref string
		switch s[i] {
		case '&':
			ref = "&amp;"
		case '<':
			ref = "&lt;"
		case '>':
			if inAttr {
				continue
			}
			ref = "&gt;"
		case '"':
			if !inAttr {
				continue
			}
			ref = "&quot;"
		case '\t':
			if !inAttr {
				continue
			}
			ref = "&#x9;"
		case '\n':
			if !inAttr {
				continue
			}
			ref = "&#xA;"
		case '\r':
			ref = "&#xD;"
		default:
			continue
		}
		w.WriteString(s[last:i])
		w.WriteString(ref)
		last = i + 1
	}
	w.WriteString(s[last:])
}

// writeStartTag sorts the namespace declarations and attributes collected for
// el and writes its start tag. Pitfall 3: attributes sort by (namespace URI,
// local name), unqualified ones (URI "") first; namespace nodes come before
// them, by prefix, the default one ("") first.
func (c *refCanonicalizer) writeStartTag(el *etree.Element) error {
	slices.SortFunc(c.nsOut, func(x, y refBinding) int { return strings.Compare(x.prefix, y.prefix) })
	slices.SortFunc(c.attrs, func(x, y refAttr) int {
		return cmp.Or(strings.Compare(x.uri, y.uri), strings.Compare(x.a.Key, y.a.Key))
	})
	for i := 1; i < len(c.attrs); i++ {
		if c.attrs[i].uri == c.attrs[i-1].uri && c.attrs[i].a.Key == c.attrs[i-1].a.Key {
			return fmt.Errorf("c14n: duplicate attribute {%s}%s on <%s>", c.attrs[i].uri, c.attrs[i].a.Key, el.FullTag())
		}
	}
	w := c.w
	w.WriteByte('<')
	refWriteQName(w, el.Space, el.Tag)
	for _, ns := range c.nsOut {
		if ns.prefix == "" {
			w.WriteString(` xmlns="`)
		} else {
			w.WriteString(" xmlns:")
			w.WriteString(ns.prefix)
			w.WriteString(`="`)
		}
		refEscape(w, ns.uri, true)
		w.WriteByte('"')
	}
	for _, a := range c.attrs {
		w.WriteByte(' ')
		refWriteQName(w, a.a.Space, a.a.Key)
		w.WriteString(`="`)
		refEscape(w, a.a.Value, true)
		w.WriteByte('"')
	}
	w.WriteByte('>')
	return nil
}

// writeChildren writes el's content: child elements through recurse (except
// skip, the enveloped signature of the inclusive mode), text escaped,
// processing instructions as they are, comments dropped.
func (c *refCanonicalizer) writeChildren(el, skip *etree.Element, recurse func(*etree.Element) error) error {
	w := c.w
	for _, tok := range el.Child {
		switch t := tok.(type) {
		case *etree.Element:
			if skip != nil && t == skip {
				continue
			}
			if err := recurse(t); err != nil {
				return err
			}
		case *etree.CharData:
			// CDATA sections are text in the data model: escaped, never
			// re-emitted as <![CDATA[.
			refEscape(w, t.Data, false)
		case *etree.ProcInst:
			w.WriteString("<?")
			w.WriteString(t.Target)
			if t.Inst != "" {
				w.WriteByte(' ')
				w.WriteString(t.Inst)
			}
			w.WriteString("?>")
		case *etree.Comment:
			// Dropped: this is the without-comments variant.
		case *etree.Directive:
			return fmt.Errorf("c14n: directive inside <%s>", el.FullTag())
		}
	}
	return nil
}

// writeEndTag closes el: empty elements too get a start/end pair (C14N §2.3).
func (c *refCanonicalizer) writeEndTag(el *etree.Element) {
	c.w.WriteString("</")
	refWriteQName(c.w, el.Space, el.Tag)
	c.w.WriteByte('>')
}

type refInclusiveCanonicalizer struct {
	c       *refCanonicalizer // shared scope bookkeeping and limits
	exclude *etree.Element
	// inherited holds the xml:* attributes of el's ancestors, nearest
	// first, to add to the apex element.
	inherited []etree.Attr
}

func refCanonicalizeInclusive(w refWriter, el *etree.Element, opts InclusiveOptions) error {
	if el == nil {
		return errors.New("c14n: nil element")
	}
	if opts.Exclude == el {
		return errors.New("c14n: the excluded element is the element to refCanonicalize")
	}
	ic := &refInclusiveCanonicalizer{
		c:       &refCanonicalizer{w: w, maxElems: opts.MaxElements, maxDepth: opts.MaxDepth},
		exclude: opts.Exclude,
	}
	var chain []*etree.Element
	for p := el.Parent(); p != nil; p = p.Parent() {
		chain = append(chain, p)
	}
	for i := len(chain) - 1; i >= 0; i-- {
		if err := ic.c.declare(chain[i]); err != nil {
			return err
		}
	}
	// Nearest ancestor first, so the first occurrence of a name wins.
	for _, p := range chain {
		for _, a := range p.Attr {
			if a.Space == "xml" && !slices.ContainsFunc(ic.inherited, func(b etree.Attr) bool { return b.Key == a.Key }) {
				ic.inherited = append(ic.inherited, a)
			}
		}
	}
	return ic.element(el, 1, true)
}

func (ic *refInclusiveCanonicalizer) element(el *etree.Element, depth int, apex bool) error {
	c := ic.c
	c.elems++
	if c.maxElems > 0 && c.elems > c.maxElems {
		return ErrTooManyElements
	}
	if c.maxDepth > 0 && depth > c.maxDepth {
		return ErrTooDeep
	}
	scopeMark, renderedMark := len(c.scope), len(c.rendered)
	if err := c.declare(el); err != nil {
		return err
	}
	if _, ok := c.resolve(el.Space); !ok {
		return &UndeclaredPrefixError{Prefix: el.Space, Element: el.FullTag()}
	}

	// Namespace axis (C14N 1.0 §2.3, §4.7): every namespace in scope is a
	// node of the element; one is rendered unless the nearest output
	// ancestor has the same binding. In a complete subtree that ancestor is
	// the parent, whose in-scope bindings were all rendered or inherited, so
	// below the apex only the element's own declarations can differ. The
	// apex renders its whole in-scope set.
	c.nsOut = c.nsOut[:0]
	if apex {
		for i := len(c.scope) - 1; i >= 0; i-- {
			b := c.scope[i]
			if slices.ContainsFunc(c.nsOut, func(o refBinding) bool { return o.prefix == b.prefix }) {
				continue // shadowed by a nearer declaration
			}
			c.nsOut = append(c.nsOut, b)
		}
		// A default namespace undeclared (xmlns="") or never declared has
		// no namespace node: nothing to render at the apex.
		c.nsOut = slices.DeleteFunc(c.nsOut, func(b refBinding) bool { return b.prefix == "" && b.uri == "" })
	} else {
		for i := range el.Attr {
			a := &el.Attr[i]
			if !refIsNSDecl(a) || (a.Space == "xmlns" && a.Key == "xml") {
				continue
			}
			prefix := ""
			if a.Space == "xmlns" {
				prefix = a.Key
			}
			if slices.ContainsFunc(c.nsOut, func(o refBinding) bool { return o.prefix == prefix }) {
				continue
			}
			have, _ := refLookup(c.rendered, prefix)
			if have == a.Value {
				// Same binding as the output parent; for the default
				// namespace this also covers xmlns="" under a parent
				// without a default namespace.
				continue
			}
			c.nsOut = append(c.nsOut, refBinding{prefix, a.Value})
		}
	}
	c.rendered = append(c.rendered, c.nsOut...)

	c.attrs = c.attrs[:0]
	for i := range el.Attr {
		a := &el.Attr[i]
		if refIsNSDecl(a) {
			continue
		}
		uri := ""
		if a.Space != "" {
			var ok bool
			if uri, ok = c.resolve(a.Space); !ok {
				return &UndeclaredPrefixError{Prefix: a.Space, Element: el.FullTag()}
			}
		}
		c.attrs = append(c.attrs, refAttr{uri, a})
	}
	if apex {
		for i := range ic.inherited {
			a := &ic.inherited[i]
			if !slices.ContainsFunc(c.attrs, func(x refAttr) bool { return x.a.Space == "xml" && x.a.Key == a.Key }) {
				c.attrs = append(c.attrs, refAttr{xmlNamespace, a})
			}
		}
	}

	if err := c.writeStartTag(el); err != nil {
		return err
	}
	if err := c.writeChildren(el, ic.exclude, func(child *etree.Element) error { return ic.element(child, depth+1, false) }); err != nil {
		return err
	}
	c.writeEndTag(el)

	c.scope = c.scope[:scopeMark]
	c.rendered = c.rendered[:renderedMark]
	return nil
}
