package trust

import (
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"software.sslmate.com/src/go-pkcs12"
)

// LoadPKCS12 returns every private key in a PKCS#12 (.p12/.pfx) store with
// its certificate and CA chain.
//
// Keys are paired with certificates by the localKeyId attribute, or by public
// key when a key has no localKeyId or no certificate carries it; a pair whose
// keys differ is reported as ErrKeyMismatch. Legacy (RC2-40, 3DES) and PBES2
// (AES) encryption are supported, as go-pkcs12 decrypts both.
//
// go-pkcs12's DecodeChain refuses stores with more than one key, so the store
// is first read with ToPEM, which keeps every bag and its attributes. ToPEM in
// turn refuses bags it cannot convert (an unknown attribute such as Windows'
// "Microsoft Local Key set", the Java trusted-certificate marker, an
// unencrypted key bag, an Ed25519 key); such stores are read again with
// DecodeChain, which ignores attributes but allows only one key. The alias is
// then recovered from the store's unencrypted bag attributes where possible.
//
// Errors wrap ErrWrongPassword, ErrNoPrivateKey, ErrNoCertificate,
// ErrKeyMismatch or ErrUnsupportedFormat and never contain the password.
func LoadPKCS12(data []byte, password string) ([]KeyEntry, error) {
	blocks, pemErr := pkcs12.ToPEM(data, password)
	if pemErr == nil {
		return entriesFromPEMBlocks(blocks)
	}
	if errors.Is(pemErr, pkcs12.ErrIncorrectPassword) {
		return nil, fmt.Errorf("trust: PKCS#12: %w (integrity check failed)", ErrWrongPassword)
	}

	key, cert, caCerts, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		return nil, classifyPKCS12Error(data, password, pemErr, err)
	}
	all := append([]*x509.Certificate{cert}, caCerts...)
	leaf := findByPublicKey(all, publicOf(key))
	if leaf == nil {
		// DecodeChain takes the first certificate as the leaf; when no
		// certificate has the key's public key the store is inconsistent.
		return nil, fmt.Errorf("trust: PKCS#12: %w: no certificate in the store has the private key's public key (first certificate %s)",
			ErrKeyMismatch, describe(cert))
	}
	id, err := NewIdentity(key, leaf, buildChain(leaf, all))
	if err != nil {
		return nil, fmt.Errorf("trust: PKCS#12: %w", err)
	}
	entry := KeyEntry{Identity: *id}
	if attrs, err := plainBagAttributes(data); err == nil {
		entry.Alias, entry.CertificateAlias, entry.LocalKeyID = aliasFromPlainAttributes(attrs, leaf)
	}
	return []KeyEntry{entry}, nil
}

// LoadPKCS12File is LoadPKCS12 on a file; errors name the file.
func LoadPKCS12File(path, password string) ([]KeyEntry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("trust: %w", err)
	}
	entries, err := LoadPKCS12(data, password)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return entries, nil
}

// classifyPKCS12Error explains why neither ToPEM nor DecodeChain could read
// the store, naming the more useful of the two errors.
func classifyPKCS12Error(data []byte, password string, pemErr, chainErr error) error {
	switch {
	case errors.Is(chainErr, pkcs12.ErrIncorrectPassword):
		return fmt.Errorf("trust: PKCS#12: %w (integrity check failed)", ErrWrongPassword)
	case strings.Contains(chainErr.Error(), "decrypting PKCS#8 shrouded key bag"):
		// The MAC verified, so the store password is right; the key bag is
		// encrypted under another password, which a Java keystore allows.
		return fmt.Errorf("trust: PKCS#12: %w: the private key could not be decrypted with the store password (a separate key password is not supported)", ErrWrongPassword)
	case strings.Contains(chainErr.Error(), "private key missing"):
		n := 0
		if certs, err := pkcs12.DecodeTrustStore(data, password); err == nil {
			n = len(certs)
		}
		if n > 0 {
			return fmt.Errorf("trust: PKCS#12: %w: the store holds %d trusted certificate(s) and no key; is it a trust store?", ErrNoPrivateKey, n)
		}
		return fmt.Errorf("trust: PKCS#12: %w in the store", ErrNoPrivateKey)
	case strings.Contains(chainErr.Error(), "certificate missing"):
		return fmt.Errorf("trust: PKCS#12: %w: the store holds a private key but no certificate", ErrNoCertificate)
	case strings.Contains(chainErr.Error(), "exactly one key bag"):
		return fmt.Errorf("trust: PKCS#12: %w: the store holds several private keys and a bag go-pkcs12 cannot convert (%v); re-export it with openssl pkcs12 -export",
			ErrUnsupportedFormat, pemErr)
	}
	return fmt.Errorf("trust: PKCS#12: %w: %v", ErrUnsupportedFormat, chainErr)
}

type pemKeyBag struct {
	key          crypto.Signer
	localKeyID   string
	friendlyName string
}

type pemCertBag struct {
	cert         *x509.Certificate
	localKeyID   string
	friendlyName string
}

// entriesFromPEMBlocks pairs the keys and certificates ToPEM produced.
func entriesFromPEMBlocks(blocks []*pem.Block) ([]KeyEntry, error) {
	var keys []pemKeyBag
	var certs []pemCertBag
	for i, b := range blocks {
		switch b.Type {
		case "PRIVATE KEY":
			// ToPEM labels keys "PRIVATE KEY" but encodes RSA keys as
			// PKCS#1 and EC keys as SEC 1, not PKCS#8.
			k, err := parseRawPrivateKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("trust: PKCS#12: key bag %d: %w", i, err)
			}
			keys = append(keys, pemKeyBag{key: k, localKeyID: b.Headers["localKeyId"], friendlyName: b.Headers["friendlyName"]})
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("trust: PKCS#12: certificate bag %d: %w", i, err)
			}
			certs = append(certs, pemCertBag{cert: c, localKeyID: b.Headers["localKeyId"], friendlyName: b.Headers["friendlyName"]})
		}
	}
	if len(keys) == 0 {
		if len(certs) > 0 {
			return nil, fmt.Errorf("trust: PKCS#12: %w: the store holds %d certificate(s) and no key; is it a trust store?", ErrNoPrivateKey, len(certs))
		}
		return nil, fmt.Errorf("trust: PKCS#12: %w in the store", ErrNoPrivateKey)
	}
	all := make([]*x509.Certificate, len(certs))
	for i, c := range certs {
		all[i] = c.cert
	}

	entries := make([]KeyEntry, 0, len(keys))
	for _, k := range keys {
		name := k.friendlyName
		if name == "" && k.localKeyID != "" {
			name = "localKeyId " + k.localKeyID
		}
		// The localKeyId names the key's certificate; among several
		// certificates with the same id (a store edited by hand) take the
		// one with the key's public key. A certificate named by the id
		// whose key differs is reported, not silently replaced.
		var leaf, named *pemCertBag
		if k.localKeyID != "" {
			for i := range certs {
				if certs[i].localKeyID != k.localKeyID {
					continue
				}
				if named == nil {
					named = &certs[i]
				}
				if publicKeysEqual(k.key.Public(), certs[i].cert.PublicKey) {
					leaf = &certs[i]
					break
				}
			}
		}
		if leaf == nil && named != nil {
			return nil, fmt.Errorf("trust: PKCS#12: key %q: %w: certificate %s carries the key's localKeyId but another public key",
				name, ErrKeyMismatch, describe(named.cert))
		}
		if leaf == nil {
			for i := range certs {
				if publicKeysEqual(k.key.Public(), certs[i].cert.PublicKey) {
					leaf = &certs[i]
					break
				}
			}
		}
		if leaf == nil {
			return nil, fmt.Errorf("trust: PKCS#12: %w: key %q has no certificate in the store", ErrNoCertificate, name)
		}
		id := Identity{Signer: k.key, Certificate: leaf.cert, Chain: buildChain(leaf.cert, all)}
		alias := k.friendlyName
		if alias == "" {
			alias = leaf.friendlyName
		}
		lk, _ := hex.DecodeString(k.localKeyID)
		entries = append(entries, KeyEntry{Alias: alias, CertificateAlias: leaf.friendlyName, LocalKeyID: lk, Identity: id})
	}
	return entries, nil
}

// aliasFromPlainAttributes names the single key of a store read with
// DecodeChain from the attributes visible without decryption: the key bag's
// (they sit outside the key's encryption) and the leaf certificate bag's
// when the certificates are not encrypted.
func aliasFromPlainAttributes(attrs []bagAttributes, leaf *x509.Certificate) (alias, certAlias string, localKeyID []byte) {
	var keyAttrs []bagAttributes
	for _, a := range attrs {
		if a.isKey {
			keyAttrs = append(keyAttrs, a)
		}
	}
	if len(keyAttrs) == 1 {
		alias, localKeyID = keyAttrs[0].friendlyName, keyAttrs[0].localKeyID
	}
	for _, a := range attrs {
		if a.cert != nil && a.cert.Equal(leaf) {
			certAlias = a.friendlyName
			if localKeyID == nil {
				localKeyID = a.localKeyID
			}
		}
	}
	if alias == "" {
		alias = certAlias
	}
	return alias, certAlias, localKeyID
}

// LoadPKCS12TrustStore returns the certificates of a Java-style PKCS#12
// trust store (keytool -importcert -storetype PKCS12: certificate bags marked
// trusted, no keys). Stores of certificates without the Java trust marker
// (openssl pkcs12 -export -nokeys) are read too. A store with a private key
// is refused: a keystore is not a trust store, and mixing them up is a
// configuration error worth stopping for.
func LoadPKCS12TrustStore(data []byte, password string) ([]*x509.Certificate, error) {
	certs, tsErr := pkcs12.DecodeTrustStore(data, password)
	if tsErr == nil {
		if len(certs) == 0 {
			return nil, fmt.Errorf("trust: PKCS#12 trust store: %w: no certificates", ErrUnsupportedFormat)
		}
		return certs, nil
	}
	if errors.Is(tsErr, pkcs12.ErrIncorrectPassword) {
		return nil, fmt.Errorf("trust: PKCS#12 trust store: %w (integrity check failed)", ErrWrongPassword)
	}
	blocks, err := pkcs12.ToPEM(data, password)
	if err != nil {
		if errors.Is(err, pkcs12.ErrIncorrectPassword) {
			return nil, fmt.Errorf("trust: PKCS#12 trust store: %w (integrity check failed)", ErrWrongPassword)
		}
		return nil, fmt.Errorf("trust: PKCS#12 trust store: %w: %v", ErrUnsupportedFormat, tsErr)
	}
	for _, b := range blocks {
		switch b.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("trust: PKCS#12 trust store: %w", err)
			}
			certs = append(certs, c)
		case "PRIVATE KEY":
			return nil, fmt.Errorf("trust: PKCS#12 trust store: %w: the store holds a private key (a keystore, not a trust store)", ErrUnsupportedFormat)
		}
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("trust: PKCS#12 trust store: %w: no certificates", ErrUnsupportedFormat)
	}
	return certs, nil
}

// SelectKeyEntry picks the entry named alias: an exact match of Alias first,
// then a case-insensitive match (Java keystore aliases are case-insensitive)
// of Alias or CertificateAlias, which must be unique. An empty alias selects the
// only entry and fails when there are several, so a configuration never signs
// with an arbitrary key.
func SelectKeyEntry(entries []KeyEntry, alias string) (*KeyEntry, error) {
	if alias == "" {
		if len(entries) == 1 {
			return &entries[0], nil
		}
		return nil, fmt.Errorf("trust: keystore holds %d keys (%s); name the alias to use", len(entries), aliasList(entries))
	}
	for i := range entries {
		if entries[i].Alias == alias {
			return &entries[i], nil
		}
	}
	var found *KeyEntry
	for i := range entries {
		if strings.EqualFold(entries[i].Alias, alias) || strings.EqualFold(entries[i].CertificateAlias, alias) {
			if found != nil {
				return nil, fmt.Errorf("trust: alias %q matches several keys (aliases: %s)", alias, aliasList(entries))
			}
			found = &entries[i]
		}
	}
	if found == nil {
		return nil, fmt.Errorf("trust: keystore has no key with alias %q (aliases: %s)", alias, aliasList(entries))
	}
	return found, nil
}

func aliasList(entries []KeyEntry) string {
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = fmt.Sprintf("%q", e.Alias)
	}
	return strings.Join(names, ", ")
}

func publicOf(key crypto.PrivateKey) crypto.PublicKey {
	if s, ok := key.(crypto.Signer); ok {
		return s.Public()
	}
	return nil
}

func findByPublicKey(certs []*x509.Certificate, pub crypto.PublicKey) *x509.Certificate {
	for _, c := range certs {
		if publicKeysEqual(pub, c.PublicKey) {
			return c
		}
	}
	return nil
}
