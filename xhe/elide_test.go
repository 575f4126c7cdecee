package xhe

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// parseKeep parses with the text elider keeping keep bytes per run.
func parseKeep(data []byte, keep int) (*Envelope, error) {
	return parse(bytes.NewReader(data), DefaultLimits(), keep)
}

// sameEnvelope compares what the accessors and Check see.
func sameEnvelope(t *testing.T, a, b *Envelope) {
	t.Helper()
	errString := func(err error) string {
		if err == nil {
			return ""
		}
		return err.Error()
	}
	if ea, eb := errString(a.Check()), errString(b.Check()); ea != eb {
		t.Errorf("Check differs:\n%s\n%s", ea, eb)
	}
	if !reflect.DeepEqual(a.Payloads(), b.Payloads()) || !reflect.DeepEqual(a.Criteria(), b.Criteria()) ||
		a.ID() != b.ID() || a.FromParty() != b.FromParty() || a.ToParty() != b.ToParty() || a.Signatures() != b.Signatures() {
		t.Errorf("envelopes differ:\n%+v\n%+v", a.Payloads(), b.Payloads())
	}
}

func TestElidedPayloadTextIsChecked(t *testing.T) {
	long := func(s string, n int) string { return strings.Repeat(s, n) }
	cases := []struct {
		name, content string
		bad           string // "" = accepted
	}{
		{"base64", long("QUJD", 50_000), ""},
		{"references", long("a&amp;b&lt;&#65;&#x1F600;&quot;&apos;&gt;", 5000), ""},
		{"multi-byte split across chunks", long("åäö€𝄞", 40_000), ""},
		{"white space then element", long(" \n\t", 30_000) + `<e xmlns="urn:x" a="&gt; &lt;"/>`, ""},
		{"markup with > in attributes, comments, CDATA", `<e xmlns="urn:x" a="x>y" b='&lt;'>` + long("t", 1000) +
			`<!-- a > b - c <d> --><![CDATA[ <not> a tag ]] ]]>` + long("u", 1000) + `</e>`, ""},
		{"undefined entity late", long("a", 1000) + "&nbsp;", "invalid reference"},
		{"reference to a non-character", long("a", 1000) + "&#0;", "invalid reference"},
		{"unterminated reference", long("a", 1000) + "&amp", "unterminated reference"},
		{"control character", long("a", 1000) + "\x01", "illegal character"},
		{"invalid UTF-8", long("a", 1000) + "\xff", "invalid UTF-8"},
		{"truncated UTF-8 before a tag", long("a", 1000) + "\xe2\x82", "invalid UTF-8"},
		{"U+FFFE", long("a", 1000) + "\uFFFE", "illegal character"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := payloadOf(t, c.content)
			full, ferr := parseKeep(data, 1<<30)
			for _, keep := range []int{128, 257, 999} { // above every envelope value of tf07
				e, err := parseKeep(data, keep)
				if c.bad == "" {
					if err != nil || ferr != nil {
						t.Fatalf("keep %d: %v / full: %v", keep, err, ferr)
					}
					sameEnvelope(t, full, e)
					continue
				}
				if err == nil || ferr == nil {
					t.Fatalf("keep %d accepted (%v) or full parse accepted (%v)", keep, err, ferr)
				}
				if !strings.Contains(err.Error(), c.bad) {
					t.Errorf("keep %d: %v, want %q", keep, err, c.bad)
				}
			}
		})
	}
}

func TestElidedTextInEnvelopeValueIsALimit(t *testing.T) {
	data := minimalXML(t, "<ContentTypeCode>application/xml<", "<ContentTypeCode>application/xml"+strings.Repeat("&#x20;", 100)+"<")
	if _, err := parseKeep(data, 1<<30); err != nil {
		t.Fatal(err)
	}
	_, err := parseKeep(data, 32)
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != "MaxValueBytes" {
		t.Fatalf("a cut envelope value must be a limit error, got %v", err)
	}
}

func TestElidedTextOutsideRoot(t *testing.T) {
	base := readTestdata(t, "tf07-minimal.xml")
	if _, err := parseKeep(append(bytes.Clone(base), strings.Repeat(" \n", 1000)...), 128); err != nil {
		t.Errorf("trailing white space: %v", err)
	}
	if _, err := parseKeep(append(bytes.Clone(base), strings.Repeat(" ", 1000)+"x"...), 128); err == nil {
		t.Error("text after the root hidden in a cut run was accepted")
	}
}

// The elider only drops text: everything else reaches the decoder byte for byte.
func TestElidedStreamKeepsMarkup(t *testing.T) {
	in := `<a x="1>2" y='<'><!-- c<d> --><![CDATA[<x>]]><?p q?>` + strings.Repeat("t", 100) + `</a>`
	out, err := io.ReadAll(newTextElider(strings.NewReader(in), 5))
	if err != nil {
		t.Fatal(err)
	}
	want := `<a x="1>2" y='<'><!-- c<d> --><![CDATA[<x>]]><?p q?>ttttt</a>`
	if string(out) != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
}

func TestValidReference(t *testing.T) {
	for s, ok := range map[string]bool{
		"amp": true, "lt": true, "quot": true, "#65": true, "#x41": true, "#x10FFFF": true,
		"#x110000": false, "#xD800": false, "#0": false, "#": false, "#x": false, "#-1": false, "#+1": false,
		"nbsp": false, "": false, "#12a": false,
	} {
		if validReference([]byte(s)) != ok {
			t.Errorf("validReference(%q) = %v", s, !ok)
		}
	}
}

func TestLargeCipherValueMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 32 MiB")
	}
	data := string(readTestdata(t, "tf06-maximal.xml"))
	const marker = "c2ltdWxhdGVkIGNpcGhlcnRleHQgb2YgdGhlIE1lc3NhZ2VXaXRoQXR0YWNobWVudHMgZG9jdW1lbnQ="
	head, tail, ok := strings.Cut(data, marker)
	if !ok {
		t.Fatal("no cipher value in tf06")
	}
	const size = 32 << 20
	r := io.MultiReader(strings.NewReader(head), &repeatReader{s: strings.Repeat("QUJD", 1024), n: size / 4096}, strings.NewReader(tail))
	var e *Envelope
	var err error
	bytesAllocated := testingAllocBytes(func() { e, err = Parse(r, Limits{}) })
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Check(); err != nil {
		t.Fatal(err)
	}
	if bytesAllocated > size/4 {
		t.Errorf("parsing a %d MiB cipher value allocated %d MiB", size>>20, bytesAllocated>>20)
	}
}
