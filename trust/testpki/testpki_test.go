package testpki

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"testing"
	"time"
)

func TestHierarchyVerifies(t *testing.T) {
	h, err := NewHierarchy("QA", "AP0001-SDK-QA", 0)
	if err != nil {
		t.Fatal(err)
	}
	roots, icas := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(h.Root.Certificate)
	icas.AddCert(h.Intermediate.Certificate)
	if _, err := h.Leaf.Certificate.Verify(x509.VerifyOptions{Roots: roots, Intermediates: icas, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Fatalf("hierarchy does not verify: %v", err)
	}
	tests := []struct {
		c      *Cert
		cn     string
		isCA   bool
		ku     x509.KeyUsage
		issuer string
	}{
		{h.Root, "eDelivery test root QA", true, x509.KeyUsageCertSign | x509.KeyUsageCRLSign, "eDelivery test root QA"},
		{h.Intermediate, "Accesspunkt CA-SDK-QA", true, x509.KeyUsageCertSign | x509.KeyUsageCRLSign, "eDelivery test root QA"},
		{h.Leaf, "AP0001-SDK-QA", false, x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, "Accesspunkt CA-SDK-QA"},
	}
	for _, tc := range tests {
		c := tc.c.Certificate
		if c.Subject.CommonName != tc.cn || c.IsCA != tc.isCA || c.KeyUsage != tc.ku || c.Issuer.CommonName != tc.issuer {
			t.Errorf("%s: CN %q CA %v KU %v issuer %q", tc.cn, c.Subject.CommonName, c.IsCA, c.KeyUsage, c.Issuer.CommonName)
		}
		if len(c.SubjectKeyId) != 20 {
			t.Errorf("%s: SKI of %d bytes, want a 20-byte method-1 SKI", tc.cn, len(c.SubjectKeyId))
		}
	}
	// Environments do not share keys.
	prod, err := NewHierarchy("PROD", "AP0001-SDK-PROD", 0)
	if err != nil {
		t.Fatal(err)
	}
	if prod.Leaf.Key.Equal(h.Leaf.Key) || prod.Root.Key.Equal(h.Root.Key) {
		t.Error("QA and PROD share a key")
	}
}

func TestDeterminism(t *testing.T) {
	spec := Spec{CommonName: "same", KeySlot: 7}
	a, err := NewRoot(spec)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewRoot(spec)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Key.Equal(b.Key) || a.Certificate.SerialNumber.Cmp(b.Certificate.SerialNumber) != 0 {
		t.Error("same spec should give the same key and serial")
	}
	c, err := NewRoot(Spec{CommonName: "same", KeySlot: 8})
	if err != nil {
		t.Fatal(err)
	}
	if a.Key.Equal(c.Key) {
		t.Error("different slots share a key")
	}
}

func TestSpecOptions(t *testing.T) {
	root, err := NewRoot(Spec{CommonName: "root", KeySlot: 1})
	if err != nil {
		t.Fatal(err)
	}
	nb := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	leaf, err := root.NewLeaf(Spec{CommonName: "leaf", KeySlot: 2, NotBefore: nb, Lifetime: 24 * time.Hour,
		OmitKeyUsage: true, OmitSubjectKeyID: true, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		t.Fatal(err)
	}
	c := leaf.Certificate
	if !c.NotBefore.Equal(nb) || !c.NotAfter.Equal(nb.Add(24*time.Hour)) {
		t.Errorf("validity %s..%s", c.NotBefore, c.NotAfter)
	}
	for _, e := range c.Extensions {
		if e.Id.String() == "2.5.29.15" || e.Id.String() == "2.5.29.14" {
			t.Errorf("extension %s present", e.Id)
		}
	}
	if len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
		t.Errorf("EKU %v", c.ExtKeyUsage)
	}
	if _, err := NewRoot(Spec{CommonName: "ca", OmitSubjectKeyID: true}); err == nil {
		t.Error("OmitSubjectKeyID on a CA should fail")
	}
	if _, err := NewRoot(Spec{}); err == nil {
		t.Error("missing CommonName should fail")
	}
	self, err := NewSelfSigned(Spec{CommonName: "partner", KeySlot: 3})
	if err != nil {
		t.Fatal(err)
	}
	if self.Certificate.IsCA {
		t.Error("self-signed partner certificate marked as CA")
	}
	// CheckSignatureFrom refuses non-CA parents, so check the signature directly.
	if err := self.Certificate.CheckSignature(self.Certificate.SignatureAlgorithm, self.Certificate.RawTBSCertificate, self.Certificate.Signature); err != nil {
		t.Errorf("self-signed signature: %v", err)
	}
}

func TestWriteFiles(t *testing.T) {
	h, err := NewHierarchy("QA", "AP0001-SDK-QA", 0)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certPath, keyPath, err := h.Leaf.WriteFiles(dir, "ap")
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, _ := os.ReadFile(keyPath)
	blk, _ := pem.Decode(keyPEM)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		t.Fatalf("key file: %q", keyPEM)
	}
	if k, err := x509.ParsePKCS8PrivateKey(blk.Bytes); err != nil || !h.Leaf.Key.Equal(k) {
		t.Errorf("key file does not hold the key: %v", err)
	}
	if fi, _ := os.Stat(keyPath); fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v", fi.Mode().Perm())
	}
	certPEM, _ := os.ReadFile(certPath)
	if blk, _ := pem.Decode(certPEM); blk == nil || blk.Type != "CERTIFICATE" {
		t.Fatalf("cert file: %q", certPEM)
	}
	chain := dir + "/chain.pem"
	if err := WritePEM(chain, h.Leaf, h.Intermediate); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(chain)
	var n int
	for rest := data; ; n++ {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
	}
	if n != 2 {
		t.Errorf("chain file has %d blocks", n)
	}
}
