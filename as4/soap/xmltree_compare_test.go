package soap

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// etreeOracle is what parseEnvelopeBytes ran before parseTree: etree's
// ReadFromBytes with default settings but MaxDepth. It is the reference
// parseTree must match.
func etreeOracle(data []byte, maxDepth int) (*etree.Document, error) {
	doc := etree.NewDocument()
	doc.ReadSettings.MaxDepth = maxDepth
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, err
	}
	return doc, nil
}

// checkSameAsEtree runs both parsers on data and fails t on any
// difference in the accept/reject decision or in the trees.
func checkSameAsEtree(t *testing.T, data []byte, maxDepth int) {
	t.Helper()
	want, werr := etreeOracle(data, maxDepth)
	got, gerr := parseTree(data, maxDepth)
	switch {
	case werr != nil && gerr != nil:
		// etree's own checks must fail the same way: callers may test for
		// them with errors.Is.
		for _, e := range []error{etree.ErrMaxDepth} {
			if errors.Is(werr, e) != errors.Is(gerr, e) {
				t.Fatalf("input %q: etree error %v, parseTree error %v", data, werr, gerr)
			}
		}
		return
	case werr != nil:
		t.Fatalf("input %q: etree rejects (%v), parseTree accepts:\n%s", data, werr, dumpTree(got))
	case gerr != nil:
		t.Fatalf("input %q: etree accepts, parseTree rejects: %v\n%s", data, gerr, dumpTree(want))
	}
	if diff := diffDocs(want, got); diff != "" {
		t.Fatalf("input %q: trees differ: %s\netree:\n%s\nparseTree:\n%s", data, diff, dumpTree(want), dumpTree(got))
	}
}

// diffDocs compares two documents token by token and returns the first
// difference, or "" when they are identical in everything parseTree
// promises: token kinds and order, element names, attributes in order
// with their owning element, character data with its whitespace and CDATA
// flags, comments, directives, processing instructions, and every token's
// Parent and Index.
func diffDocs(want, got *etree.Document) string {
	if want.ReadSettings.MaxDepth != got.ReadSettings.MaxDepth {
		return fmt.Sprintf("ReadSettings.MaxDepth %d != %d", want.ReadSettings.MaxDepth, got.ReadSettings.MaxDepth)
	}
	if want.Parent() != nil || got.Parent() != nil {
		return "document has a parent"
	}
	return diffElements("/", &want.Element, &got.Element)
}

func diffElements(path string, w, g *etree.Element) string {
	if w.Space != g.Space || w.Tag != g.Tag {
		return fmt.Sprintf("%s: element {%q %q} != {%q %q}", path, w.Space, w.Tag, g.Space, g.Tag)
	}
	if len(w.Attr) != len(g.Attr) {
		return fmt.Sprintf("%s: %d attributes != %d", path, len(w.Attr), len(g.Attr))
	}
	for i := range w.Attr {
		wa, ga := &w.Attr[i], &g.Attr[i]
		if wa.Space != ga.Space || wa.Key != ga.Key || wa.Value != ga.Value {
			return fmt.Sprintf("%s: attribute %d {%q %q %q} != {%q %q %q}", path, i, wa.Space, wa.Key, wa.Value, ga.Space, ga.Key, ga.Value)
		}
		if wa.Element() != w || ga.Element() != g {
			return fmt.Sprintf("%s: attribute %d has the wrong element", path, i)
		}
	}
	if len(w.Child) != len(g.Child) {
		return fmt.Sprintf("%s: %d children != %d", path, len(w.Child), len(g.Child))
	}
	for i := range w.Child {
		p := fmt.Sprintf("%s%d", path, i)
		wt, gt := w.Child[i], g.Child[i]
		if wt.Parent() != w || gt.Parent() != g {
			return p + ": wrong parent"
		}
		if wt.Index() != i || gt.Index() != i {
			return fmt.Sprintf("%s: index %d / %d", p, wt.Index(), gt.Index())
		}
		if d := diffTokens(p, wt, gt); d != "" {
			return d
		}
	}
	return ""
}

func diffTokens(p string, wt, gt etree.Token) string {
	switch w := wt.(type) {
	case *etree.Element:
		g, ok := gt.(*etree.Element)
		if !ok {
			return fmt.Sprintf("%s: %T != %T", p, wt, gt)
		}
		return diffElements(p+"/", w, g)
	case *etree.CharData:
		g, ok := gt.(*etree.CharData)
		if !ok {
			return fmt.Sprintf("%s: %T != %T", p, wt, gt)
		}
		if w.Data != g.Data || w.IsWhitespace() != g.IsWhitespace() || w.IsCData() != g.IsCData() {
			return fmt.Sprintf("%s: chardata %q ws=%v cdata=%v != %q ws=%v cdata=%v", p,
				w.Data, w.IsWhitespace(), w.IsCData(), g.Data, g.IsWhitespace(), g.IsCData())
		}
	case *etree.Comment:
		g, ok := gt.(*etree.Comment)
		if !ok || w.Data != g.Data {
			return fmt.Sprintf("%s: comment %#v != %#v", p, wt, gt)
		}
	case *etree.Directive:
		g, ok := gt.(*etree.Directive)
		if !ok || w.Data != g.Data {
			return fmt.Sprintf("%s: directive %#v != %#v", p, wt, gt)
		}
	case *etree.ProcInst:
		g, ok := gt.(*etree.ProcInst)
		if !ok || w.Target != g.Target || w.Inst != g.Inst {
			return fmt.Sprintf("%s: procinst %#v != %#v", p, wt, gt)
		}
	default:
		return fmt.Sprintf("%s: unexpected token %T", p, wt)
	}
	return ""
}

// dumpTree renders a tree with every field diffDocs compares, for failure
// messages.
func dumpTree(doc *etree.Document) string {
	var sb strings.Builder
	var walk func(e *etree.Element, indent string)
	walk = func(e *etree.Element, indent string) {
		for _, c := range e.Child {
			switch t := c.(type) {
			case *etree.Element:
				fmt.Fprintf(&sb, "%selem {%q %q}", indent, t.Space, t.Tag)
				for _, a := range t.Attr {
					fmt.Fprintf(&sb, " {%q %q}=%q", a.Space, a.Key, a.Value)
				}
				sb.WriteByte('\n')
				walk(t, indent+"  ")
			case *etree.CharData:
				fmt.Fprintf(&sb, "%stext %q ws=%v cdata=%v\n", indent, t.Data, t.IsWhitespace(), t.IsCData())
			case *etree.Comment:
				fmt.Fprintf(&sb, "%scomment %q\n", indent, t.Data)
			case *etree.Directive:
				fmt.Fprintf(&sb, "%sdirective %q\n", indent, t.Data)
			case *etree.ProcInst:
				fmt.Fprintf(&sb, "%sprocinst %q %q\n", indent, t.Target, t.Inst)
			}
		}
	}
	if doc != nil {
		walk(&doc.Element, "")
	}
	return sb.String()
}
