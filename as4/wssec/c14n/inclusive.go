package c14n

import (
	"errors"
	"io"
	"slices"

	"github.com/beevik/etree"
)

// InclusiveAlgorithm is the URI of Canonical XML 1.0 without comments
// (http://www.w3.org/TR/2001/REC-xml-c14n-20010315), the canonicalization
// most SMP implementations (phoss-SMP, DomiSMP) use for their enveloped
// signatures over SignedServiceMetadata.
const InclusiveAlgorithm = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"

// InclusiveOptions tunes an inclusive canonicalization.
type InclusiveOptions struct {
	// Exclude is an element of el's subtree left out of the output with all
	// its descendants: the ds:Signature under the enveloped-signature
	// transform. nil excludes nothing. Excluding el itself is an error.
	Exclude *etree.Element
	// MaxElements and MaxDepth are as in Options.
	MaxElements int
	MaxDepth    int
}

// CanonicalizeInclusive returns the Canonical XML 1.0 (without comments) form
// of el and its subtree as a document subset: el renders every namespace in
// scope (ancestors included) and inherits the xml:* attributes of its
// ancestors that it does not set itself (C14N 1.0 §2.4), as libxml2 does
// for an XPath-selected subtree. Like Canonicalize, it only reads the tree;
// pass el in place so its ancestors are visible.
func CanonicalizeInclusive(el *etree.Element, opts InclusiveOptions) ([]byte, error) {
	return toBytes(opts.MaxElements, opts.MaxDepth, func(c *canonicalizer) error { return c.inclusiveC14N(el, opts.Exclude) })
}

// CanonicalizeInclusiveTo streams the inclusive canonical form of el to w.
// On error w may already have received part of the output.
func CanonicalizeInclusiveTo(w io.Writer, el *etree.Element, opts InclusiveOptions) error {
	return toWriter(w, opts.MaxElements, opts.MaxDepth, func(c *canonicalizer) error { return c.inclusiveC14N(el, opts.Exclude) })
}

func (c *canonicalizer) inclusiveC14N(el, exclude *etree.Element) error {
	if el == nil {
		return errors.New("c14n: nil element")
	}
	if exclude == el {
		return errors.New("c14n: the excluded element is the element to canonicalize")
	}
	c.exclude = exclude
	if err := c.ancestors(el); err != nil {
		return err
	}
	// Nearest ancestor first (c.chain's order), so the first occurrence of
	// a name wins.
	for _, p := range c.chain {
		for _, a := range p.Attr {
			if a.Space == "xml" && !slices.ContainsFunc(c.inherited, func(b etree.Attr) bool { return b.Key == a.Key }) {
				c.inherited = append(c.inherited, a)
			}
		}
	}
	return c.inclusiveElement(el, 1, true)
}

func (c *canonicalizer) inclusiveElement(el *etree.Element, depth int, apex bool) error {
	if err := c.enter(depth); err != nil {
		return err
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
			if slices.ContainsFunc(c.nsOut, func(o binding) bool { return o.prefix == b.prefix }) {
				continue // shadowed by a nearer declaration
			}
			c.nsOut = append(c.nsOut, b)
		}
		// A default namespace undeclared (xmlns="") or never declared has
		// no namespace node: nothing to render at the apex.
		c.nsOut = slices.DeleteFunc(c.nsOut, func(b binding) bool { return b.prefix == "" && b.uri == "" })
	} else {
		for i := range el.Attr {
			a := &el.Attr[i]
			if !isNSDecl(a) || (a.Space == "xmlns" && a.Key == "xml") {
				continue
			}
			prefix := ""
			if a.Space == "xmlns" {
				prefix = a.Key
			}
			if slices.ContainsFunc(c.nsOut, func(o binding) bool { return o.prefix == prefix }) {
				continue
			}
			have, _ := lookup(c.rendered, prefix)
			if have == a.Value {
				// Same binding as the output parent; for the default
				// namespace this also covers xmlns="" under a parent
				// without a default namespace.
				continue
			}
			c.nsOut = append(c.nsOut, binding{prefix, a.Value})
		}
	}
	c.rendered = append(c.rendered, c.nsOut...)

	c.attrs = c.attrs[:0]
	for i := range el.Attr {
		a := &el.Attr[i]
		if isNSDecl(a) {
			continue
		}
		uri := ""
		if a.Space != "" {
			var ok bool
			if uri, ok = c.resolve(a.Space); !ok {
				return &UndeclaredPrefixError{Prefix: a.Space, Element: el.FullTag()}
			}
		}
		c.attrs = append(c.attrs, attr{uri, a})
	}
	if apex {
		for i := range c.inherited {
			a := &c.inherited[i]
			if !slices.ContainsFunc(c.attrs, func(x attr) bool { return x.a.Space == "xml" && x.a.Key == a.Key }) {
				c.attrs = append(c.attrs, attr{xmlNamespace, a})
			}
		}
	}

	if err := c.writeStartTag(el); err != nil {
		return err
	}
	for _, tok := range el.Child {
		var err error
		if child, ok := tok.(*etree.Element); ok {
			if child != c.exclude {
				err = c.inclusiveElement(child, depth+1, false)
			}
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
