// Package soap reads and writes AS4 wire messages below the security layer:
// SOAP 1.2 (and 1.1) envelopes as etree trees, SOAP-with-attachments MIME
// multipart/related messages, and AS4 gzip compression.
//
// Everything that reads peer input is bounded by Limits and streams:
// attachments go to temporary files while their SHA-256 is computed, only
// the envelope is held in memory, and the envelope's XML is pre-scanned
// (no DTD, no processing instructions, depth/attribute/namespace/element
// caps) before a tree is built. Limit violations are *LimitError values that
// name the Limits field to raise; malformed input is an *EnvelopeError,
// *MIMEError or *DecompressionError so the MSH can map it to an ebMS error.
//
// The package knows nothing of HTTP servers, stores or WS-Security; the MSH
// and as4/wssec build on it. It imports no other project package.
package soap
