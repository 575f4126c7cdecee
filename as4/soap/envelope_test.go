package soap

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
)

const (
	env12 = `<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope"><S12:Header><eb:Messaging xmlns:eb="urn:eb" S12:mustUnderstand="true"/></S12:Header><S12:Body/></S12:Envelope>`
	env11 = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>`
)

func parseString(s string, lim Limits) (*Envelope, error) {
	return ParseEnvelope(strings.NewReader(s), lim)
}

func TestParseEnvelopeAccepts(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		version   Version
		hasHeader bool
	}{
		{"soap12", env12, SOAP12, true},
		{"soap11 without header", env11, SOAP11, false},
		{"default namespace", `<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"><Header/><Body><x xmlns=""/></Body></Envelope>`, SOAP12, true},
		{"xml declaration", `<?xml version="1.0" encoding="UTF-8"?>` + env12, SOAP12, true},
		{"utf-8 declaration lower case", `<?xml version='1.0' encoding='utf-8'?>` + env12, SOAP12, true},
		{"BOM", "\xEF\xBB\xBF" + env12, SOAP12, true},
		{"BOM and declaration", "\xEF\xBB\xBF<?xml version=\"1.0\"?>" + env12, SOAP12, true},
		{"comment before declaration", "<!-- licence -->\n<?xml version=\"1.0\"?>\n" + env12, SOAP12, true},
		{"BOM, whitespace, two comments before declaration", "\xEF\xBB\xBF \n<!-- a --><!-- b -->\r\n<?xml version=\"1.0\"?>" + env12, SOAP12, true},
		{"comment after declaration", "<?xml version=\"1.0\"?><!-- c -->\n" + env12 + "\n<!-- trailing -->\n", SOAP12, true},
		{"comments and whitespace inside envelope", `<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope"> <!-- x --> <S12:Body/> </S12:Envelope>`, SOAP12, false},
		{"CDATA in body", `<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope"><S12:Body><a><![CDATA[<x>]]></a></S12:Body></S12:Envelope>`, SOAP12, false},
		{"xml:lang without declaration", `<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope" xml:lang="sv"><S12:Body/></S12:Envelope>`, SOAP12, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env, err := parseString(tc.in, DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			if env.Version != tc.version {
				t.Errorf("version %v, want %v", env.Version, tc.version)
			}
			if (env.Header != nil) != tc.hasHeader {
				t.Errorf("header present = %v, want %v", env.Header != nil, tc.hasHeader)
			}
			if env.Body == nil || env.Body.Tag != "Body" || env.Root.Tag != "Envelope" {
				t.Errorf("root %v body %v", env.Root, env.Body)
			}
		})
	}
}

func TestParseEnvelopeRejects(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // substring of the error
	}{
		{"doctype", `<!DOCTYPE S12:Envelope>` + env12, "document type"},
		{"entity bomb", `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>` +
			`<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope"><S12:Body>&lol2;</S12:Body></S12:Envelope>`, "document type"},
		{"undeclared entity", `<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope"><S12:Body>&lol;</S12:Body></S12:Envelope>`, "not well-formed"},
		{"external entity", `<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>` + env12, "document type"},
		{"processing instruction", `<?xml version="1.0"?><?xml-stylesheet href="a"?>` + env12, "processing instruction"},
		{"processing instruction in body", `<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope"><S12:Body><?php x?></S12:Body></S12:Envelope>`, "processing instruction"},
		{"declaration not first", `<!-- c --><S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope"><S12:Body><?xml version="1.0"?></S12:Body></S12:Envelope>`, "processing instruction"},
		{"non-utf8 encoding", `<?xml version="1.0" encoding="ISO-8859-1"?>` + env12, "not well-formed"},
		{"wrong root namespace", `<Envelope xmlns="urn:other"><Body/></Envelope>`, "want Envelope"},
		{"wrong root name", `<S12:Body xmlns:S12="http://www.w3.org/2003/05/soap-envelope"/>`, "want Envelope"},
		{"no body", `<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope"><S12:Header/></S12:Envelope>`, "no Body"},
		{"two bodies", `<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope"><S12:Body/><S12:Body/></S12:Envelope>`, "more than one Body"},
		{"header after body", `<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope"><S12:Body/><S12:Header/></S12:Envelope>`, "before Body"},
		{"two headers", `<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope"><S12:Header/><S12:Header/><S12:Body/></S12:Envelope>`, "before Body"},
		{"element after body", `<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope"><S12:Body/><x/></S12:Envelope>`, "unexpected element"},
		{"body of other version", `<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope" xmlns:S11="http://schemas.xmlsoap.org/soap/envelope/"><S11:Body/></S12:Envelope>`, "unexpected element"},
		{"text in envelope", `<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope">x<S12:Body/></S12:Envelope>`, "text directly inside"},
		{"unbound element prefix", `<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope"><S12:Body><a:b/></S12:Body></S12:Envelope>`, "undeclared namespace prefix"},
		{"unbound attribute prefix", `<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope"><S12:Body a:id="1"/></S12:Envelope>`, "undeclared namespace prefix"},
		{"duplicate attribute", `<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope"><S12:Body id="1" id="2"/></S12:Envelope>`, "twice"},
		{"duplicate expanded attribute", `<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope" xmlns:a="urn:u" xmlns:b="urn:u"><S12:Body a:Id="1" b:Id="2"/></S12:Envelope>`, "twice"},
		{"undeclaring a prefix", `<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope"><S12:Body xmlns:S12=""/></S12:Envelope>`, "must not be undeclared"},
		{"two roots", env12 + env12, "more than one document element"},
		{"text after root", env12 + "x", "text outside"},
		{"unclosed", `<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope"><S12:Body>`, "ends inside"},
		{"mismatched end tag", `<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope"><S12:Body></S12:Header></S12:Envelope>`, "does not match"},
		{"empty", ``, "no document element"},
		{"not xml", `hello`, "text outside"},
		{"colon in local name", `<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope"><S12:Body><S12:a:b/></S12:Body></S12:Envelope>`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseString(tc.in, DefaultLimits())
			if err == nil {
				t.Fatal("accepted")
			}
			var ee *EnvelopeError
			if !errors.As(err, &ee) {
				t.Fatalf("error %T %v, want *EnvelopeError", err, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

// deepXML nests depth elements inside the Body (the Envelope is depth 1,
// Body depth 2).
func deepXML(depth int) string {
	var b strings.Builder
	b.WriteString(`<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope"><S12:Body>`)
	for i := 0; i < depth; i++ {
		b.WriteString("<a>")
	}
	for i := 0; i < depth; i++ {
		b.WriteString("</a>")
	}
	b.WriteString(`</S12:Body></S12:Envelope>`)
	return b.String()
}

func withAttrs(n int, prefixDecls bool) string {
	var b strings.Builder
	b.WriteString(`<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope"><S12:Body><x`)
	for i := 0; i < n; i++ {
		if prefixDecls {
			b.WriteString(` xmlns:p` + strconv.Itoa(i) + `="urn:x"`)
		} else {
			b.WriteString(` a` + strconv.Itoa(i) + `="v"`)
		}
	}
	b.WriteString(`/></S12:Body></S12:Envelope>`)
	return b.String()
}

func manyElements(n int) string {
	return `<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope"><S12:Body>` + strings.Repeat("<e/>", n) + `</S12:Body></S12:Envelope>`
}

func TestParseEnvelopeLimits(t *testing.T) {
	small := Limits{MaxXMLDepth: 10, MaxAttributesPerElement: 5, MaxNamespaceDeclarations: 6, MaxElements: 20, MaxEnvelopeBytes: 4096}
	tests := []struct {
		name  string
		in    string
		limit string // "" = accepted
	}{
		{"depth at limit", deepXML(8), ""},
		{"depth over limit", deepXML(9), "MaxXMLDepth"},
		{"very deep", deepXML(100_000)[:4000], "MaxXMLDepth"},
		{"attributes at limit", withAttrs(5, false), ""},
		{"attributes over limit", withAttrs(6, false), "MaxAttributesPerElement"},
		{"namespace declarations count as attributes", withAttrs(6, true), "MaxAttributesPerElement"},
		{"namespace declarations at document limit", withAttrs(5, true), ""},
		{"namespace declarations over document limit", `<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope"><S12:Body>` + strings.Repeat(`<x xmlns:a="urn:a" xmlns:b="urn:b"/>`, 3) + `</S12:Body></S12:Envelope>`, "MaxNamespaceDeclarations"},
		{"elements at limit", manyElements(18), ""},
		{"elements over limit", manyElements(19), "MaxElements"},
		{"envelope too large", manyElements(1) + strings.Repeat(" ", 4096), "MaxEnvelopeBytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseString(tc.in, small)
			if tc.limit == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantLimit(t, err, tc.limit)
			if !strings.Contains(err.Error(), tc.limit) {
				t.Errorf("message %q does not name %s", err, tc.limit)
			}
		})
	}
}

func TestAttributeValueNormalisation(t *testing.T) {
	in := "<S12:Envelope xmlns:S12=\"http://www.w3.org/2003/05/soap-envelope\"><S12:Body a=\"x\ty\r\nz\nw\" b=\"&#10;\"><c d=\"\t\"/></S12:Body></S12:Envelope>"
	env, err := parseString(in, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if got := env.Body.SelectAttrValue("a", ""); got != "x y z w" {
		t.Errorf("a = %q, want %q (CRLF folds to one space)", got, "x y z w")
	}
	// A character reference is not normalised: it stays a newline.
	if got := env.Body.SelectAttrValue("b", ""); got != "\n" {
		t.Errorf("b = %q, want a newline (character references survive normalisation)", got)
	}
	if got := env.Body.FindElement("c").SelectAttrValue("d", ""); got != " " {
		t.Errorf("nested d = %q", got)
	}
}

func TestNewEnvelopeWriteTo(t *testing.T) {
	tests := []struct {
		version Version
		want    string
	}{
		{SOAP12, `<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope"><S12:Header></S12:Header><S12:Body></S12:Body></S12:Envelope>`},
		{SOAP11, `<S11:Envelope xmlns:S11="http://schemas.xmlsoap.org/soap/envelope/"><S11:Header></S11:Header><S11:Body></S11:Body></S11:Envelope>`},
	}
	for _, tc := range tests {
		t.Run(tc.version.String(), func(t *testing.T) {
			env := NewEnvelope(tc.version)
			var buf bytes.Buffer
			n, err := env.WriteTo(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if buf.String() != tc.want || n != int64(buf.Len()) {
				t.Fatalf("got %q (n=%d)\nwant %q", buf.String(), n, tc.want)
			}
			back, err := ParseEnvelope(&buf, DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			if back.Version != tc.version || back.Header == nil {
				t.Fatalf("round trip: %v header=%v", back.Version, back.Header)
			}
		})
	}
}

func TestWriteToEscapesCanonically(t *testing.T) {
	env := NewEnvelope(SOAP12)
	x := env.Body.CreateElement("x")
	x.CreateAttr("a", "<&\">\t\n")
	x.SetText("<&>\"'\r")
	got, err := env.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	want := `<x a="&lt;&amp;&quot;>&#x9;&#xA;">&lt;&amp;&gt;"'&#xD;</x>`
	if !bytes.Contains(got, []byte(want)) {
		t.Fatalf("got %s\nwant it to contain %s", got, want)
	}
}

func TestWriteToOmitsPrologOfParsedEnvelope(t *testing.T) {
	in := "\xEF\xBB\xBF<?xml version=\"1.0\"?><!-- c -->" + env12
	env, err := parseString(in, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	got, err := env.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	want := `<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope"><S12:Header><eb:Messaging xmlns:eb="urn:eb" S12:mustUnderstand="true"></eb:Messaging></S12:Header><S12:Body></S12:Body></S12:Envelope>`
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestHeaderChild(t *testing.T) {
	const ns = "urn:eb"
	twice := `<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope"><S12:Header><a:M xmlns:a="urn:eb"/><b:M xmlns:b="urn:eb"/><c:M xmlns:c="urn:other"/></S12:Header><S12:Body/></S12:Envelope>`
	tests := []struct {
		name    string
		in      string
		local   string
		found   bool
		wantErr bool
	}{
		{"one", env12, "Messaging", true, false},
		{"none", env12, "Security", false, false},
		{"no header", env11, "Messaging", false, false},
		{"two under different prefixes", twice, "M", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env, err := parseString(tc.in, DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			el, err := env.HeaderChild(ns, tc.local)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if (el != nil) != tc.found {
				t.Fatalf("found = %v, want %v", el != nil, tc.found)
			}
		})
	}
}

func TestEnsureHeader(t *testing.T) {
	env, err := parseString(env11, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	h := env.EnsureHeader()
	if h != env.EnsureHeader() {
		t.Fatal("EnsureHeader created a second header")
	}
	h.CreateElement("x")
	got, err := env.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	want := `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><x></x></s:Header><s:Body></s:Body></s:Envelope>`
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if _, err := ParseEnvelope(bytes.NewReader(got), DefaultLimits()); err != nil {
		t.Fatal(err)
	}
}

func TestVersionStrings(t *testing.T) {
	if SOAP12.ContentType() != "application/soap+xml; charset=UTF-8" || SOAP11.MediaType() != "text/xml" {
		t.Fatal(SOAP12.ContentType(), SOAP11.MediaType())
	}
	if SOAP12.Namespace() != NamespaceSOAP12 || SOAP11.Namespace() != NamespaceSOAP11 || Version(0).Namespace() != "" {
		t.Fatal("namespaces")
	}
}
