package xenc

import (
	"crypto"
	"encoding/base64"
	"errors"
	"slices"

	"github.com/beevik/etree"

	"github.com/as4gw/as4gw/as4/wssec"
	"github.com/as4gw/as4gw/as4/wssec/aesgcm"
	"github.com/as4gw/as4gw/ebms"
)

// DefaultKeyTransports are the key transport algorithms accepted on receipt:
// XML Encryption 1.1 RSA-OAEP (eDelivery; AS4.NET and Flame with SHA-1 MGF)
// and XML Encryption 1.0 rsa-oaep-mgf1p (Holodeck, Domibus 4). RSA PKCS#1
// v1.5 is never accepted.
var DefaultKeyTransports = []string{aesgcm.RSAOAEP, aesgcm.RSAOAEPMGF1P}

// DefaultDataAlgorithms are the data encryption algorithms accepted on
// receipt. AES-CBC is not among them: it is unauthenticated and AS4 1.15
// requires GCM.
var DefaultDataAlgorithms = []string{aesgcm.AES128GCM, aesgcm.AES192GCM, aesgcm.AES256GCM}

// EncryptedKey is a parsed xenc:EncryptedKey.
type EncryptedKey struct {
	// ID is the Id attribute ("" if absent).
	ID string
	// Params are the validated RSA-OAEP parameters.
	Params aesgcm.OAEPParams
	// Wrapped is the decoded CipherValue.
	Wrapped []byte
	// DataReferences are the ReferenceList's DataReference URIs, in order.
	DataReferences []string
	// KeyInfo names the recipient certificate; nil when absent.
	KeyInfo *etree.Element
	// Element is the xenc:EncryptedKey element itself.
	Element *etree.Element
}

// ParseEncryptedKey reads an xenc:EncryptedKey, accepting only the key
// transport algorithms in allowed (nil means DefaultKeyTransports) with the
// digest and MGF allow-list of aesgcm.ParseOAEPParams and no OAEP label.
// Errors are *wssec.Error: EBMS:0103 for what the policy refuses, EBMS:0102
// for malformed content.
func ParseEncryptedKey(el *etree.Element, allowed []string) (*EncryptedKey, error) {
	if !is(el, wssec.NSXENC, "EncryptedKey") {
		return nil, decryptionError(CheckEncryptedKey, "<%s> is not an xenc:EncryptedKey", el.FullTag())
	}
	if allowed == nil {
		allowed = DefaultKeyTransports
	}
	k := &EncryptedKey{Element: el}
	k.ID, _ = attr(el, "Id")
	em, err := childNS(el, wssec.NSXENC, "EncryptionMethod")
	if err != nil || em == nil {
		return nil, decryptionError(CheckEncryptedKey, "EncryptedKey %q must have one xenc:EncryptionMethod", k.ID)
	}
	alg, _ := attr(em, "Algorithm")
	if !slices.Contains(allowed, alg) {
		return nil, policyError(CheckKeyTransport, "key transport algorithm %q is not allowed", alg)
	}
	var digestURI, mgfURI, label string
	for _, c := range em.ChildElements() {
		switch {
		case is(c, wssec.NSDS, "DigestMethod") && digestURI == "":
			digestURI, _ = attr(c, "Algorithm")
			if digestURI == "" {
				return nil, policyError(CheckKeyTransport, "ds:DigestMethod without Algorithm")
			}
		case is(c, wssec.NSXENC11, "MGF") && mgfURI == "":
			mgfURI, _ = attr(c, "Algorithm")
			if mgfURI == "" {
				return nil, policyError(CheckKeyTransport, "xenc11:MGF without Algorithm")
			}
		case is(c, wssec.NSXENC, "OAEPparams"):
			label += c.Text()
		case is(c, wssec.NSXENC, "KeySize"):
			// Informational; the unwrapped key length is checked against the
			// data algorithm instead.
		default:
			return nil, policyError(CheckKeyTransport, "unexpected <%s> in the EncryptedKey's EncryptionMethod", c.FullTag())
		}
	}
	if k.Params, err = aesgcm.ParseOAEPParams(alg, digestURI, mgfURI); err != nil {
		return nil, &wssec.Error{Code: ebms.CodePolicyNoncompliance, Check: CheckKeyTransport, Detail: "RSA-OAEP parameters not allowed", Err: err}
	}
	if err := aesgcm.CheckOAEPLabel(label); err != nil {
		return nil, &wssec.Error{Code: ebms.CodePolicyNoncompliance, Check: CheckKeyTransport, Detail: "OAEP label not allowed", Err: err}
	}
	if k.KeyInfo, err = childNS(el, wssec.NSDS, "KeyInfo"); err != nil {
		return nil, decryptionError(CheckEncryptedKey, "EncryptedKey %q: %v", k.ID, err)
	}
	cd, err := childNS(el, wssec.NSXENC, "CipherData")
	if err != nil || cd == nil {
		return nil, decryptionError(CheckEncryptedKey, "EncryptedKey %q must have one xenc:CipherData", k.ID)
	}
	if cr, _ := childNS(cd, wssec.NSXENC, "CipherReference"); cr != nil {
		return nil, policyError(CheckCipherForm, "EncryptedKey %q uses a CipherReference; only an inline CipherValue is supported", k.ID)
	}
	cv, err := childNS(cd, wssec.NSXENC, "CipherValue")
	if err != nil || cv == nil {
		return nil, decryptionError(CheckEncryptedKey, "EncryptedKey %q must have one xenc:CipherValue", k.ID)
	}
	if k.Wrapped, err = base64.StdEncoding.DecodeString(stripSpace(cv.Text())); err != nil || len(k.Wrapped) == 0 {
		return nil, decryptionError(CheckEncryptedKey, "EncryptedKey %q: CipherValue is not valid base64", k.ID)
	}
	rl, err := childNS(el, wssec.NSXENC, "ReferenceList")
	if err != nil {
		return nil, decryptionError(CheckEncryptedKey, "EncryptedKey %q: %v", k.ID, err)
	}
	if rl != nil {
		for _, c := range rl.ChildElements() {
			if !is(c, wssec.NSXENC, "DataReference") {
				return nil, decryptionError(CheckDataReference, "EncryptedKey %q: unexpected <%s> in the ReferenceList", k.ID, c.FullTag())
			}
			uri, _ := attr(c, "URI")
			k.DataReferences = append(k.DataReferences, uri)
		}
	}
	return k, nil
}

// Unwrap decrypts the content encryption key with priv and checks that it
// has the length dataAlgorithm needs. Every failure of the RSA operation or
// the length check is the same EBMS:0102 error (Check "decryption"), with no
// cause attached.
func (k *EncryptedKey) Unwrap(priv crypto.Decrypter, dataAlgorithm string) ([]byte, error) {
	key, err := aesgcm.UnwrapKeyFor(priv, k.Wrapped, k.Params, dataAlgorithm)
	if errors.Is(err, aesgcm.ErrKeyUnwrap) {
		return nil, errUndecryptable()
	}
	return key, err
}

// errUndecryptable is the one error for every cryptographic failure: wrong
// key, bad OAEP padding, altered key, IV, ciphertext or tag.
func errUndecryptable() *wssec.Error {
	return decryptionError(CheckDecryption, "the encrypted data could not be decrypted")
}
