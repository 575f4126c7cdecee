package discovery_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/as4gw/as4gw/discovery"
	"github.com/as4gw/as4gw/discovery/federationtest"
	"github.com/as4gw/as4gw/internal/testutil"
	"github.com/as4gw/as4gw/trust"
	"github.com/as4gw/as4gw/trust/testpki"
)

var (
	malmo   = discovery.Identifier{Scheme: discovery.ParticipantScheme, Value: "0203:malmo.se"}
	sdkDoc  = discovery.Identifier{Scheme: discovery.DocumentScheme, Value: "urn:riv:infrastructure:messaging:MessageWithAttachments:3::messagePayload##3.0::tm-base-ext-sigenc"}
	receipt = discovery.Identifier{Scheme: discovery.DocumentScheme, Value: "urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2::ApplicationResponse##fdc:digg.se:edelivery:messagetype:response:1::2.1::tm-base-ext-sigenc"}
	noproc  = discovery.Identifier{Scheme: discovery.ProcessScheme, Value: "bdx:noprocess"}
)

// smpPKI is a signer under an SMP root, and an impostor under another.
type smpPKI struct {
	root, signer, impostor *testpki.Cert
}

func newSMPPKI(t testing.TB) *smpPKI {
	t.Helper()
	root := testpki.Must(testpki.NewRoot(testpki.Spec{CommonName: "Rot CA eDelivery SMP-TEST", KeySlot: 7201}))
	other := testpki.Must(testpki.NewRoot(testpki.Spec{CommonName: "Rot CA eDelivery SMP-TEST", KeySlot: 7202}))
	return &smpPKI{
		root:     root,
		signer:   testpki.Must(root.NewLeaf(testpki.Spec{CommonName: "SMP signer", KeySlot: 7203})),
		impostor: testpki.Must(other.NewLeaf(testpki.Spec{CommonName: "SMP signer", KeySlot: 7204})),
	}
}

func (p *smpPKI) client(t testing.TB) *discovery.SMPClient {
	t.Helper()
	c, err := discovery.NewSMPClient(discovery.SMPConfig{Trust: trust.NewStore(p.root.Certificate)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func apCert(t testing.TB) *testpki.Cert {
	t.Helper()
	h := testpki.Must(testpki.NewHierarchy("QA", "AP0001-SDK-QA", 0))
	return h.Leaf
}

func metadataDoc(t testing.TB) *etree.Document {
	t.Helper()
	d, err := federationtest.ServiceMetadataDocument(malmo, sdkDoc, []federationtest.Service{{
		DocumentType: sdkDoc, Process: noproc, EndpointURL: "https://ap.malmo.test/as4", Certificate: apCert(t).Certificate,
	}})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func sign(t testing.TB, d *etree.Document, c *testpki.Cert, opts federationtest.SignOptions) []byte {
	t.Helper()
	out, err := federationtest.Sign(d, c.Key, c.Certificate, opts)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func strp(s string) *string { return &s }

func TestSignatureVariants(t *testing.T) {
	p := newSMPPKI(t)
	c := p.client(t)
	ctx := context.Background()
	withID := func(t testing.TB) *etree.Document {
		d := metadataDoc(t)
		d.Root().CreateAttr("ID", "smd-1")
		return d
	}
	good := []struct {
		name string
		doc  func(testing.TB) *etree.Document
		opts federationtest.SignOptions
	}{
		{"inclusive", metadataDoc, federationtest.SignOptions{}},
		{"exclusive", metadataDoc, federationtest.SignOptions{Exclusive: true}},
		{"enveloped transform only", metadataDoc, federationtest.SignOptions{OmitC14NTransform: true}},
		{"rsa-sha512 and sha512", metadataDoc, federationtest.SignOptions{SignatureMethod: discovery.AlgRSASHA512, DigestMethod: discovery.AlgSHA512}},
		{"reference by root id", withID, federationtest.SignOptions{ReferenceURI: strp("#smd-1")}},
		{"xml:lang inherited into SignedInfo", func(t testing.TB) *etree.Document {
			d := metadataDoc(t)
			d.Root().CreateAttr("xml:lang", "sv")
			return d
		}, federationtest.SignOptions{}},
	}
	for _, tc := range good {
		m, err := c.Verify(ctx, sign(t, tc.doc(t), p.signer, tc.opts), "test")
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if m.Processes[0].Endpoints[0].URI != "https://ap.malmo.test/as4" || !m.Signer.Equal(p.signer.Certificate) {
			t.Errorf("%s: %+v", tc.name, m)
		}
	}

	bad := []struct {
		name string
		data func(t testing.TB) []byte
		kind error
		msg  string
	}{
		{"content changed after signing", func(t testing.TB) []byte {
			return []byte(strings.Replace(string(sign(t, metadataDoc(t), p.signer, federationtest.SignOptions{})), "ap.malmo.test", "evil.test", 1))
		}, discovery.ErrBadSignature, "digest does not match"},
		{"unsigned", func(t testing.TB) []byte {
			b, _ := metadataDoc(t).WriteToBytes()
			return b
		}, discovery.ErrBadSignature, "not signed"},
		{"signer from another root", func(t testing.TB) []byte {
			return sign(t, metadataDoc(t), p.impostor, federationtest.SignOptions{})
		}, discovery.ErrBadSignature, "not trusted"},
		{"SHA-1 digest", func(t testing.TB) []byte {
			return sign(t, metadataDoc(t), p.signer, federationtest.SignOptions{DigestMethod: "http://www.w3.org/2000/09/xmldsig#sha1"})
		}, discovery.ErrBadSignature, "digest method"},
		{"RSA-SHA1 signature", func(t testing.TB) []byte {
			return sign(t, metadataDoc(t), p.signer, federationtest.SignOptions{SignatureMethod: "http://www.w3.org/2000/09/xmldsig#rsa-sha1"})
		}, discovery.ErrBadSignature, "signature method"},
		{"certificate swapped in KeyInfo", func(t testing.TB) []byte {
			s := string(sign(t, metadataDoc(t), p.signer, federationtest.SignOptions{}))
			return []byte(replaceCert(s, p.signer, p.impostor))
		}, discovery.ErrBadSignature, "does not verify"},
		{"reference to an inner element (wrapping)", func(t testing.TB) []byte {
			d := metadataDoc(t)
			d.Root().SelectElement("ServiceMetadata").CreateAttr("ID", "inner")
			return sign(t, d, p.signer, federationtest.SignOptions{ReferenceURI: strp("#inner")})
		}, discovery.ErrBadSignature, "not the document element"},
		{"duplicate id", func(t testing.TB) []byte {
			d := withID(t)
			d.Root().SelectElement("ServiceMetadata").CreateAttr("ID", "smd-1")
			return sign(t, d, p.signer, federationtest.SignOptions{ReferenceURI: strp("#smd-1")})
		}, discovery.ErrBadSignature, "names 2 elements"},
		{"reference elsewhere", func(t testing.TB) []byte {
			return sign(t, metadataDoc(t), p.signer, federationtest.SignOptions{ReferenceURI: strp("http://evil.test/doc.xml")})
		}, discovery.ErrBadSignature, "does not point at this document"},
		{"second signature", func(t testing.TB) []byte {
			s := string(sign(t, metadataDoc(t), p.signer, federationtest.SignOptions{}))
			i, j := strings.Index(s, "<ds:Signature"), strings.Index(s, "</ds:Signature>")+len("</ds:Signature>")
			return []byte(s[:j] + s[i:j] + s[j:])
		}, discovery.ErrBadSignature, "more than one ds:Signature"},
		{"second ServiceMetadata smuggled in", func(t testing.TB) []byte {
			s := string(sign(t, metadataDoc(t), p.signer, federationtest.SignOptions{}))
			return []byte(strings.Replace(s, "<ds:Signature", "<ServiceMetadata/><ds:Signature", 1))
		}, discovery.ErrBadSignature, "digest"},
		{"DTD", func(t testing.TB) []byte {
			s := string(sign(t, metadataDoc(t), p.signer, federationtest.SignOptions{}))
			return []byte(strings.Replace(s, "?>", "?><!DOCTYPE x>", 1))
		}, discovery.ErrBadResponse, "DTD"},
	}
	for _, tc := range bad {
		_, err := c.Verify(ctx, tc.data(t), "test")
		if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v, want %v containing %q", tc.name, err, tc.kind, tc.msg)
		}
	}
}

func replaceCert(s string, from, to *testpki.Cert) string {
	enc := func(c *testpki.Cert) string {
		b := string(c.CertPEM())
		b = strings.TrimPrefix(b, "-----BEGIN CERTIFICATE-----\n")
		b = strings.TrimSuffix(b, "-----END CERTIFICATE-----\n")
		return strings.ReplaceAll(b, "\n", "")
	}
	return strings.Replace(s, enc(from), enc(to), 1)
}

// TestSignatureAgainstXmlsec1 has libxml2's XML-DSig implementation verify
// what federationtest signs, for every C14N variant, so the simulated SMP
// (and with it the verifier tested above) signs the way real SMPs' peers
// check.
func TestSignatureAgainstXmlsec1(t *testing.T) {
	xmlsec := testutil.RequireTool(t, "xmlsec1", "xmlsec1")
	p := newSMPPKI(t)
	dir := t.TempDir()
	rootPEM := filepath.Join(dir, "root.pem")
	if err := testpki.WritePEM(rootPEM, p.root); err != nil {
		t.Fatal(err)
	}
	variants := map[string]federationtest.SignOptions{
		"inclusive": {}, "exclusive": {Exclusive: true}, "enveloped-only": {OmitC14NTransform: true},
	}
	for name, opts := range variants {
		for _, lang := range []bool{false, true} {
			d := metadataDoc(t)
			if lang {
				d.Root().CreateAttr("xml:lang", "sv")
				name += "+xml:lang"
			}
			f := filepath.Join(dir, name+".xml")
			if err := os.WriteFile(f, sign(t, d, p.signer, opts), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(xmlsec, "--verify", "--trusted-pem", rootPEM, f).CombinedOutput()
			if err != nil {
				t.Errorf("%s: xmlsec1 rejects the signature: %v\n%s", name, err, out)
			}
		}
	}
	// And it does notice a change, so the passes above mean something.
	tampered := strings.Replace(string(sign(t, metadataDoc(t), p.signer, federationtest.SignOptions{})), "ap.malmo.test", "evil.test", 1)
	f := filepath.Join(dir, "tampered.xml")
	if err := os.WriteFile(f, []byte(tampered), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(xmlsec, "--verify", "--trusted-pem", rootPEM, f).CombinedOutput(); err == nil {
		t.Errorf("xmlsec1 accepts a tampered document:\n%s", out)
	}
}
