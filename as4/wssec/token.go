package wssec

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"math/big"
	"strings"

	"github.com/beevik/etree"

	"github.com/as4gw/as4gw/trust"
)

// CertificateLookup finds certificates that a token reference names without
// carrying them (IssuerSerial, SubjectKeyIdentifier, ThumbprintSHA1): the
// partner certificates from P-Modes or SMP, or a keystore.
// *trust.CertificateIndex implements it.
type CertificateLookup interface {
	BySKI(ski []byte) []*x509.Certificate
	ByIssuerSerial(issuerName string, serial *big.Int) []*x509.Certificate
	ByThumbprintSHA1(thumb []byte) []*x509.Certificate
}

// single returns the one certificate among found, nil for none, and an error
// when the reference is ambiguous (two different certificates match).
func single(found []*x509.Certificate, what string) (*x509.Certificate, error) {
	if len(found) == 0 {
		return nil, nil
	}
	for _, c := range found[1:] {
		if !c.Equal(found[0]) {
			return nil, authError("token-reference", "%s matches %d different certificates", what, len(found))
		}
	}
	return found[0], nil
}

// TokenReference says how a ds:KeyInfo pointed at its certificate.
type TokenReference string

const (
	RefBSTX509v3      TokenReference = "BinarySecurityToken/X509v3"
	RefBSTPKIPath     TokenReference = "BinarySecurityToken/X509PKIPathv1"
	RefSKI            TokenReference = "KeyIdentifier/SubjectKeyIdentifier"
	RefThumbprint     TokenReference = "KeyIdentifier/ThumbprintSHA1"
	RefIssuerSerial   TokenReference = "X509Data/IssuerSerial"
	RefX509InKeyInfo  TokenReference = "X509Data/X509Certificate"
	RefEncryptedKeyID TokenReference = "Reference/EncryptedKey"
)

// Token is a resolved key reference: the certificate, the intermediates that
// came with it (X509PKIPathv1), and how it was referenced.
type Token struct {
	Certificate   *x509.Certificate
	Intermediates []*x509.Certificate
	Reference     TokenReference
}

// ResolveKeyInfo finds the certificate a ds:KeyInfo refers to. Tokens referenced
// by URI must be BinarySecurityTokens inside the given Security header (rule 3:
// the token sits in the same header as the signature). Certificates named by
// SKI, IssuerSerial or thumbprint are looked up among the header's tokens first
// and then in lookup (which may be nil).
func ResolveKeyInfo(keyInfo, security *etree.Element, lookup CertificateLookup) (*Token, error) {
	if keyInfo == nil {
		return nil, authError("key-info", "no ds:KeyInfo")
	}
	str, err := childNS(keyInfo, NSWSSE, "SecurityTokenReference")
	if err != nil {
		return nil, authError("key-info", "%v", err)
	}
	if str == nil {
		// A bare ds:X509Data directly in KeyInfo (seen from some toolkits).
		if xd, _ := childNS(keyInfo, NSDS, "X509Data"); xd != nil {
			return resolveX509Data(xd, security, lookup)
		}
		return nil, authError("key-info", "ds:KeyInfo holds neither a wsse:SecurityTokenReference nor ds:X509Data")
	}
	return ResolveSTR(str, security, lookup)
}

// ResolveSTR resolves a wsse:SecurityTokenReference.
func ResolveSTR(str, security *etree.Element, lookup CertificateLookup) (*Token, error) {
	children := str.ChildElements()
	if len(children) != 1 {
		return nil, authError("token-reference", "wsse:SecurityTokenReference has %d child elements, want exactly one", len(children))
	}
	c := children[0]
	switch {
	case is(c, NSWSSE, "Reference"):
		return resolveBSTReference(c, security)
	case is(c, NSWSSE, "KeyIdentifier"):
		return resolveKeyIdentifier(c, security, lookup)
	case is(c, NSDS, "X509Data"):
		return resolveX509Data(c, security, lookup)
	}
	return nil, authError("token-reference", "unsupported token reference <%s>", c.FullTag())
}

func resolveBSTReference(ref, security *etree.Element) (*Token, error) {
	uri := ref.SelectAttrValue("URI", "")
	if !strings.HasPrefix(uri, "#") || len(uri) < 2 {
		return nil, authError("token-reference", "wsse:Reference URI %q is not a same-document reference", uri)
	}
	var bst *etree.Element
	for _, c := range childrenNS(security, NSWSSE, "BinarySecurityToken") {
		if id, ok := IDOf(c); ok && id == uri[1:] {
			if bst != nil {
				return nil, authError("duplicate-id", "two BinarySecurityTokens with ID %q", uri[1:])
			}
			bst = c
		}
	}
	if bst == nil {
		return nil, authError("token-reference", "no wsse:BinarySecurityToken with ID %q in the Security header", uri[1:])
	}
	if vt := ref.SelectAttrValue("ValueType", ""); vt != "" && vt != bst.SelectAttrValue("ValueType", "") {
		return nil, authError("token-reference", "reference ValueType %q does not match the token's %q", vt, bst.SelectAttrValue("ValueType", ""))
	}
	return parseBST(bst)
}

// ParseBST decodes a wsse:BinarySecurityToken holding an X509v3 certificate or
// an X509PKIPathv1 chain.
func parseBST(bst *etree.Element) (*Token, error) {
	if enc := bst.SelectAttrValue("EncodingType", EncodingTypeBase64); enc != EncodingTypeBase64 {
		return nil, authError("token", "BinarySecurityToken EncodingType %q is not Base64Binary", enc)
	}
	der, err := base64.StdEncoding.DecodeString(stripSpace(bst.Text()))
	if err != nil {
		return nil, authError("token", "BinarySecurityToken is not valid base64: %v", err)
	}
	switch vt := bst.SelectAttrValue("ValueType", ""); vt {
	case ValueTypeX509v3:
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, authError("token", "BinarySecurityToken certificate: %v", err)
		}
		return &Token{Certificate: cert, Reference: RefBSTX509v3}, nil
	case ValueTypeX509PKIPath:
		certs, err := trust.ParsePKIPath(der)
		if err != nil {
			return nil, authError("token", "BinarySecurityToken X509PKIPathv1: %v", err)
		}
		if len(certs) > maxPKIPathCerts {
			return nil, policyError("token", "X509PKIPathv1 holds %d certificates, the limit is %d", len(certs), maxPKIPathCerts)
		}
		// PkiPath orders certificates from the trust anchor towards the end
		// entity, so the signer is the last one.
		leaf := certs[len(certs)-1]
		inter := make([]*x509.Certificate, 0, len(certs)-1)
		for i := len(certs) - 2; i >= 0; i-- {
			inter = append(inter, certs[i])
		}
		return &Token{Certificate: leaf, Intermediates: inter, Reference: RefBSTPKIPath}, nil
	default:
		return nil, authError("token", "unsupported BinarySecurityToken ValueType %q", vt)
	}
}

// maxPKIPathCerts bounds the chain a peer may send in one token.
const maxPKIPathCerts = 8

func resolveKeyIdentifier(ki, security *etree.Element, lookup CertificateLookup) (*Token, error) {
	if enc := ki.SelectAttrValue("EncodingType", EncodingTypeBase64); enc != EncodingTypeBase64 {
		return nil, authError("token-reference", "KeyIdentifier EncodingType %q is not Base64Binary", enc)
	}
	value, err := base64.StdEncoding.DecodeString(stripSpace(ki.Text()))
	if err != nil || len(value) == 0 {
		return nil, authError("token-reference", "KeyIdentifier is not valid base64")
	}
	var match func(*x509.Certificate) bool
	var ref TokenReference
	var fromLookup func() []*x509.Certificate
	switch vt := ki.SelectAttrValue("ValueType", ""); vt {
	case ValueTypeSKI:
		ref = RefSKI
		match = func(c *x509.Certificate) bool { return bytes.Equal(trust.SubjectKeyID(c), value) }
		fromLookup = func() []*x509.Certificate { return lookup.BySKI(value) }
	case ValueTypeThumbprint:
		ref = RefThumbprint
		match = func(c *x509.Certificate) bool { return bytes.Equal(trust.ThumbprintSHA1(c), value) }
		fromLookup = func() []*x509.Certificate { return lookup.ByThumbprintSHA1(value) }
	default:
		return nil, authError("token-reference", "unsupported KeyIdentifier ValueType %q", vt)
	}
	if cert := certFromHeader(security, match); cert != nil {
		return &Token{Certificate: cert, Reference: ref}, nil
	}
	if lookup != nil {
		cert, err := single(fromLookup(), string(ref))
		if err != nil {
			return nil, err
		}
		if cert != nil {
			return &Token{Certificate: cert, Reference: ref}, nil
		}
	}
	return nil, authError("token-reference", "no known certificate has the %s %s", ref, base64.StdEncoding.EncodeToString(value))
}

func resolveX509Data(xd, security *etree.Element, lookup CertificateLookup) (*Token, error) {
	if xc, _ := childNS(xd, NSDS, "X509Certificate"); xc != nil {
		der, err := base64.StdEncoding.DecodeString(stripSpace(xc.Text()))
		if err != nil {
			return nil, authError("token", "ds:X509Certificate is not valid base64")
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, authError("token", "ds:X509Certificate: %v", err)
		}
		return &Token{Certificate: cert, Reference: RefX509InKeyInfo}, nil
	}
	is, err := childNS(xd, NSDS, "X509IssuerSerial")
	if err != nil || is == nil {
		return nil, authError("token-reference", "ds:X509Data holds neither X509Certificate nor one X509IssuerSerial")
	}
	nameEl, _ := childNS(is, NSDS, "X509IssuerName")
	serialEl, _ := childNS(is, NSDS, "X509SerialNumber")
	if nameEl == nil || serialEl == nil {
		return nil, authError("token-reference", "X509IssuerSerial lacks X509IssuerName or X509SerialNumber")
	}
	issuer := strings.TrimSpace(nameEl.Text())
	serial, ok := new(big.Int).SetString(strings.TrimSpace(serialEl.Text()), 10)
	if !ok {
		return nil, authError("token-reference", "X509SerialNumber %q is not a decimal integer", serialEl.Text())
	}
	match := func(c *x509.Certificate) bool { return trust.MatchIssuerSerial(c, issuer, serial) }
	if cert := certFromHeader(security, match); cert != nil {
		return &Token{Certificate: cert, Reference: RefIssuerSerial}, nil
	}
	if lookup != nil {
		cert, err := single(lookup.ByIssuerSerial(issuer, serial), "IssuerSerial")
		if err != nil {
			return nil, err
		}
		if cert != nil {
			return &Token{Certificate: cert, Reference: RefIssuerSerial}, nil
		}
	}
	return nil, authError("token-reference", "no known certificate has issuer %q and serial %s", issuer, serial)
}

// certFromHeader returns the first X509v3 BinarySecurityToken in the Security
// header whose certificate satisfies match.
func certFromHeader(security *etree.Element, match func(*x509.Certificate) bool) *x509.Certificate {
	if security == nil {
		return nil
	}
	for _, bst := range childrenNS(security, NSWSSE, "BinarySecurityToken") {
		tok, err := parseBST(bst)
		if err != nil {
			continue
		}
		if match(tok.Certificate) {
			return tok.Certificate
		}
	}
	return nil
}

func stripSpace(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r':
			return -1
		}
		return r
	}, s)
}
