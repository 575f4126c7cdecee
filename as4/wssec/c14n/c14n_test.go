package c14n

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

const (
	s12NS = "http://www.w3.org/2003/05/soap-envelope"
	ebNS  = "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/"
)

// pick returns the first element in document order whose qualified name is
// tag ("" = the root).
func pick(t testing.TB, root *etree.Element, tag string) *etree.Element {
	t.Helper()
	if tag == "" {
		return root
	}
	var found *etree.Element
	walk(root, func(e *etree.Element) {
		if found == nil && e.FullTag() == tag {
			found = e
		}
	})
	if found == nil {
		t.Fatalf("no element <%s>", tag)
	}
	return found
}

type c14nCase struct {
	name string
	in   string
	sel  string   // qualified name of the element to canonicalize; "" = root
	incl []string // InclusiveNamespaces PrefixList
	want string
}

// cases holds one or more cases per pitfall of docs/xml-security.md and per
// C14N rule; every one is also cross-checked against libxml2 by
// TestUnitCasesAgainstLxml.
var cases = []c14nCase{
	// Pitfall 1: namespaces declared on ancestors.
	{
		name: "ancestor namespaces/Messaging",
		in: `<S12:Envelope xmlns:S12="` + s12NS + `" xmlns:wsu="` + wsuNS + `" xmlns:eb="` + ebNS + `">` +
			`<S12:Header><eb:Messaging S12:mustUnderstand="true" wsu:Id="m"><eb:UserMessage/></eb:Messaging></S12:Header></S12:Envelope>`,
		sel: "eb:Messaging",
		want: `<eb:Messaging xmlns:S12="` + s12NS + `" xmlns:eb="` + ebNS + `" xmlns:wsu="` + wsuNS + `" wsu:Id="m" S12:mustUnderstand="true">` +
			`<eb:UserMessage></eb:UserMessage></eb:Messaging>`,
	},
	{
		name: "ancestor namespaces/innermost binding wins",
		in:   `<p:a xmlns:p="urn:outer"><x xmlns:p="urn:inner"><p:b/></x></p:a>`,
		sel:  "p:b",
		want: `<p:b xmlns:p="urn:inner"></p:b>`,
	},
	{
		name: "unused declarations dropped",
		in:   `<a xmlns:unused="urn:u" xmlns:p="urn:p"><p:b/></a>`,
		want: `<a><p:b xmlns:p="urn:p"></p:b></a>`,
	},
	{
		name: "siblings each declare",
		in:   `<r xmlns:p="urn:p"><p:a/><p:b/></r>`,
		want: `<r><p:a xmlns:p="urn:p"></p:a><p:b xmlns:p="urn:p"></p:b></r>`,
	},
	{
		name: "rebinding a prefix",
		in:   `<p:a xmlns:p="urn:1"><p:b xmlns:p="urn:2"><p:c/></p:b><p:d xmlns:p="urn:1"/></p:a>`,
		want: `<p:a xmlns:p="urn:1"><p:b xmlns:p="urn:2"><p:c></p:c></p:b><p:d></p:d></p:a>`,
	},
	{
		name: "prefix used only by an attribute",
		in:   `<a xmlns:q="urn:q"><b q:k="1"><c q:k="2"/></b></a>`,
		sel:  "b",
		want: `<b xmlns:q="urn:q" q:k="1"><c q:k="2"></c></b>`,
	},
	// Pitfall 3: attributes by (namespace URI, local name), unqualified first.
	{
		name: "attribute order across namespaces",
		in:   `<r xmlns:S12="` + s12NS + `" xmlns:wsu="` + wsuNS + `" S12:a="1" wsu:z="2" b="3" a="4"/>`,
		want: `<r xmlns:S12="` + s12NS + `" xmlns:wsu="` + wsuNS + `" a="4" b="3" wsu:z="2" S12:a="1"></r>`,
	},
	{
		name: "attribute order: URI, not prefix",
		in:   `<r xmlns:a="urn:z" xmlns:z="urn:a" a:k="1" z:k="2" z:j="3"/>`,
		want: `<r xmlns:a="urn:z" xmlns:z="urn:a" z:j="3" z:k="2" a:k="1"></r>`,
	},
	// Pitfall 6 and the default namespace in general.
	{
		name: "default ns inherited",
		in:   `<a xmlns="urn:x"><b/></a>`,
		sel:  "b",
		want: `<b xmlns="urn:x"></b>`,
	},
	{
		name: "no spurious xmlns= from excluded ancestor",
		in:   `<a xmlns="urn:x"><p:b xmlns:p="urn:p"><c xmlns=""/></p:b></a>`,
		sel:  "p:b",
		want: `<p:b xmlns:p="urn:p"><c></c></p:b>`,
	},
	{
		name: "xmlns= undoes a rendered default",
		in:   `<a xmlns="urn:x"><b><c xmlns=""/></b></a>`,
		want: `<a xmlns="urn:x"><b><c xmlns=""></c></b></a>`,
	},
	{
		name: "xmlns= undoes a default rendered at the apex",
		in:   `<a xmlns="urn:x"><b><c xmlns=""/></b></a>`,
		sel:  "b",
		want: `<b xmlns="urn:x"><c xmlns=""></c></b>`,
	},
	{
		name: "empty default never rendered at the apex",
		in:   `<a xmlns=""><b/></a>`,
		want: `<a><b></b></a>`,
	},
	{
		name: "default rendered only where utilized",
		in:   `<p:a xmlns:p="urn:p" xmlns="urn:x" k="v"><p:b><c/></p:b></p:a>`,
		want: `<p:a xmlns:p="urn:p" k="v"><p:b><c xmlns="urn:x"></c></p:b></p:a>`,
	},
	{
		name: "default changes and returns",
		in:   `<a xmlns="urn:1"><b xmlns="urn:2"><c xmlns="urn:1"/></b><d xmlns="urn:1"/></a>`,
		want: `<a xmlns="urn:1"><b xmlns="urn:2"><c xmlns="urn:1"></c></b><d></d></a>`,
	},
	// InclusiveNamespaces PrefixList.
	{
		name: "PrefixList S12 on SignedInfo",
		in: `<S12:Envelope xmlns:S12="urn:s12"><S12:Header><wsse:Security xmlns:wsse="urn:wsse">` +
			`<ds:Signature xmlns:ds="urn:ds"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="x"/></ds:SignedInfo>` +
			`</ds:Signature></wsse:Security></S12:Header></S12:Envelope>`,
		sel:  "ds:SignedInfo",
		incl: []string{"S12"},
		want: `<ds:SignedInfo xmlns:S12="urn:s12" xmlns:ds="urn:ds"><ds:CanonicalizationMethod Algorithm="x"></ds:CanonicalizationMethod></ds:SignedInfo>`,
	},
	{
		name: "PrefixList with unbound and ordinary prefixes",
		in:   `<e xmlns:wsse="urn:wsse" xmlns:b="urn:b"><ds:SignedInfo xmlns:ds="urn:ds"><ds:X/></ds:SignedInfo></e>`,
		sel:  "ds:SignedInfo",
		incl: []string{"wsse", "nope", "ds"},
		want: `<ds:SignedInfo xmlns:ds="urn:ds" xmlns:wsse="urn:wsse"><ds:X></ds:X></ds:SignedInfo>`,
	},
	{
		name: "PrefixList #default",
		in:   `<a xmlns="urn:x"><p:b xmlns:p="urn:p"><c xmlns=""/><d/></p:b></a>`,
		sel:  "p:b",
		incl: []string{"#default"},
		want: `<p:b xmlns="urn:x" xmlns:p="urn:p"><c xmlns=""></c><d></d></p:b>`,
	},
	{
		name: "PrefixList #default with no default in scope",
		in:   `<p:b xmlns:p="urn:p"><c/></p:b>`,
		incl: []string{"#default"},
		want: `<p:b xmlns:p="urn:p"><c></c></p:b>`,
	},
	{
		name: "PrefixList prefix rebound below",
		in:   `<a xmlns:q="urn:q"><b xmlns:q="urn:q2"><c xmlns:q="urn:q2"/></b></a>`,
		incl: []string{"q"},
		want: `<a xmlns:q="urn:q"><b xmlns:q="urn:q2"><c></c></b></a>`,
	},
	// Escaping (C14N §2.3) and character data.
	{
		name: "escaping in attributes and text",
		in:   "<a x=\"&#x9;&#xA;&#xD; \t\n&amp;&lt;>&quot;'\">&#xD;\r\n t &amp; &lt; &gt; \" ' &#x9;</a>",
		want: "<a x=\"&#x9;&#xA;&#xD;   &amp;&lt;>&quot;'\">&#xD;\n t &amp; &lt; &gt; \" ' \t</a>",
	},
	{
		name: "literal CRLF in attribute is one space",
		in:   "<a x=\"1\r\n2\r3\"/>",
		want: `<a x="1 2 3"></a>`,
	},
	{
		name: "CDATA becomes text",
		in:   `<a><![CDATA[<x> & ]]>]]&gt;<![CDATA[]]]]><![CDATA[>]]></a>`,
		want: `<a>&lt;x&gt; &amp; ]]&gt;]]&gt;</a>`,
	},
	{
		name: "non-ASCII untouched",
		in:   `<a t="é€😀">ü 日本 😀</a>`,
		want: `<a t="é€😀">ü 日本 😀</a>`,
	},
	{
		name: "empty elements",
		in:   `<a><b/><c></c><d> </d></a>`,
		want: `<a><b></b><c></c><d> </d></a>`,
	},
	{
		name: "comments dropped, PIs kept",
		in:   `<!-- before --><a><!-- in -->x<?pi  some data?><?empty?><b><!--deep--></b></a><!-- after -->`,
		want: `<a>x<?pi some data?><?empty?><b></b></a>`,
	},
	{
		name: "whitespace preserved",
		in:   "<a>\n  <b> x </b>\t\n  <c/>\n</a>",
		want: "<a>\n  <b> x </b>\t\n  <c></c>\n</a>",
	},
	{
		name: "xml:* attributes are not inherited",
		in:   `<a xml:lang="en" xmlns:xml="http://www.w3.org/XML/1998/namespace"><b xml:space="preserve" xml:id="i"/></a>`,
		sel:  "b",
		want: `<b xml:id="i" xml:space="preserve"></b>`,
	},
	{
		name: "declaration and prolog are not output",
		in:   "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- c --><?pi x?>\n<a/>\n",
		want: `<a></a>`,
	},
}

func TestCanonicalize(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			el := pick(t, mustParse(t, tc.in), tc.sel)
			got, err := Canonicalize(el, tc.incl)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// TestNoMutation: pitfall 2. The tree is byte-for-byte the same afterwards,
// on success and on error.
func TestNoMutation(t *testing.T) {
	inputs := []struct {
		xml, sel string
		fail     bool
	}{
		{cases[0].in, "eb:Messaging", false},
		{`<a xmlns="urn:x" xmlns:q="urn:q" q:z="1" b="2"><!--c--><b><![CDATA[x]]></b></a>`, "", false},
		{`<a xmlns:p="urn:p"><p:b><c><q:d/></c></p:b></a>`, "p:b", true}, // q undeclared
		{`<a xmlns:p="urn:p"><p:b><c x:y="1"/></p:b></a>`, "p:b", true},  // x undeclared
	}
	for i, in := range inputs {
		doc := etree.NewDocument()
		doc.ReadSettings.PreserveCData = true
		if err := doc.ReadFromString(in.xml); err != nil {
			t.Fatal(err)
		}
		before, _ := doc.WriteToString()
		el := pick(t, doc.Root(), in.sel)
		parent, index := el.Parent(), el.Index()
		_, err := Canonicalize(el, []string{"#default", "q"})
		if (err != nil) != in.fail {
			t.Fatalf("case %d: err = %v, want failure %v", i, err, in.fail)
		}
		after, _ := doc.WriteToString()
		if before != after {
			t.Errorf("case %d: document changed:\n%s\n%s", i, before, after)
		}
		if el.Parent() != parent || el.Index() != index {
			t.Errorf("case %d: element moved", i)
		}
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name, in string
		check    func(error) bool
	}{
		{"undeclared element prefix", `<a><p:b/></a>`, func(err error) bool {
			var u *UndeclaredPrefixError
			return errors.As(err, &u) && u.Prefix == "p" && u.Element == "p:b"
		}},
		{"undeclared attribute prefix", `<a x:k="1"/>`, func(err error) bool {
			var u *UndeclaredPrefixError
			return errors.As(err, &u) && u.Prefix == "x"
		}},
		{"prefix undeclaration", `<a xmlns:p="urn:p"><p:b xmlns:p=""/></a>`, nil},
		{"xmlns prefix declared", `<a xmlns:xmlns="urn:x"/>`, nil},
		{"xml prefix rebound", `<a xmlns:xml="urn:x"/>`, nil},
		{"duplicate expanded attribute", `<a xmlns:p="urn:1" xmlns:q="urn:1" p:x="1" q:x="2"/>`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Canonicalize(mustParse(t, tc.in), nil)
			if err == nil || (tc.check != nil && !tc.check(err)) {
				t.Fatalf("err = %v", err)
			}
		})
	}
	if _, err := Canonicalize(nil, nil); err == nil {
		t.Error("nil element accepted")
	}
}

// TestCDATAFromAPI: CDATA built with etree's API (flagged, written back as
// <![CDATA[ by etree) is plain text in canonical form.
func TestCDATAFromAPI(t *testing.T) {
	el := etree.NewElement("a")
	el.CreateCData("<&>")
	el.CreateText("\r")
	got, err := Canonicalize(el, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "<a>&lt;&amp;&gt;&#xD;</a>"; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// bigBody builds an invoice-like S12:Body of about n elements in several
// namespaces, default namespace included, with text that needs escaping.
func bigBody(n int) string {
	var b strings.Builder
	b.WriteString(`<S12:Envelope xmlns:S12="` + s12NS + `" xmlns:wsu="` + wsuNS + `"><S12:Header/>`)
	b.WriteString(`<S12:Body wsu:Id="body-1"><Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"` +
		` xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"` +
		` xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"><cbc:ID>INV-1</cbc:ID>`)
	for i := 0; i*5 < n; i++ {
		fmt.Fprintf(&b, "\n  <cac:InvoiceLine><cbc:ID>%d</cbc:ID><cbc:InvoicedQuantity unitCode=\"C62\">%d</cbc:InvoicedQuantity>"+
			"<cac:Item><cbc:Name>Widget &amp; gadget &lt;%d&gt;</cbc:Name></cac:Item>"+
			"<cbc:LineExtensionAmount currencyID=\"EUR\">%d.00</cbc:LineExtensionAmount></cac:InvoiceLine>", i, i%7+1, i, i*3)
	}
	b.WriteString("\n</Invoice></S12:Body></S12:Envelope>")
	return b.String()
}

// TestLargeBody: pitfall 5, no fixed element budget; limits are the
// caller's.
func TestLargeBody(t *testing.T) {
	root := mustParse(t, bigBody(5000))
	body := pick(t, root, "S12:Body")
	count := 0
	walk(body, func(*etree.Element) { count++ })
	if count < 5000 {
		t.Fatalf("test body has only %d elements", count)
	}
	got, err := Canonicalize(body, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(got, []byte("</")); n != count {
		t.Errorf("%d end tags for %d elements", n, count)
	}
	if _, err := CanonicalizeWithOptions(body, Options{MaxElements: count}); err != nil {
		t.Errorf("limit equal to the element count: %v", err)
	}
	if _, err := CanonicalizeWithOptions(body, Options{MaxElements: count - 1}); !errors.Is(err, ErrTooManyElements) {
		t.Errorf("MaxElements: err = %v", err)
	}
	if _, err := CanonicalizeWithOptions(body, Options{MaxDepth: 5}); err != nil {
		t.Errorf("MaxDepth 5: %v", err)
	}
	if _, err := CanonicalizeWithOptions(body, Options{MaxDepth: 4}); !errors.Is(err, ErrTooDeep) {
		t.Errorf("MaxDepth 4: err = %v", err)
	}
}

func TestParsePrefixList(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{" \t\r\n", nil},
		{"S12", []string{"S12"}},
		{"eb3 soapenv\txsd\r\nxsi  #default", []string{"eb3", "soapenv", "xsd", "xsi", "#default"}},
		{"a b a", []string{"a", "b"}},
		{"a\u00a0b", []string{"a\u00a0b"}}, // NBSP is not XML white space
	}
	for _, tc := range tests {
		if got := ParsePrefixList(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("ParsePrefixList(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n -= len(p); w.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestCanonicalizeTo(t *testing.T) {
	body := pick(t, mustParse(t, bigBody(2000)), "S12:Body")
	want, err := Canonicalize(body, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if err := CanonicalizeTo(h, body, Options{}); err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(want); !bytes.Equal(h.Sum(nil), sum[:]) {
		t.Error("streamed digest differs")
	}
	var buf bytes.Buffer
	if err := CanonicalizeTo(&buf, body, Options{}); err != nil || !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("bytes.Buffer output differs (err %v)", err)
	}
	if err := CanonicalizeTo(&failWriter{n: 1000}, body, Options{}); err == nil {
		t.Error("write error not reported")
	}
}

// TestConcurrentReaders: the canonicalizer only reads the tree, so signing
// and verifying goroutines may share one (run with -race).
func TestConcurrentReaders(t *testing.T) {
	body := pick(t, mustParse(t, bigBody(500)), "S12:Body")
	want, err := Canonicalize(body, []string{"#default"})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			got, err := Canonicalize(body, []string{"#default"})
			if err == nil && !bytes.Equal(got, want) {
				err = errors.New("output differs")
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
