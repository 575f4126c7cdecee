package pmode

import (
	"strings"

	"github.com/as4gw/as4gw/as4/wssec"
	"github.com/as4gw/as4gw/as4/wssec/aesgcm"
)

// algKind is which security setting an algorithm belongs to.
type algKind int

const (
	algSignature algKind = iota
	algDigest
	algDataEncryption
	algKeyTransport
	algOAEPDigest
	algMGF
)

// The eDelivery AS4 1.15 algorithms, used where a signing or encrypting leg
// names none.
const (
	defaultSignature      = wssec.AlgRSASHA256
	defaultDigest         = wssec.AlgSHA256
	defaultDataEncryption = aesgcm.AES128GCM
	defaultKeyTransport   = aesgcm.RSAOAEP
	defaultOAEPDigest     = aesgcm.DigestSHA256
	defaultMGF            = aesgcm.MGF1SHA256
)

// algorithm is one entry of the tables below. Refused entries are listed so
// that a configuration naming them gets "not allowed (use ...)" rather than
// "unknown": they are the ones people copy from old examples.
type algorithm struct {
	uri     string
	names   []string // short names, matched case-insensitively
	refused string   // why it is not allowed; "" when allowed
}

var algTables = map[algKind][]algorithm{
	algSignature: {
		{uri: wssec.AlgRSASHA256, names: []string{"rsa-sha256", "RSA_SHA256"}},
		{uri: wssec.AlgRSASHA384, names: []string{"rsa-sha384", "RSA_SHA384"}},
		{uri: wssec.AlgRSASHA512, names: []string{"rsa-sha512", "RSA_SHA512"}},
		{uri: "http://www.w3.org/2000/09/xmldsig#rsa-sha1", names: []string{"rsa-sha1", "RSA_SHA1"}, refused: "SHA-1 signatures are broken"},
	},
	algDigest: {
		{uri: wssec.AlgSHA256, names: []string{"sha256", "sha-256"}},
		{uri: wssec.AlgSHA384, names: []string{"sha384", "sha-384"}},
		{uri: wssec.AlgSHA512, names: []string{"sha512", "sha-512"}},
		{uri: "http://www.w3.org/2000/09/xmldsig#sha1", names: []string{"sha1", "sha-1"}, refused: "SHA-1 digests are broken"},
	},
	algDataEncryption: {
		{uri: aesgcm.AES128GCM, names: []string{"aes128-gcm", "AES_128_GCM"}},
		{uri: aesgcm.AES192GCM, names: []string{"aes192-gcm"}},
		{uri: aesgcm.AES256GCM, names: []string{"aes256-gcm", "AES_256_GCM"}},
		{uri: "http://www.w3.org/2001/04/xmlenc#aes128-cbc", names: []string{"aes128-cbc"}, refused: "CBC mode is open to padding-oracle attacks; AS4 uses GCM"},
		{uri: "http://www.w3.org/2001/04/xmlenc#aes256-cbc", names: []string{"aes256-cbc"}, refused: "CBC mode is open to padding-oracle attacks; AS4 uses GCM"},
	},
	algKeyTransport: {
		{uri: aesgcm.RSAOAEP, names: []string{"rsa-oaep"}},
		{uri: aesgcm.RSAOAEPMGF1P, names: []string{"rsa-oaep-mgf1p"}},
		{uri: "http://www.w3.org/2001/04/xmlenc#rsa-1_5", names: []string{"rsa-1_5", "rsa-pkcs1"}, refused: "RSA PKCS#1 v1.5 key transport is open to Bleichenbacher attacks"},
	},
	algOAEPDigest: {
		{uri: aesgcm.DigestSHA256, names: []string{"sha256", "sha-256"}},
		{uri: aesgcm.DigestSHA384, names: []string{"sha384", "sha-384"}},
		{uri: aesgcm.DigestSHA512, names: []string{"sha512", "sha-512"}},
		{uri: aesgcm.DigestSHA1, names: []string{"sha1", "sha-1"}, refused: "eDelivery AS4 sends SHA-256 OAEP digests"},
	},
	algMGF: {
		{uri: aesgcm.MGF1SHA256, names: []string{"mgf1sha256", "mgf1-sha256"}},
		{uri: aesgcm.MGF1SHA384, names: []string{"mgf1sha384", "mgf1-sha384"}},
		{uri: aesgcm.MGF1SHA512, names: []string{"mgf1sha512", "mgf1-sha512"}},
		// MGF1-SHA1 is what rsa-oaep-mgf1p always uses; allowed so such a leg validates.
		{uri: aesgcm.MGF1SHA1, names: []string{"mgf1sha1", "mgf1-sha1"}},
	},
}

// lookupAlg finds an algorithm by URI or short name.
func lookupAlg(k algKind, s string) (algorithm, bool) {
	for _, a := range algTables[k] {
		if a.uri == s {
			return a, true
		}
		for _, n := range a.names {
			if strings.EqualFold(n, s) {
				return a, true
			}
		}
	}
	return algorithm{}, false
}

// resolveAlg returns the URI of an allowed algorithm given by URI or short name.
func resolveAlg(k algKind, s string) (string, bool) {
	a, ok := lookupAlg(k, s)
	if !ok || a.refused != "" {
		return "", false
	}
	return a.uri, true
}

// allowedNames lists the allowed short names of a kind, for "use ..." hints.
func allowedNames(k algKind) string {
	var names []string
	for _, a := range algTables[k] {
		if a.refused == "" {
			names = append(names, a.names[0])
		}
	}
	return strings.Join(names, ", ")
}

// uriOr returns the URI for s when known (allowed or not), else s unchanged.
func uriOr(k algKind, s string) string {
	if a, ok := lookupAlg(k, s); ok {
		return a.uri
	}
	return s
}
