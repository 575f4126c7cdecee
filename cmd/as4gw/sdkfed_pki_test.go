package main

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/as4gw/as4gw/trust/testpki"
)

// sdkPKI is a DIGG-shaped PKI for the simulated SDK federation. Keys are RSA
// 2048 (testpki.DefaultKeySize) for speed; DIGG issues RSA 3072, which takes
// the same code paths.
//
//	AS4, one root per environment ("PKI för accesspunkter"):
//	  eDelivery test root QA   → Accesspunkt CA-SDK-QA   → AP0001/2/3/4-SDK-QA
//	  eDelivery test root PROD → Accesspunkt CA-SDK-PROD → AP0009-SDK-PROD
//	TLS, SITHS-like and apart from AS4:
//	  SITHS e-id Root CA (test) → SITHS e-id Function CA (test) → one per AP
//	  Other TLS Root (test) → Other TLS Function CA (test) → an outsider
//	SMP: Rot CA eDelivery SMP-QA → the SMP's signing certificate
//
// AP0003 is revoked at the QA responder (TF-02); AP0004 names a responder that
// is down (hard fail must refuse it).
type sdkPKI struct {
	as4QA, as4Prod         *testpki.Cert // the Accesspunkt CA-SDK-* intermediates
	tlsCA, otherTLSCA      *testpki.Cert // SITHS-like function CA; an unrelated TLS CA
	smpRoot, smpSigner     *testpki.Cert
	qaOCSP, prodOCSP       *testpki.OCSPResponder
	tlsOCSP, smpOCSP       *testpki.OCSPResponder
	deadOCSP               *testpki.OCSPResponder // configured Down
	ap1, ap2, ap3, ap4     *testpki.Cert          // AS4 certificates, QA
	apProd                 *testpki.Cert          // AS4 certificate, PROD
	tls1, tls2, tlsProd    *testpki.Cert          // TLS (client and server) certificates
	outsiderTLS            *testpki.Cert          // from otherTLSCA
	as4QARoot, as4ProdRoot *testpki.Cert
}

var (
	sdkPKIOnce sync.Once
	sdkPKIVal  *sdkPKI
	sdkPKIErr  error
)

// sdkKeySlot keeps this PKI's keys apart from other tests' (testpki caches
// keys by slot for the whole test binary).
const sdkKeySlot = 8800

// newSDKPKI builds the PKI once per test binary; the responders live as long.
func newSDKPKI(t *testing.T) *sdkPKI {
	t.Helper()
	sdkPKIOnce.Do(func() { sdkPKIVal, sdkPKIErr = buildSDKPKI() })
	if sdkPKIErr != nil {
		t.Fatal(sdkPKIErr)
	}
	return sdkPKIVal
}

func buildSDKPKI() (p *sdkPKI, err error) {
	// Key generation dominates; make all keys at once.
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); _, errs[i] = testpki.Key(testpki.DefaultKeySize, sdkKeySlot+i) }()
	}
	wg.Wait()
	for _, e := range errs {
		if e != nil {
			return nil, e
		}
	}
	must := func(c *testpki.Cert, e error) *testpki.Cert {
		if err == nil && e != nil {
			err = e
		}
		return c
	}
	spec := func(cn string, slot int) testpki.Spec {
		return testpki.Spec{CommonName: cn, Organization: "DIGG test", Country: "SE", KeySlot: sdkKeySlot + slot}
	}
	p = &sdkPKI{}
	p.as4QARoot = must(testpki.NewRoot(spec("eDelivery test root QA", 0)))
	p.as4ProdRoot = must(testpki.NewRoot(spec("eDelivery test root PROD", 1)))
	if err != nil {
		return nil, err
	}
	p.as4QA = must(p.as4QARoot.NewIntermediate(spec("Accesspunkt CA-SDK-QA", 2)))
	p.as4Prod = must(p.as4ProdRoot.NewIntermediate(spec("Accesspunkt CA-SDK-PROD", 3)))
	tlsRoot := must(testpki.NewRoot(spec("SITHS e-id Root CA v2 (test)", 4)))
	otherRoot := must(testpki.NewRoot(spec("Other TLS Root (test)", 5)))
	p.smpRoot = must(testpki.NewRoot(spec("Rot CA eDelivery SMP-QA", 6)))
	if err != nil {
		return nil, err
	}
	p.tlsCA = must(tlsRoot.NewIntermediate(spec("SITHS e-id Function CA v1 (test)", 7)))
	p.otherTLSCA = must(otherRoot.NewIntermediate(spec("Other TLS Function CA (test)", 8)))
	if err != nil {
		return nil, err
	}
	p.qaOCSP, p.prodOCSP = testpki.NewOCSPResponder(p.as4QA), testpki.NewOCSPResponder(p.as4Prod)
	p.tlsOCSP, p.smpOCSP = testpki.NewOCSPResponder(p.tlsCA), testpki.NewOCSPResponder(p.smpRoot)
	p.deadOCSP = testpki.NewOCSPResponder(p.as4QA)
	p.deadOCSP.Configure(testpki.OCSPBehavior{Down: true})

	leaf := func(ca *testpki.Cert, cn string, slot int, ocspURL string) *testpki.Cert {
		return must(ca.NewLeafWithURLs(testpki.Spec{CommonName: cn, Organization: "Test AP operator", Country: "SE", KeySlot: sdkKeySlot + slot},
			testpki.RevocationURLs{OCSP: []string{ocspURL}}))
	}
	p.ap1 = leaf(p.as4QA, "AP0001-SDK-QA", 10, p.qaOCSP.URL)
	p.ap2 = leaf(p.as4QA, "AP0002-SDK-QA", 11, p.qaOCSP.URL)
	p.ap3 = leaf(p.as4QA, "AP0003-SDK-QA", 12, p.qaOCSP.URL)
	p.ap4 = leaf(p.as4QA, "AP0004-SDK-QA", 13, p.deadOCSP.URL)
	p.apProd = leaf(p.as4Prod, "AP0009-SDK-PROD", 14, p.prodOCSP.URL)
	p.smpSigner = leaf(p.smpRoot, "SMP QA signer (test)", 15, p.smpOCSP.URL)
	if err != nil {
		return nil, err
	}
	p.qaOCSP.Revoke(p.ap3.Certificate.SerialNumber, time.Now().Add(-time.Hour), 1) // keyCompromise

	p.tls1 = loopbackCert(p.tlsCA, "ap1.qa.example.se", 8801, p.tlsOCSP.URL)
	p.tls2 = loopbackCert(p.tlsCA, "ap2.qa.example.se", 8802, p.tlsOCSP.URL)
	p.tlsProd = loopbackCert(p.tlsCA, "ap9.prod.example.se", 8809, p.tlsOCSP.URL)
	p.outsiderTLS = loopbackCert(p.otherTLSCA, "outsider.example", 8810, "")
	return p, nil
}

// pemFile writes certificates as one PEM file and returns its path.
func pemFile(t *testing.T, dir, name string, certs ...*testpki.Cert) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := testpki.WritePEM(path, certs...); err != nil {
		t.Fatal(err)
	}
	return path
}

// keyFile writes a private key (PKCS#8 PEM, 0600).
func keyFile(t *testing.T, dir, name string, c *testpki.Cert) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, c.KeyPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// p12File writes c with its key and chain as a PKCS#12 key store, as DIGG
// hands out the AP certificate.
func p12File(t *testing.T, dir, name, password string, c *testpki.Cert, chain ...*testpki.Cert) string {
	t.Helper()
	var cas []*x509.Certificate
	for _, ca := range chain {
		cas = append(cas, ca.Certificate)
	}
	data, err := pkcs12.Modern2023.Encode(c.Key, c.Certificate, cas, password)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
