package testpki

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// RevokedCert is one CRL entry.
type RevokedCert struct {
	Serial *big.Int
	At     time.Time
	// Reason is an RFC 5280 CRLReason code; 0 (unspecified) omits the
	// reasonCode extension.
	Reason int
}

// CRLSpec describes a CRL to issue.
type CRLSpec struct {
	Revoked []RevokedCert
	// ThisUpdate defaults to a minute ago; NextUpdate to a day after
	// ThisUpdate.
	ThisUpdate time.Time
	NextUpdate time.Time
	// Number is the CRL number; nil means 1.
	Number *big.Int
	// WrongKey signs with a key that is not the issuer's.
	WrongKey bool
	// ExtraExtensions are added to the CRL (e.g. an issuing distribution
	// point, a delta CRL indicator).
	ExtraExtensions []pkix.Extension
}

// NewCRL issues a DER CRL signed by c (which needs the cRLSign key usage, as
// CAs from this package have).
func (c *Cert) NewCRL(s CRLSpec) ([]byte, error) {
	thisUpdate := s.ThisUpdate
	if thisUpdate.IsZero() {
		thisUpdate = time.Now().Add(-time.Minute)
	}
	nextUpdate := s.NextUpdate
	if nextUpdate.IsZero() {
		nextUpdate = thisUpdate.Add(24 * time.Hour)
	}
	number := s.Number
	if number == nil {
		number = big.NewInt(1)
	}
	tmpl := &x509.RevocationList{
		Number:          number,
		ThisUpdate:      thisUpdate.UTC().Truncate(time.Second),
		NextUpdate:      nextUpdate.UTC().Truncate(time.Second),
		ExtraExtensions: s.ExtraExtensions,
	}
	for _, r := range s.Revoked {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, x509.RevocationListEntry{
			SerialNumber: r.Serial, RevocationTime: r.At.UTC().Truncate(time.Second), ReasonCode: r.Reason,
		})
	}
	issuer, key := c.Certificate, c.Key
	if s.WrongKey {
		k, err := Key(c.Key.N.BitLen(), wrongKeySlot)
		if err != nil {
			return nil, err
		}
		key = k
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, issuer, key)
	if err != nil {
		return nil, fmt.Errorf("testpki: CRL of %q: %w", c.Certificate.Subject.CommonName, err)
	}
	return der, nil
}

// CRLBehavior makes a CRL server misbehave. The zero value serves a current
// CRL (thisUpdate a minute ago, nextUpdate a day later).
type CRLBehavior struct {
	// Down closes each connection without answering.
	Down bool
	// HTTPStatus, when non-zero, answers with this status and no body.
	HTTPStatus int
	// Delay holds each answer back.
	Delay time.Duration
	// Garbage serves bytes that are not a CRL.
	Garbage bool
	// PEM serves the CRL PEM-encoded instead of DER.
	PEM bool
	// Expired serves a CRL whose nextUpdate passed an hour ago.
	Expired bool
	// NextUpdate is the validity after thisUpdate; 0 means a day.
	NextUpdate time.Duration
	// WrongKey signs with a key that is not the issuer's.
	WrongKey bool
	// SignedBy, when set, issues the CRL as this other CA (its name and
	// key).
	SignedBy *Cert
	// ExtraExtensions are added to the CRL.
	ExtraExtensions []pkix.Extension
	// Padding appends this many bytes to the answer (size limits).
	Padding int
}

// CRLServer serves a CA's CRL over HTTP on loopback. The CRL is issued
// afresh on each request from the current revocations and behavior, with an
// increasing CRL number. Safe for concurrent use.
type CRLServer struct {
	// Issuer is the CA whose CRL is served.
	Issuer *Cert
	// URL is the distribution point URL to put into certificates.
	URL string

	server *httptest.Server

	mu       sync.Mutex
	behavior CRLBehavior
	revoked  []RevokedCert
	clock    func() time.Time
	requests int
	number   int64
}

// NewCRLServer starts a CRL server for issuer. Close it when done.
func NewCRLServer(issuer *Cert) *CRLServer {
	s := &CRLServer{Issuer: issuer, clock: time.Now}
	s.server = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.server.URL + "/ca.crl"
	return s
}

// Close stops the server.
func (s *CRLServer) Close() { s.server.Close() }

// Revoke adds a serial to the CRL.
func (s *CRLServer) Revoke(serial *big.Int, at time.Time, reason int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoked = append(s.revoked, RevokedCert{Serial: serial, At: at, Reason: reason})
}

// Configure replaces the behavior.
func (s *CRLServer) Configure(b CRLBehavior) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.behavior = b
}

// SetClock sets the server's clock (for thisUpdate and nextUpdate).
func (s *CRLServer) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock = now
}

// Requests returns the number of requests received.
func (s *CRLServer) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

func (s *CRLServer) serve(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	s.requests++
	s.number++
	b := s.behavior
	now := s.clock()
	number := s.number
	revoked := append([]RevokedCert(nil), s.revoked...)
	s.mu.Unlock()

	if b.Down {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	if b.Delay > 0 {
		t := time.NewTimer(b.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-req.Context().Done():
			return
		}
	}
	if b.HTTPStatus != 0 {
		w.WriteHeader(b.HTTPStatus)
		return
	}
	var body []byte
	if b.Garbage {
		body = []byte("this is not a CRL")
	} else {
		spec := CRLSpec{Revoked: revoked, ThisUpdate: now.Add(-time.Minute), Number: big.NewInt(number),
			WrongKey: b.WrongKey, ExtraExtensions: b.ExtraExtensions}
		validity := b.NextUpdate
		if validity == 0 {
			validity = 24 * time.Hour
		}
		spec.NextUpdate = spec.ThisUpdate.Add(validity)
		if b.Expired {
			spec.ThisUpdate, spec.NextUpdate = now.Add(-25*time.Hour), now.Add(-time.Hour)
		}
		issuer := s.Issuer
		if b.SignedBy != nil {
			issuer = b.SignedBy
		}
		der, err := issuer.NewCRL(spec)
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		body = der
		if b.PEM {
			body = pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
		}
	}
	if b.Padding > 0 {
		body = append(body, make([]byte, b.Padding)...)
	}
	w.Header().Set("Content-Type", "application/pkix-crl")
	w.Write(body)
}
