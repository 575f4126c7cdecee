package trust

import (
	"crypto"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"math/big"
	"sync"
)

// Fingerprint returns the lowercase hex SHA-256 of the certificate's DER,
// the form used in logs, the audit trail and configuration pins.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:])
}

// ThumbprintSHA1 returns the SHA-1 of the certificate's DER, the value of a
// WS-Security KeyIdentifier of ValueType ThumbprintSHA1.
func ThumbprintSHA1(cert *x509.Certificate) []byte {
	sum := sha1.Sum(cert.Raw)
	return sum[:]
}

// SubjectKeyID returns the certificate's Subject Key Identifier: the
// extension's value when present, else the RFC 5280 4.2.1.2 method (1)
// value (SHA-1 of the subjectPublicKey BIT STRING), which is what WSS4J,
// .NET and Holodeck compute for certificates without the extension. nil only
// for a certificate whose public key info cannot be parsed.
func SubjectKeyID(cert *x509.Certificate) []byte {
	if len(cert.SubjectKeyId) > 0 {
		return cert.SubjectKeyId
	}
	ski, _ := ComputeSubjectKeyID(cert.RawSubjectPublicKeyInfo)
	return ski
}

// ComputeSubjectKeyID computes the RFC 5280 method (1) key identifier from a
// DER SubjectPublicKeyInfo.
func ComputeSubjectKeyID(spkiDER []byte) ([]byte, error) {
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(spkiDER, &spki); err != nil {
		return nil, err
	}
	sum := sha1.Sum(spki.PublicKey.Bytes)
	return sum[:], nil
}

// CertificateIndex finds certificates the ways WS-Security token references
// name them: by SKI, by issuer and serial number, by public key and by SHA-1
// thumbprint. It is safe for concurrent use.
//
// Lookups return every matching certificate in the order added (duplicates by
// DER removed), because a renewed certificate can keep its key and thus its
// SKI; the caller picks by validity or chain.
type CertificateIndex struct {
	mu     sync.RWMutex
	certs  []*x509.Certificate
	seen   map[string]bool // DER
	bySKI  map[string][]*x509.Certificate
	byPub  map[string][]*x509.Certificate // DER SubjectPublicKeyInfo
	bySer  map[string][]*x509.Certificate // serial bytes; issuer compared on lookup
	byThmb map[string][]*x509.Certificate
}

// NewCertificateIndex returns an index holding certs.
func NewCertificateIndex(certs ...*x509.Certificate) *CertificateIndex {
	ix := &CertificateIndex{
		seen:   map[string]bool{},
		bySKI:  map[string][]*x509.Certificate{},
		byPub:  map[string][]*x509.Certificate{},
		bySer:  map[string][]*x509.Certificate{},
		byThmb: map[string][]*x509.Certificate{},
	}
	ix.Add(certs...)
	return ix
}

// Add indexes certs; certificates already present are skipped.
func (ix *CertificateIndex) Add(certs ...*x509.Certificate) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, c := range certs {
		if c == nil || ix.seen[string(c.Raw)] {
			continue
		}
		ix.seen[string(c.Raw)] = true
		ix.certs = append(ix.certs, c)
		// Index both the extension's SKI and the method-1 value: a peer
		// whose toolkit ignores the extension (or one that computes it
		// where the issuer used another method) still finds the certificate.
		skis := map[string]bool{}
		if len(c.SubjectKeyId) > 0 {
			skis[string(c.SubjectKeyId)] = true
		}
		if computed, err := ComputeSubjectKeyID(c.RawSubjectPublicKeyInfo); err == nil {
			skis[string(computed)] = true
		}
		for k := range skis {
			ix.bySKI[k] = append(ix.bySKI[k], c)
		}
		ix.byPub[string(c.RawSubjectPublicKeyInfo)] = append(ix.byPub[string(c.RawSubjectPublicKeyInfo)], c)
		ser := string(c.SerialNumber.Bytes())
		ix.bySer[ser] = append(ix.bySer[ser], c)
		th := string(ThumbprintSHA1(c))
		ix.byThmb[th] = append(ix.byThmb[th], c)
	}
}

// Len returns the number of certificates held.
func (ix *CertificateIndex) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.certs)
}

// All returns the certificates in the order added.
func (ix *CertificateIndex) All() []*x509.Certificate {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return append([]*x509.Certificate(nil), ix.certs...)
}

// BySKI finds certificates by Subject Key Identifier (the decoded bytes of a
// KeyIdentifier with ValueType X509SubjectKeyIdentifier).
func (ix *CertificateIndex) BySKI(ski []byte) []*x509.Certificate {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return clone(ix.bySKI[string(ski)])
}

// ByIssuerSerial finds certificates by an X509IssuerSerial whose issuer name
// is a string (see NameMatchesString for the comparison rules).
func (ix *CertificateIndex) ByIssuerSerial(issuerName string, serial *big.Int) []*x509.Certificate {
	if serial == nil {
		return nil
	}
	want, err := parseDNString(issuerName)
	if err != nil {
		return nil
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	var out []*x509.Certificate
	for _, c := range ix.bySer[string(serial.Bytes())] {
		if c.SerialNumber.Cmp(serial) != 0 {
			continue // same magnitude, other sign
		}
		if have, err := parseRawDN(c.RawIssuer); err == nil && dnEqual(have, want) {
			out = append(out, c)
		}
	}
	return out
}

// ByRawIssuerSerial finds certificates by encoded issuer Name and serial, the
// exact comparison used when the reference carries DER (CMS, XAdES).
func (ix *CertificateIndex) ByRawIssuerSerial(rawIssuer []byte, serial *big.Int) []*x509.Certificate {
	if serial == nil {
		return nil
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	var out []*x509.Certificate
	for _, c := range ix.bySer[string(serial.Bytes())] {
		if c.SerialNumber.Cmp(serial) == 0 && string(c.RawIssuer) == string(rawIssuer) {
			out = append(out, c)
		}
	}
	return out
}

// ByPublicKey finds certificates for a public key (e.g. a KeyValue, or to
// find the certificate for a private key).
func (ix *CertificateIndex) ByPublicKey(pub crypto.PublicKey) []*x509.Certificate {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if der, err := x509.MarshalPKIXPublicKey(pub); err == nil {
		if found := ix.byPub[string(der)]; len(found) > 0 {
			return clone(found)
		}
	}
	// The certificate may encode the same key differently (parameters of an
	// unusual algorithm identifier): compare decoded keys.
	var out []*x509.Certificate
	for _, c := range ix.certs {
		if publicKeysEqual(pub, c.PublicKey) {
			out = append(out, c)
		}
	}
	return out
}

// ByThumbprintSHA1 finds certificates by SHA-1 of their DER.
func (ix *CertificateIndex) ByThumbprintSHA1(thumb []byte) []*x509.Certificate {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return clone(ix.byThmb[string(thumb)])
}

func clone(in []*x509.Certificate) []*x509.Certificate {
	if len(in) == 0 {
		return nil
	}
	return append([]*x509.Certificate(nil), in...)
}
