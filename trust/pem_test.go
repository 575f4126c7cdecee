package trust

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/as4gw/as4gw/trust/testpki"
)

// encryptPKCS8 writes an "ENCRYPTED PRIVATE KEY" block as
// `openssl pkcs8 -topk8 -v2 aes-256-cbc -v2prf hmacWithSHA256` does.
func encryptPKCS8(t *testing.T, der []byte, password string) []byte {
	t.Helper()
	salt, iv := make([]byte, 16), make([]byte, 16)
	rand.Read(salt)
	rand.Read(iv)
	key, err := pbkdf2.Key(sha256.New, password, salt, 2048, 32)
	if err != nil {
		t.Fatal(err)
	}
	pad := 16 - len(der)%16
	plain := append(append([]byte(nil), der...), bytes.Repeat([]byte{byte(pad)}, pad)...)
	block, _ := aes.NewCipher(key)
	ct := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, plain)
	kdf := mustMarshal(t, pbkdf2Params{Salt: salt, IterationCount: 2048, PRF: pkix.AlgorithmIdentifier{Algorithm: oidHMACSHA256, Parameters: asn1.NullRawValue}})
	params := mustMarshal(t, pbes2Params{
		KeyDerivationFunc: pkix.AlgorithmIdentifier{Algorithm: oidPBKDF2, Parameters: asn1.RawValue{FullBytes: kdf}},
		EncryptionScheme:  pkix.AlgorithmIdentifier{Algorithm: oidAES256CBC, Parameters: asn1.RawValue{FullBytes: mustMarshal(t, iv)}},
	})
	epki := mustMarshal(t, encryptedPrivateKeyInfo{
		Algorithm:     pkix.AlgorithmIdentifier{Algorithm: oidPBES2, Parameters: asn1.RawValue{FullBytes: params}},
		EncryptedData: ct,
	})
	return pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: epki})
}

func TestLoadPEM(t *testing.T) {
	f := pki(t)
	leaf := f.qa.Leaf
	const pw = "s3cret-pem"

	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(leaf.Key)})
	pkcs8DER, _ := x509.MarshalPKCS8PrivateKey(leaf.Key)
	// EncryptPEMBlock is deprecated, but the legacy format is what this reads.
	legacyBlock, err := x509.EncryptPEMBlock(rand.Reader, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(leaf.Key), []byte(pw), x509.PEMCipherAES256) //nolint:staticcheck
	if err != nil {
		t.Fatal(err)
	}
	legacy := pem.EncodeToMemory(legacyBlock)
	encrypted := encryptPKCS8(t, pkcs8DER, pw)

	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalECPrivateKey(ecKey)
	ecCert, err := issueForKey(t, f.qa.Intermediate, ecKey)
	if err != nil {
		t.Fatal(err)
	}

	// Chain given in scrambled order: root, leaf, intermediate.
	chainPEM := testpki.CertsPEM(f.qa.Root, leaf, f.qa.Intermediate)

	tests := []struct {
		name     string
		key      []byte
		cert     []byte
		password string
		wantCN   string
		chain    int
		wantErr  error
	}{
		{"PKCS#8", leaf.KeyPEM(), leaf.CertPEM(), "", "AP0001-SDK-QA", 0, nil},
		{"PKCS#1 with scrambled chain", pkcs1, chainPEM, "", "AP0001-SDK-QA", 2, nil},
		{"SEC 1 EC key", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}), ecCert.CertPEM(), "", "AP-EC", 0, nil},
		{"encrypted PKCS#8", encrypted, leaf.CertPEM(), pw, "AP0001-SDK-QA", 0, nil},
		{"legacy encrypted PKCS#1", legacy, leaf.CertPEM(), pw, "AP0001-SDK-QA", 0, nil},
		{"combined key and chain", append(append([]byte(nil), leaf.KeyPEM()...), chainPEM...), nil, "", "AP0001-SDK-QA", 2, nil},
		{"3072-bit DIGG-size key", pki3072(t).KeyPEM(), pki3072(t).CertPEM(), "", "AP0003-SDK-QA", 0, nil},
		{"encrypted PKCS#8, wrong password", encrypted, leaf.CertPEM(), "wrong", "", 0, ErrWrongPassword},
		{"legacy, wrong password", legacy, leaf.CertPEM(), "wrong", "", 0, ErrWrongPassword},
		{"key and certificate differ", leaf.KeyPEM(), f.prod.Leaf.CertPEM(), "", "", 0, ErrKeyMismatch},
		{"no key", leaf.CertPEM(), leaf.CertPEM(), "", "", 0, ErrNoPrivateKey},
		{"two keys", append(leaf.KeyPEM(), f.prod.Leaf.KeyPEM()...), leaf.CertPEM(), "", "", 0, ErrUnsupportedFormat},
		{"no certificate", leaf.KeyPEM(), []byte("\n"), "", "", 0, ErrUnsupportedFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := LoadPEM(tc.key, tc.cert, tc.password)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("got %v, want %v", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), pw) {
					t.Errorf("error contains the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if id.Certificate.Subject.CommonName != tc.wantCN || len(id.Chain) != tc.chain {
				t.Fatalf("got %s with chain %d, want %s with %d", id.Certificate.Subject.CommonName, len(id.Chain), tc.wantCN, tc.chain)
			}
			if tc.chain == 2 && (id.Chain[0].Subject.CommonName != "Accesspunkt CA-SDK-QA" || id.Chain[1].Subject.CommonName != "eDelivery test root QA") {
				t.Errorf("chain out of order: %s, %s", id.Chain[0].Subject, id.Chain[1].Subject)
			}
		})
	}

	if _, err := LoadPEM(encrypted, leaf.CertPEM(), ""); err == nil || !strings.Contains(err.Error(), "encrypted") {
		t.Errorf("encrypted key without password: got %v", err)
	}
}

// issueForKey issues a leaf for a non-RSA key, which testpki does not make.
func issueForKey(t *testing.T, ca *testpki.Cert, key *ecdsa.PrivateKey) (*testpki.Cert, error) {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "AP-EC"},
		NotBefore:    ca.Certificate.NotBefore,
		NotAfter:     ca.Certificate.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Certificate, &key.PublicKey, ca.Key)
	if err != nil {
		return nil, err
	}
	c, err := x509.ParseCertificate(der)
	return &testpki.Cert{Certificate: c}, err
}

func TestLoadCertificates(t *testing.T) {
	f := pki(t)
	a, b := f.qa.Leaf.Certificate, f.qa.Intermediate.Certificate
	pkiPath := mustMarshal(t, []asn1.RawValue{{FullBytes: b.Raw}, {FullBytes: a.Raw}})
	p7 := pkcs7CertsOnly(t, a, b)
	trusted := pem.EncodeToMemory(&pem.Block{Type: "TRUSTED CERTIFICATE", Bytes: append(append([]byte(nil), a.Raw...), 0x30, 0x00)})

	tests := []struct {
		name    string
		data    []byte
		want    []*x509.Certificate
		wantErr bool
	}{
		{"PEM bundle", testpki.CertsPEM(f.qa.Leaf, f.qa.Intermediate), []*x509.Certificate{a, b}, false},
		{"PEM after a key and text", append(append([]byte("subject=...\n"), f.qa.Leaf.KeyPEM()...), f.qa.Leaf.CertPEM()...), []*x509.Certificate{a}, false},
		{"DER", a.Raw, []*x509.Certificate{a}, false},
		{"concatenated DER", append(append([]byte(nil), a.Raw...), b.Raw...), []*x509.Certificate{a, b}, false},
		{"PkiPath", pkiPath, []*x509.Certificate{b, a}, false},
		{"PKCS#7 DER", p7, []*x509.Certificate{a, b}, false},
		{"PKCS#7 PEM", pem.EncodeToMemory(&pem.Block{Type: "PKCS7", Bytes: p7}), []*x509.Certificate{a, b}, false},
		{"OpenSSL trusted certificate", trusted, []*x509.Certificate{a}, false},
		{"only a key", f.qa.Leaf.KeyPEM(), nil, true},
		{"garbage", []byte("not a certificate"), nil, true},
		{"empty", nil, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := LoadCertificates(tc.data)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("want error, got %d certificates", len(got))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d certificates, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if !got[i].Equal(tc.want[i]) {
					t.Errorf("certificate %d is %s, want %s", i, got[i].Subject, tc.want[i].Subject)
				}
			}
		})
	}
}

// pkcs7CertsOnly builds a degenerate SignedData holding certs, like
// `openssl crl2pkcs7 -nocrl`.
func pkcs7CertsOnly(t *testing.T, cs ...*x509.Certificate) []byte {
	t.Helper()
	var raw []byte
	for _, c := range cs {
		raw = append(raw, c.Raw...)
	}
	sd := mustMarshal(t, struct {
		Version          int
		DigestAlgorithms asn1.RawValue
		ContentInfo      struct{ ContentType asn1.ObjectIdentifier }
		Certificates     asn1.RawValue
		SignerInfos      asn1.RawValue
	}{
		Version:          1,
		DigestAlgorithms: asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true},
		ContentInfo:      struct{ ContentType asn1.ObjectIdentifier }{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}},
		Certificates:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: raw},
		SignerInfos:      asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true},
	})
	return mustMarshal(t, struct {
		ContentType asn1.ObjectIdentifier
		Content     asn1.RawValue
	}{oidPKCS7SignedData, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: sd}})
}
