package ebms

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/as4gw/as4gw/internal/testutil"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
)

// findVectorsDir locates the shared interop vectors: ../shared/vectors next to the repository
// root, which is the nearest directory above the working directory holding go.mod.
func findVectorsDir() (string, bool) {
	wd, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			v := filepath.Join(dir, "..", "shared", "vectors")
			st, err := os.Stat(v)
			return v, err == nil && st.IsDir()
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// vectorsDir is ../shared/vectors, read in place (see internal/testutil: it
// skips where the folder is absent, and fails in CI).
func vectorsDir(t testing.TB) string {
	t.Helper()
	return testutil.VectorsDir(t)
}

// vectorFiles lists the XML-ish vector files, relative to dir, in a stable order.
func vectorFiles(t testing.TB, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".xml", ".txt", ".as4", ".as4in", ".as4out", ".mime":
			rel, _ := filepath.Rel(dir, path)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// extractRootXML crudely finds the SOAP envelope in a stored wire message: it strips a UTF-8
// BOM, skips HTTP or MIME header blocks up to a blank line, enters the first MIME part after a
// "--boundary" line, drops comments before the XML declaration and cuts the part at the next
// boundary. The real MIME handling lives in as4/soap; this is only enough for the vectors.
func extractRootXML(data []byte) []byte {
	s := bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var boundary []byte
	for range 8 {
		s = bytes.TrimLeft(s, " \t\r\n")
		if bytes.HasPrefix(s, []byte("<")) {
			break
		}
		if bytes.HasPrefix(s, []byte("--")) && boundary == nil {
			line, _, _ := bytes.Cut(s, []byte("\n"))
			boundary = bytes.TrimRight(line, "\r")
		}
		// Skip to the end of this header block.
		i := bytes.Index(s, []byte("\n\r\n"))
		j := bytes.Index(s, []byte("\n\n"))
		switch {
		case i >= 0 && (j < 0 || i < j):
			s = s[i+3:]
		case j >= 0:
			s = s[j+2:]
		default:
			return nil
		}
	}
	for bytes.HasPrefix(s, []byte("<!--")) {
		end := bytes.Index(s, []byte("-->"))
		if end < 0 {
			return nil
		}
		s = bytes.TrimLeft(s[end+3:], " \t\r\n")
	}
	if boundary != nil {
		if end := bytes.Index(s, append([]byte("\n"), boundary...)); end >= 0 {
			s = s[:end]
		}
	}
	return s
}

// parseXML parses a document, refusing DOCTYPEs as a SOAP receiver must.
func parseXML(data []byte) (*etree.Document, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, err
	}
	var hasDirective func(tokens []etree.Token) bool
	hasDirective = func(tokens []etree.Token) bool {
		for _, tok := range tokens {
			switch t := tok.(type) {
			case *etree.Directive:
				return true
			case *etree.Element:
				if hasDirective(t.Child) {
					return true
				}
			}
		}
		return false
	}
	if hasDirective(doc.Child) {
		return nil, errors.New("DOCTYPE not allowed")
	}
	if doc.Root() == nil {
		return nil, errors.New("no root element")
	}
	return doc, nil
}

// envelopeMessaging returns the eb:Messaging of the envelope's SOAP header.
func envelopeMessaging(doc *etree.Document) (*etree.Element, error) {
	root := doc.Root()
	ns := root.NamespaceURI()
	if root.Tag != "Envelope" || (ns != NamespaceSOAP12 && ns != NamespaceSOAP11) {
		return nil, errors.New("root is not a SOAP Envelope")
	}
	for _, child := range root.ChildElements() {
		if child.Tag == "Header" && child.NamespaceURI() == ns {
			return FindMessaging(child)
		}
	}
	return nil, errors.New("envelope has no Header")
}

// findAnyMessaging returns the first eb:Messaging in document order.
func findAnyMessaging(el *etree.Element) *etree.Element {
	if isElement(el, NamespaceEbMS, "Messaging") {
		return el
	}
	for _, child := range el.ChildElements() {
		if m := findAnyMessaging(child); m != nil {
			return m
		}
	}
	return nil
}

// serialize writes an element the way outbound XML is written.
func serialize(el *etree.Element) string {
	doc := etree.NewDocument()
	doc.WriteSettings = WriteSettings()
	doc.SetRoot(el.Copy())
	s, err := doc.WriteToString()
	if err != nil {
		panic(err)
	}
	return s
}

// encodeInEnvelope encodes m into a SOAP envelope the way the SOAP layer will and returns the
// eb:Messaging element inside it after a write/parse cycle, so the test sees real bytes.
func encodeInEnvelope(t testing.TB, m *Messaging, soap11 bool) (*etree.Element, string) {
	t.Helper()
	env := etree.NewElement("S12:Envelope")
	env.CreateAttr("xmlns:S12", NamespaceSOAP12)
	opts := EncodeOptions{}
	if soap11 {
		env = etree.NewElement("S11:Envelope")
		env.CreateAttr("xmlns:S11", NamespaceSOAP11)
		opts = EncodeOptions{SOAPPrefix: "S11", SOAP11: true}
	}
	header := env.CreateElement(env.Space + ":Header")
	header.AddChild(m.Encode(opts))
	env.CreateElement(env.Space + ":Body")
	text := serialize(env)
	doc, err := parseXML([]byte(text))
	if err != nil {
		t.Fatalf("re-parse of encoded envelope: %v\n%s", err, text)
	}
	messaging, err := envelopeMessaging(doc)
	if err != nil {
		t.Fatalf("encoded envelope: %v\n%s", err, text)
	}
	return messaging, text
}

// normalized returns a copy of m that reflect.DeepEqual can compare after a round trip:
// timestamps cut to the millisecond Encode writes, and kept raw elements taken out and
// returned in a namespace-resolved form (their namespace declarations may move).
func normalized(m *Messaging) (*Messaging, []string) {
	var raw []string
	addRaw := func(list []*etree.Element) {
		for _, el := range list {
			raw = append(raw, semanticXML(el))
		}
	}
	user := func(u *UserMessage) *UserMessage {
		if u == nil {
			return nil
		}
		cu := *u
		cu.MessageInfo.Timestamp = cu.MessageInfo.Timestamp.Truncate(time.Millisecond)
		return &cu
	}
	out := *m
	out.UserMessage = user(m.UserMessage)
	out.SignalMessages = nil
	for _, s := range m.SignalMessages {
		cs := *s
		cs.MessageInfo.Timestamp = cs.MessageInfo.Timestamp.Truncate(time.Millisecond)
		addRaw(cs.Other)
		cs.Other = nil
		if s.Receipt != nil {
			r := *s.Receipt
			r.UserMessage = user(r.UserMessage)
			addRaw(r.Other)
			r.Other = nil
			cs.Receipt = &r
		}
		out.SignalMessages = append(out.SignalMessages, &cs)
	}
	return &out, raw
}

// assertRoundTrip encodes m, decodes the result and checks nothing was lost or changed.
func assertRoundTrip(t *testing.T, m *Messaging, soap11 bool) {
	t.Helper()
	el, text := encodeInEnvelope(t, m, soap11)
	back, err := Decode(el)
	if err != nil {
		t.Fatalf("decode of encoded header: %v\n%s", err, text)
	}
	want, wantRaw := normalized(m)
	got, gotRaw := normalized(back)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip changed the model\n got: %s\nwant: %s\nxml: %s", dump(got), dump(want), text)
	}
	if !reflect.DeepEqual(gotRaw, wantRaw) {
		t.Errorf("round trip changed kept elements\n got: %q\nwant: %q", gotRaw, wantRaw)
	}
}

func dump(m *Messaging) string {
	var b strings.Builder
	b.WriteString(fmt.Sprintf("%+v", *m))
	if m.UserMessage != nil {
		b.WriteString(fmt.Sprintf(" user=%+v", *m.UserMessage))
	}
	for _, s := range m.SignalMessages {
		b.WriteString(fmt.Sprintf(" signal=%+v", *s))
		if s.Receipt != nil {
			b.WriteString(fmt.Sprintf(" receipt=%+v", *s.Receipt))
			if s.Receipt.NonRepudiationInformation != nil {
				b.WriteString(fmt.Sprintf(" nri=%+v", *s.Receipt.NonRepudiationInformation))
			}
		}
	}
	return b.String()
}

// semanticXML writes an element with namespace URIs instead of prefixes and sorted attributes
// without namespace declarations, so two trees that mean the same compare equal.
func semanticXML(el *etree.Element) string {
	var b strings.Builder
	var write func(e *etree.Element)
	write = func(e *etree.Element) {
		fmt.Fprintf(&b, "<{%s}%s", namespaceOf(e), e.Tag)
		var attrs []string
		for i := range e.Attr {
			a := &e.Attr[i]
			if _, isDecl := declaredPrefix(*a); isDecl {
				continue
			}
			attrs = append(attrs, fmt.Sprintf(" {%s}%s=%q", attrNamespace(a), a.Key, a.Value))
		}
		sort.Strings(attrs)
		b.WriteString(strings.Join(attrs, ""))
		b.WriteString(">")
		for _, tok := range e.Child {
			switch t := tok.(type) {
			case *etree.Element:
				write(t)
			case *etree.CharData:
				fmt.Fprintf(&b, "%q", t.Data)
			}
		}
		b.WriteString("</>")
	}
	write(el)
	return b.String()
}

func reflectDeepEqual(a, b any) bool { return reflect.DeepEqual(a, b) }
