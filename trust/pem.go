package trust

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// LoadPEM reads a private key and its certificate(s) from PEM.
//
// keyPEM holds one private key: "PRIVATE KEY" (PKCS#8), "RSA PRIVATE KEY"
// (PKCS#1), "EC PRIVATE KEY" (SEC 1), "ENCRYPTED PRIVATE KEY" (PKCS#8 with
// PBES2/PBKDF2 and AES-CBC or 3DES, as openssl writes it) or a legacy
// OpenSSL-encrypted PKCS#1/SEC 1 block ("Proc-Type: 4,ENCRYPTED"). password
// is needed only for encrypted keys. certPEM holds the certificate and
// optionally its CA chain in any order; when certPEM is empty, certificates
// are taken from keyPEM (a combined key+cert file).
//
// The certificate whose public key is the key's becomes the leaf; the others
// are ordered into the chain. If none matches, the error wraps ErrKeyMismatch.
func LoadPEM(keyPEM, certPEM []byte, password string) (*Identity, error) {
	key, err := ParsePrivateKeyPEM(keyPEM, password)
	if err != nil {
		return nil, err
	}
	src := certPEM
	if len(bytes.TrimSpace(src)) == 0 {
		src = keyPEM
	}
	certs, err := LoadCertificates(src)
	if err != nil {
		return nil, fmt.Errorf("trust: PEM certificates: %w", err)
	}
	leaf := findByPublicKey(certs, key.Public())
	if leaf == nil {
		return nil, fmt.Errorf("trust: PEM: %w: none of the %d certificate(s) has the key's public key (first: %s)",
			ErrKeyMismatch, len(certs), describe(certs[0]))
	}
	return NewIdentity(key, leaf, buildChain(leaf, certs))
}

// LoadPEMFiles is LoadPEM on files; certFile may be empty for a combined
// key+certificate file.
func LoadPEMFiles(keyFile, certFile, password string) (*Identity, error) {
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("trust: %w", err)
	}
	var certPEM []byte
	if certFile != "" {
		if certPEM, err = os.ReadFile(certFile); err != nil {
			return nil, fmt.Errorf("trust: %w", err)
		}
	}
	id, err := LoadPEM(keyPEM, certPEM, password)
	if err != nil {
		return nil, fmt.Errorf("%w (key file %s)", err, keyFile)
	}
	return id, nil
}

// ParsePrivateKeyPEM returns the single private key in data (see LoadPEM for
// the accepted forms). Other PEM blocks (certificates, EC PARAMETERS) are
// skipped; two keys are an error, since picking one silently could sign with
// the wrong identity.
func ParsePrivateKeyPEM(data []byte, password string) (crypto.Signer, error) {
	var found *pem.Block
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch b.Type {
		case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY":
			if found != nil {
				return nil, fmt.Errorf("trust: PEM: %w: more than one private key block", ErrUnsupportedFormat)
			}
			found = b
		}
	}
	if found == nil {
		return nil, fmt.Errorf("trust: PEM: %w", ErrNoPrivateKey)
	}
	der := found.Bytes
	switch {
	case found.Type == "ENCRYPTED PRIVATE KEY":
		if password == "" {
			return nil, errors.New("trust: PEM: the private key is encrypted and no password was given")
		}
		var err error
		if der, err = decryptPKCS8(der, password); err != nil {
			return nil, err
		}
	case x509.IsEncryptedPEMBlock(found): //nolint:staticcheck // legacy OpenSSL format still found in the field
		if password == "" {
			return nil, errors.New("trust: PEM: the private key is encrypted and no password was given")
		}
		var err error
		// DecryptPEMBlock is deprecated because the format cannot detect a
		// wrong password reliably; parsing below catches most wrong keys.
		if der, err = x509.DecryptPEMBlock(found, []byte(password)); err != nil { //nolint:staticcheck
			return nil, fmt.Errorf("trust: PEM: %w (legacy encrypted key)", ErrWrongPassword)
		}
	}
	key, err := parseRawPrivateKey(der)
	if err != nil {
		if found.Type == "ENCRYPTED PRIVATE KEY" || found.Headers["Proc-Type"] != "" {
			return nil, fmt.Errorf("trust: PEM: %w (decrypted key does not parse)", ErrWrongPassword)
		}
		return nil, fmt.Errorf("trust: PEM %q: %w", found.Type, err)
	}
	return key, nil
}

// parseRawPrivateKey accepts PKCS#8, PKCS#1 and SEC 1 DER regardless of the
// PEM label, because labels in the wild do not always match the contents
// (go-pkcs12's ToPEM writes PKCS#1 under "PRIVATE KEY").
func parseRawPrivateKey(der []byte) (crypto.Signer, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("%w: private key type %T", ErrUnsupportedFormat, k)
		}
		return s, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	return nil, fmt.Errorf("%w: not a PKCS#8, PKCS#1 or SEC 1 private key", ErrUnsupportedFormat)
}

// LoadCertificates reads certificates from PEM ("CERTIFICATE", OpenSSL's
// "TRUSTED CERTIFICATE", "PKCS7"), from DER (one certificate or several
// concatenated), from a DER PKCS#7 certs-only bundle (.p7b) or from a DER
// PkiPath (SEQUENCE OF Certificate, WS-Security's X509PKIPathv1). Other PEM
// blocks, such as a private key in a combined file, are ignored. No
// certificate at all is an error.
func LoadCertificates(data []byte) ([]*x509.Certificate, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("%w: empty certificate data", ErrUnsupportedFormat)
	}
	if bytes.HasPrefix(trimmed, []byte("-----BEGIN")) || bytes.Contains(trimmed, []byte("\n-----BEGIN")) {
		return certificatesFromPEM(trimmed)
	}
	if certs, err := x509.ParseCertificates(data); err == nil && len(certs) > 0 {
		return certs, nil
	}
	if certs, err := ParsePKIPath(data); err == nil {
		return certs, nil
	}
	if certs, err := parsePKCS7Certs(data); err == nil {
		return certs, nil
	}
	return nil, fmt.Errorf("%w: neither PEM nor DER certificates, PKCS#7 or PkiPath", ErrUnsupportedFormat)
}

// LoadCertificatesFile is LoadCertificates on a file.
func LoadCertificatesFile(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("trust: %w", err)
	}
	certs, err := LoadCertificates(data)
	if err != nil {
		return nil, fmt.Errorf("trust: %s: %w", path, err)
	}
	return certs, nil
}

func certificatesFromPEM(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	rest := data
	for i := 0; ; i++ {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch b.Type {
		case "CERTIFICATE", "X509 CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("PEM block %d: %w", i, err)
			}
			out = append(out, c)
		case "TRUSTED CERTIFICATE":
			// OpenSSL appends its trust settings after the certificate.
			var raw asn1.RawValue
			if _, err := asn1.Unmarshal(b.Bytes, &raw); err != nil {
				return nil, fmt.Errorf("PEM block %d: %w", i, err)
			}
			c, err := x509.ParseCertificate(raw.FullBytes)
			if err != nil {
				return nil, fmt.Errorf("PEM block %d: %w", i, err)
			}
			out = append(out, c)
		case "PKCS7":
			certs, err := parsePKCS7Certs(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("PEM block %d: %w", i, err)
			}
			out = append(out, certs...)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no CERTIFICATE block in PEM data", ErrUnsupportedFormat)
	}
	return out, nil
}

// ParsePKIPath parses a PkiPath (RFC 5280-style SEQUENCE OF Certificate, as
// used by BinarySecurityToken ValueType X509PKIPathv1). The path is ordered
// from the trust anchor side to the end entity, so the leaf is last.
func ParsePKIPath(der []byte) ([]*x509.Certificate, error) {
	var raws []asn1.RawValue
	rest, err := asn1.Unmarshal(der, &raws)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, errors.New("trailing data after PkiPath")
	}
	if len(raws) == 0 {
		return nil, errors.New("empty PkiPath")
	}
	out := make([]*x509.Certificate, 0, len(raws))
	for _, r := range raws {
		c, err := x509.ParseCertificate(r.FullBytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

var oidPKCS7SignedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}

// parsePKCS7Certs reads the certificates of a PKCS#7/CMS SignedData
// ("certs-only" .p7b/.p7c, the usual way Windows exports chains).
func parsePKCS7Certs(der []byte) ([]*x509.Certificate, error) {
	var ci struct {
		ContentType asn1.ObjectIdentifier
		Content     asn1.RawValue `asn1:"tag:0,explicit"`
	}
	if _, err := asn1.Unmarshal(der, &ci); err != nil {
		return nil, err
	}
	if !ci.ContentType.Equal(oidPKCS7SignedData) {
		return nil, errors.New("not PKCS#7 SignedData")
	}
	var sd struct {
		Version          int
		DigestAlgorithms asn1.RawValue
		ContentInfo      asn1.RawValue
		Certificates     asn1.RawValue `asn1:"tag:0,optional"`
	}
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		return nil, err
	}
	if len(sd.Certificates.Bytes) == 0 {
		return nil, errors.New("PKCS#7 without certificates")
	}
	return x509.ParseCertificates(sd.Certificates.Bytes)
}
