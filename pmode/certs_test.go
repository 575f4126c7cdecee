package pmode

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestResolveCertificates(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "domibus-red"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pemFile := filepath.Join(dir, "red.pem")
	if err := os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "red.der"), der, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}}), 0o600); err != nil {
		t.Fatal(err)
	}

	s := blueRed()
	s.Parties[1].CertificateFile = "red.pem"
	if err := s.ResolveCertificates(dir); err != nil {
		t.Fatal(err)
	}
	if c := s.Parties[1].Certificate; c == nil || c.Subject.CommonName != "domibus-red" {
		t.Errorf("certificate %v", c)
	}
	s.Parties[1].CertificateFile = filepath.Join(dir, "red.der") // absolute, DER
	if err := s.ResolveCertificates("/elsewhere"); err != nil {
		t.Errorf("DER: %v", err)
	}

	s.Parties[0].CertificateFile = "key.pem"
	s.Parties[1].CertificateFile = "missing.pem"
	err = s.ResolveCertificates(dir)
	if err == nil || !strings.Contains(err.Error(), `pmodes.parties[0].certificateFile: `+filepath.Join(dir, "key.pem")+`: PEM block is "PRIVATE KEY", expects CERTIFICATE`) ||
		!strings.Contains(err.Error(), "pmodes.parties[1].certificateFile: open ") {
		t.Errorf("errors: %v", err)
	}
}
