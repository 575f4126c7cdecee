package wssec

import (
	"crypto"
	_ "crypto/sha256" // register SHA-256 for crypto.Hash.New
	_ "crypto/sha512" // register SHA-384/512
	"slices"
)

// signatureHashes maps the accepted SignatureMethods to their hash. RSA PKCS#1
// v1.5 only: that is what eDelivery AS4 1.15 and every peer in the vectors use.
var signatureHashes = map[string]crypto.Hash{
	AlgRSASHA256: crypto.SHA256,
	AlgRSASHA384: crypto.SHA384,
	AlgRSASHA512: crypto.SHA512,
}

// digestHashes maps the accepted DigestMethods to their hash. SHA-1 is refused.
var digestHashes = map[string]crypto.Hash{
	AlgSHA256: crypto.SHA256,
	AlgSHA384: crypto.SHA384,
	AlgSHA512: crypto.SHA512,
}

// Policy says what an inbound signature must look like. The P-Mode leg supplies
// it; DefaultPolicy is eDelivery AS4 1.15.
type Policy struct {
	// RequireSignature: unsigned messages are refused (EBMS:0103). Verify
	// itself always fails on an unsigned message, so that no caller can
	// mistake "no signature" for "valid signature"; a leg with
	// RequireSignature false accepts the messages for which IsUnsigned
	// reports true.
	RequireSignature bool
	// RequireMessaging, RequireBody: the eb:Messaging header and the SOAP Body
	// must be covered by a Reference.
	RequireMessaging bool
	RequireBody      bool
	// RequireAllAttachments: every MIME attachment must be covered.
	RequireAllAttachments bool
	// SignatureMethods and DigestMethods are the allow-lists.
	SignatureMethods []string
	DigestMethods    []string
	// MaxReferences caps the References in SignedInfo (DoS bound).
	MaxReferences int
}

// DefaultPolicy requires a signature over eb:Messaging, the Body and every
// attachment with RSA-SHA256/384/512 and SHA-256/384/512 digests.
func DefaultPolicy() Policy {
	return Policy{
		RequireSignature:      true,
		RequireMessaging:      true,
		RequireBody:           true,
		RequireAllAttachments: true,
		SignatureMethods:      []string{AlgRSASHA256, AlgRSASHA384, AlgRSASHA512},
		DigestMethods:         []string{AlgSHA256, AlgSHA384, AlgSHA512},
		MaxReferences:         128,
	}
}

func (p Policy) signatureHash(alg string) (crypto.Hash, error) {
	h, known := signatureHashes[alg]
	if !known || !slices.Contains(p.SignatureMethods, alg) {
		return 0, policyError("signature-algorithm", "SignatureMethod %q is not allowed", alg)
	}
	return h, nil
}

func (p Policy) digestHash(alg string) (crypto.Hash, error) {
	h, known := digestHashes[alg]
	if !known || !slices.Contains(p.DigestMethods, alg) {
		return 0, policyError("digest-algorithm", "DigestMethod %q is not allowed", alg)
	}
	return h, nil
}
