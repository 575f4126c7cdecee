package discovery

import (
	"strings"
	"testing"
	"time"
)

const sgXML = `<?xml version="1.0" encoding="UTF-8"?>
<ServiceGroup xmlns="http://docs.oasis-open.org/bdxr/ns/SMP/2016/05">
  <ParticipantIdentifier scheme="iso6523-actorid-upis">0203:malmo.se</ParticipantIdentifier>
  <ServiceMetadataReferenceCollection>
    <ServiceMetadataReference href="https://smp.example/iso6523-actorid-upis%3A%3A0203%3Amalmo.se/services/busdox-docid-qns%3A%3Aurn%3Adoc%3A1%23%231.0"/>
    <ServiceMetadataReference href="https://smp.example/elsewhere"/>
  </ServiceMetadataReferenceCollection>
</ServiceGroup>`

func TestParseServiceGroup(t *testing.T) {
	g, err := ParseServiceGroup([]byte(sgXML), XMLLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if g.Participant != (Identifier{"iso6523-actorid-upis", "0203:malmo.se"}) {
		t.Errorf("participant %v", g.Participant)
	}
	if len(g.DocumentTypes) != 1 || !g.Lists(Identifier{"busdox-docid-qns", "urn:doc:1##1.0"}) || g.Lists(Identifier{"busdox-docid-qns", "urn:doc:2"}) {
		t.Errorf("document types %v", g.DocumentTypes)
	}
}

func TestParseXMLRejects(t *testing.T) {
	tests := []struct {
		name, in string
		lim      XMLLimits
		want     string
	}{
		{"DTD", `<!DOCTYPE x [<!ENTITY e "boom">]><ServiceGroup>&e;</ServiceGroup>`, XMLLimits{}, "DTD"},
		{"PI", `<ServiceGroup><?evil x?></ServiceGroup>`, XMLLimits{}, "processing instruction"},
		{"undefined entity", `<ServiceGroup>&e;</ServiceGroup>`, XMLLimits{}, "not well-formed"},
		{"unbound prefix", `<p:ServiceGroup/>`, XMLLimits{}, "unbound prefix"},
		{"unbound attribute prefix", `<a q:x="1"/>`, XMLLimits{}, "unbound prefix"},
		{"duplicate expanded attribute", `<a xmlns:p="u" xmlns:q="u" p:x="1" q:x="2"/>`, XMLLimits{}, "duplicate attribute"},
		{"two roots", `<a/><b/>`, XMLLimits{}, "second document element"},
		{"text outside", `<a/>x`, XMLLimits{}, "text outside"},
		{"too deep", `<a><a><a><a></a></a></a></a>`, XMLLimits{MaxDepth: 3}, "depth"},
		{"too many elements", `<a><b/><b/><b/></a>`, XMLLimits{MaxElements: 3}, "more than 3 elements"},
		{"too many attributes", `<a x="1" y="2" z="3"/>`, XMLLimits{MaxAttributes: 2}, "attributes"},
		{"too big", `<a>` + strings.Repeat("x", 100) + `</a>`, XMLLimits{MaxBytes: 50}, "size limit"},
		{"empty", ``, XMLLimits{}, "no complete document element"},
		{"xml prefix rebound", `<a xmlns:xml="urn:x"/>`, XMLLimits{}, "namespace declaration"},
	}
	for _, tc := range tests {
		_, err := parseXML([]byte(tc.in), tc.lim)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := parseXML([]byte("\xef\xbb\xbf<?xml version=\"1.0\"?>\n<a xml:lang=\"sv\"><!-- ok --></a>"), XMLLimits{}); err != nil {
		t.Errorf("BOM, declaration, comment: %v", err)
	}
}

const smXML = `<SignedServiceMetadata xmlns="http://docs.oasis-open.org/bdxr/ns/SMP/2016/05">
<ServiceMetadata><ServiceInformation>
 <ParticipantIdentifier scheme="iso6523-actorid-upis">0203:malmo.se</ParticipantIdentifier>
 <DocumentIdentifier scheme="busdox-docid-qns">urn:doc:1</DocumentIdentifier>
 <ProcessList><Process>
  <ProcessIdentifier scheme="urn:fdc:digg.se:edelivery:process">bdx:noprocess</ProcessIdentifier>
  <ServiceEndpointList><Endpoint transportProfile="digg-transport-as4-v1_0">
   <EndpointURI>https://ap.example/as4</EndpointURI>
   <RequireBusinessLevelSignature>false</RequireBusinessLevelSignature>
   <ServiceActivationDate>2020-01-01T00:00:00</ServiceActivationDate>
   <ServiceExpirationDate>2040-01-01T00:00:00+01:00</ServiceExpirationDate>
   <ServiceDescription>AP</ServiceDescription>
   <TechnicalContactUrl>mailto:x@example</TechnicalContactUrl>
  </Endpoint></ServiceEndpointList>
 </Process></ProcessList>
</ServiceInformation></ServiceMetadata></SignedServiceMetadata>`

func TestParseServiceMetadata(t *testing.T) {
	doc, err := parseXML([]byte(smXML), XMLLimits{})
	if err != nil {
		t.Fatal(err)
	}
	sm, err := parseServiceMetadata(doc.Root())
	if err != nil {
		t.Fatal(err)
	}
	if len(sm.Processes) != 1 || len(sm.Processes[0].Endpoints) != 1 {
		t.Fatalf("%+v", sm)
	}
	ep := sm.Processes[0].Endpoints[0]
	if ep.URI != "https://ap.example/as4" || ep.TransportProfile != TransportProfile ||
		!ep.ActivationDate.Equal(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)) ||
		!ep.ExpirationDate.Equal(time.Date(2039, 12, 31, 23, 0, 0, 0, time.UTC)) {
		t.Errorf("endpoint %+v", ep)
	}

	bad := []struct{ name, from, to string }{
		{"two ServiceInformation", "</ServiceInformation>", "</ServiceInformation><ServiceInformation/>"},
		{"redirect and information", "</ServiceInformation>", `</ServiceInformation><Redirect href="https://x/"/>`},
		{"no EndpointURI", "<EndpointURI>https://ap.example/as4</EndpointURI>", ""},
		{"two EndpointURI", "</EndpointURI>", "</EndpointURI><EndpointURI>https://evil/</EndpointURI>"},
		{"bad date", "2020-01-01T00:00:00<", "yesterday<"},
		{"bad certificate", "<ServiceDescription>", "<Certificate>AAAA</Certificate><ServiceDescription>"},
		{"no transport profile", ` transportProfile="digg-transport-as4-v1_0"`, ""},
	}
	for _, b := range bad {
		doc, err := parseXML([]byte(strings.Replace(smXML, b.from, b.to, 1)), XMLLimits{})
		if err != nil {
			t.Fatalf("%s: %v", b.name, err)
		}
		if _, err := parseServiceMetadata(doc.Root()); err == nil {
			t.Errorf("%s: accepted", b.name)
		}
	}
	redir := `<SignedServiceMetadata xmlns="http://docs.oasis-open.org/bdxr/ns/SMP/2016/05"><ServiceMetadata><Redirect href="https://smp2.example/x"><CertificateUID>CN=x</CertificateUID></Redirect></ServiceMetadata></SignedServiceMetadata>`
	doc, _ = parseXML([]byte(redir), XMLLimits{})
	if sm, err := parseServiceMetadata(doc.Root()); err != nil || sm.Redirect == nil || sm.Redirect.CertificateUID != "CN=x" {
		t.Errorf("redirect: %+v %v", sm, err)
	}
}

// FuzzParseServiceGroup feeds the hardened parser and the ServiceGroup
// reader arbitrary bytes: errors are fine, panics are not.
func FuzzParseServiceGroup(f *testing.F) {
	f.Add([]byte(sgXML))
	f.Add([]byte(`<!DOCTYPE a><a/>`))
	f.Add([]byte(`<a xmlns:p="u"><p:b p:c="1"/></a>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ParseServiceGroup(data, XMLLimits{MaxBytes: 1 << 16})
	})
}

// FuzzSignedServiceMetadata runs parse, signature check and metadata read
// as fetchSigned does, on arbitrary bytes.
func FuzzSignedServiceMetadata(f *testing.F) {
	f.Add([]byte(smXML))
	f.Add([]byte(`<SignedServiceMetadata xmlns="http://docs.oasis-open.org/bdxr/ns/SMP/2016/05"><ServiceMetadata/><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/></ds:SignedInfo><ds:SignatureValue>AA==</ds:SignatureValue></ds:Signature></SignedServiceMetadata>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := parseXML(data, XMLLimits{MaxBytes: 1 << 16})
		if err != nil {
			return
		}
		_, _ = verifyEnveloped(doc.Root())
		_, _ = parseServiceMetadata(doc.Root())
	})
}
