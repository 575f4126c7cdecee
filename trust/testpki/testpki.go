// Package testpki builds small X.509 hierarchies for tests: roots, intermediate
// CAs and end-entity (access point) certificates with RSA keys, and writes them
// as PEM.
//
// It is meant for tests only. Private keys are generated once per process and
// cached by (size, slot), because an RSA-3072 key takes about a second to make
// and a test suite would otherwise spend most of its time in key generation.
// Two certificates asked for with the same KeySize and KeySlot therefore share
// a key; use different slots when a test needs distinct keys (for example a
// renewed certificate that must not match the old key).
//
// Certificates are not byte-for-byte reproducible across runs (keys are random
// and RSA signatures depend on them), but everything a test asserts on is
// stable: names, serial numbers (derived from the subject unless given),
// validity windows (when given), key usages and SKI values for a given key.
package testpki

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// hierarchySlotBase keeps NewHierarchy's key slots away from the small slot
// numbers tests pick by hand.
const hierarchySlotBase = 1 << 20

// DefaultKeySize is used when Spec.KeySize is zero. The DIGG profile asks for
// RSA-3072 in production; 2048 keeps tests fast and exercises the same code.
const DefaultKeySize = 2048

// Spec describes one certificate to issue. Zero values pick test-friendly
// defaults, documented per field.
type Spec struct {
	// CommonName is the subject CN. Required.
	CommonName string
	// Organization and Country are optional subject attributes.
	Organization string
	Country      string

	// KeySize is the RSA modulus size in bits; 0 means DefaultKeySize.
	KeySize int
	// KeySlot selects one of several cached keys of the same size.
	KeySlot int

	// NotBefore and NotAfter bound validity. A zero NotBefore means one hour
	// before the call for end-entity certificates (so clock skew between
	// test steps cannot make a fresh certificate "not yet valid") and five
	// years before the call for CAs (so tests can issue backdated leaves,
	// e.g. already expired ones, that still chain to them). A zero NotAfter
	// means NotBefore plus Lifetime.
	NotBefore time.Time
	NotAfter  time.Time
	// Lifetime is used when NotAfter is zero; 0 means 15 years for CAs
	// (ten years ahead of the default start) and 2 years for end-entity
	// certificates.
	Lifetime time.Duration

	// KeyUsage replaces the default key usage (CAs: certSign|crlSign;
	// end entities: digitalSignature|keyEncipherment, as DIGG AP certificates
	// use one certificate for signing and encryption).
	KeyUsage x509.KeyUsage
	// OmitKeyUsage leaves out the KeyUsage extension entirely, to test
	// RFC 5280's "absent means unrestricted" handling.
	OmitKeyUsage bool
	// ExtKeyUsage is copied into the certificate; nil means none.
	ExtKeyUsage []x509.ExtKeyUsage

	// SerialNumber overrides the serial; nil derives one from the issuer and
	// subject names so that repeated runs produce the same serial.
	SerialNumber *big.Int
	// OmitSubjectKeyID leaves out the SKI extension (RFC 5280 method-1 SHA-1
	// otherwise), to test SKI computation for certificates without it.
	OmitSubjectKeyID bool
	// MaxPathLen for CAs; 0 means unconstrained.
	MaxPathLen int
}

// Cert is an issued certificate with its private key.
type Cert struct {
	Certificate *x509.Certificate
	Key         *rsa.PrivateKey
}

// Signer returns the key as a crypto.Signer.
func (c *Cert) Signer() crypto.Signer { return c.Key }

// NewRoot issues a self-signed CA certificate.
func NewRoot(s Spec) (*Cert, error) {
	return issue(s, nil, true)
}

// NewSelfSigned issues a self-signed end-entity certificate (no CA flag), the
// shape of Domibus and Holodeck test certificates that partners pin directly
// in their trust stores.
func NewSelfSigned(s Spec) (*Cert, error) {
	return issue(s, nil, false)
}

// NewIntermediate issues a CA certificate signed by c.
func (c *Cert) NewIntermediate(s Spec) (*Cert, error) {
	return issue(s, c, true)
}

// NewLeaf issues an end-entity certificate signed by c.
func (c *Cert) NewLeaf(s Spec) (*Cert, error) {
	return issue(s, c, false)
}

// Hierarchy is a DIGG-shaped three-level PKI: root → "Accesspunkt CA-SDK-<env>"
// → access point certificate.
type Hierarchy struct {
	Root         *Cert
	Intermediate *Cert
	Leaf         *Cert
}

// NewHierarchy builds root "eDelivery test root <env>", intermediate
// "Accesspunkt CA-SDK-<env>" and an end-entity certificate with CommonName
// apCN, all with keySize-bit keys (0: DefaultKeySize). Each environment gets
// its own key slots so that hierarchies for QA and PROD never share keys.
func NewHierarchy(env, apCN string, keySize int) (*Hierarchy, error) {
	slot := hierarchySlotBase + int(hashSlot(env))*3
	if keySize == 0 {
		keySize = DefaultKeySize
	}
	// Generate the three keys in parallel: most of the cost on first use.
	if err := generateKeys(keySize, slot, slot+1, slot+2); err != nil {
		return nil, err
	}
	root, err := NewRoot(Spec{CommonName: "eDelivery test root " + env, Organization: "DIGG test", Country: "SE", KeySize: keySize, KeySlot: slot})
	if err != nil {
		return nil, err
	}
	ica, err := root.NewIntermediate(Spec{CommonName: "Accesspunkt CA-SDK-" + env, Organization: "DIGG test", Country: "SE", KeySize: keySize, KeySlot: slot + 1})
	if err != nil {
		return nil, err
	}
	leaf, err := ica.NewLeaf(Spec{CommonName: apCN, Organization: "Test AP operator", Country: "SE", KeySize: keySize, KeySlot: slot + 2})
	if err != nil {
		return nil, err
	}
	return &Hierarchy{Root: root, Intermediate: ica, Leaf: leaf}, nil
}

// Must panics when err is non-nil; for package-level test fixtures.
func Must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func issue(s Spec, parent *Cert, isCA bool) (*Cert, error) {
	if s.CommonName == "" {
		return nil, errors.New("testpki: Spec.CommonName is required")
	}
	size := s.KeySize
	if size == 0 {
		size = DefaultKeySize
	}
	key, err := Key(size, s.KeySlot)
	if err != nil {
		return nil, err
	}

	subject := pkix.Name{CommonName: s.CommonName}
	if s.Organization != "" {
		subject.Organization = []string{s.Organization}
	}
	if s.Country != "" {
		subject.Country = []string{s.Country}
	}

	notBefore := s.NotBefore
	if notBefore.IsZero() {
		notBefore = time.Now().Add(-time.Hour).Truncate(time.Second)
		if isCA {
			notBefore = notBefore.AddDate(-5, 0, 0)
		}
	}
	notAfter := s.NotAfter
	if notAfter.IsZero() {
		life := s.Lifetime
		if life == 0 {
			life = 2 * 365 * 24 * time.Hour
			if isCA {
				life = 15 * 365 * 24 * time.Hour
			}
		}
		notAfter = notBefore.Add(life)
	}

	ku := s.KeyUsage
	if ku == 0 {
		ku = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
		if isCA {
			ku = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
		}
	}

	issuerName := subject
	if parent != nil {
		issuerName = parent.Certificate.Subject
	}
	serial := s.SerialNumber
	if serial == nil {
		serial = derivedSerial(issuerName.String(), subject.String(), s.KeySlot)
	}

	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subject,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		ExtKeyUsage:           s.ExtKeyUsage,
		BasicConstraintsValid: true,
		IsCA:                  isCA,
	}
	if !s.OmitKeyUsage {
		tmpl.KeyUsage = ku
	}
	if isCA {
		tmpl.MaxPathLen = s.MaxPathLen
		tmpl.MaxPathLenZero = false
	}
	if s.OmitSubjectKeyID {
		if isCA {
			// x509.CreateCertificate invents an SKI for CAs when the template
			// has none; only end-entity certificates can be made without one.
			return nil, errors.New("testpki: OmitSubjectKeyID is only supported for end-entity certificates")
		}
	} else {
		ski, err := method1SKI(&key.PublicKey)
		if err != nil {
			return nil, err
		}
		tmpl.SubjectKeyId = ski
	}

	parentCert, parentKey := tmpl, crypto.Signer(key)
	if parent != nil {
		parentCert, parentKey = parent.Certificate, parent.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, &key.PublicKey, parentKey)
	if err != nil {
		return nil, fmt.Errorf("testpki: issue %q: %w", s.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("testpki: parse %q: %w", s.CommonName, err)
	}
	return &Cert{Certificate: cert, Key: key}, nil
}

// derivedSerial gives a positive 63-bit serial that depends only on the names
// and slot, so a test's expected serials stay the same between runs.
func derivedSerial(issuer, subject string, slot int) *big.Int {
	h := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%d", issuer, subject, slot)))
	n := new(big.Int).SetBytes(h[:8])
	n.Rsh(n, 1)
	if n.Sign() == 0 {
		n.SetInt64(1)
	}
	return n
}

func hashSlot(s string) uint16 {
	h := sha256.Sum256([]byte(s))
	return uint16(h[0])<<8 | uint16(h[1])
}

// method1SKI is RFC 5280 4.2.1.2 method (1): SHA-1 over the subjectPublicKey
// BIT STRING contents. Set explicitly because Go ≥ 1.25 uses truncated
// SHA-256 when it fills in the SKI itself, and most AS4 peers use method 1.
func method1SKI(pub crypto.PublicKey) ([]byte, error) {
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	var info struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(spki, &info); err != nil {
		return nil, err
	}
	h := sha1.Sum(info.PublicKey.Bytes)
	return h[:], nil
}

type keyID struct{ bits, slot int }

type keyCell struct {
	once sync.Once
	key  *rsa.PrivateKey
	err  error
}

var (
	keysMu sync.Mutex
	keys   = map[keyID]*keyCell{}
)

// Key returns the process-wide cached RSA key of the given size for slot,
// generating it on first use. Concurrent callers for different slots generate
// in parallel; callers for the same slot wait for one generation.
func Key(bits, slot int) (*rsa.PrivateKey, error) {
	if bits < 1024 {
		return nil, fmt.Errorf("testpki: RSA key size %d is too small", bits)
	}
	keysMu.Lock()
	cell, ok := keys[keyID{bits, slot}]
	if !ok {
		cell = &keyCell{}
		keys[keyID{bits, slot}] = cell
	}
	keysMu.Unlock()
	cell.once.Do(func() {
		cell.key, cell.err = rsa.GenerateKey(rand.Reader, bits)
	})
	return cell.key, cell.err
}

// generateKeys fills the cache for several slots concurrently.
func generateKeys(bits int, slots ...int) error {
	errs := make([]error, len(slots))
	var wg sync.WaitGroup
	for i, slot := range slots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = Key(bits, slot)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// CertPEM returns the certificate as a PEM "CERTIFICATE" block.
func (c *Cert) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate.Raw})
}

// KeyPEM returns the private key as an unencrypted PKCS#8 "PRIVATE KEY" block.
func (c *Cert) KeyPEM() []byte {
	der, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		// Cannot happen for *rsa.PrivateKey.
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// CertsPEM concatenates the certificates as PEM, in the order given (for a
// chain file: leaf first).
func CertsPEM(certs ...*Cert) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, c.CertPEM()...)
	}
	return out
}

// WriteFiles writes <dir>/<name>.cert.pem and <dir>/<name>.key.pem (mode 0600
// for the key) and returns their paths.
func (c *Cert) WriteFiles(dir, name string) (certPath, keyPath string, err error) {
	certPath = filepath.Join(dir, name+".cert.pem")
	keyPath = filepath.Join(dir, name+".key.pem")
	if err := os.WriteFile(certPath, c.CertPEM(), 0o644); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(keyPath, c.KeyPEM(), 0o600); err != nil {
		return "", "", err
	}
	return certPath, keyPath, nil
}

// WritePEM writes the certificates as one PEM bundle to path.
func WritePEM(path string, certs ...*Cert) error {
	return os.WriteFile(path, CertsPEM(certs...), 0o644)
}
