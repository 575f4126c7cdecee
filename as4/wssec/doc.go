// Package wssec implements the WS-Security 1.1 parts of AS4 (eDelivery AS4 1.15):
// the wsse:Security header, X.509 token references, XML signatures over
// eb:Messaging, the SOAP Body and SwA attachments, and non-repudiation receipts.
// Attachment encryption lives in the xenc subpackage; canonicalization in c14n.
//
// Verification follows the anti-wrapping checklist in shared/docs/xml-security.md:
// SignatureValue first, then only data taken from the verified SignedInfo; every
// Id unique; referenced elements at their one legal position; coverage and
// algorithms from an allow-list; keys bound through the trust store.
package wssec
