package trust

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"math/big"
	"testing"

	"github.com/as4gw/as4gw/trust/testpki"
)

func TestSubjectKeyID(t *testing.T) {
	f := pki(t)
	must := mustIssuer(t)
	noSKI := must(f.qa.Intermediate.NewLeaf(testpki.Spec{CommonName: "AP-no-ski", KeySlot: 500, OmitSubjectKeyID: true}))
	if len(noSKI.Certificate.SubjectKeyId) != 0 {
		t.Fatal("fixture has an SKI extension")
	}
	// testpki writes method-1 SKIs, so the computed value for the same key
	// must equal the extension of a certificate that has one.
	withSKI := must(f.qa.Intermediate.NewLeaf(testpki.Spec{CommonName: "AP-ski", KeySlot: 500}))
	if got, want := hex.EncodeToString(SubjectKeyID(noSKI.Certificate)), hex.EncodeToString(withSKI.Certificate.SubjectKeyId); got != want {
		t.Errorf("computed SKI %s, want %s", got, want)
	}
}

// SKIs and IssuerSerials as other implementations wrote them in the vectors.
func TestCertificateIndexVectors(t *testing.T) {
	load := func(rel string) *x509.Certificate {
		cs, err := LoadCertificates(readVector(t, rel))
		if err != nil {
			t.Fatal(err)
		}
		return cs[0]
	}
	apA := load("as4net/AccessPointA.cer")
	apB := load("as4net/AccessPointB.cer")
	blue := load("domibus/derived/gateway_keystore.jks.blue_gw.cert.pem")
	red := load("domibus/derived/gateway_keystore.jks.red_gw.cert.pem")
	phas4 := load("phase4/derived/dummy-pw-test.jks.ph-as4.cert.pem") // no SKI extension
	ix := NewCertificateIndex(apA, apB, blue, red, phas4, apA)
	if ix.Len() != 5 {
		t.Errorf("Len = %d, want 5 (duplicate removed)", ix.Len())
	}

	skiTests := []struct {
		ski  string // base64, as in KeyIdentifier
		want *x509.Certificate
	}{
		{"Vdi1FeoKetwvEYlNqvb9qUPAins=", apA},  // MANIFEST
		{"MWGFZIgHwpqzD4SfUXHbVqkFoo4=", apB},  // as4net/8.1.21-message.xml
		{"HPqVjsgDN900CCgLwAvG03x+R2I=", blue}, // domibus/SoapRequest.xml
		{"7AJeAnEL5EE5l3lLc+EoFpOfJCo=", red},  // domibus/SoapRequest.xml
		// RFC 5280 method 1, computed with openssl over the BIT STRING.
		{base64.StdEncoding.EncodeToString(mustHex(t, "9d0c5c0d2b056b3c9f12087c3513681074cb6865")), phas4},
	}
	for _, tc := range skiTests {
		ski, _ := base64.StdEncoding.DecodeString(tc.ski)
		got := ix.BySKI(ski)
		if len(got) != 1 || !got[0].Equal(tc.want) {
			t.Errorf("BySKI(%s) = %d certificates, want %s", tc.ski, len(got), tc.want.Subject)
		}
	}

	isTests := []struct {
		issuer string
		serial string
		want   *x509.Certificate
	}{
		{"C=BE,O=eDelivery,CN=red_gw", "10922018999856918860", red}, // domibus/is_incoming_message.xml
		{"CN=AccessPointB", "5956198424360021449", apB},             // as4net/as4-encrypted-signed-issuerserial.as4
		{"CN=AccessPointA", "8207205864034169939", apA},
		{"CN=ph-as4,C=AT", "1484733870", phas4},
		{"CN=AccessPointB", "8207205864034169939", nil}, // right serial, wrong issuer
	}
	for _, tc := range isTests {
		serial, _ := new(big.Int).SetString(tc.serial, 10)
		got := ix.ByIssuerSerial(tc.issuer, serial)
		switch {
		case tc.want == nil && len(got) != 0:
			t.Errorf("ByIssuerSerial(%s, %s) = %s, want none", tc.issuer, tc.serial, got[0].Subject)
		case tc.want != nil && (len(got) != 1 || !got[0].Equal(tc.want)):
			t.Errorf("ByIssuerSerial(%s, %s) = %d certificates, want %s", tc.issuer, tc.serial, len(got), tc.want.Subject)
		}
		if tc.want != nil && len(ix.ByRawIssuerSerial(tc.want.RawIssuer, serial)) != 1 {
			t.Errorf("ByRawIssuerSerial(%s) found nothing", tc.want.Subject)
		}
	}

	// SHA-256 fingerprint of AccessPointA.cer per `openssl x509 -fingerprint -sha256`.
	if got := Fingerprint(apA); got != "cbc0ea2a586b8244ca2fbaa1d208c17769143513542367e5492ec1694c29ecd7" {
		t.Errorf("Fingerprint = %s", got)
	}
}

func TestCertificateIndex(t *testing.T) {
	f := pki(t)
	must := mustIssuer(t)
	leaf := f.qa.Leaf
	// A renewal that keeps the key: same SKI and public key, other serial.
	renewed := must(reissueWithKey(f.qa.Intermediate, leaf))

	ix := NewCertificateIndex(leaf.Certificate, renewed.Certificate, f.prod.Leaf.Certificate)
	if got := ix.BySKI(leaf.Certificate.SubjectKeyId); len(got) != 2 {
		t.Errorf("BySKI found %d certificates, want the original and the renewal", len(got))
	}
	if got := ix.ByPublicKey(leaf.Key.Public()); len(got) != 2 {
		t.Errorf("ByPublicKey found %d, want 2", len(got))
	}
	if got := ix.ByPublicKey(f.prod.Leaf.Key.Public()); len(got) != 1 || !got[0].Equal(f.prod.Leaf.Certificate) {
		t.Errorf("ByPublicKey(prod) wrong")
	}
	if got := ix.ByThumbprintSHA1(ThumbprintSHA1(f.prod.Leaf.Certificate)); len(got) != 1 {
		t.Errorf("ByThumbprintSHA1 found %d", len(got))
	}
	if got := ix.ByIssuerSerial("C=SE,O=DIGG test,CN=Accesspunkt CA-SDK-QA", renewed.Certificate.SerialNumber); len(got) != 1 || !got[0].Equal(renewed.Certificate) {
		t.Errorf("ByIssuerSerial(renewed) wrong: %d", len(got))
	}
	if got := ix.BySKI([]byte("nope")); got != nil {
		t.Errorf("BySKI(unknown) = %v", got)
	}
	if fp := Fingerprint(leaf.Certificate); fp != hex.EncodeToString(sha256Sum(leaf.Certificate.Raw)) || len(fp) != 64 {
		t.Errorf("Fingerprint = %s", fp)
	}

	// The store's index sees anchors and intermediates.
	s := NewStore(f.qa.Root.Certificate)
	s.AddIntermediates(f.qa.Intermediate.Certificate)
	if got := s.Index().BySKI(f.qa.Intermediate.Certificate.SubjectKeyId); len(got) != 1 {
		t.Errorf("store index BySKI(intermediate) = %d", len(got))
	}
}

// reissueWithKey issues a second certificate for leaf's key (testpki keys
// come from slots, so sign a template directly).
func reissueWithKey(ca, leaf *testpki.Cert) (*testpki.Cert, error) {
	tmpl := *leaf.Certificate
	tmpl.SerialNumber = big.NewInt(42)
	tmpl.Raw, tmpl.RawTBSCertificate, tmpl.Signature = nil, nil, nil
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, ca.Certificate, leaf.Key.Public(), ca.Key)
	if err != nil {
		return nil, err
	}
	c, err := x509.ParseCertificate(der)
	return &testpki.Cert{Certificate: c, Key: leaf.Key}, err
}

func sha256Sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
