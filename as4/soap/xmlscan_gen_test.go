package soap

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// genDoc writes a random document from pieces chosen to hit the scan's
// rules (prefixes bound and unbound, shadowing, duplicate attributes under
// different prefixes, references in namespace URIs, markup outside the
// root, limits): random bytes rarely form XML etree reads, these mostly do.
type genDoc struct {
	r     *rand.Rand
	b     strings.Builder
	bound []string // prefixes declared by open elements (may repeat)
}

var (
	genPrefixes     = []string{"", "", "a", "b", "c", "xml", "xmlns", "S12"}
	genDeclPrefixes = []string{"", "a", "b", "c", "a", "S12"}
	genLocals       = []string{"x", "y", "Id", "e", "xmlns"}
	genURIs         = []string{"urn:u", "urn:v", "urn:u", "urn:&#117;", "urn:&amp;", "urn:&#x26;", "urn:v", "u\tv", "u v", "urn:u"}
	genBadURIs      = []string{"", namespaceXML, namespaceXMLNS, NamespaceSOAP12}
	genSpace        = []string{"", " ", "\n", "\r\n", "\t", "  "}
	genOuter        = []string{"", "", "", " ", "\n", "<!-- c -->", "<![CDATA[ ]]>", "&#32;", "", "", "", "", "", "<![CDATA[x]]>", "&#x41;", "x", "<?pi x?>", "<!DOCTYPE d>"}
	genInner        = []string{"", "t", "&lt;&amp;&#65;", "<!-- c -->", "<![CDATA[<x>]]>", "\r\n", " &#x20; ", "", "", "", "", "<?pi?>"}
)

func (g *genDoc) pick(s []string) string { return s[g.r.IntN(len(s))] }

// qname mostly uses a prefix in scope, so that many documents pass the
// namespace checks and reach the limits.
func (g *genDoc) qname() string {
	p, l := g.pick(genPrefixes), g.pick(genLocals)
	if len(g.bound) > 0 && g.r.IntN(8) > 0 {
		p = g.pick(g.bound)
	}
	switch g.r.IntN(20) {
	case 0:
		return p + ":" // a colon at the end: left unsplit
	case 1:
		return ":" + l
	}
	if p == "" {
		return l
	}
	return p + ":" + l
}

func (g *genDoc) element(depth int) {
	name := g.qname()
	if depth == 0 && g.r.IntN(3) > 0 {
		name = "S12:Envelope"
	}
	g.b.WriteString("<" + name)
	outer := len(g.bound)
	defer func() { g.bound = g.bound[:outer] }()
	for range g.r.IntN(5) {
		g.b.WriteString(g.pick(genSpace[1:]))
		if g.r.IntN(2) == 0 {
			p := g.pick(genDeclPrefixes)
			if g.r.IntN(30) == 0 {
				p = g.pick([]string{"xml", "xmlns"})
			}
			if p == "" {
				g.b.WriteString("xmlns")
			} else {
				g.b.WriteString("xmlns:" + p)
			}
			g.bound = append(g.bound, p)
		} else {
			g.b.WriteString(g.qname())
		}
		q := `"`
		if g.r.IntN(4) == 0 {
			q = "'"
		}
		uri := g.pick(genURIs)
		if g.r.IntN(30) == 0 {
			uri = g.pick(genBadURIs)
		}
		g.b.WriteString(g.pick(genSpace) + "=" + g.pick(genSpace) + q + uri + q)
	}
	if depth == 0 {
		g.b.WriteString(` xmlns:S12="` + NamespaceSOAP12 + `"`)
	}
	g.b.WriteString(g.pick(genSpace))
	if depth > 6 || g.r.IntN(4) == 0 {
		g.b.WriteString("/>")
		return
	}
	g.b.WriteString(">")
	for range g.r.IntN(4) {
		g.b.WriteString(g.pick(genInner))
		g.element(depth + 1)
	}
	g.b.WriteString(g.pick(genInner))
	g.b.WriteString("</" + name + g.pick(genSpace) + ">")
}

func (g *genDoc) document() []byte {
	g.b.Reset()
	if g.r.IntN(3) == 0 {
		g.b.WriteString(`<?xml version="1.0"` + []string{"", ` encoding="UTF-8"`, ` encoding="utf-8"`, ` encoding="ISO-8859-1"`}[g.r.IntN(4)] + "?>")
	}
	g.b.WriteString(g.pick(genOuter))
	g.element(0)
	g.b.WriteString(g.pick(genOuter))
	if g.r.IntN(40) == 0 {
		g.element(0)
	}
	return []byte(g.b.String())
}

// TestScanDifferentialGenerated runs the differential check on generated
// documents; most are ones etree reads, so the comparison happens.
func TestScanDifferentialGenerated(t *testing.T) {
	g := &genDoc{r: rand.New(rand.NewPCG(1, 2))}
	n := 4000
	if testing.Short() {
		n = 500
	}
	compared, accepted := 0, 0
	for i := range n {
		doc := g.document()
		lim := Limits{
			MaxXMLDepth:              g.r.IntN(10) + 1,
			MaxAttributesPerElement:  g.r.IntN(6) + 1,
			MaxNamespaceDeclarations: g.r.IntN(20) + 1,
			MaxElements:              g.r.IntN(40) + 1,
		}.WithDefaults()
		if i%2 == 0 {
			lim = DefaultLimits()
		}
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if compareWithReference(t, doc, lim) {
				compared++
				if _, err := scanXML(NormalizeAttributeWhitespace(trimProlog(doc)), lim); err == nil {
					accepted++
				}
			}
		})
	}
	t.Logf("%d documents, %d read by etree and compared, %d accepted by the scan", n, compared, accepted)
	if compared < n/4 {
		t.Fatalf("only %d of %d generated documents were compared", compared, n)
	}
}
