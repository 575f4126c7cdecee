package trust

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"

	"github.com/as4gw/as4gw/trust/testpki"
)

func TestParseDN(t *testing.T) {
	cn := asn1.ObjectIdentifier{2, 5, 4, 3}
	c := asn1.ObjectIdentifier{2, 5, 4, 6}
	type atv struct {
		oid asn1.ObjectIdentifier
		val any
	}
	tests := []struct {
		in   string
		want [][]atv // ASN.1 order
	}{
		{"CN=ph-as4,C=AT", [][]atv{{{c, "AT"}}, {{cn, "ph-as4"}}}},
		{"  CN = ph-as4 ;  C = AT ", [][]atv{{{c, "AT"}}, {{cn, "ph-as4"}}}},
		{`CN=a\,b\+c\"d\\e`, [][]atv{{{cn, `a,b+c"d\e`}}}},
		{`CN="quoted, value"`, [][]atv{{{cn, "quoted, value"}}}},
		{`O=Dataport A\C3\B6R`, [][]atv{{{asn1.ObjectIdentifier{2, 5, 4, 10}, "Dataport AöR"}}}},
		{`CN=#0c03616263`, [][]atv{{{cn, "abc"}}}},
		{`CN=\ leading and trailing\ `, [][]atv{{{cn, " leading and trailing "}}}},
		{"2.5.4.3=x,OID.2.5.4.6=SE", [][]atv{{{c, "SE"}}, {{cn, "x"}}}},
		{"CN=a+OU=b", [][]atv{{{cn, "a"}, {asn1.ObjectIdentifier{2, 5, 4, 11}, "b"}}}},
		{"E=ap@example.se, S=Stockholm", [][]atv{{{asn1.ObjectIdentifier{2, 5, 4, 8}, "Stockholm"}}, {{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}, "ap@example.se"}}}},
		{"", [][]atv{}},
	}
	for _, tc := range tests {
		got, err := ParseDN(tc.in)
		if err != nil {
			t.Errorf("ParseDN(%q): %v", tc.in, err)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("ParseDN(%q) = %v", tc.in, got)
			continue
		}
		for i := range got {
			if len(got[i]) != len(tc.want[i]) {
				t.Errorf("ParseDN(%q) RDN %d = %v", tc.in, i, got[i])
				continue
			}
			for j := range got[i] {
				if !got[i][j].Type.Equal(tc.want[i][j].oid) || got[i][j].Value != tc.want[i][j].val {
					t.Errorf("ParseDN(%q) RDN %d/%d = %v=%q, want %v=%q", tc.in, i, j, got[i][j].Type, got[i][j].Value, tc.want[i][j].oid, tc.want[i][j].val)
				}
			}
		}
	}

	for _, bad := range []string{"CN", "=x", "FOO=bar", `CN="open`, "CN=#zz", `CN=x\`, "CN=a,,C=b"} {
		if _, err := ParseDN(bad); err == nil {
			t.Errorf("ParseDN(%q): want error", bad)
		}
	}
}

func TestNameMatchesString(t *testing.T) {
	// Issuer of the Peppol G2 test AP certificates, as encoded.
	peppol := rawName(t, pkix.Name{Country: []string{"BE"}, Organization: []string{"OpenPEPPOL AISBL"},
		OrganizationalUnit: []string{"FOR TEST ONLY"}, CommonName: "PEPPOL ACCESS POINT TEST CA - G2"})
	phas4 := rawName(t, pkix.Name{Country: []string{"AT"}, CommonName: "ph-as4"})
	dataport := rawName(t, pkix.Name{Country: []string{"DE"}, Organization: []string{"Dataport AöR"}, CommonName: "x"})

	tests := []struct {
		raw  []byte
		s    string
		want bool
	}{
		{phas4, "CN=ph-as4,C=AT", true},      // RFC 2253 (WSS4J)
		{phas4, "C=AT, CN=ph-as4", true},     // ASN.1 order with spaces
		{phas4, "cn=PH-AS4, c=at", true},     // case
		{phas4, "CN=ph-as4", false},          // attribute missing
		{phas4, "CN=ph-as4,C=AT,O=x", false}, // attribute extra
		{phas4, "CN=ph-as5,C=AT", false},     // value differs
		{peppol, "CN=PEPPOL ACCESS POINT TEST CA - G2,OU=FOR TEST ONLY,O=OpenPEPPOL AISBL,C=BE", true},    // Java
		{peppol, "CN=PEPPOL ACCESS POINT TEST CA - G2, OU=FOR TEST ONLY, O=OpenPEPPOL AISBL, C=BE", true}, // .NET
		{peppol, "CN=PEPPOL  ACCESS POINT TEST CA - G2,OU=FOR TEST ONLY,O=OpenPEPPOL AISBL,C=BE", true},   // runs of spaces
		{peppol, "CN=PEPPOL ACCESS POINT TEST CA - G3,OU=FOR TEST ONLY,O=OpenPEPPOL AISBL,C=BE", false},   // other CA
		{dataport, `CN=x,O=Dataport A\C3\B6R,C=DE`, true},                                                 // hex-escaped UTF-8
		{dataport, "CN=x,O=Dataport AöR,C=DE", true},                                                      // raw UTF-8
		{dataport, "CN=x,O=#0c0d44617461706f72742041c3b652,C=DE", true},                                   // BER hex value
		{phas4, "not a DN", false},
	}
	for _, tc := range tests {
		if got := NameMatchesString(tc.raw, tc.s); got != tc.want {
			t.Errorf("NameMatchesString(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}

	if eq, err := EqualDNStrings("CN=ph-as4,C=AT", "C=AT, CN=ph-as4"); err != nil || !eq {
		t.Errorf("EqualDNStrings = %v, %v", eq, err)
	}
}

func TestMatchIssuerSerial(t *testing.T) {
	f := pki(t)
	c := f.qa.Leaf.Certificate
	issuer := "CN=Accesspunkt CA-SDK-QA,O=DIGG test,C=SE"
	if !MatchIssuerSerial(c, issuer, c.SerialNumber) {
		t.Errorf("no match for own issuer and serial")
	}
	if !MatchIssuerSerial(c, "C=SE, O=DIGG test, CN=Accesspunkt CA-SDK-QA", c.SerialNumber) {
		t.Errorf("no match for ASN.1-order issuer")
	}
	if MatchIssuerSerial(c, issuer, new(big.Int).Add(c.SerialNumber, big.NewInt(1))) {
		t.Errorf("match with another serial")
	}
	if MatchIssuerSerial(c, "CN=Accesspunkt CA-SDK-PROD,O=DIGG test,C=SE", c.SerialNumber) {
		t.Errorf("match with another issuer")
	}
	// An issuer CN with characters that need escaping.
	ca := mustIssuer(t)(testpki.NewRoot(testpki.Spec{CommonName: "CA, \"special\" + more", KeySlot: 400}))
	leaf := mustIssuer(t)(ca.NewLeaf(testpki.Spec{CommonName: "leaf", KeySlot: 401}))
	if s := leaf.Certificate.Issuer.String(); !MatchIssuerSerial(leaf.Certificate, s, leaf.Certificate.SerialNumber) {
		t.Errorf("Go's own RFC 2253 form %q does not match", s)
	}
}

func rawName(t *testing.T, n pkix.Name) []byte {
	t.Helper()
	der, err := asn1.Marshal(n.ToRDNSequence())
	if err != nil {
		t.Fatal(err)
	}
	return der
}
