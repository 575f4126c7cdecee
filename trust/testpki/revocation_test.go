package testpki

import (
	"bytes"
	"crypto/x509"
	"io"
	"math/big"
	"net/http"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// The responder's answers parse and verify with golang.org/x/crypto/ocsp,
// independently of package trust.
func TestOCSPResponderAnswers(t *testing.T) {
	h, err := NewHierarchy("QA", "AP0001-SDK-QA", 0)
	if err != nil {
		t.Fatal(err)
	}
	ca := h.Intermediate
	r := NewOCSPResponder(ca)
	defer r.Close()
	leaf, err := ca.NewLeafWithURLs(Spec{CommonName: "AP-responder-test", KeySlot: 7}, RevocationURLs{OCSP: []string{r.URL}, CRL: []string{"http://crl.example/ca.crl"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(leaf.Certificate.OCSPServer) != 1 || leaf.Certificate.OCSPServer[0] != r.URL || len(leaf.Certificate.CRLDistributionPoints) != 1 {
		t.Fatalf("URLs not in the certificate: %v %v", leaf.Certificate.OCSPServer, leaf.Certificate.CRLDistributionPoints)
	}
	if err := leaf.Certificate.CheckSignatureFrom(ca.Certificate); err != nil {
		t.Fatal(err)
	}

	ask := func() (*ocsp.Response, error) {
		req, err := ocsp.CreateRequest(leaf.Certificate, ca.Certificate, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Post(r.URL, "application/ocsp-request", bytes.NewReader(req))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return ocsp.ParseResponseForCert(body, leaf.Certificate, ca.Certificate)
	}

	resp, err := ask()
	if err != nil || resp.Status != ocsp.Good || resp.NextUpdate.Sub(resp.ThisUpdate) != time.Hour {
		t.Fatalf("good: %+v %v", resp, err)
	}
	at := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	r.Revoke(leaf.Certificate.SerialNumber, at, ocsp.KeyCompromise)
	resp, err = ask()
	if err != nil || resp.Status != ocsp.Revoked || !resp.RevokedAt.Equal(at) || resp.RevocationReason != ocsp.KeyCompromise {
		t.Fatalf("revoked: %+v %v", resp, err)
	}
	signer, err := ca.NewOCSPSigner(Spec{CommonName: "OCSP responder", KeySlot: 7})
	if err != nil {
		t.Fatal(err)
	}
	r.SetSigner(signer)
	resp, err = ask()
	if err != nil || resp.Certificate == nil || !resp.Certificate.Equal(signer.Certificate) {
		t.Fatalf("delegated: %+v %v", resp, err)
	}
	r.SetSigner(nil)
	r.Configure(OCSPBehavior{WrongKey: true})
	if _, err := ask(); err == nil {
		t.Error("response signed with the wrong key verifies")
	}
	if r.Requests() != 4 {
		t.Errorf("%d requests", r.Requests())
	}
}

func TestNewCRL(t *testing.T) {
	h, err := NewHierarchy("QA", "AP0001-SDK-QA", 0)
	if err != nil {
		t.Fatal(err)
	}
	ca := h.Intermediate
	at := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	der, err := ca.NewCRL(CRLSpec{Revoked: []RevokedCert{{Serial: big.NewInt(42), At: at, Reason: ocsp.Superseded}}})
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(ca.Certificate); err != nil {
		t.Fatal(err)
	}
	if len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Int64() != 42 ||
		crl.RevokedCertificateEntries[0].ReasonCode != ocsp.Superseded || !crl.RevokedCertificateEntries[0].RevocationTime.Equal(at) {
		t.Errorf("entries %+v", crl.RevokedCertificateEntries)
	}
	if d := crl.NextUpdate.Sub(crl.ThisUpdate); d != 24*time.Hour {
		t.Errorf("validity %v", d)
	}
	der, err = ca.NewCRL(CRLSpec{WrongKey: true})
	if err != nil {
		t.Fatal(err)
	}
	if crl, err = x509.ParseRevocationList(der); err != nil {
		t.Fatal(err)
	}
	if crl.CheckSignatureFrom(ca.Certificate) == nil {
		t.Error("CRL signed with the wrong key verifies")
	}

	s := NewCRLServer(ca)
	defer s.Close()
	s.Revoke(big.NewInt(43), at, 0)
	resp, err := http.Get(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if crl, err = x509.ParseRevocationList(body); err != nil || len(crl.RevokedCertificateEntries) != 1 || crl.Number.Int64() != 1 {
		t.Fatalf("served CRL: %v %+v", err, crl)
	}
}
