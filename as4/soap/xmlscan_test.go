package soap

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// etreeAccepts reports whether etree, set up as parseEnvelopeBytes sets it
// up but without a depth limit, reads data. Those are the documents on
// which the scanner must agree with the reference scan exactly: on the
// others etree refuses the envelope whatever the scan says.
func etreeAccepts(data []byte) bool {
	doc := etree.NewDocument()
	doc.ReadSettings.MaxDepth = 1 << 30
	return doc.ReadFromBytes(data) == nil
}

// sameVerdict compares a scan result with the reference's: both accept
// with the same statistics, or both refuse for the same limit, or at the
// same offset for the same reason.
func sameVerdict(gotStats xmlStats, got error, wantStats xmlStats, want error) error {
	if got == nil || want == nil {
		if got != nil || want != nil {
			return fmt.Errorf("scan: %v, reference: %v", got, want)
		}
		if gotStats != wantStats {
			return fmt.Errorf("stats %+v, reference %+v", gotStats, wantStats)
		}
		return nil
	}
	var gl, wl *LimitError
	if errors.As(want, &wl) {
		if !errors.As(got, &gl) || gl.Limit != wl.Limit {
			return fmt.Errorf("scan: %v, reference: %v", got, want)
		}
		return nil
	}
	var ge, we *EnvelopeError
	if !errors.As(want, &we) || !errors.As(got, &ge) || ge.Offset != we.Offset || ge.Reason != we.Reason {
		return fmt.Errorf("scan: %v, reference: %v", got, want)
	}
	return nil
}

// compareWithReference checks the scanner against the reference on data
// as parseEnvelopeBytes prepares it. It reports whether etree accepts the
// document (and so whether the comparison was made).
func compareWithReference(t *testing.T, data []byte, lim Limits) bool {
	t.Helper()
	data = NormalizeAttributeWhitespace(trimProlog(data))
	gotStats, got := scanXML(data, lim)
	if got != nil {
		checkError(t, got)
	}
	if !etreeAccepts(data) {
		return false
	}
	wantStats, want := refScanXML(data, lim)
	if err := sameVerdict(gotStats, got, wantStats, want); err != nil {
		t.Fatalf("%v\ninput %q", err, data)
	}
	return true
}

const s12 = `<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope">`

// scanCases are documents etree reads whose verdicts hinge on details of
// how encoding/xml splits markup.
var scanCases = []string{
	env12,
	env11,
	"<?xml version='1.0' encoding='utf-8'?>" + env12,
	`<?xml version="1.0" encoding="UTF-8" standalone="no"?>` + env12,
	`<?xml version="1.0" encoding="ISO-8859-1"?>` + env12,
	`<?xml version="1.0" encoding='latin1"?>` + env12,
	`<?xml encoding="x" version="1.0"?>` + env12,
	`<?xml?>` + env12,
	` <?xml version="1.0"?>` + env12,
	`<?xml-stylesheet href="a"?>` + env12,
	`<?XML version="1.0"?>` + env12,
	s12 + `<S12:Body><?php x?></S12:Body></S12:Envelope>`,
	s12 + `<S12:Body><?xml version="1.0" encoding="koi8-r"?></S12:Body></S12:Envelope>`,
	`<!DOCTYPE S12:Envelope>` + env12,
	`<!DOCTYPE x [<!ENTITY a "b"><!-- > --> ]>` + env12,
	`<!DOC<!--x-->TYPE y>` + env12,
	s12 + `<S12:Body><!DOCTYPE a></S12:Body></S12:Envelope>`,
	`<!-- a -- b -->` + env12,
	`<!---->` + env12 + `<!-- - -->`,
	s12 + `<S12:Body><![CDATA[<a>]]></S12:Body></S12:Envelope>`,
	`<![CDATA[ ]]>` + env12,
	`<![CDATA[x]]>` + env12,
	env12 + `<![CDATA[]]>`,
	env12 + "&#32;&#x9;&#xA;&#13;",
	env12 + "&#x20",
	env12 + "&amp;",
	env12 + "&#65;",
	env12 + " x",
	"x" + env12,
	env12 + env12,
	`<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope" a="1"b='2'><S12:Body/></S12:Envelope>`,
	`<S12:Envelope xmlns:S12 = "http://www.w3.org/2003/05/soap-envelope" ><S12:Body /></S12:Envelope >`,
	`<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope"><S12:Body a=">" b='"'/></S12:Envelope>`,
	s12 + `<S12:Body><a: xmlns:a="u"/></S12:Body></S12:Envelope>`,
	s12 + `<S12:Body><:a/></S12:Body></S12:Envelope>`,
	s12 + `<S12:Body :x="1" y:="2"/></S12:Envelope>`,
	s12 + `<S12:Body xmlns:="u"/></S12:Envelope>`,
	s12 + `<S12:Body x="1" x="1"/></S12:Envelope>`,
	s12 + `<S12:Body xmlns:a="u" xmlns:b="u" a:x="1" b:x="1"/></S12:Envelope>`,
	s12 + `<S12:Body xmlns:a="u&amp;" xmlns:b="u&#38;" a:x="1" b:x="1"/></S12:Envelope>`,
	s12 + "<S12:Body xmlns:a=\"u\tv\" xmlns:b=\"u v\" a:x=\"1\" b:x=\"1\"/></S12:Envelope>",
	s12 + "<S12:Body xmlns:a=\"u\r\nv\" xmlns:b=\"u\rv\" a:x=\"1\" b:x=\"1\"/></S12:Envelope>",
	s12 + `<S12:Body xmlns:a="u" a:x="1" x="1"/></S12:Envelope>`,
	s12 + `<S12:Body xmlns="u" x="1" S12:x="1"/></S12:Envelope>`,
	s12 + `<S12:Body xmlns:xml="http://www.w3.org/XML/1998/namespace" xml:lang="sv"/></S12:Envelope>`,
	s12 + `<S12:Body xmlns:xml="urn:x"/></S12:Envelope>`,
	s12 + `<S12:Body xmlns:p="http://www.w3.org/XML/1998/namespace"/></S12:Envelope>`,
	s12 + `<S12:Body xmlns:p="http://www.w3.org/2000/xmlns/"/></S12:Envelope>`,
	s12 + `<S12:Body xmlns:xmlns="urn:x"/></S12:Envelope>`,
	s12 + `<S12:Body xmlns:p=""/></S12:Envelope>`,
	s12 + `<S12:Body xmlns=""><x/></S12:Body></S12:Envelope>`,
	s12 + `<S12:Body><xml:a/><xmlns:b/></S12:Body></S12:Envelope>`,
	s12 + `<S12:Body><a xmlns:p="u"/><p:b/></S12:Body></S12:Envelope>`,
	s12 + `<S12:Body><a xmlns:p="u"><p:b xmlns:p="v"/><p:c/></a></S12:Body></S12:Envelope>`,
	s12 + `<S12:Body><é xmlns:ü="u"><ü:ö/></é></S12:Body></S12:Envelope>`,
	s12 + `<S12:Body><a></b></a></S12:Body></S12:Envelope>`,
	s12 + `<S12:Body>` + "\r\n<a\r\nb='1'\r\n/>" + `</S12:Body></S12:Envelope>`,
	`<Envelope xmlns="urn:not-soap"/>`,
	env12[:len(env12)-1],
	``,
	`   `,
	`<!-- only a comment -->`,
}

func TestScanXMLMatchesReference(t *testing.T) {
	small := Limits{MaxXMLDepth: 3, MaxAttributesPerElement: 2, MaxNamespaceDeclarations: 2, MaxElements: 4}.WithDefaults()
	for i, in := range scanCases {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if !compareWithReference(t, []byte(in), DefaultLimits()) {
				t.Logf("etree refuses %q", in)
			}
			compareWithReference(t, []byte(in), small)
		})
	}
}

// TestScanXMLManyDeclarations drives the prefix index: more bindings in
// scope than the linear stack holds, shadowing, and unbinding on the way
// out.
func TestScanXMLManyDeclarations(t *testing.T) {
	var b strings.Builder
	b.WriteString(s12 + `<S12:Body>`)
	for i := range 40 {
		fmt.Fprintf(&b, `<e%d xmlns:p%d="urn:%d" xmlns:q="urn:q%d">`, i, i, i, i)
	}
	b.WriteString(`<p0:x p39:a="1" q:b="2" p5:c="3"/>`)
	for i := 39; i >= 0; i-- {
		fmt.Fprintf(&b, `</e%d>`, i)
	}
	inside := b.String()
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"all in scope", inside + `</S12:Body></S12:Envelope>`, true},
		{"prefix used after its scope", inside + `<p3:y/></S12:Body></S12:Envelope>`, false},
		{"shadowed prefix restored", strings.Replace(inside, `<e1 `, `<e1 xmlns:p0="urn:0" `, 1) + `</S12:Body></S12:Envelope>`, true},
		{"duplicate through shadowing", strings.Replace(inside, `q:b="2"`, `q:a="2" xmlns:q="urn:39"`, 1) + `</S12:Body></S12:Envelope>`, false},
	}
	lim := DefaultLimits()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !compareWithReference(t, []byte(tc.in), lim) {
				t.Fatal("etree refuses the test document")
			}
			_, err := scanXML([]byte(tc.in), lim)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

// TestScanXMLMalformed: markup the scanner cannot follow is refused as not
// well-formed (etree would refuse it too), never accepted or panicked on.
func TestScanXMLMalformed(t *testing.T) {
	for _, in := range []string{
		"<", "<a", "<a b", "<a b=", "<a b=1>", `<a b="1`, "<a/", "</", "</a", "<a></a b>",
		"<!--", "<!-- a -- b", "<![CDATA[", "<!x", "<?", "<?xml", "<?xml?", "<a:b:c/>", "<a></a:b:c>",
		"<a b:c:d='1'/>", `<a xmlns:p="&bogus;"/>`, `<a xmlns:p="&#xZZ;"/>`, `<a xmlns:p="&#1114112;"/>`,
	} {
		_, err := scanXML([]byte(in), DefaultLimits())
		var ee *EnvelopeError
		if !errors.As(err, &ee) {
			t.Errorf("%q: %v, want an *EnvelopeError", in, err)
		}
	}
}

func TestDecodeReference(t *testing.T) {
	tests := []struct {
		in   string
		r    rune
		n    int
		fail bool
	}{
		{"&lt;", '<', 4, false}, {"&gt;x", '>', 4, false}, {"&amp;", '&', 5, false},
		{"&apos;", '\'', 6, false}, {"&quot;", '"', 6, false},
		{"&#32;", ' ', 5, false}, {"&#x20;", ' ', 6, false}, {"&#X20;", 0, 0, true},
		{"&#0000065;", 'A', 10, false}, {"&#x10FFFF;", 0x10FFFF, 10, false},
		{"&#x110000;", 0, 0, true}, {"&#99999999999999999999;", 0, 0, true},
		{"&#;", 0, 0, true}, {"&#x;", 0, 0, true}, {"&#32", 0, 0, true},
		{"&nbsp;", 0, 0, true}, {"&lt", 0, 0, true}, {"&", 0, 0, true},
	}
	for _, tc := range tests {
		r, n, ok := decodeReference([]byte(tc.in))
		if ok == tc.fail || (ok && (r != tc.r || n != tc.n)) {
			t.Errorf("%q: %q %d %v, want %q %d fail=%v", tc.in, r, n, ok, tc.r, tc.n, tc.fail)
		}
	}
}

func TestDecodeAttrValue(t *testing.T) {
	for in, want := range map[string]string{
		"plain": "plain", "a&amp;b": "a&b", "a\r\nb\rc": "a\nb\nc", "&#13;\n": "\r\n", "&#xD800;": "\uFFFD",
	} {
		got, err := decodeAttrValue([]byte(in))
		if err != nil || string(got) != want {
			t.Errorf("%q: %q %v, want %q", in, got, err, want)
		}
	}
	plain := []byte("urn:x")
	if got, _ := decodeAttrValue(plain); &got[0] != &plain[0] {
		t.Error("a value without references was copied")
	}
}

// FuzzScanDifferential holds the scanner to the encoding/xml-based scan it
// replaced: on every document etree reads, both accept with the same
// statistics or refuse for the same reason, under limits the fuzzer picks.
func FuzzScanDifferential(f *testing.F) {
	for _, in := range scanCases {
		f.Add([]byte(in), uint8(8), uint8(4), uint8(4), uint8(32))
	}
	f.Add([]byte(deepXML(20)), uint8(16), uint8(8), uint8(16), uint8(255))
	f.Add([]byte(withAttrs(9, true)), uint8(16), uint8(8), uint8(8), uint8(255))
	addVectorSeeds(f, func(rel string, data []byte) {
		f.Add(data, uint8(64), uint8(64), uint8(255), uint8(255))
	})
	g := &genDoc{r: rand.New(rand.NewPCG(3, 4))}
	for i := range 64 {
		f.Add(g.document(), uint8(i), uint8(i/4), uint8(i/2), uint8(i))
	}
	f.Fuzz(func(t *testing.T, data []byte, depth, attrs, decls, elements uint8) {
		lim := Limits{
			MaxXMLDepth:              int(depth)%64 + 1,
			MaxAttributesPerElement:  int(attrs)%64 + 1,
			MaxNamespaceDeclarations: int(decls) + 1,
			MaxElements:              int(elements)*4 + 1,
		}.WithDefaults()
		compareWithReference(t, data, lim)
	})
}
