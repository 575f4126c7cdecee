package testpki

import (
	"crypto/rand"
	"crypto/x509"
	"fmt"
)

// RevocationURLs are the revocation pointers to put into a certificate.
type RevocationURLs struct {
	// OCSP responder URLs (authorityInfoAccess, id-ad-ocsp).
	OCSP []string
	// CRL distribution point URLs.
	CRL []string
}

// NewLeafWithURLs issues an end-entity certificate like NewLeaf, carrying the
// given OCSP responder and CRL distribution point URLs. Start the responder
// or CRL server first, then issue certificates pointing at its URL.
func (c *Cert) NewLeafWithURLs(s Spec, u RevocationURLs) (*Cert, error) {
	return c.issueWithURLs(s, false, u)
}

// NewIntermediateWithURLs issues a CA certificate like NewIntermediate,
// carrying revocation URLs (served by c's responder or CRL).
func (c *Cert) NewIntermediateWithURLs(s Spec, u RevocationURLs) (*Cert, error) {
	return c.issueWithURLs(s, true, u)
}

// NewOCSPSigner issues a delegated OCSP responder certificate: an end-entity
// certificate with the id-kp-OCSPSigning extended key usage and the
// digitalSignature key usage, unless s sets others. (For a responder
// certificate without the EKU, to test that it is refused, use NewLeaf.)
func (c *Cert) NewOCSPSigner(s Spec) (*Cert, error) {
	if s.ExtKeyUsage == nil {
		s.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}
	}
	if s.KeyUsage == 0 {
		s.KeyUsage = x509.KeyUsageDigitalSignature
	}
	return c.NewLeaf(s)
}

// issueWithURLs issues through the ordinary path, then signs the same
// certificate again with the URLs added (same serial, key and validity).
func (c *Cert) issueWithURLs(s Spec, isCA bool, u RevocationURLs) (*Cert, error) {
	base, err := issue(s, c, isCA)
	if err != nil {
		return nil, err
	}
	tmpl := *base.Certificate
	tmpl.OCSPServer = append([]string(nil), u.OCSP...)
	tmpl.CRLDistributionPoints = append([]string(nil), u.CRL...)
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, c.Certificate, &base.Key.PublicKey, c.Key)
	if err != nil {
		return nil, fmt.Errorf("testpki: issue %q with revocation URLs: %w", s.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("testpki: parse %q: %w", s.CommonName, err)
	}
	return &Cert{Certificate: cert, Key: base.Key}, nil
}
