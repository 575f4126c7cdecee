package discovery

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/beevik/etree"

	"github.com/as4gw/as4gw/as4/wssec/c14n"
)

// XML Signature identifiers accepted on SignedServiceMetadata. The lists are
// closed: anything else (SHA-1, HMAC, XPath, XSLT, comments variants) fails.
const (
	NamespaceDS = "http://www.w3.org/2000/09/xmldsig#"

	AlgEnveloped = NamespaceDS + "enveloped-signature"

	AlgRSASHA256   = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	AlgRSASHA384   = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384"
	AlgRSASHA512   = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
	AlgECDSASHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
	AlgECDSASHA384 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
	AlgECDSASHA512 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512"

	AlgSHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
	AlgSHA384 = "http://www.w3.org/2001/04/xmldsig-more#sha384"
	AlgSHA512 = "http://www.w3.org/2001/04/xmlenc#sha512"
)

var signatureMethods = map[string]crypto.Hash{
	AlgRSASHA256: crypto.SHA256, AlgRSASHA384: crypto.SHA384, AlgRSASHA512: crypto.SHA512,
	AlgECDSASHA256: crypto.SHA256, AlgECDSASHA384: crypto.SHA384, AlgECDSASHA512: crypto.SHA512,
}

var digestMethods = map[string]crypto.Hash{AlgSHA256: crypto.SHA256, AlgSHA384: crypto.SHA384, AlgSHA512: crypto.SHA512}

// minRSABits refuses keys too weak to trust for routing decisions.
const minRSABits = 2048

// signedBy is what a valid enveloped signature tells: who signed, with what
// certificates offered for the chain, and how.
type signedBy struct {
	Signer        *x509.Certificate
	Intermediates []*x509.Certificate
	C14N          string
	Method        string
}

// verifyEnveloped checks the one ds:Signature child of root, an enveloped
// signature over the whole document, the way SMPs sign SignedServiceMetadata:
//
//   - exactly one ds:Signature child of the document element, with exactly
//     one Reference whose URI is "" or "#id" of the document element itself
//     (and that id unique in the document), so the signed node is the root
//     and nothing else (no wrapping);
//   - transforms: enveloped-signature, optionally followed by one inclusive
//     or exclusive C14N 1.0 (without comments); nothing else;
//   - SignedInfo canonicalized with inclusive or exclusive C14N 1.0;
//     RSA (≥ 2048 bits) or ECDSA with SHA-256/384/512; SHA-256/384/512
//     digests;
//   - SignatureValue checked first, then the Reference is read from the
//     verified canonical bytes, then the digest of the document without the
//     signature is compared.
//
// It does not judge the certificate: the caller validates Signer against
// the SMP trust store.
func verifyEnveloped(root *etree.Element) (*signedBy, error) {
	var sig *etree.Element
	for _, c := range root.ChildElements() {
		if c.Tag == "Signature" && c.NamespaceURI() == NamespaceDS {
			if sig != nil {
				return nil, errors.New("more than one ds:Signature on the document element")
			}
			sig = c
		}
	}
	if sig == nil {
		return nil, errors.New("the document is not signed (no ds:Signature child of the document element)")
	}
	kids := sig.ChildElements()
	if len(kids) < 2 || !isDS(kids[0], "SignedInfo") || !isDS(kids[1], "SignatureValue") {
		return nil, errors.New("ds:Signature must start with SignedInfo and SignatureValue")
	}
	for _, k := range kids[2:] {
		if isDS(k, "SignedInfo") || isDS(k, "SignatureValue") {
			return nil, fmt.Errorf("ds:Signature has a second %s", k.Tag)
		}
	}
	si, sigValEl := kids[0], kids[1]

	// Canonicalize SignedInfo with its own declared method, in place so the
	// namespaces of its ancestors count.
	cm, err := dsChild(si, "CanonicalizationMethod")
	if err != nil {
		return nil, err
	}
	siAlg := cm.SelectAttrValue("Algorithm", "")
	siBytes, err := canonicalize(si, siAlg, cm, nil)
	if err != nil {
		return nil, fmt.Errorf("SignedInfo: %w", err)
	}
	sm, err := dsChild(si, "SignatureMethod")
	if err != nil {
		return nil, err
	}
	method := sm.SelectAttrValue("Algorithm", "")
	hash, ok := signatureMethods[method]
	if !ok {
		return nil, fmt.Errorf("signature method %q is not allowed", method)
	}
	sigVal, err := base64.StdEncoding.DecodeString(stripSpace(sigValEl.Text()))
	if err != nil || len(sigVal) == 0 {
		return nil, errors.New("SignatureValue is not base64")
	}
	certs, err := keyInfoCertificates(sig)
	if err != nil {
		return nil, err
	}
	h := hash.New()
	h.Write(siBytes)
	siDigest := h.Sum(nil)
	var signer *x509.Certificate
	var others []*x509.Certificate
	for _, c := range certs {
		if signer == nil && checkSignature(c, method, hash, siDigest, sigVal) == nil {
			signer = c
			continue
		}
		others = append(others, c)
	}
	if signer == nil {
		if len(certs) == 1 {
			return nil, fmt.Errorf("SignatureValue does not verify with the certificate in KeyInfo (%s): %w",
				certs[0].Subject, checkSignature(certs[0], method, hash, siDigest, sigVal))
		}
		return nil, errors.New("SignatureValue does not verify with any certificate in KeyInfo")
	}

	// Only now read the Reference, and from the bytes just verified.
	vdoc := etree.NewDocument()
	if err := vdoc.ReadFromBytes(siBytes); err != nil {
		return nil, fmt.Errorf("canonical SignedInfo: %w", err)
	}
	vsi := vdoc.Root()
	var refs []*etree.Element
	for _, c := range vsi.ChildElements() {
		if isDS(c, "Reference") {
			refs = append(refs, c)
		}
	}
	if len(refs) != 1 {
		return nil, fmt.Errorf("SignedInfo has %d References, want exactly one", len(refs))
	}
	ref := refs[0]
	if err := checkReferenceURI(root, ref.SelectAttrValue("URI", "\x00")); err != nil {
		return nil, err
	}
	var transforms []*etree.Element
	if ts := dsChildren(ref, "Transforms"); len(ts) == 1 {
		transforms = dsChildren(ts[0], "Transform")
	} else if len(ts) > 1 {
		return nil, errors.New("Reference has more than one Transforms")
	}
	if len(transforms) == 0 || transforms[0].SelectAttrValue("Algorithm", "") != AlgEnveloped {
		return nil, errors.New("the Reference must start with the enveloped-signature transform")
	}
	refC14N, refC14NEl := c14n.InclusiveAlgorithm, (*etree.Element)(nil) // XMLDSig's default node-set to octets
	switch len(transforms) {
	case 1:
	case 2:
		refC14NEl = transforms[1]
		refC14N = refC14NEl.SelectAttrValue("Algorithm", "")
	default:
		return nil, fmt.Errorf("the Reference has %d transforms; only enveloped-signature and one C14N are allowed", len(transforms))
	}
	dm, err := dsChild(ref, "DigestMethod")
	if err != nil {
		return nil, err
	}
	digestAlg := dm.SelectAttrValue("Algorithm", "")
	dhash, ok := digestMethods[digestAlg]
	if !ok {
		return nil, fmt.Errorf("digest method %q is not allowed", digestAlg)
	}
	dv, err := dsChild(ref, "DigestValue")
	if err != nil {
		return nil, err
	}
	want, err := base64.StdEncoding.DecodeString(stripSpace(dv.Text()))
	if err != nil {
		return nil, errors.New("DigestValue is not base64")
	}
	docBytes, err := canonicalize(root, refC14N, refC14NEl, sig)
	if err != nil {
		return nil, fmt.Errorf("document: %w", err)
	}
	dh := dhash.New()
	dh.Write(docBytes)
	if subtle.ConstantTimeCompare(dh.Sum(nil), want) != 1 {
		return nil, errors.New("the document digest does not match: the SignedServiceMetadata was changed after signing")
	}
	return &signedBy{Signer: signer, Intermediates: others, C14N: siAlg, Method: method}, nil
}

func isDS(el *etree.Element, local string) bool {
	return el.Tag == local && el.NamespaceURI() == NamespaceDS
}

func dsChildren(el *etree.Element, local string) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if isDS(c, local) {
			out = append(out, c)
		}
	}
	return out
}

func dsChild(el *etree.Element, local string) (*etree.Element, error) {
	cs := dsChildren(el, local)
	if len(cs) != 1 {
		return nil, fmt.Errorf("ds:%s has %d ds:%s, want one", el.Tag, len(cs), local)
	}
	return cs[0], nil
}

func stripSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
}

// canonicalize renders el with alg (inclusive or exclusive C14N 1.0 without
// comments), leaving out exclude (the enveloped signature). method is the
// element carrying the algorithm, for an exclusive PrefixList.
func canonicalize(el *etree.Element, alg string, method *etree.Element, exclude *etree.Element) ([]byte, error) {
	switch alg {
	case c14n.InclusiveAlgorithm:
		return c14n.CanonicalizeInclusive(el, c14n.InclusiveOptions{Exclude: exclude})
	case c14n.Algorithm:
		var prefixes []string
		if method != nil {
			for _, c := range method.ChildElements() {
				if c.Tag == "InclusiveNamespaces" && c.NamespaceURI() == c14n.Algorithm {
					prefixes = append(prefixes, c14n.ParsePrefixList(c.SelectAttrValue("PrefixList", ""))...)
				}
			}
		}
		if exclude == nil {
			return c14n.Canonicalize(el, prefixes)
		}
		// The exclusive canonicalizer cannot skip a subtree; work on a
		// detached copy of the document element without the signature.
		// The document element has no ancestors, so nothing is lost.
		if el.Parent() != nil && el.Parent().Parent() != nil {
			return nil, errors.New("enveloped exclusive C14N is only supported on the document element")
		}
		cp := el.Copy()
		idx := -1
		for i, c := range el.Child {
			if c == exclude {
				idx = i
			}
		}
		if idx < 0 {
			return nil, errors.New("the signature is not a child of the signed element")
		}
		cp.RemoveChildAt(idx)
		return c14n.Canonicalize(cp, prefixes)
	}
	return nil, fmt.Errorf("canonicalization %q is not allowed", alg)
}

// checkReferenceURI accepts "" (the whole document) and "#id" naming the
// document element by an Id/ID/id attribute that no other element carries.
func checkReferenceURI(root *etree.Element, uri string) error {
	switch {
	case uri == "":
		return nil
	case uri == "\x00":
		return errors.New("the Reference has no URI; it must be \"\" (the whole document)")
	case !strings.HasPrefix(uri, "#") || len(uri) == 1:
		return fmt.Errorf("Reference URI %q does not point at this document", uri)
	}
	id := uri[1:]
	n := 0
	var target *etree.Element
	var walk func(*etree.Element)
	walk = func(e *etree.Element) {
		for _, a := range e.Attr {
			if (a.Key == "Id" || a.Key == "ID" || a.Key == "id") && a.Value == id {
				n++
				target = e
			}
		}
		for _, c := range e.ChildElements() {
			walk(c)
		}
	}
	walk(root)
	switch {
	case n == 0:
		return fmt.Errorf("Reference URI %q names no element", uri)
	case n > 1:
		return fmt.Errorf("Reference URI %q names %d elements", uri, n)
	case target != root:
		return fmt.Errorf("Reference URI %q names <%s>, not the document element", uri, target.Tag)
	}
	return nil
}

// keyInfoCertificates returns the X509Certificate values of KeyInfo.
func keyInfoCertificates(sig *etree.Element) ([]*x509.Certificate, error) {
	kis := dsChildren(sig, "KeyInfo")
	if len(kis) != 1 {
		return nil, errors.New("ds:Signature has no KeyInfo with the signing certificate")
	}
	var certs []*x509.Certificate
	for _, xd := range dsChildren(kis[0], "X509Data") {
		for _, xc := range dsChildren(xd, "X509Certificate") {
			der, err := base64.StdEncoding.DecodeString(stripSpace(xc.Text()))
			if err != nil {
				return nil, errors.New("KeyInfo X509Certificate is not base64")
			}
			c, err := x509.ParseCertificate(der)
			if err != nil {
				return nil, fmt.Errorf("KeyInfo X509Certificate: %w", err)
			}
			certs = append(certs, c)
			if len(certs) > 8 {
				return nil, errors.New("KeyInfo holds more than 8 certificates")
			}
		}
	}
	if len(certs) == 0 {
		return nil, errors.New("KeyInfo holds no X509Certificate")
	}
	return certs, nil
}

func checkSignature(c *x509.Certificate, method string, hash crypto.Hash, digest, sig []byte) error {
	switch pub := c.PublicKey.(type) {
	case *rsa.PublicKey:
		if !strings.Contains(method, "#rsa-") {
			return fmt.Errorf("signature method %s does not fit an RSA key", method)
		}
		if pub.N.BitLen() < minRSABits {
			return fmt.Errorf("RSA key of %d bits is below %d", pub.N.BitLen(), minRSABits)
		}
		return rsa.VerifyPKCS1v15(pub, hash, digest, sig)
	case *ecdsa.PublicKey:
		if !strings.Contains(method, "#ecdsa-") {
			return fmt.Errorf("signature method %s does not fit an EC key", method)
		}
		// XML Signature carries r||s, each the size of the curve order.
		size := (pub.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return errors.New("ECDSA SignatureValue has the wrong length")
		}
		r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
		if !ecdsa.Verify(pub, digest, r, s) {
			return errors.New("ECDSA signature does not verify")
		}
		return nil
	}
	return fmt.Errorf("unsupported key type %T", c.PublicKey)
}
