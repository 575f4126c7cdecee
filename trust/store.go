package trust

import (
	"crypto/x509"
	"fmt"
	"os"
	"sync"
)

// Store is a trust store: the anchors a certificate must chain to, plus
// optional intermediate CA certificates used to build chains when the peer
// sends only its leaf certificate.
//
// An anchor can be a root CA, an intermediate CA or an end-entity
// certificate. The AS4 trust store of an SDK environment should hold that
// environment's access point CA ("Accesspunkt CA-SDK-QA"), not only a root
// shared by several environments, so that another environment's certificate
// is rejected (DIGG test TF-03). A partner's own certificate placed in the
// store is "pinned": it validates by itself, self-signed or not (the usual
// Domibus and Holodeck test setup).
//
// The AS4, TLS and SMP trust stores are separate Store values; nothing is
// shared between them. A Store is safe for concurrent use.
type Store struct {
	mu            sync.RWMutex
	anchors       []*x509.Certificate
	intermediates []*x509.Certificate
	seen          map[string]bool // DER of anchors and intermediates
	index         *CertificateIndex

	// Pools are rebuilt lazily after a change.
	rootPool *x509.CertPool
	icaPool  []*x509.Certificate

	// gen counts changes; chains found before one are not reused after it.
	gen    uint64
	chains chainCache
}

// NewStore returns a store with the given anchors.
func NewStore(anchors ...*x509.Certificate) *Store {
	s := &Store{seen: map[string]bool{}, index: NewCertificateIndex()}
	s.AddAnchors(anchors...)
	return s
}

// AddAnchors adds trust anchors. A certificate already present as an
// intermediate becomes an anchor too.
func (s *Store) AddAnchors(certs ...*x509.Certificate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range certs {
		if c == nil || s.isAnchorLocked(c) {
			continue
		}
		s.anchors = append(s.anchors, c)
		s.seen[string(c.Raw)] = true
		s.index.Add(c)
	}
	s.rootPool = nil
	s.gen++
}

// AddIntermediates adds CA certificates that help build chains but are not
// trusted by themselves.
func (s *Store) AddIntermediates(certs ...*x509.Certificate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range certs {
		if c == nil || s.seen[string(c.Raw)] {
			continue
		}
		s.intermediates = append(s.intermediates, c)
		s.seen[string(c.Raw)] = true
		s.index.Add(c)
	}
	s.icaPool = nil
	s.gen++
}

func (s *Store) isAnchorLocked(c *x509.Certificate) bool {
	for _, a := range s.anchors {
		if a.Equal(c) {
			return true
		}
	}
	return false
}

// IsAnchor reports whether cert is one of the store's anchors (same DER).
func (s *Store) IsAnchor(cert *x509.Certificate) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.isAnchorLocked(cert)
}

// AddAnchorsPEM adds the certificates in data (PEM bundle, DER, PKCS#7; see
// LoadCertificates) as anchors.
func (s *Store) AddAnchorsPEM(data []byte) error {
	certs, err := LoadCertificates(data)
	if err != nil {
		return fmt.Errorf("trust: trust anchors: %w", err)
	}
	s.AddAnchors(certs...)
	return nil
}

// AddAnchorsFile adds the certificates of a PEM/DER/PKCS#7 file as anchors.
func (s *Store) AddAnchorsFile(path string) error {
	certs, err := LoadCertificatesFile(path)
	if err != nil {
		return err
	}
	s.AddAnchors(certs...)
	return nil
}

// AddIntermediatesFile adds the certificates of a PEM/DER/PKCS#7 file as
// intermediates.
func (s *Store) AddIntermediatesFile(path string) error {
	certs, err := LoadCertificatesFile(path)
	if err != nil {
		return err
	}
	s.AddIntermediates(certs...)
	return nil
}

// AddPKCS12TrustStore adds every certificate of a PKCS#12 trust store (Java
// keytool PKCS12 truststore) as an anchor, as Java's PKIX and Domibus treat
// every truststore entry as trusted.
func (s *Store) AddPKCS12TrustStore(data []byte, password string) error {
	certs, err := LoadPKCS12TrustStore(data, password)
	if err != nil {
		return err
	}
	s.AddAnchors(certs...)
	return nil
}

// AddPKCS12TrustStoreFile is AddPKCS12TrustStore on a file.
func (s *Store) AddPKCS12TrustStoreFile(path, password string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("trust: %w", err)
	}
	if err := s.AddPKCS12TrustStore(data, password); err != nil {
		return fmt.Errorf("%w (file %s)", err, path)
	}
	return nil
}

// Anchors returns the trust anchors.
func (s *Store) Anchors() []*x509.Certificate {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]*x509.Certificate(nil), s.anchors...)
}

// Intermediates returns the intermediate certificates.
func (s *Store) Intermediates() []*x509.Certificate {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]*x509.Certificate(nil), s.intermediates...)
}

// Index returns an index over the store's anchors and intermediates, for
// resolving key references (SKI, IssuerSerial) to a partner certificate held
// in the trust store. The index reflects later additions.
func (s *Store) Index() *CertificateIndex {
	return s.index
}

// pools returns the anchor pool and intermediates, building them after a
// change.
func (s *Store) pools() (*x509.CertPool, []*x509.Certificate) {
	s.mu.RLock()
	roots, icas := s.rootPool, s.icaPool
	s.mu.RUnlock()
	if roots != nil && icas != nil {
		return roots, icas
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rootPool == nil {
		s.rootPool = x509.NewCertPool()
		for _, a := range s.anchors {
			s.rootPool.AddCert(a)
		}
	}
	if s.icaPool == nil {
		s.icaPool = append(make([]*x509.Certificate, 0, len(s.intermediates)), s.intermediates...)
	}
	return s.rootPool, s.icaPool
}
