package soap

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// treeEdgeCases exercise every rule parseTree copies from encoding/xml and
// etree. ok is what etree does (checked too, so the table documents it).
var treeEdgeCases = []struct {
	name string
	in   string
	ok   bool
}{
	{"empty input", "", true},
	{"only whitespace", " \r\n\t", true},
	{"top-level text", "abc", true},
	{"two roots", "<a/><b/>", true},
	{"text around root", "x<a/>y", true},
	{"simple", "<a>b</a>", true},
	{"self-closing", "<a/>", true},
	{"self-closing with space", "<a  / >", false},
	{"self-closing spaced", "<a />", true},
	{"unclosed", "<a>", false},
	{"unclosed nested", "<a><b></b>", false},
	{"stray end", "</a>", false},
	{"mismatched end", "<a></b>", false},
	{"end tag space", "<a></a \r\n>", true},
	{"end tag junk", "<a></a x>", false},
	{"prefix mismatch", "<p:a></q:a>", false},
	{"prefix match", "<p:a></p:a>", true},
	{"three-part name", "<a:b:c/>", false},
	{"leading colon", "<:a></:a>", true},
	{"leading colon vs plain", "<:a></a>", false},
	{"trailing colon", "<a:></a:>", true},
	{"lone colon", "<:/>", true},
	{"double colon", "<a::b/>", false},
	{"attr leading colon", `<a :x="1" x="2"/>`, true},
	{"attr trailing colon", `<a x:="1" x="2"/>`, true},
	{"attr three-part", `<a x:y:z="1"/>`, false},
	{"name starts with digit", "<1a/>", false},
	{"name starts with dash", "<-a/>", false},
	{"name starts with dot", "<.a/>", false},
	{"name with digits", "<a1.-_/>", true},
	{"unicode name", "<été/>", true},
	{"unicode name bad first", "<\u0300a/>", false},
	{"unicode name combining second", "<a\u0300/>", true},
	{"invalid utf8 name", "<a\xff/>", false},
	{"name at EOF", "<abc", false},
	{"lt at EOF", "<", false},
	{"lt space", "< a/>", false},
	{"no space between attributes", `<a x="1"y="2"/>`, true},
	{"attr spaces around =", "<a x \n= \t'1'/>", true},
	{"attr unquoted", "<a x=1/>", false},
	{"attr no value", "<a x/>", false},
	{"attr no value end", "<a x>", false},
	{"attr lt", `<a x="<"/>`, false},
	{"attr gt", `<a x=">"/>`, true},
	{"attr ]]>", `<a x="]]>"/>`, true},
	{"attr other quote", `<a x="'" y='"'/>`, true},
	{"attr CRLF", "<a x=\"1\r\n2\r3\n4\r\r\n5\"/>", true},
	{"attr tab", "<a x=\"1\t2\"/>", true},
	{"attr entities", `<a x="&lt;&gt;&amp;&apos;&quot;&#65;&#x42;"/>`, true},
	{"attr unknown entity", `<a x="&nbsp;"/>`, false},
	{"attr EOF", `<a x="abc`, false},
	{"attr empty", `<a x=""/>`, true},
	{"attr control char", "<a x=\"\x01\"/>", false},
	{"attr bad utf8", "<a x=\"\xc3\"/>", false},
	{"duplicate attr", `<a x="1" y="2" x="3"/>`, true},
	{"duplicate prefixed attr", `<a p:x="1" x="2" p:x="3"/>`, true},
	{"duplicate colon attr", `<a :x="1" x="2" :x="3"/>`, true},
	{"single attr", `<a x="1"/>`, true},
	{"text CRLF", "<a>1\r\n2\r3\n4\r\r\n5\r</a>", true},
	{"text ref CR then LF", "<a>&#13;\n</a>", true},
	{"text CR then ref", "<a>\r&#10;</a>", true},
	{"text entities", "<a>&lt;&gt;&amp;&apos;&quot;</a>", true},
	{"text decimal ref", "<a>&#65;&#0065;</a>", true},
	{"text hex ref", "<a>&#x41;&#x00041;&#xa0;&#xA0;</a>", true},
	{"text upper X ref", "<a>&#X41;</a>", false},
	{"text empty ref", "<a>&#;</a>", false},
	{"text empty hex ref", "<a>&#x;</a>", false},
	{"text hex digits in decimal", "<a>&#1a;</a>", false},
	{"text ref NUL", "<a>&#0;</a>", false},
	{"text ref control", "<a>&#1;</a>", false},
	{"text ref tab", "<a>&#9;</a>", true},
	{"text ref surrogate", "<a>&#xD800;</a>", true},
	{"text ref FFFE", "<a>&#xFFFE;</a>", false},
	{"text ref max", "<a>&#x10FFFF;</a>", true},
	{"text ref above max", "<a>&#x110000;</a>", false},
	{"text ref huge", "<a>&#99999999999999999999999;</a>", false},
	{"text ref many zeros", "<a>&#0000000000000000000000000065;</a>", true},
	{"text ref no semicolon", "<a>&#65 </a>", false},
	{"text ref EOF", "<a>&#65", false},
	{"text amp EOF", "a&", false},
	{"text amp space", "<a>& </a>", false},
	{"text amp semicolon", "<a>&;</a>", false},
	{"text unknown entity", "<a>&nbsp;</a>", false},
	{"text entity prefix", "<a>&ltx;</a>", false},
	{"text entity no semicolon", "<a>&lt </a>", false},
	{"text entity case", "<a>&LT;</a>", false},
	{"text ]]>", "<a>]]></a>", false},
	{"text ]]>", "<a>]]&gt;</a>", true},
	{"text ] ]>", "<a>] ]></a>", true},
	{"text ]]]>", "<a>]]]></a>", false},
	{"text ref resets ]]", "<a>]&#93;]></a>", true},
	{"text gt", "<a>></a>", true},
	{"text control char", "<a>\x01</a>", false},
	{"text DEL", "<a>\x7f</a>", true},
	{"text bad utf8", "<a>\xff</a>", false},
	{"text truncated utf8", "<a>\xe2\x82</a>", false},
	{"text utf8 FFFD", "<a>\uFFFD</a>", true},
	{"text U+FFFE", "<a>\uFFFE</a>", false},
	{"text encoded surrogate", "<a>\xed\xa0\x80</a>", false},
	{"text supplementary", "<a>\U0001F600</a>", true},
	{"whitespace text", "<a> \t\r\n</a>", true},
	{"nbsp text not whitespace", "<a>\u00a0</a>", true},
	{"cdata", "<a><![CDATA[<&>]]></a>", true},
	{"cdata empty", "<a><![CDATA[]]></a>", true},
	{"cdata splits text", "<a>x<![CDATA[y]]>z</a>", true},
	{"cdata whitespace", "<a><![CDATA[ \n]]></a>", true},
	{"cdata CRLF", "<a><![CDATA[1\r\n2\r]]></a>", true},
	{"cdata ]]]>", "<a><![CDATA[]]]></a>", true},
	{"cdata entity kept", "<a><![CDATA[&nbsp;]]></a>", true},
	{"cdata unterminated", "<a><![CDATA[x]]", false},
	{"cdata bad utf8", "<a><![CDATA[\xff]]></a>", false},
	{"cdata control", "<a><![CDATA[\x00]]></a>", false},
	{"cdata lowercase", "<a><![cdata[x]]></a>", false},
	{"cdata top level", "<![CDATA[x]]>", true},
	{"comment", "<a><!-- x --></a>", true},
	{"comment empty", "<!---->", true},
	{"comment dash end", "<!-- x --->", false},
	{"comment double dash", "<!-- a -- b -->", false},
	{"comment three dashes open", "<!--->", false},
	{"comment ->", "<!---->-->", true},
	{"comment splits text", "<a>x<!--c-->y</a>", true},
	{"comment bad utf8 ok", "<!--\xff\x00-->", true},
	{"comment CRLF kept", "<!--\r\n-->", true},
	{"comment unterminated", "<!-- x --", false},
	{"comment single dash", "<!-x-->", false},
	{"comment EOF after <!", "<!", false},
	{"comment EOF after <!-", "<!-", false},
	{"pi xml decl", `<?xml version="1.0" encoding="UTF-8"?><a/>`, true},
	{"pi xml decl single quotes", `<?xml version='1.0'?><a/>`, true},
	{"pi xml 1.1", `<?xml version="1.1"?><a/>`, false},
	{"pi xml no version", `<?xml encoding="utf-8"?><a/>`, true},
	{"pi xml other encoding", `<?xml version="1.0" encoding="ISO-8859-1"?><a/>`, true},
	{"pi xml weird version", `<?xml version=1.1?><a/>`, true},
	{"pi xml version in other param", `<?xml myversion="2.0"?><a/>`, false},
	{"pi xml not first", `<a/><?xml version="1.0"?>`, true},
	{"pi XML upper", `<?XML version="9"?><a/>`, true},
	{"pi other", "<?foo bar baz?><a/>", true},
	{"pi empty", "<?foo?>", true},
	{"pi no space", "<?foo>x?>", true},
	{"pi question", "<?foo ??>", true},
	{"pi colon target", "<?a:b:c x?>", true},
	{"pi no target", "<? x?>", false},
	{"pi bad target", "<?1x?>", false},
	{"pi unterminated", "<?foo bar", false},
	{"pi bad utf8 ok", "<?foo \xff\x01?>", true},
	{"pi CRLF kept", "<?foo a\r\nb?>", true},
	{"pi in element", "<a><?p d?></a>", true},
	{"directive", "<!DOCTYPE a><a/>", true},
	{"directive internal subset", `<!DOCTYPE a [<!ENTITY b "c">]><a/>`, true},
	{"directive entity still rejected", `<!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>`, false},
	{"directive quoted gt", `<!DOCTYPE a "x>y"><a/>`, true},
	{"directive nested comment", "<!DOCTYPE a <!-- > --> ><a/>", true},
	{"directive nested lt", "<!DOCTYPE a <b>><a/>", true},
	{"directive lt gt", "<!DOCTYPE <>><a/>", true},
	{"directive lt lt", "<!X <<!-- -->>>><a/>", true},
	{"directive partial comment", "<!X <!-x>><a/>", true},
	{"directive starting >", "<!>x>", true},
	{"directive starting quote", `<!"x>`, true},
	{"directive NUL", "<!X \x00\"a>\">", true},
	{"directive unterminated", "<!DOCTYPE a", false},
	{"directive unterminated comment", "<!X <!-- x", false},
	{"directive in element", "<a><!X y></a>", true},
	{"many roots and junk", "<?p?>t<!--c--><a/>\r\n<b x='1'/>", true},
	{"nested", "<a><b><c/></b>t<d></d></a>", true},
	{"many attributes", "<a" + manyAttrs(40, 0) + "/>", true},
	{"many attributes with duplicates", "<a" + manyAttrs(40, 7) + "/>", true},
	{"duplicate right at the index threshold", "<a" + manyAttrs(16, 0) + ` a0="x" a1="y" a16="z" a0="w"/>`, true},
	{"many attributes, second element", "<r><a" + manyAttrs(20, 3) + "/><b" + manyAttrs(17, 4) + "/></r>", true},
}

// manyAttrs renders n attributes a0..; with dupEvery > 0, every
// dupEvery-th one repeats an earlier name (also across prefixes).
func manyAttrs(n, dupEvery int) string {
	var sb strings.Builder
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("a%d", i)
		if dupEvery > 0 && i%dupEvery == dupEvery-1 {
			name = fmt.Sprintf("a%d", i/3)
		}
		if i%5 == 4 {
			name = "p:" + name
		}
		fmt.Fprintf(&sb, ` %s="%d"`, name, i)
	}
	return sb.String()
}

func TestParseTreeEdgeCases(t *testing.T) {
	for _, tc := range treeEdgeCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := etreeOracle([]byte(tc.in), 0)
			if (err == nil) != tc.ok {
				t.Fatalf("etree: err=%v, table says ok=%v", err, tc.ok)
			}
			checkSameAsEtree(t, []byte(tc.in), 0)
		})
	}
}

func TestParseTreeMaxDepth(t *testing.T) {
	for _, depth := range []int{-1, 0, 1, 2, 3, 16} {
		for n := 0; n <= 5; n++ {
			in := strings.Repeat("<a>", n) + "<b/>" + strings.Repeat("</a>", n)
			checkSameAsEtree(t, []byte(in), depth)
		}
	}
	// The default depth applies when MaxDepth <= 0.
	deep := []byte(strings.Repeat("<a>", 1025) + strings.Repeat("</a>", 1025))
	checkSameAsEtree(t, deep, 0)
	if _, err := parseTree(deep, 0); err != etree.ErrMaxDepth {
		t.Fatalf("want ErrMaxDepth, got %v", err)
	}
	if _, err := parseTree([]byte("<a><b/></a>"), 1); err != etree.ErrMaxDepth {
		t.Fatalf("want ErrMaxDepth, got %v", err)
	}
}

// TestParseTreeOwnsStrings checks that the tree does not alias the input:
// parseEnvelopeBytes's callers may reuse the buffer.
func TestParseTreeOwnsStrings(t *testing.T) {
	data := []byte(`<a x="v">text<!--c--></a>`)
	doc, err := parseTree(data, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range data {
		data[i] = 'Z'
	}
	root := doc.Root()
	if root.Tag != "a" || root.SelectAttrValue("x", "") != "v" || root.Text() != "text" {
		t.Fatalf("tree changed with the input: %s", dumpTree(doc))
	}
}

// TestParseTreeVectors compares the trees for every stored envelope and
// receipt, as parseEnvelopeBytes prepares them.
func TestParseTreeVectors(t *testing.T) {
	roots := vectorRootParts(t)
	if len(roots) == 0 {
		t.Skip("no vectors")
	}
	for rel, data := range roots {
		t.Run(rel, func(t *testing.T) {
			checkSameAsEtree(t, data, 0)
			prepared := NormalizeAttributeWhitespace(trimProlog(data))
			checkSameAsEtree(t, prepared, DefaultLimits().MaxXMLDepth)
			if _, err := parseTree(prepared, DefaultLimits().MaxXMLDepth); err != nil {
				if _, serr := scanXML(prepared, DefaultLimits()); serr == nil {
					t.Errorf("vector root part rejected: %v", err)
				}
			}
		})
	}
}

// vectorRootParts returns the SOAP root part of every vector ReadCaptured
// can read, keyed by the vector's path.
func vectorRootParts(t testing.TB) map[string][]byte {
	dir := vectorsDir(t)
	roots := map[string][]byte{}
	for _, rel := range envelopeVectors(t, dir) {
		data := readVector(t, rel)
		msg, err := ReadCaptured(bytes.NewReader(data), "", DefaultLimits(), t.TempDir())
		if err != nil {
			continue
		}
		roots[rel] = bytes.Clone(msg.EnvelopeBytes)
		msg.Close()
	}
	return roots
}

// TestXMLNameTablesMatchStdlib probes the edges of every range in the
// copied name tables against encoding/xml itself, through a processing
// instruction target (encoding/xml checks it with isName and nothing
// else).
func TestXMLNameTablesMatchStdlib(t *testing.T) {
	stdlibIsName := func(name string) bool {
		d := xml.NewDecoder(strings.NewReader("<?" + name + "?>"))
		_, err := d.RawToken()
		return err == nil
	}
	// Non-ASCII names go to encoding/xml itself; these pin what it answers.
	for _, c := range []struct {
		name string
		want bool
	}{
		{"é", true}, {"aé", true}, {"Ω", true},
		{"·", false}, {"a·", true}, // U+00B7 may follow, not start
		{"×", false}, {"a×", false}, // U+00D7 is no name character
		{"\xff", false}, {"a\xff", false}, {"a\xc3", false}, // not UTF-8
	} {
		if got := isXMLName(c.name); got != c.want {
			t.Errorf("isXMLName(%q) = %v, want %v", c.name, got, c.want)
		}
	}
	for c := 0; c < 0x80; c++ {
		if !isNameByte(byte(c)) {
			continue
		}
		if got, want := nameStartASCII[c], stdlibIsName(string(rune(c))); got != want {
			t.Errorf("nameStartASCII[%q] = %v, encoding/xml says %v", rune(c), got, want)
		}
		if !stdlibIsName("a" + string(rune(c))) {
			t.Errorf("encoding/xml refuses %q after a first letter; name() assumes every name byte may follow", rune(c))
		}
	}
}
