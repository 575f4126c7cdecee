package testpki

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"golang.org/x/crypto/ocsp"
)

// wrongKeySlot is the key used to make signatures that must not verify.
const wrongKeySlot = hierarchySlotBase - 1

// Certificate states an OCSP responder answers with.
const (
	StatusGood    = ocsp.Good
	StatusRevoked = ocsp.Revoked
	StatusUnknown = ocsp.Unknown
)

// CertStatus is what a responder says about one serial.
type CertStatus struct {
	// Status is StatusGood, StatusRevoked or StatusUnknown.
	Status int
	// RevokedAt and Reason (an RFC 5280 CRLReason code, e.g.
	// ocsp.KeyCompromise) for StatusRevoked.
	RevokedAt time.Time
	Reason    int
}

// NonceMode says what the responder does with a request nonce.
type NonceMode int

const (
	// NonceEcho returns the request's nonce extension unchanged (RFC 8954).
	NonceEcho NonceMode = iota
	// NonceOmit returns no nonce (a responder serving pre-produced
	// responses).
	NonceOmit
	// NonceAlter returns the nonce with its last byte changed (a replayed or
	// tampered response).
	NonceAlter
)

// OCSPBehavior makes the responder misbehave. The zero value answers
// correctly: signed by the signer, thisUpdate a minute ago, nextUpdate an
// hour after it, nonce echoed.
type OCSPBehavior struct {
	// Down closes each connection without answering.
	Down bool
	// HTTPStatus, when non-zero, answers with this HTTP status and no body.
	HTTPStatus int
	// Delay holds each answer back (to provoke client timeouts).
	Delay time.Duration
	// ResponseStatus, when non-zero, answers with this unsuccessful OCSP
	// status (ocsp.TryLater, ocsp.Unauthorized, ...).
	ResponseStatus ocsp.ResponseStatus
	// Garbage answers with bytes that are not an OCSP response.
	Garbage bool
	// Stale answers with thisUpdate two days ago and nextUpdate a day ago.
	Stale bool
	// Future answers with thisUpdate an hour ahead.
	Future bool
	// NoNextUpdate leaves nextUpdate out.
	NoNextUpdate bool
	// ThisUpdateAge sets thisUpdate that long before now; 0 means a minute.
	ThisUpdateAge time.Duration
	// NextUpdate is the validity after thisUpdate; 0 means an hour.
	NextUpdate time.Duration
	// WrongKey signs with a key that belongs to no certificate.
	WrongKey bool
	// Nonce: echo (default), omit or alter.
	Nonce NonceMode
	// OtherSerial answers about this serial instead of the one asked for.
	OtherSerial *big.Int
}

// OCSPResponder is an OCSP responder (RFC 6960) for one CA on a loopback
// httptest server. It answers POST requests; certificates not given a
// status are good. It signs with the CA key, or with a delegated responder
// certificate (embedded in each response) after SetSigner. Safe for
// concurrent use.
type OCSPResponder struct {
	// Issuer is the CA whose certificates the responder answers for.
	Issuer *Cert
	// URL is the responder URL to put into certificates.
	URL string

	server *httptest.Server

	mu        sync.Mutex
	signer    *Cert
	behavior  OCSPBehavior
	statuses  map[string]CertStatus
	clock     func() time.Time
	requests  int
	lastNonce []byte
}

// NewOCSPResponder starts a responder for issuer. Close it when done.
func NewOCSPResponder(issuer *Cert) *OCSPResponder {
	r := &OCSPResponder{Issuer: issuer, statuses: map[string]CertStatus{}, clock: time.Now}
	r.server = httptest.NewServer(http.HandlerFunc(r.serve))
	r.URL = r.server.URL + "/ocsp"
	return r
}

// Close stops the server; requests afterwards are refused.
func (r *OCSPResponder) Close() { r.server.Close() }

// SetSigner makes a delegated responder certificate sign the responses
// (nil: the issuer again). The certificate is embedded in each response.
func (r *OCSPResponder) SetSigner(c *Cert) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.signer = c
}

// SetStatus sets the status of a serial.
func (r *OCSPResponder) SetStatus(serial *big.Int, st CertStatus) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.statuses[serial.Text(16)] = st
}

// Revoke marks a serial revoked at a time with a CRLReason code.
func (r *OCSPResponder) Revoke(serial *big.Int, at time.Time, reason int) {
	r.SetStatus(serial, CertStatus{Status: StatusRevoked, RevokedAt: at, Reason: reason})
}

// Configure replaces the behavior.
func (r *OCSPResponder) Configure(b OCSPBehavior) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.behavior = b
}

// SetClock sets the responder's clock (for thisUpdate and nextUpdate).
func (r *OCSPResponder) SetClock(now func() time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clock = now
}

// Requests returns the number of requests received.
func (r *OCSPResponder) Requests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests
}

// LastNonce returns the nonce of the last request (the OCTET STRING
// contents), nil when it had none.
func (r *OCSPResponder) LastNonce() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastNonce
}

// RFC 6960 ASN.1, including the request and response extensions that
// golang.org/x/crypto/ocsp does not handle.
type ocspCertID struct {
	HashAlgorithm pkix.AlgorithmIdentifier
	NameHash      []byte
	IssuerKeyHash []byte
	SerialNumber  *big.Int
}

type ocspSingleRequest struct {
	Cert       ocspCertID
	Extensions []pkix.Extension `asn1:"explicit,tag:0,optional"`
}

type ocspTBSRequest struct {
	Version       int           `asn1:"explicit,tag:0,default:0,optional"`
	RequestorName asn1.RawValue `asn1:"explicit,tag:1,optional"`
	RequestList   []ocspSingleRequest
	Extensions    []pkix.Extension `asn1:"explicit,tag:2,optional"`
}

type ocspRequest struct {
	TBSRequest ocspTBSRequest
	Signature  asn1.RawValue `asn1:"explicit,tag:0,optional"`
}

type ocspRevokedInfo struct {
	RevocationTime time.Time       `asn1:"generalized"`
	Reason         asn1.Enumerated `asn1:"explicit,tag:0,optional"`
}

type ocspSingleResponse struct {
	CertID     ocspCertID
	Good       asn1.Flag       `asn1:"tag:0,optional"`
	Revoked    ocspRevokedInfo `asn1:"tag:1,optional"`
	Unknown    asn1.Flag       `asn1:"tag:2,optional"`
	ThisUpdate time.Time       `asn1:"generalized"`
	NextUpdate time.Time       `asn1:"generalized,explicit,tag:0,optional"`
}

type ocspResponseData struct {
	Version     int `asn1:"optional,default:0,explicit,tag:0"`
	ResponderID asn1.RawValue
	ProducedAt  time.Time `asn1:"generalized"`
	Responses   []ocspSingleResponse
	Extensions  []pkix.Extension `asn1:"explicit,tag:1,optional"`
}

type ocspBasicResponse struct {
	TBSResponseData    asn1.RawValue
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          asn1.BitString
	Certificates       []asn1.RawValue `asn1:"explicit,tag:0,optional"`
}

type ocspResponseBytes struct {
	ResponseType asn1.ObjectIdentifier
	Response     []byte
}

type ocspResponse struct {
	Status   asn1.Enumerated
	Response ocspResponseBytes `asn1:"explicit,tag:0,optional"`
}

var (
	oidOCSPBasic            = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 1}
	oidOCSPNonce            = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}
	oidSHA1                 = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256               = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA256WithRSA        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	ocspMalformedRequest    = []byte{0x30, 0x03, 0x0A, 0x01, 0x01}
	ocspUnauthorizedRequest = []byte{0x30, 0x03, 0x0A, 0x01, 0x06}
)

func (r *OCSPResponder) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.requests++
	b := r.behavior
	signer := r.signer
	now := r.clock()
	r.mu.Unlock()

	// Read the request first: the server then notices a client that gives
	// up during Delay, and Close does not wait for the delay to run out.
	body, err := io.ReadAll(io.LimitReader(req.Body, 64<<10))
	if err != nil {
		return
	}
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
	if req.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/ocsp-response")
	if b.Garbage {
		w.Write([]byte("this is not an OCSP response"))
		return
	}
	if b.ResponseStatus != 0 {
		der, _ := asn1.Marshal(ocspResponse{Status: asn1.Enumerated(b.ResponseStatus)})
		w.Write(der)
		return
	}
	var oreq ocspRequest
	if rest, err := asn1.Unmarshal(body, &oreq); err != nil || len(rest) != 0 || len(oreq.TBSRequest.RequestList) == 0 {
		w.Write(ocspMalformedRequest)
		return
	}
	var nonceExt *pkix.Extension
	for i, e := range oreq.TBSRequest.Extensions {
		if e.Id.Equal(oidOCSPNonce) {
			nonceExt = &oreq.TBSRequest.Extensions[i]
		}
	}
	r.mu.Lock()
	r.lastNonce = nil
	if nonceExt != nil {
		var n []byte
		if _, err := asn1.Unmarshal(nonceExt.Value, &n); err == nil {
			r.lastNonce = n
		}
	}
	r.mu.Unlock()

	id := oreq.TBSRequest.RequestList[0].Cert
	if !r.issuerMatches(id) {
		w.Write(ocspUnauthorizedRequest)
		return
	}
	serial := id.SerialNumber
	if b.OtherSerial != nil {
		serial = b.OtherSerial
		id.SerialNumber = serial
	}
	r.mu.Lock()
	st, ok := r.statuses[serial.Text(16)]
	r.mu.Unlock()
	if !ok {
		st = CertStatus{Status: StatusGood}
	}

	age := b.ThisUpdateAge
	if age == 0 {
		age = time.Minute
	}
	thisUpdate := now.Add(-age)
	validity := b.NextUpdate
	if validity == 0 {
		validity = time.Hour
	}
	nextUpdate := thisUpdate.Add(validity)
	switch {
	case b.Stale:
		thisUpdate, nextUpdate = now.Add(-48*time.Hour), now.Add(-24*time.Hour)
	case b.Future:
		thisUpdate, nextUpdate = now.Add(time.Hour), now.Add(2*time.Hour)
	}
	if b.NoNextUpdate {
		nextUpdate = time.Time{}
	}
	single := ocspSingleResponse{CertID: id, ThisUpdate: thisUpdate.UTC().Truncate(time.Second), NextUpdate: nextUpdate.UTC().Truncate(time.Second)}
	switch st.Status {
	case StatusGood:
		single.Good = true
	case StatusRevoked:
		single.Revoked = ocspRevokedInfo{RevocationTime: st.RevokedAt.UTC().Truncate(time.Second), Reason: asn1.Enumerated(st.Reason)}
	default:
		single.Unknown = true
	}
	var exts []pkix.Extension
	if nonceExt != nil {
		switch b.Nonce {
		case NonceEcho:
			exts = append(exts, *nonceExt)
		case NonceAlter:
			e := *nonceExt
			e.Value = bytes.Clone(e.Value)
			e.Value[len(e.Value)-1] ^= 0xff
			exts = append(exts, e)
		}
	}

	if signer == nil {
		signer = r.Issuer
	}
	key := signer.Key
	if b.WrongKey {
		if key, err = Key(signer.Key.N.BitLen(), wrongKeySlot); err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
	}
	var embed []*x509.Certificate
	if signer != r.Issuer {
		embed = append(embed, signer.Certificate)
	}
	der, err := buildOCSPResponse(key, embed, ocspResponseData{
		ResponderID: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 1, IsCompound: true, Bytes: signer.Certificate.RawSubject},
		ProducedAt:  now.UTC().Truncate(time.Second),
		Responses:   []ocspSingleResponse{single},
		Extensions:  exts,
	})
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.Write(der)
}

// issuerMatches checks the request's CertID names the responder's CA.
func (r *OCSPResponder) issuerMatches(id ocspCertID) bool {
	var h crypto.Hash
	switch {
	case id.HashAlgorithm.Algorithm.Equal(oidSHA1):
		h = crypto.SHA1
	case id.HashAlgorithm.Algorithm.Equal(oidSHA256):
		h = crypto.SHA256
	default:
		return false
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(r.Issuer.Certificate.RawSubjectPublicKeyInfo, &spki); err != nil {
		return false
	}
	sum := func(b []byte) []byte {
		if h == crypto.SHA1 {
			s := sha1.Sum(b)
			return s[:]
		}
		s := sha256.Sum256(b)
		return s[:]
	}
	return bytes.Equal(sum(r.Issuer.Certificate.RawSubject), id.NameHash) &&
		bytes.Equal(sum(spki.PublicKey.RightAlign()), id.IssuerKeyHash)
}

// buildOCSPResponse signs data with key (RSA, SHA-256) and wraps it as a
// successful basic OCSP response, embedding certs.
func buildOCSPResponse(key *rsa.PrivateKey, certs []*x509.Certificate, data ocspResponseData) ([]byte, error) {
	tbs, err := asn1.Marshal(data)
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256(tbs)
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		return nil, err
	}
	basic := ocspBasicResponse{
		TBSResponseData:    asn1.RawValue{FullBytes: tbs},
		SignatureAlgorithm: pkix.AlgorithmIdentifier{Algorithm: oidSHA256WithRSA, Parameters: asn1.NullRawValue},
		Signature:          asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)},
	}
	for _, c := range certs {
		basic.Certificates = append(basic.Certificates, asn1.RawValue{FullBytes: c.Raw})
	}
	basicDER, err := asn1.Marshal(basic)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(ocspResponse{Status: asn1.Enumerated(ocsp.Success), Response: ocspResponseBytes{ResponseType: oidOCSPBasic, Response: basicDER}})
}
