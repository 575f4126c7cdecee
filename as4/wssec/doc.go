// Package wssec implements the WS-Security 1.1 parts of AS4 (eDelivery AS4 1.15):
// the wsse:Security header, X.509 token references, XML signatures over
// eb:Messaging, the SOAP Body and SwA attachments, and non-repudiation receipts.
// Attachment encryption lives in the xenc subpackage; canonicalization in c14n.
//
// Verification follows the anti-wrapping checklist in shared/docs/xml-security.md:
// SignatureValue first, then only data taken from the verified SignedInfo; every
// Id unique; referenced elements at their one legal position; coverage and
// algorithms from an allow-list; keys bound through the trust store. Algorithm
// and transform allow-lists are also applied to the SignedInfo before the
// SignatureValue is checked; those checks can only reject.
//
// cid: references use the SwA Attachment-Content-Signature-Transform as WSS4J
// (Domibus, Holodeck B2B, phase4) implements it: parts of an XML media type are
// digested in exclusive canonical form, text/* parts with CRLF line ends, all
// others (AS4 compressed parts) as they are; see Attachment.ContentType.
//
// FromSOAP adapts an inbound *soap.Message (tree and spooled attachments with
// their SHA-256) to Envelope and []Attachment.
package wssec
