// Package xenc implements SwA attachment encryption for AS4 (eDelivery AS4
// 1.15, WS-Security SwA Profile 1.1): one xenc:EncryptedKey in the
// wsse:Security header carrying a fresh AES-GCM key wrapped with RSA-OAEP,
// and one xenc:EncryptedData per MIME attachment whose CipherReference points
// at the part ("cid:") through the Attachment-Ciphertext-Transform. The part
// body on the wire is IV ‖ ciphertext ‖ tag (application/octet-stream).
//
// # Order
//
// Sending: compress (soap.Compress) → sign (wssec.Sign over the compressed
// octets) → EncryptAttachments → write the envelope and EncryptResult's parts
// with soap.Writer. Receiving: soap.ReadMessage → DecryptAttachments (replaces
// each encrypted part by its plaintext in place) → wssec.Verify (digests the
// decrypted, still compressed octets: take them with wssec.FromSOAP(msg)
// after decryption) → OpenPayload (decompresses with a size limit).
// Everything streams: neither direction holds an attachment in memory.
//
// # Decisions
//
// Error codes. Failures are *wssec.Error. EBMS:0102 FailedDecryption: the
// key or a part cannot be decrypted (bad OAEP, bad tag, truncated part; one
// deliberately uniform message, see below), the EncryptedKey names another
// recipient, a DataReference or CipherReference does not resolve to exactly
// one target, two EncryptedData share a part, IDs are duplicated, the XML is
// malformed. EBMS:0103 PolicyNoncompliance: encryption is required but an
// attachment is not encrypted (or there is no EncryptedKey at all), an
// algorithm or parameter is outside the allow-list (AES-CBC, RSA 1.5, an MGF
// or digest we do not accept, an OAEP label), an EncryptedData that is not
// Attachment-Content-Only or carries its ciphertext inline, xenc elements
// outside the Security header, or more EncryptedKey/EncryptedData elements
// than the limits allow.
//
// No oracle. An OAEP failure and a GCM tag failure produce the same Check
// ("decryption") and Detail, and a failed unwrap continues with a random key
// (as Apache Santuario does), so both fail at the tag check after the same
// work. Only the recipient check below fails early, and it uses public data.
//
// Recipient check. An EncryptedKey's ds:KeyInfo is resolved (BST reference,
// IssuerSerial, SKI, thumbprint, X509Certificate) against the header's tokens
// and our own certificates. If it resolves to one of our certificates, that
// key is used; if it positively names another certificate (a token with a
// different public key), the message fails with EBMS:0102 "recipient"
// without touching the private key. If the reference cannot be resolved
// (unknown form, SKI computed differently, an IssuerSerial DN we cannot
// parse), the keys are tried in turn unless DecryptOptions.StrictRecipient is
// set: OAEP's integrity check makes a wrong key fail reliably, and peers do
// send unusual references. DecryptResult records whether the recipient was
// identified.
//
// Unknown compression. OpenPayload reports a CompressionType other than
// application/gzip as EBMS:0003 ValueInconsistent (the header contradicts
// the AS4 profile, which defines only gzip; phase4 answers the same for its
// WrongCompression test) and invalid gzip or output beyond the limit as
// EBMS:0303 DecompressionFailure.
package xenc
