// Package devpki issues the development certificates of `as4gw devpair` and
// of the embedded development default: a throwaway CA and access-point
// certificates under it. Nothing here is for production use.
package devpki

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"time"
)

// KeyBits is the RSA size of development keys: SDK uses 3072 in production;
// 2048 keeps start-up quick and exercises the same code.
const KeyBits = 2048

// Cert is a certificate with its private key.
type Cert struct {
	Certificate *x509.Certificate
	Key         *rsa.PrivateKey
}

// NewCA issues a self-signed development CA valid for ten years.
func NewCA(name string) (*Cert, error) {
	return issue(&x509.Certificate{
		Subject:               pkix.Name{CommonName: name, Organization: []string{"as4gw development"}},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}, nil, 10*365*24*time.Hour)
}

// NewAccessPoint issues an access-point certificate (signing and key
// encipherment, like DIGG's: one certificate for both) that is also usable as
// a loopback TLS server and client certificate.
func (ca *Cert) NewAccessPoint(cn string) (*Cert, error) {
	return issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: cn, Organization: []string{"as4gw development"}},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}, ca, 2*365*24*time.Hour)
}

func issue(tmpl *x509.Certificate, parent *Cert, lifetime time.Duration) (*Cert, error) {
	key, err := rsa.GenerateKey(rand.Reader, KeyBits)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(lifetime)
	signer, issuer := key, tmpl
	if parent != nil {
		signer, issuer = parent.Key, parent.Certificate
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, &key.PublicKey, signer)
	if err != nil {
		return nil, fmt.Errorf("devpki: issuing %s: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &Cert{Certificate: cert, Key: key}, nil
}

// WriteCertPEM writes the certificate as PEM.
func (c *Cert) WriteCertPEM(path string) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate.Raw}), 0o644)
}

// WriteKeyPEM writes the private key as unencrypted PKCS#8 PEM, readable by
// its owner only.
func (c *Cert) WriteKeyPEM(path string) error {
	der, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		return err
	}
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}
