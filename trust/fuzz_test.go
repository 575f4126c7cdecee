package trust

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// Parsers of outside input must not panic. DN strings come from peers'
// X509IssuerName; certificates from BinarySecurityTokens and SMP responses;
// keystores and keys from operators' files.

func FuzzParseDN(f *testing.F) {
	for _, s := range []string{"CN=ph-as4,C=AT", `CN=a\,b+OU=#0c0161;O="q"`, "OID.2.5.4.3=x", `O=A\C3\B6`} {
		f.Add(s)
	}
	raw := fuzzCert(f).cert.RawIssuer
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseDN(s)
		_ = NameMatchesString(raw, s)
	})
}

func FuzzLoadCertificates(f *testing.F) {
	c := fuzzCert(f).cert
	f.Add(c.Raw)
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := LoadCertificates(data)
		if err == nil {
			ix := NewCertificateIndex(certs...)
			for _, c := range certs {
				_ = SubjectKeyID(c)
				_ = ix.ByIssuerSerial(c.Issuer.String(), c.SerialNumber)
			}
		}
		_, _ = ParsePKIPath(data)
	})
}

func FuzzParsePrivateKeyPEM(f *testing.F) {
	der, err := x509.MarshalPKCS8PrivateKey(fuzzCert(f).key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), "")
	f.Add([]byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----\n"), "pw")
	f.Fuzz(func(t *testing.T, data []byte, pw string) {
		_, _ = ParsePrivateKeyPEM(data, pw)
	})
}

func FuzzLoadPKCS12(f *testing.F) {
	fc := fuzzCert(f)
	// LegacyDES with few iterations keeps each fuzz run fast.
	p12, err := pkcs12.LegacyDES.WithIterations(1).Encode(fc.key, fc.cert, nil, "pw")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(p12)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = LoadPKCS12(data, "pw")
		_, _ = plainBagAttributes(data)
	})
}

type fuzzSeed struct {
	key  *ecdsa.PrivateKey
	cert *x509.Certificate
}

// fuzzCert makes a small ECDSA certificate for seeds: RSA key generation is
// far too slow under the fuzzer's coverage instrumentation.
func fuzzCert(f *testing.F) fuzzSeed {
	f.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7),
		Subject:      pkix.Name{CommonName: "fuzz, \"seed\"", Country: []string{"SE"}},
		NotBefore:    time.Unix(0, 0),
		NotAfter:     time.Unix(1<<32, 0),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		f.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		f.Fatal(err)
	}
	return fuzzSeed{key, cert}
}
