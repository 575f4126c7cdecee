package xenc

import (
	"fmt"
	"github.com/as4gw/as4gw/as4/soap"
	"strings"

	"github.com/beevik/etree"

	"github.com/as4gw/as4gw/as4/wssec"
	"github.com/as4gw/as4gw/ebms"
)

// Check names used in *wssec.Error values from this package. They are stable:
// logs, metrics and tests rely on them.
const (
	CheckDecryption         = "decryption"              // 0102: OAEP or GCM failed (uniform on purpose)
	CheckRecipient          = "recipient"               // 0102: the EncryptedKey is for another certificate
	CheckEncryptedKey       = "encrypted-key"           // 0102: malformed EncryptedKey
	CheckDataReference      = "data-reference"          // 0102: a key/data binding does not resolve
	CheckCipherReference    = "cipher-reference"        // 0102: the cid: target is missing or shared
	CheckDuplicateID        = "duplicate-id"            // 0102: an ID value occurs twice
	CheckEncryptionRequired = "encryption-required"     // 0103: an attachment is not encrypted
	CheckDataAlgorithm      = "encryption-algorithm"    // 0103: data encryption algorithm not allowed
	CheckKeyTransport       = "key-transport-algorithm" // 0103: key transport algorithm or parameters not allowed
	CheckDataType           = "encrypted-data-type"     // 0103: not Attachment-Content-Only
	CheckCipherForm         = "cipher-reference-form"   // 0103: inline CipherValue, non-cid URI, other transforms
	CheckPosition           = "encryption-position"     // 0103: xenc element outside the Security header
	CheckLimit              = "encryption-limit"        // 0103: too many EncryptedKey/EncryptedData
)

func decryptionError(check, format string, args ...any) *wssec.Error {
	return &wssec.Error{Code: ebms.CodeFailedDecryption, Check: check, Detail: fmt.Sprintf(format, args...)}
}

func policyError(check, format string, args ...any) *wssec.Error {
	return &wssec.Error{Code: ebms.CodePolicyNoncompliance, Check: check, Detail: fmt.Sprintf(format, args...)}
}

// Element helpers shared with wssec.
var (
	is         = soap.IsElement
	childrenNS = wssec.Children
	childNS    = wssec.Child
)

// attr returns the value of the unqualified attribute key.
func attr(el *etree.Element, key string) (string, bool) {
	for _, a := range el.Attr {
		if a.Space == "" && a.Key == key {
			return a.Value, true
		}
	}
	return "", false
}

// boundTo reports whether prefix is bound to uri in scope at el.
func boundTo(el *etree.Element, prefix, uri string) bool {
	for e := el; e != nil; e = e.Parent() {
		for _, a := range e.Attr {
			if a.Space == "xmlns" && a.Key == prefix {
				return a.Value == uri
			}
		}
	}
	return false
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
