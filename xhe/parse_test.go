package xhe

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestParseValidEnvelopes(t *testing.T) {
	min := mustParseFile(t, "tf07-minimal.xml")
	if got := min.ID(); got != "3f0c2d4e-8a61-4b7e-9c35-1d2e6f7a8b90" {
		t.Errorf("ID = %q", got)
	}
	if got := min.FromParty(); got != (PartyID{Value: "0203:malmo.se", Scheme: ParticipantScheme}) {
		t.Errorf("FromParty = %+v", got)
	}
	if got := min.ToParty(); got != (PartyID{Value: "0203:sundbyberg.se", Scheme: ParticipantScheme}) {
		t.Errorf("ToParty = %+v", got)
	}
	if got := min.FederationID(); got != "urn:fdc:digg.se:edelivery:federation:qa" {
		t.Errorf("FederationID = %q", got)
	}
	if n := len(min.Criteria()); n != 5 {
		t.Errorf("%d criteria", n)
	}
	pl := min.Payloads()
	if len(pl) != 1 || !pl[0].HasContent || pl[0].ContentText || len(pl[0].Content) != 1 ||
		pl[0].Content[0].Local != "Message" || pl[0].InstanceEncryptionIndicator != "false" {
		t.Errorf("payloads = %+v", pl)
	}
	if min.Signatures() != 0 {
		t.Error("minimal has no signature")
	}

	max := mustParseFile(t, "tf06-maximal.xml")
	if got := max.VersionID(); got != "1.0" {
		t.Errorf("VersionID = %q (white space must be trimmed)", got)
	}
	if got := max.DocumentID(); !strings.HasSuffix(got, TransportModelSuffix) {
		t.Errorf("DocumentID from CDATA = %q", got)
	}
	pl = max.Payloads()
	if len(pl) != 1 || pl[0].Content[0].Space != NamespaceXMLEnc || pl[0].HandlingServiceID != "diarium" {
		t.Errorf("payloads = %+v", pl)
	}
	if max.Signatures() != 1 {
		t.Errorf("Signatures = %d", max.Signatures())
	}
}

func TestParseBase64PayloadAndBOM(t *testing.T) {
	data := minimalXML(t,
		`<xha:PayloadContent><m:Message xmlns:m="urn:riv:infrastructure:messaging:MessageWithAttachments:3"><m:messageHeader><m:messageId>c5a1f0e2-77d4-4d0b-8e3a-9b6c2f1d4e5a</m:messageId></m:messageHeader></m:Message></xha:PayloadContent>`,
		`<xha:PayloadContent>VU5CK1VOT0E6MSswMTAx</xha:PayloadContent>`)
	e := mustParse(t, append([]byte{0xEF, 0xBB, 0xBF}, data...))
	pl := e.Payloads()
	if !pl[0].ContentText || len(pl[0].Content) != 0 {
		t.Errorf("payload = %+v", pl[0])
	}
	if err := e.Check(); err != nil {
		t.Error(err)
	}
}

func TestAccessorsOnNil(t *testing.T) {
	var e *Envelope
	if e.ID() != "" || e.VersionID() != "" || e.CustomizationID() != "" || e.FromParty() != (PartyID{}) ||
		e.Payloads() != nil || e.Criteria() != nil || e.Signatures() != 0 || e.DocumentID() != "" {
		t.Error("nil envelope accessors must return zero values")
	}
	err := e.Check()
	if xe := asError(t, err); xe.Kind != KindMalformed {
		t.Errorf("Check on nil: %v", err)
	}
	if _, err := e.Derive(); err == nil {
		t.Error("Derive on nil must fail")
	}
	if err := CheckAgainst(nil, mustParseFile(t, "tf07-minimal.xml")); err == nil {
		t.Error("CheckAgainst without UserMessage must fail")
	}
}

// payloadOf returns the minimal envelope whose PayloadContent holds content.
func payloadOf(t *testing.T, content string) []byte {
	return minimalXML(t,
		`<m:Message xmlns:m="urn:riv:infrastructure:messaging:MessageWithAttachments:3"><m:messageHeader><m:messageId>c5a1f0e2-77d4-4d0b-8e3a-9b6c2f1d4e5a</m:messageId></m:messageHeader></m:Message>`,
		content)
}

func TestParseLimits(t *testing.T) {
	deep := strings.Repeat("<a>", 40) + strings.Repeat("</a>", 40)
	manyAttrs := "<a"
	for i := 0; i < 10; i++ {
		manyAttrs += " a" + strings.Repeat("b", i) + `="1"`
	}
	manyAttrs += "/>"
	longValue := minimalXML(t, "<ContentTypeCode>application/xml</ContentTypeCode>",
		"<ContentTypeCode>"+strings.Repeat("x", 200)+"</ContentTypeCode>")
	cases := []struct {
		name  string
		data  []byte
		lim   Limits
		limit string
	}{
		{"bytes", readTestdata(t, "tf07-minimal.xml"), Limits{MaxBytes: 100}, "MaxBytes"},
		{"depth in payload", payloadOf(t, deep), Limits{MaxDepth: 30}, "MaxDepth"},
		{"attributes", payloadOf(t, manyAttrs), Limits{MaxAttributesPerElement: 5}, "MaxAttributesPerElement"},
		{"envelope elements", readTestdata(t, "tf07-minimal.xml"), Limits{MaxEnvelopeElements: 10}, "MaxEnvelopeElements"},
		{"value bytes", longValue, Limits{MaxValueBytes: 100}, "MaxValueBytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := Parse(bytes.NewReader(c.data), Limits{}); err != nil {
				t.Fatalf("within default limits: %v", err)
			}
			_, err := Parse(bytes.NewReader(c.data), c.lim)
			xe := asError(t, err)
			var le *LimitError
			if xe.Kind != KindMalformed || !errors.As(err, &le) || le.Limit != c.limit || !xe.HasRule(RuleLimit) {
				t.Fatalf("got %v, want limit %s", err, c.limit)
			}
			if !strings.Contains(err.Error(), c.limit) {
				t.Errorf("message %q does not name the limit", err)
			}
		})
	}
}

// A large payload is streamed: only the envelope counts against MaxEnvelopeElements and
// MaxValueBytes, whatever the payload holds.
func TestParseStreamsLargePayload(t *testing.T) {
	const n = 200_000
	head, tail, ok := strings.Cut(string(payloadOf(t, "@@")), "@@")
	if !ok {
		t.Fatal("no placeholder")
	}
	r := io.MultiReader(strings.NewReader(head+`<big xmlns="urn:x">`),
		&repeatReader{s: "<row>" + strings.Repeat("x", 80) + "</row>", n: n},
		strings.NewReader(`</big>`+tail))
	e, err := Parse(r, Limits{MaxEnvelopeElements: 40, MaxValueBytes: 256})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Check(); err != nil {
		t.Fatal(err)
	}
	if pl := e.Payloads(); len(pl[0].Content) != 1 || pl[0].Content[0].Local != "big" {
		t.Errorf("payload summary %+v", pl[0])
	}
}

// repeatReader yields s n times without allocating per repetition.
type repeatReader struct {
	s   string
	n   int
	off int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	k := copy(p, r.s[r.off:])
	if r.off += k; r.off == len(r.s) {
		r.off = 0
		r.n--
	}
	return k, nil
}

func TestLimitsDefaultsAndValidate(t *testing.T) {
	d := DefaultLimits()
	v := reflect.ValueOf(d)
	for i := 0; i < v.NumField(); i++ {
		if v.Field(i).Int() <= 0 {
			t.Errorf("default %s is %d", v.Type().Field(i).Name, v.Field(i).Int())
		}
	}
	if d.MaxBytes < 100_000_000*4/3 {
		t.Error("default MaxBytes cannot carry a base64-encoded 100 MB payload (SDK minimum)")
	}
	if got := (Limits{MaxDepth: 7}).WithDefaults(); got.MaxDepth != 7 || got.MaxBytes != d.MaxBytes {
		t.Errorf("WithDefaults = %+v", got)
	}
	var l Limits
	lv := reflect.ValueOf(&l).Elem()
	for i := 0; i < lv.NumField(); i++ {
		lv.Field(i).SetInt(-1)
	}
	err := l.Validate()
	for i := 0; i < lv.NumField(); i++ {
		if name := lv.Type().Field(i).Name; err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("Validate does not name %s: %v", name, err)
		}
	}
	if _, err := Parse(strings.NewReader("<x/>"), Limits{MaxDepth: -1}); err == nil {
		t.Error("Parse accepted a negative limit")
	}
}

func TestParseErrorsNamePosition(t *testing.T) {
	_, err := Parse(bytes.NewReader(readTestdata(t, "tf09/xml-pi.xml")), Limits{})
	if err == nil || !strings.Contains(err.Error(), "line ") || !strings.Contains(err.Error(), "xml-stylesheet") {
		t.Errorf("error %v should name the instruction and its line", err)
	}
	_, err = Parse(strings.NewReader(""), Limits{})
	if xe := asError(t, err); !xe.HasRule(RuleXML) {
		t.Errorf("empty input: %v", err)
	}
	_, err = Parse(strings.NewReader(`<x:XHE xmlns:x="`+NamespaceXHE+`"/>trailing`), Limits{})
	if err == nil {
		t.Error("text after the document element accepted")
	}
	_, err = Parse(strings.NewReader(`<x:XHE xmlns:x="`+NamespaceXHE+`"/><x:XHE xmlns:x="`+NamespaceXHE+`"/>`), Limits{})
	if err == nil {
		t.Error("two document elements accepted")
	}
}
