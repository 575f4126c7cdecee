package ebms

import "strings"

// Code is an ebMS error code such as "EBMS:0004". Codes outside the standard table (a peer's own
// codes, e.g. phase4's EBMS:4001) are valid Code values too; Known reports whether the code is
// one of the standard ones.
type Code string

// Severity is the value of eb:Error/@severity.
type Severity string

// The two severities ebMS 3.0 defines.
const (
	SeverityFailure Severity = "failure"
	SeverityWarning Severity = "warning"
)

// Category is the value of eb:Error/@category. ebMS 3.0 names these values; others are allowed.
type Category string

// Categories of ebMS 3.0 Core §6.7 and the AS4 profile. The error tables spell the unpackaging
// category "Unpackaging", so that spelling is the one written.
const (
	CategoryContent       Category = "Content"
	CategoryPackaging     Category = "Packaging"
	CategoryUnpackaging   Category = "Unpackaging"
	CategoryProcessing    Category = "Processing"
	CategoryCommunication Category = "Communication"
)

// Origins of eb:Error/@origin for the standard codes.
const (
	OriginEbMS        = "ebMS"
	OriginSecurity    = "security"
	OriginReliability = "reliability"
)

// Standard error codes: ebMS 3.0 Core §6.7.1 (processing), §6.7.2 (security), §6.7.3
// (reliable messaging) and the AS4 profile's additional features (receipts, compression).
const (
	CodeValueNotRecognized           Code = "EBMS:0001"
	CodeFeatureNotSupported          Code = "EBMS:0002"
	CodeValueInconsistent            Code = "EBMS:0003"
	CodeOther                        Code = "EBMS:0004"
	CodeConnectionFailure            Code = "EBMS:0005"
	CodeEmptyMessagePartitionChannel Code = "EBMS:0006"
	CodeMimeInconsistency            Code = "EBMS:0007"
	// CodeFeatureNotSupportedFailure shares the short description "FeatureNotSupported" with
	// EBMS:0002 but is a failure about the presence or absence of an element.
	CodeFeatureNotSupportedFailure Code = "EBMS:0008"
	CodeInvalidHeader              Code = "EBMS:0009"
	CodeProcessingModeMismatch     Code = "EBMS:0010"
	CodeExternalPayloadError       Code = "EBMS:0011"
	CodeFailedAuthentication       Code = "EBMS:0101"
	CodeFailedDecryption           Code = "EBMS:0102"
	CodePolicyNoncompliance        Code = "EBMS:0103"
	CodeDysfunctionalReliability   Code = "EBMS:0201"
	CodeDeliveryFailure            Code = "EBMS:0202"
	CodeMissingReceipt             Code = "EBMS:0301"
	CodeInvalidReceipt             Code = "EBMS:0302"
	CodeDecompressionFailure       Code = "EBMS:0303"
)

type codeInfo struct {
	shortDescription string
	severity         Severity
	category         Category
	origin           string
	description      string
}

// codeTable follows the specification tables exactly for short description, severity and
// category. Note where phase4 differs (and we do not follow it): it makes 0005 a warning and
// 0006 a failure, spells 0003 "ValueInConsistent", names 0008 "FeatureNotSupportedInconsistency"
// and files 0011 under Processing. The descriptions paraphrase the specification's semantics.
var codeTable = map[Code]codeInfo{
	CodeValueNotRecognized: {"ValueNotRecognized", SeverityFailure, CategoryContent, OriginEbMS,
		"The header is well formed and schema valid, but an element or attribute holds a value the MSH does not recognise."},
	CodeFeatureNotSupported: {"FeatureNotSupported", SeverityWarning, CategoryContent, OriginEbMS,
		"The header is well formed and schema valid, but a value cannot be processed as expected because the MSH does not support the related feature."},
	CodeValueInconsistent: {"ValueInconsistent", SeverityFailure, CategoryContent, OriginEbMS,
		"The header is well formed and schema valid, but a value is inconsistent with other values, with the processing mode, or with the rules of the ebMS specification."},
	CodeOther: {"Other", SeverityFailure, CategoryContent, OriginEbMS,
		"An error occurred that no other code describes."},
	CodeConnectionFailure: {"ConnectionFailure", SeverityFailure, CategoryCommunication, OriginEbMS,
		"The MSH failed, temporarily or permanently, to open a transport connection with a remote MSH."},
	CodeEmptyMessagePartitionChannel: {"EmptyMessagePartitionChannel", SeverityWarning, CategoryCommunication, OriginEbMS,
		"No message is available for pulling from this MPC at this moment."},
	CodeMimeInconsistency: {"MimeInconsistency", SeverityFailure, CategoryUnpackaging, OriginEbMS,
		"The use of MIME does not follow the usage the specification requires."},
	CodeFeatureNotSupportedFailure: {"FeatureNotSupported", SeverityFailure, CategoryUnpackaging, OriginEbMS,
		"The header is well formed and schema valid, but the presence or absence of an element or attribute does not match the features the receiving MSH supports."},
	CodeInvalidHeader: {"InvalidHeader", SeverityFailure, CategoryUnpackaging, OriginEbMS,
		"The ebMS header is not well-formed XML or does not follow the ebMS packaging rules."},
	CodeProcessingModeMismatch: {"ProcessingModeMismatch", SeverityFailure, CategoryProcessing, OriginEbMS,
		"The ebMS header or another expected header (reliability, security) does not match what the associated P-Mode requires."},
	CodeExternalPayloadError: {"ExternalPayloadError", SeverityFailure, CategoryContent, OriginEbMS,
		"The MSH cannot resolve a reference to a payload that is not part of the message (a PartInfo href to an external location)."},
	CodeFailedAuthentication: {"FailedAuthentication", SeverityFailure, CategoryProcessing, OriginSecurity,
		"The signature in the Security header for the ebms actor could not be validated."},
	CodeFailedDecryption: {"FailedDecryption", SeverityFailure, CategoryProcessing, OriginSecurity,
		"Encrypted data referenced from the Security header for the ebms actor could not be decrypted."},
	CodePolicyNoncompliance: {"PolicyNoncompliance", SeverityFailure, CategoryProcessing, OriginSecurity,
		"The message's security methods, parameters or scope do not satisfy the security policy or agreement."},
	CodeDysfunctionalReliability: {"DysfunctionalReliability", SeverityFailure, CategoryProcessing, OriginReliability,
		"A reliability function is not operational, or the reliability state of the message sequence is not valid."},
	CodeDeliveryFailure: {"DeliveryFailure", SeverityFailure, CategoryCommunication, OriginReliability,
		"The message was sent with guaranteed delivery, but despite resending there is no assurance that it was delivered."},
	CodeMissingReceipt: {"MissingReceipt", SeverityFailure, CategoryCommunication, OriginEbMS,
		"No Receipt was received for a message the MSH reporting this error sent earlier."},
	CodeInvalidReceipt: {"InvalidReceipt", SeverityFailure, CategoryCommunication, OriginEbMS,
		"A Receipt was received for a message sent earlier, but it does not match that message (a part is not acknowledged, or an NRR digest differs)."},
	CodeDecompressionFailure: {"DecompressionFailure", SeverityFailure, CategoryCommunication, OriginEbMS,
		"A payload could not be decompressed."},
}

// codeOrder lists the standard codes in specification order.
var codeOrder = []Code{
	CodeValueNotRecognized, CodeFeatureNotSupported, CodeValueInconsistent, CodeOther,
	CodeConnectionFailure, CodeEmptyMessagePartitionChannel, CodeMimeInconsistency,
	CodeFeatureNotSupportedFailure, CodeInvalidHeader, CodeProcessingModeMismatch,
	CodeExternalPayloadError, CodeFailedAuthentication, CodeFailedDecryption,
	CodePolicyNoncompliance, CodeDysfunctionalReliability, CodeDeliveryFailure,
	CodeMissingReceipt, CodeInvalidReceipt, CodeDecompressionFailure,
}

// StandardCodes returns the standard error codes in specification order.
func StandardCodes() []Code {
	return append([]Code(nil), codeOrder...)
}

// LookupCode finds a standard code by its text. Surrounding whitespace and the case of the
// "EBMS:" prefix are ignored, so " ebms:0004" finds CodeOther.
func LookupCode(s string) (Code, bool) {
	s = strings.TrimSpace(s)
	if len(s) > 5 && strings.EqualFold(s[:5], "EBMS:") {
		s = "EBMS:" + s[5:]
	}
	c := Code(s)
	_, ok := codeTable[c]
	return c, ok
}

// Known reports whether c is one of the standard codes.
func (c Code) Known() bool {
	_, ok := codeTable[c]
	return ok
}

// String returns the code text.
func (c Code) String() string { return string(c) }

// ShortDescription returns the short description the specification gives the code, or "" for
// a code outside the table.
func (c Code) ShortDescription() string { return codeTable[c].shortDescription }

// Severity returns the code's default severity; SeverityFailure for a code outside the table.
func (c Code) Severity() Severity {
	if info, ok := codeTable[c]; ok {
		return info.severity
	}
	return SeverityFailure
}

// Category returns the code's category, or "" for a code outside the table.
func (c Code) Category() Category { return codeTable[c].category }

// Origin returns the eb:Error origin of the code (ebMS, security or reliability), or "".
func (c Code) Origin() string { return codeTable[c].origin }

// Description returns an English explanation of the code, or "".
func (c Code) Description() string { return codeTable[c].description }

// NewError builds an eb:Error for the code with its default severity, category, origin and
// short description, an English description, and the given reference and detail.
func (c Code) NewError(refToMessageInError, detail string) Error {
	e := Error{
		ErrorCode:           c,
		Severity:            c.Severity(),
		Category:            c.Category(),
		Origin:              c.Origin(),
		ShortDescription:    c.ShortDescription(),
		RefToMessageInError: refToMessageInError,
		ErrorDetail:         detail,
	}
	if d := c.Description(); d != "" {
		e.Description = &Description{Lang: "en", Text: d}
	}
	return e
}

// canonicalSeverity maps a severity case-insensitively to its canonical spelling.
func canonicalSeverity(s string) (Severity, bool) {
	for _, v := range []Severity{SeverityFailure, SeverityWarning} {
		if strings.EqualFold(s, string(v)) {
			return v, true
		}
	}
	return "", false
}

// canonicalCategory maps a known category case-insensitively to its canonical spelling and
// keeps any other value as sent.
func canonicalCategory(s string) Category {
	for _, v := range []Category{CategoryContent, CategoryPackaging, CategoryUnpackaging, CategoryProcessing, CategoryCommunication} {
		if strings.EqualFold(s, string(v)) {
			return v
		}
	}
	return Category(s)
}
