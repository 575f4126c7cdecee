// Package trust loads keys and certificates, holds trust stores, validates
// certificate chains for AS4 signing and encryption certificates, and indexes
// certificates for WS-Security token references.
//
// It depends on nothing else in the project, so every layer (as4/wssec,
// discovery, the MSH, the CLI) can use it.
//
// # Keystores
//
// LoadPKCS12 returns every private key of a .p12/.pfx store as a KeyEntry
// (alias, certificate, CA chain); LoadPEM reads PKCS#8, PKCS#1, SEC 1 and
// encrypted PKCS#8 keys with their certificates; LoadCertificates reads PEM,
// DER, PKCS#7 and PkiPath certificate data; LoadPKCS12TrustStore reads Java
// PKCS#12 trust stores. Keystore errors wrap ErrWrongPassword,
// ErrNoPrivateKey, ErrNoCertificate, ErrKeyMismatch or ErrUnsupportedFormat
// and never contain a password. Java JKS files are not read here (convert
// them with keytool -importkeystore -deststoretype PKCS12).
//
// # Chain validation
//
// Store.Verify validates a certificate against the store's anchors at a given
// time (recorded messages need their own time, as their certificates have
// expired), with these AS4-specific rules:
//
//   - Extended key usage is not required (x509.ExtKeyUsageAny): AS4
//     certificates have none, clientAuth (Peppol) or unusual ones.
//   - Key usage is checked on the leaf only, and only when the certificate
//     has a KeyUsage extension: without it, RFC 5280 4.2.1.3 places no
//     restriction. CA key usages are left to crypto/x509.
//   - An anchor may be a root, an intermediate or the partner's own
//     certificate ("pinned"), which then validates by itself.
//   - Revocation is delegated to a RevocationChecker called for every chain
//     certificate except the anchor, under a hard-fail (default) or soft-fail
//     policy. "Revoked" always fails.
//
// Failures are typed: *UntrustedError, *ValidityError, *KeyUsageError,
// *RevokedError and *RevocationUnknownError, matching ErrUntrusted,
// ErrExpired or ErrNotYetValid, ErrKeyUsage, ErrRevoked and
// ErrRevocationUnknown with errors.Is.
//
// # Token references
//
// CertificateIndex finds certificates by Subject Key Identifier (extension
// or RFC 5280 method 1), by issuer name string and serial (names compared by
// attributes, so "CN=ph-as4,C=AT" matches "C=AT, CN=ph-as4"), by public key
// and by SHA-1 thumbprint. Fingerprint gives the SHA-256 hex used in logs.
package trust
