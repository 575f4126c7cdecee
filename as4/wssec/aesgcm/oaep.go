package aesgcm

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	// Register the hashes the allow-list names, so crypto.Hash.Available
	// holds whatever the importing binary links.
	_ "crypto/sha1"
	_ "crypto/sha256"
	_ "crypto/sha512"
)

// Key transport algorithm URIs (xenc:EncryptedKey/xenc:EncryptionMethod).
const (
	// RSAOAEP is XML Encryption 1.1 RSA-OAEP; the MGF comes from an
	// xenc11:MGF child (default MGF1 with SHA-1) and the OAEP digest from
	// ds:DigestMethod (default SHA-1). eDelivery AS4 uses mgf1sha256 + sha256.
	RSAOAEP = "http://www.w3.org/2009/xmlenc11#rsa-oaep"
	// RSAOAEPMGF1P is XML Encryption 1.0 RSA-OAEP: MGF1 is always SHA-1, the
	// digest defaults to SHA-1 but may be set by ds:DigestMethod (Holodeck,
	// Domibus and AS4.NET send SHA-256).
	RSAOAEPMGF1P = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
)

// MGF algorithm URIs (xenc11:MGF/@Algorithm).
const (
	MGF1SHA1   = "http://www.w3.org/2009/xmlenc11#mgf1sha1"
	MGF1SHA224 = "http://www.w3.org/2009/xmlenc11#mgf1sha224"
	MGF1SHA256 = "http://www.w3.org/2009/xmlenc11#mgf1sha256"
	MGF1SHA384 = "http://www.w3.org/2009/xmlenc11#mgf1sha384"
	MGF1SHA512 = "http://www.w3.org/2009/xmlenc11#mgf1sha512"
)

// OAEP digest URIs (ds:DigestMethod/@Algorithm inside xenc:EncryptionMethod).
const (
	DigestSHA1   = "http://www.w3.org/2000/09/xmldsig#sha1"
	DigestSHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
	DigestSHA384 = "http://www.w3.org/2001/04/xmldsig-more#sha384"
	DigestSHA512 = "http://www.w3.org/2001/04/xmlenc#sha512"
)

var (
	digestByURI = map[string]crypto.Hash{
		DigestSHA1:   crypto.SHA1,
		DigestSHA256: crypto.SHA256,
		DigestSHA384: crypto.SHA384,
		DigestSHA512: crypto.SHA512,
	}
	mgfByURI = map[string]crypto.Hash{
		MGF1SHA1:   crypto.SHA1,
		MGF1SHA224: crypto.SHA224,
		MGF1SHA256: crypto.SHA256,
		MGF1SHA384: crypto.SHA384,
		MGF1SHA512: crypto.SHA512,
	}
)

// ErrKeyUnwrap is the only error UnwrapKey returns for a key it cannot
// decrypt. Whether the OAEP padding, the key length or the private key
// operation failed is deliberately not told apart (a padding oracle is what
// Bleichenbacher and Manger style attacks need); the MSH should report it as
// EBMS:0102 like ErrAuthentication.
var ErrKeyUnwrap = errors.New("aesgcm: key unwrap failed")

// OAEPParams selects an RSA-OAEP variant.
type OAEPParams struct {
	Algorithm string      // RSAOAEP or RSAOAEPMGF1P
	Hash      crypto.Hash // OAEP digest (ds:DigestMethod)
	MGFHash   crypto.Hash // MGF1 digest; always SHA-1 for RSAOAEPMGF1P
}

// EDeliveryOAEP is what the eDelivery AS4 profile prescribes for sending.
var EDeliveryOAEP = OAEPParams{Algorithm: RSAOAEP, Hash: crypto.SHA256, MGFHash: crypto.SHA256}

// ParseOAEPParams validates the algorithm, ds:DigestMethod and xenc11:MGF
// URIs of an EncryptedKey against the allow-list. Empty digestURI or mgfURI
// mean the element is absent and select the XML Encryption defaults (SHA-1).
// Unknown URIs, and an MGF other than SHA-1 with RSAOAEPMGF1P, are rejected.
// The caller must also pass any xenc:OAEPparams to CheckOAEPLabel.
func ParseOAEPParams(algorithm, digestURI, mgfURI string) (OAEPParams, error) {
	p := OAEPParams{Algorithm: algorithm, Hash: crypto.SHA1, MGFHash: crypto.SHA1}
	switch algorithm {
	case RSAOAEP:
		if mgfURI != "" {
			h, ok := mgfByURI[mgfURI]
			if !ok {
				return OAEPParams{}, fmt.Errorf("aesgcm: unsupported MGF algorithm %q", mgfURI)
			}
			p.MGFHash = h
		}
	case RSAOAEPMGF1P:
		if mgfURI != "" && mgfURI != MGF1SHA1 {
			return OAEPParams{}, fmt.Errorf("aesgcm: MGF %q not allowed with %s (MGF1 is always SHA-1)", mgfURI, RSAOAEPMGF1P)
		}
	default:
		return OAEPParams{}, fmt.Errorf("aesgcm: unsupported key transport algorithm %q", algorithm)
	}
	if digestURI != "" {
		h, ok := digestByURI[digestURI]
		if !ok {
			return OAEPParams{}, fmt.Errorf("aesgcm: unsupported OAEP digest algorithm %q", digestURI)
		}
		p.Hash = h
	}
	return p, p.validate()
}

// DigestURI returns the ds:DigestMethod URI for p.Hash (to write an
// EncryptedKey). It is always emitted: receivers differ in their defaults.
func (p OAEPParams) DigestURI() string { return uriFor(digestByURI, p.Hash) }

// MGFURI returns the xenc11:MGF URI for p.MGFHash, or "" for RSAOAEPMGF1P,
// which has no MGF element.
func (p OAEPParams) MGFURI() string {
	if p.Algorithm == RSAOAEPMGF1P {
		return ""
	}
	return uriFor(mgfByURI, p.MGFHash)
}

func uriFor(m map[string]crypto.Hash, h crypto.Hash) string {
	for uri, v := range m {
		if v == h {
			return uri
		}
	}
	return ""
}

// validate applies the same allow-list to hand-built params.
func (p OAEPParams) validate() error {
	switch p.Algorithm {
	case RSAOAEP:
		if p.MGFURI() == "" {
			return fmt.Errorf("aesgcm: MGF hash %v not allowed", p.MGFHash)
		}
	case RSAOAEPMGF1P:
		if p.MGFHash != crypto.SHA1 {
			return fmt.Errorf("aesgcm: %s requires MGF1 with SHA-1, got %v", RSAOAEPMGF1P, p.MGFHash)
		}
	default:
		return fmt.Errorf("aesgcm: unsupported key transport algorithm %q", p.Algorithm)
	}
	if p.DigestURI() == "" {
		return fmt.Errorf("aesgcm: OAEP digest %v not allowed", p.Hash)
	}
	if !p.Hash.Available() || !p.MGFHash.Available() {
		return fmt.Errorf("aesgcm: hash %v or %v not linked into the binary", p.Hash, p.MGFHash)
	}
	return nil
}

func (p OAEPParams) options() *rsa.OAEPOptions {
	return &rsa.OAEPOptions{Hash: p.Hash, MGFHash: p.MGFHash}
}

// CheckOAEPLabel accepts the base64 content of an xenc:OAEPparams element
// only if it is empty: no AS4 profile uses an OAEP label, and supporting one
// would only add attack surface. Pass "" when the element is absent.
func CheckOAEPLabel(oaepParams string) error {
	s := strings.TrimSpace(oaepParams)
	if s == "" {
		return nil
	}
	label, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return fmt.Errorf("aesgcm: malformed xenc:OAEPparams: %w", err)
	}
	if len(label) != 0 {
		return errors.New("aesgcm: non-empty OAEP label (xenc:OAEPparams) not supported")
	}
	return nil
}

// WrapKey encrypts a content encryption key (16, 24 or 32 bytes) for the
// holder of pub, producing the EncryptedKey CipherValue.
func WrapKey(pub *rsa.PublicKey, cek []byte, params OAEPParams) ([]byte, error) {
	if err := params.validate(); err != nil {
		return nil, err
	}
	if err := checkKey(cek); err != nil {
		return nil, err
	}
	if pub == nil {
		return nil, errors.New("aesgcm: nil RSA public key")
	}
	return rsa.EncryptOAEPWithOptions(rand.Reader, pub, cek, params.options())
}

// UnwrapKey decrypts an EncryptedKey CipherValue with an RSA private key
// (*rsa.PrivateKey or any crypto.Decrypter over RSA, such as an HSM key that
// honours rsa.OAEPOptions). Errors other than ErrKeyUnwrap concern only the
// params or the key type, never the ciphertext.
func UnwrapKey(priv crypto.Decrypter, wrapped []byte, params OAEPParams) ([]byte, error) {
	if err := params.validate(); err != nil {
		return nil, err
	}
	if priv == nil {
		return nil, errors.New("aesgcm: nil private key")
	}
	pub, ok := priv.Public().(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("aesgcm: key transport needs an RSA key, got %T", priv.Public())
	}
	if len(wrapped) != pub.Size() {
		return nil, ErrKeyUnwrap
	}
	key, err := priv.Decrypt(rand.Reader, wrapped, params.options())
	if err != nil {
		// The cause is dropped on purpose; see ErrKeyUnwrap.
		return nil, ErrKeyUnwrap
	}
	return key, nil
}

// UnwrapKeyFor is UnwrapKey plus a check that the key has the length the data
// encryption algorithm needs (16 bytes for AES128GCM). A length mismatch is
// reported as ErrKeyUnwrap too. This is what the MSH should call.
func UnwrapKeyFor(priv crypto.Decrypter, wrapped []byte, params OAEPParams, dataAlgorithm string) ([]byte, error) {
	size, err := KeySize(dataAlgorithm)
	if err != nil {
		return nil, err
	}
	key, err := UnwrapKey(priv, wrapped, params)
	if err != nil {
		return nil, err
	}
	if len(key) != size {
		clear(key)
		return nil, ErrKeyUnwrap
	}
	return key, nil
}
