// Package inspect explains a captured AS4 message to an operator debugging
// interop: how it was framed, its ebMS headers, every signature reference and
// whether it holds, who signed it, whether and how it is encrypted, and each
// payload's size and SHA-256 after decryption and decompression.
package inspect

import "time"

// Report is the JSON document `as4gw inspect` prints.
type Report struct {
	Input    InputReport     `json:"input"`
	EbMS     *EbMSReport     `json:"ebms,omitempty"`
	Security *SecurityReport `json:"security,omitempty"`
	Payloads []PayloadReport `json:"payloads"`
	// Checks lists every check that could be made with the given inputs, in
	// order; OK is true only when all of them passed.
	Checks []Check `json:"checks"`
	OK     bool    `json:"ok"`
}

// Check is one verdict.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Code   string `json:"code,omitempty"` // EBMS code a gateway would answer with
	Detail string `json:"detail,omitempty"`
}

// InputReport says how the capture was read.
type InputReport struct {
	Format      string `json:"format"`
	ContentType string `json:"contentType"`
	SOAPVersion string `json:"soapVersion"`
	Envelope    int    `json:"envelopeBytes"`
	Parts       int    `json:"attachmentParts"`
}

// EbMSReport holds the decoded eb:Messaging header.
type EbMSReport struct {
	UserMessage    *UserMessageReport `json:"userMessage,omitempty"`
	SignalMessages []SignalReport     `json:"signalMessages,omitempty"`
}

// UserMessageReport is the readable form of an eb:UserMessage.
type UserMessageReport struct {
	MessageID         string            `json:"messageId"`
	RefToMessageID    string            `json:"refToMessageId,omitempty"`
	Timestamp         time.Time         `json:"timestamp"`
	MPC               string            `json:"mpc,omitempty"`
	From              PartyReport       `json:"from"`
	To                PartyReport       `json:"to"`
	AgreementRef      string            `json:"agreementRef,omitempty"`
	PMode             string            `json:"pmode,omitempty"`
	Service           string            `json:"service"`
	ServiceType       string            `json:"serviceType,omitempty"`
	Action            string            `json:"action"`
	ConversationID    string            `json:"conversationId"`
	MessageProperties map[string]string `json:"messageProperties,omitempty"`
	Parts             []PartInfoReport  `json:"partInfo,omitempty"`
}

// PartyReport is one side of eb:PartyInfo.
type PartyReport struct {
	PartyIDs []string `json:"partyIds"`
	Role     string   `json:"role"`
}

// PartInfoReport is one eb:PartInfo.
type PartInfoReport struct {
	Href       string            `json:"href,omitempty"`
	Properties map[string]string `json:"properties,omitempty"`
}

// SignalReport is one eb:SignalMessage.
type SignalReport struct {
	Kind           string   `json:"kind"` // receipt, error, pullRequest
	MessageID      string   `json:"messageId"`
	RefToMessageID string   `json:"refToMessageId,omitempty"`
	Timestamp      string   `json:"timestamp"`
	NRIReferences  []string `json:"nonRepudiationReferences,omitempty"`
	Errors         []string `json:"errors,omitempty"`
	MPC            string   `json:"mpc,omitempty"`
}

// SecurityReport covers the wsse:Security header.
type SecurityReport struct {
	Signed     bool              `json:"signed"`
	Signature  *SignatureReport  `json:"signature,omitempty"`
	Encrypted  bool              `json:"encrypted"`
	Encryption *EncryptionReport `json:"encryption,omitempty"`
}

// SignatureReport describes the ds:Signature and each Reference.
type SignatureReport struct {
	SignatureMethod  string             `json:"signatureMethod"`
	Canonicalization string             `json:"canonicalization"`
	TokenReference   string             `json:"tokenReference,omitempty"`
	Signer           *CertificateReport `json:"signer,omitempty"`
	SignatureValue   string             `json:"signatureValue"` // ok, failed, unchecked
	Trust            string             `json:"trust"`          // ok, failed: ..., not checked: ...
	References       []ReferenceReport  `json:"references"`
}

// ReferenceReport is one ds:Reference and its result.
type ReferenceReport struct {
	URI          string   `json:"uri"`
	Target       string   `json:"target,omitempty"`
	Transforms   []string `json:"transforms,omitempty"`
	DigestMethod string   `json:"digestMethod"`
	Result       string   `json:"result"` // ok, failed, unchecked
	Detail       string   `json:"detail,omitempty"`
}

// CertificateReport identifies a certificate.
type CertificateReport struct {
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	Serial    string    `json:"serial"`
	NotBefore time.Time `json:"notBefore"`
	NotAfter  time.Time `json:"notAfter"`
	SHA256    string    `json:"sha256"`
}

// EncryptionReport describes the EncryptedKey and EncryptedData elements.
type EncryptionReport struct {
	KeyTransport   string   `json:"keyTransport,omitempty"`
	DataMethods    []string `json:"dataMethods,omitempty"`
	Recipient      string   `json:"recipient,omitempty"`
	EncryptedParts []string `json:"encryptedParts,omitempty"`
	Decrypted      string   `json:"decrypted"` // ok, failed: ..., not attempted: ...
}

// PayloadReport is one payload after decryption and decompression.
type PayloadReport struct {
	ID          string `json:"id"`
	MimeType    string `json:"mimeType,omitempty"`
	Compression string `json:"compression,omitempty"`
	// WireSize is the MIME part as received; Size and SHA256 are after
	// decryption and decompression, when those were possible.
	WireSize  int64  `json:"wireSize"`
	Encrypted bool   `json:"encrypted"`
	Size      *int64 `json:"size,omitempty"`
	SHA256    string `json:"sha256,omitempty"`
	Note      string `json:"note,omitempty"`
}
