package federationtest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/beevik/etree"

	"github.com/as4gw/as4gw/as4/wssec/c14n"
	"github.com/as4gw/as4gw/discovery"
)

// SignOptions choose how Sign signs. The zero value signs like phoss-SMP and
// DomiSMP: inclusive C14N 1.0, RSA-SHA256, SHA-256 digest, Reference URI "".
type SignOptions struct {
	// Exclusive uses exclusive C14N for SignedInfo and the reference.
	Exclusive bool
	// OmitC14NTransform leaves only the enveloped transform (XMLDSig then
	// implies inclusive C14N for the reference).
	OmitC14NTransform bool
	// ReferenceURI overrides "" (e.g. "#id" of the root, or a wrong one).
	ReferenceURI *string
	// DigestMethod and SignatureMethod override the algorithms (to test
	// that SHA-1 is refused).
	DigestMethod    string
	SignatureMethod string
	// Chain is added to KeyInfo after the signer's certificate.
	Chain []*x509.Certificate
}

var digestHashes = map[string]crypto.Hash{
	discovery.AlgSHA256: crypto.SHA256, discovery.AlgSHA384: crypto.SHA384, discovery.AlgSHA512: crypto.SHA512,
	"http://www.w3.org/2000/09/xmldsig#sha1": crypto.SHA1,
}

var signatureHashes = map[string]crypto.Hash{
	discovery.AlgRSASHA256: crypto.SHA256, discovery.AlgRSASHA384: crypto.SHA384, discovery.AlgRSASHA512: crypto.SHA512,
	"http://www.w3.org/2000/09/xmldsig#rsa-sha1": crypto.SHA1,
}

// Sign adds an enveloped ds:Signature as the last child of doc's root, made
// with key and certified by cert, and returns the serialized document.
// doc is modified.
func Sign(doc *etree.Document, key *rsa.PrivateKey, cert *x509.Certificate, opts SignOptions) ([]byte, error) {
	root := doc.Root()
	if root == nil {
		return nil, errors.New("federationtest: empty document")
	}
	alg := c14n.InclusiveAlgorithm
	if opts.Exclusive {
		alg = c14n.Algorithm
	}
	digestAlg := opts.DigestMethod
	if digestAlg == "" {
		digestAlg = discovery.AlgSHA256
	}
	sigAlg := opts.SignatureMethod
	if sigAlg == "" {
		sigAlg = discovery.AlgRSASHA256
	}
	dh, ok := digestHashes[digestAlg]
	sh, ok2 := signatureHashes[sigAlg]
	if !ok || !ok2 {
		return nil, fmt.Errorf("federationtest: unknown algorithm %q or %q", digestAlg, sigAlg)
	}
	uri := ""
	if opts.ReferenceURI != nil {
		uri = *opts.ReferenceURI
	}

	canon := func(el *etree.Element) ([]byte, error) {
		if opts.Exclusive {
			return c14n.Canonicalize(el, nil)
		}
		return c14n.CanonicalizeInclusive(el, c14n.InclusiveOptions{})
	}
	// The signature is not there yet, which is what the enveloped
	// transform will see.
	body, err := canon(root)
	if err != nil {
		return nil, err
	}
	h := dh.New()
	h.Write(body)
	digest := h.Sum(nil)

	sig := root.CreateElement("ds:Signature")
	sig.CreateAttr("xmlns:ds", discovery.NamespaceDS)
	si := sig.CreateElement("ds:SignedInfo")
	si.CreateElement("ds:CanonicalizationMethod").CreateAttr("Algorithm", alg)
	si.CreateElement("ds:SignatureMethod").CreateAttr("Algorithm", sigAlg)
	ref := si.CreateElement("ds:Reference")
	ref.CreateAttr("URI", uri)
	ts := ref.CreateElement("ds:Transforms")
	ts.CreateElement("ds:Transform").CreateAttr("Algorithm", discovery.AlgEnveloped)
	if !opts.OmitC14NTransform {
		ts.CreateElement("ds:Transform").CreateAttr("Algorithm", alg)
	}
	ref.CreateElement("ds:DigestMethod").CreateAttr("Algorithm", digestAlg)
	ref.CreateElement("ds:DigestValue").SetText(base64.StdEncoding.EncodeToString(digest))

	// SignedInfo is canonicalized in place: under inclusive C14N it takes
	// the document's default namespace along.
	siBytes, err := canon(si)
	if err != nil {
		return nil, err
	}
	sh2 := sh.New()
	sh2.Write(siBytes)
	sv, err := rsa.SignPKCS1v15(rand.Reader, key, sh, sh2.Sum(nil))
	if err != nil {
		return nil, err
	}
	sig.CreateElement("ds:SignatureValue").SetText(base64.StdEncoding.EncodeToString(sv))
	xd := sig.CreateElement("ds:KeyInfo").CreateElement("ds:X509Data")
	xd.CreateElement("ds:X509SubjectName").SetText(cert.Subject.String())
	for _, c := range append([]*x509.Certificate{cert}, opts.Chain...) {
		xd.CreateElement("ds:X509Certificate").SetText(base64.StdEncoding.EncodeToString(c.Raw))
	}
	doc.WriteSettings.CanonicalAttrVal = true
	doc.WriteSettings.CanonicalText = true
	return doc.WriteToBytes()
}
