package trust

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
)

// Keystore sentinel errors; the returned errors wrap them with context.
var (
	// ErrWrongPassword: the store's integrity check (PKCS#12 MAC) or key
	// decryption failed with the given password.
	ErrWrongPassword = errors.New("wrong password")
	// ErrNoPrivateKey: the data holds certificates but no private key (a
	// trust store or a certificate file was given where a keystore was
	// expected).
	ErrNoPrivateKey = errors.New("no private key")
	// ErrNoCertificate: a private key has no certificate with it.
	ErrNoCertificate = errors.New("no certificate for the private key")
	// ErrKeyMismatch: the certificate's public key is not the private key's.
	ErrKeyMismatch = errors.New("private key does not match certificate")
	// ErrUnsupportedFormat: the data is not in a form this package reads.
	ErrUnsupportedFormat = errors.New("unsupported format")
)

// Identity is a private key with its certificate: what the gateway signs and
// decrypts with.
type Identity struct {
	// Signer is the private key. *rsa.PrivateKey, *ecdsa.PrivateKey and
	// ed25519.PrivateKey all implement crypto.Signer.
	Signer crypto.Signer
	// Certificate is the end-entity certificate for Signer.
	Certificate *x509.Certificate
	// Chain holds the issuing CA certificates found with the key, ordered
	// from the leaf's issuer upwards (possibly ending with a root). It does
	// not contain Certificate. It may be empty (self-signed certificates, or
	// stores that carry no CA certificates).
	Chain []*x509.Certificate
}

// NewIdentity checks that key is a crypto.Signer whose public key is cert's
// and returns an Identity. chain is stored as given (issuer first).
func NewIdentity(key crypto.PrivateKey, cert *x509.Certificate, chain []*x509.Certificate) (*Identity, error) {
	if cert == nil {
		return nil, fmt.Errorf("trust: %w", ErrNoCertificate)
	}
	signer, ok := key.(crypto.Signer)
	if !ok || signer == nil {
		return nil, fmt.Errorf("trust: %w: key of type %T cannot sign", ErrUnsupportedFormat, key)
	}
	id := &Identity{Signer: signer, Certificate: cert, Chain: chain}
	if err := id.Check(); err != nil {
		return nil, err
	}
	return id, nil
}

// Check reports ErrKeyMismatch when the certificate's public key is not the
// private key's. Comparing public keys is enough: a private key's public half
// is derived from it, so equal public keys mean the pair works.
func (id *Identity) Check() error {
	if id.Signer == nil || id.Certificate == nil {
		return fmt.Errorf("trust: incomplete identity: %w", ErrNoCertificate)
	}
	if !publicKeysEqual(id.Signer.Public(), id.Certificate.PublicKey) {
		return fmt.Errorf("trust: %w: certificate %s (serial %s)", ErrKeyMismatch,
			describe(id.Certificate), id.Certificate.SerialNumber.Text(16))
	}
	return nil
}

// Decrypter returns the key as a crypto.Decrypter (RSA keys are; EC and
// Ed25519 keys are not), or nil.
func (id *Identity) Decrypter() crypto.Decrypter {
	d, _ := id.Signer.(crypto.Decrypter)
	return d
}

// FullChain returns the leaf followed by Chain, the order a BinarySecurityToken
// of type X509PKIPathv1 needs reversed and a TLS certificate list uses as is.
func (id *Identity) FullChain() []*x509.Certificate {
	out := make([]*x509.Certificate, 0, 1+len(id.Chain))
	out = append(out, id.Certificate)
	return append(out, id.Chain...)
}

// KeyEntry is one private key from a keystore, with its alias.
type KeyEntry struct {
	// Alias is the PKCS#12 friendlyName of the key bag (what Java keytool
	// shows as the alias), else of its certificate; empty when the store
	// names neither.
	Alias string
	// CertificateAlias is the friendlyName of the certificate bag, which
	// Windows sets to something readable while naming the key bag after a
	// CSP container GUID. Empty when absent or not visible.
	CertificateAlias string
	// LocalKeyID is the PKCS#12 localKeyId attribute, if any.
	LocalKeyID []byte
	Identity
}

// publicKeysEqual compares two public keys with their Equal methods (all
// standard library key types have one).
func publicKeysEqual(a, b crypto.PublicKey) bool {
	if a == nil || b == nil {
		return false
	}
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}

// describe names a certificate for error messages: its subject DN, which
// operators can search for in their key management.
func describe(c *x509.Certificate) string {
	if c == nil {
		return "<nil certificate>"
	}
	s := c.Subject.String()
	if s == "" {
		s = "<empty subject>"
	}
	return fmt.Sprintf("%q", s)
}

// buildChain orders the issuers of leaf found in pool, from the leaf's issuer
// upwards, by name (and key identifiers when both are present). It does not
// check signatures: this is only to present a keystore's certificates in
// order; trust decisions are made by Store.Verify.
func buildChain(leaf *x509.Certificate, pool []*x509.Certificate) []*x509.Certificate {
	var chain []*x509.Certificate
	used := map[*x509.Certificate]bool{leaf: true}
	cur := leaf
	for len(chain) < 16 {
		if isSelfIssued(cur) {
			break
		}
		var next *x509.Certificate
		for _, c := range pool {
			if used[c] || string(c.RawSubject) != string(cur.RawIssuer) {
				continue
			}
			if len(cur.AuthorityKeyId) > 0 && len(c.SubjectKeyId) > 0 && string(cur.AuthorityKeyId) != string(c.SubjectKeyId) {
				continue
			}
			next = c
			break
		}
		if next == nil {
			break
		}
		used[next] = true
		chain = append(chain, next)
		cur = next
	}
	return chain
}

func isSelfIssued(c *x509.Certificate) bool {
	return string(c.RawSubject) == string(c.RawIssuer)
}
