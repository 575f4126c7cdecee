package trust

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ocsp"
)

// OCSPNonceSize is the length of the nonce sent in each OCSP request
// (RFC 8954: 1 to 32 octets, 32 recommended).
const OCSPNonceSize = 32

var (
	oidOCSPNonce = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}

	oidSHA1   = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
)

var ocspHashOIDs = map[crypto.Hash]asn1.ObjectIdentifier{
	crypto.SHA1:   oidSHA1,
	crypto.SHA256: oidSHA256,
	crypto.SHA384: oidSHA384,
	crypto.SHA512: oidSHA512,
}

// OCSPOptions configure an OCSPChecker. The zero value asks the responder
// named in each certificate's AIA extension with the package defaults.
type OCSPOptions struct {
	// ResponderURL, when set, is asked about every certificate instead of
	// the responders named in its AIA extension (a local responder or
	// proxy). http or https.
	ResponderURL string

	// RequireNonce rejects responses that do not echo the request's nonce.
	// Off by default: responders serving pre-produced responses (RFC 5019,
	// CDN-fronted responders) do not echo nonces, and freshness is checked
	// on thisUpdate/nextUpdate anyway. A nonce that is echoed but differs is
	// always rejected.
	RequireNonce bool
	// DisableNonce sends requests without a nonce, for responders that
	// reject them. Cannot be combined with RequireNonce.
	DisableNonce bool

	// Hash identifies the issuer in the request's CertID: crypto.SHA1 (the
	// default, which every responder supports; it is an identifier here, not
	// a signature) or crypto.SHA256/384/512.
	Hash crypto.Hash

	// TrustedResponders are locally configured OCSP signing certificates
	// whose responses are accepted for any issuer (RFC 6960 4.2.2.2, first
	// case). Responses signed by the issuer itself or by a delegated
	// responder it issued (with id-kp-OCSPSigning) need no configuration.
	TrustedResponders []*x509.Certificate

	// Timeout bounds one request; 0 means DefaultRevocationTimeout.
	Timeout time.Duration
	// MaxResponseSize limits the response body; 0 means
	// DefaultMaxOCSPResponseSize.
	MaxResponseSize int64
	// ClockSkew tolerated on thisUpdate, nextUpdate and the responder
	// certificate's validity; 0 means DefaultClockSkew, negative means none.
	ClockSkew time.Duration
	// MaxAge of a response without nextUpdate, measured from thisUpdate; 0
	// means DefaultMaxAnswerAge.
	MaxAge time.Duration
	// CacheTTL caps how long a good or revoked answer is reused (it is never
	// reused past its nextUpdate); 0 means DefaultOCSPCacheTTL, negative
	// disables caching.
	CacheTTL time.Duration
	// NegativeCacheTTL is how long a failure or an "unknown" answer is
	// remembered; 0 means DefaultNegativeCacheTTL, negative disables.
	NegativeCacheTTL time.Duration

	// HTTPClient sends the requests; nil means a client of this package
	// (proxy from the environment, at most 3 redirects, http/https only).
	HTTPClient *http.Client
	// Now is the clock for freshness and cache expiry; nil means time.Now.
	Now func() time.Time
}

// OCSPChecker is a RevocationChecker that asks OCSP responders (RFC 6960).
//
// Each request is POSTed with a fresh nonce (unless disabled). A response is
// accepted only when it parses, is about the certificate asked for (issuer
// name and key hashes and serial), is signed by the issuer, by a delegated
// responder certificate the issuer issued with id-kp-OCSPSigning, or by a
// configured trusted responder, echoes the nonce when it carries one (or at
// all, with RequireNonce), and is fresh. Answers are cached per (issuer,
// serial) until nextUpdate, at most CacheTTL; failures and "unknown" for
// NegativeCacheTTL. Concurrent checks of the same certificate share one
// request.
//
// Errors are *RevocationSourceError naming the responder URL and the
// failure. An "unknown" answer is returned as RevocationUnknown together with
// a FailureStatusUnknown error. A revocation dated after the validation time
// does not count, except for key compromise reasons.
//
// An OCSPChecker is safe for concurrent use.
type OCSPChecker struct {
	opts   OCSPOptions
	client *http.Client
	cache  ttlCache[*ocspAnswer]
	flight flightGroup[*ocspAnswer]
}

// NewOCSPChecker checks the options and returns a checker.
func NewOCSPChecker(opts OCSPOptions) (*OCSPChecker, error) {
	if opts.RequireNonce && opts.DisableNonce {
		return nil, errors.New("trust: OCSP: RequireNonce and DisableNonce exclude each other")
	}
	if opts.Hash == 0 {
		opts.Hash = crypto.SHA1
	}
	if _, ok := ocspHashOIDs[opts.Hash]; !ok || !opts.Hash.Available() {
		return nil, fmt.Errorf("trust: OCSP: unsupported CertID hash %v", opts.Hash)
	}
	if opts.ResponderURL != "" && !isHTTPURL(opts.ResponderURL) {
		return nil, fmt.Errorf("trust: OCSP: responder URL %q is not an http or https URL", opts.ResponderURL)
	}
	if opts.MaxResponseSize < 0 {
		return nil, errors.New("trust: OCSP: negative MaxResponseSize")
	}
	opts.Timeout = durationOr(opts.Timeout, DefaultRevocationTimeout)
	opts.ClockSkew = max(durationOr(opts.ClockSkew, DefaultClockSkew), 0)
	opts.MaxAge = durationOr(opts.MaxAge, DefaultMaxAnswerAge)
	opts.CacheTTL = durationOr(opts.CacheTTL, DefaultOCSPCacheTTL)
	opts.NegativeCacheTTL = durationOr(opts.NegativeCacheTTL, DefaultNegativeCacheTTL)
	if opts.MaxResponseSize == 0 {
		opts.MaxResponseSize = DefaultMaxOCSPResponseSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &OCSPChecker{opts: opts, client: opts.HTTPClient}
	if c.client == nil {
		c.client = defaultRevocationHTTPClient()
	}
	return c, nil
}

// ocspAnswer is what one query found: a verified status, or why there is
// none. It is cached as is and interpreted per check (the validation time
// decides whether a revocation counts).
type ocspAnswer struct {
	url        string
	state      RevocationState
	revokedAt  time.Time
	reason     RevocationReason
	thisUpdate time.Time
	nextUpdate time.Time
	err        error
}

// Check implements RevocationChecker.
func (c *OCSPChecker) Check(ctx context.Context, cert, issuer *x509.Certificate, at time.Time) (RevocationStatus, error) {
	if cert == nil || issuer == nil {
		return RevocationStatus{State: RevocationUnknown, Source: "OCSP"}, errors.New("trust: OCSP: certificate or issuer missing")
	}
	urls := c.urls(cert)
	if len(urls) == 0 {
		return RevocationStatus{State: RevocationUnknown, Source: "OCSP"}, &RevocationSourceError{Method: "OCSP", Failure: FailureNoSource,
			Err: fmt.Errorf("certificate %s names no OCSP responder (AIA) and none is configured", describe(cert))}
	}
	key := ocspCacheKey(cert, issuer)
	if a, ok := c.cache.get(key, c.opts.Now()); ok {
		return a.status(at)
	}
	a, err := c.flight.do(ctx, key, func() (*ocspAnswer, error) {
		if a, ok := c.cache.get(key, c.opts.Now()); ok {
			return a, nil
		}
		a := c.query(context.WithoutCancel(ctx), urls, cert, issuer)
		c.remember(key, a)
		return a, nil
	})
	if err != nil {
		return RevocationStatus{State: RevocationUnknown, Source: "OCSP " + urls[0]},
			fetchError("OCSP", urls[0], fmt.Errorf("waiting for the answer: %w", err))
	}
	return a.status(at)
}

// status turns an answer into the checker's result for validation time at.
func (a *ocspAnswer) status(at time.Time) (RevocationStatus, error) {
	src := "OCSP " + a.url
	if !a.thisUpdate.IsZero() {
		src += " (thisUpdate " + timeText(a.thisUpdate) + ")"
	}
	if a.err != nil {
		return RevocationStatus{State: RevocationUnknown, Source: src}, a.err
	}
	switch a.state {
	case RevocationGood:
		return RevocationStatus{State: RevocationGood, Source: src}, nil
	case RevocationRevoked:
		if !effectiveRevocation(a.revokedAt, a.reason, at) {
			return RevocationStatus{State: RevocationGood,
				Source: fmt.Sprintf("%s; revoked %s (%s), after the validation time %s", src, timeText(a.revokedAt), a.reason, timeText(at))}, nil
		}
		return RevocationStatus{State: RevocationRevoked, RevokedAt: a.revokedAt, Reason: a.reason, Source: src}, nil
	}
	return RevocationStatus{State: RevocationUnknown, Source: src}, &RevocationSourceError{Method: "OCSP", URL: a.url, Failure: FailureStatusUnknown}
}

// remember caches an answer: a verified good/revoked one until nextUpdate
// (or thisUpdate+MaxAge without it), at most CacheTTL; a failure for
// NegativeCacheTTL.
func (c *OCSPChecker) remember(key string, a *ocspAnswer) {
	now := c.opts.Now()
	if a.err != nil {
		if c.opts.NegativeCacheTTL > 0 {
			c.cache.put(key, a, now.Add(c.opts.NegativeCacheTTL), now)
		}
		return
	}
	if c.opts.CacheTTL < 0 {
		return
	}
	until := a.nextUpdate
	if until.IsZero() {
		until = a.thisUpdate.Add(c.opts.MaxAge)
	}
	until = minTime(until, now.Add(c.opts.CacheTTL))
	if until.After(now) {
		c.cache.put(key, a, until, now)
	}
}

// urls lists the responders to ask, in order.
func (c *OCSPChecker) urls(cert *x509.Certificate) []string {
	if c.opts.ResponderURL != "" {
		return []string{c.opts.ResponderURL}
	}
	var out []string
	for _, u := range cert.OCSPServer {
		if isHTTPURL(u) && !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out
}

// ocspCacheKey identifies a certificate by its issuer's name and key and its
// serial, so that two CAs' certificates with the same serial never share an
// entry.
func ocspCacheKey(cert, issuer *x509.Certificate) string {
	h := sha256.New()
	h.Write(issuer.RawSubject)
	h.Write([]byte{0})
	h.Write(issuer.RawSubjectPublicKeyInfo)
	return fmt.Sprintf("%x/%s", h.Sum(nil), cert.SerialNumber.Text(16))
}

// query asks each responder in turn until one gives a verified answer.
func (c *OCSPChecker) query(ctx context.Context, urls []string, cert, issuer *x509.Certificate) *ocspAnswer {
	var errs []error
	var last *ocspAnswer
	for _, u := range urls {
		a := c.queryOne(ctx, u, cert, issuer)
		if a.err == nil {
			return a
		}
		errs = append(errs, a.err)
		last = a
	}
	if len(errs) > 1 {
		last = &ocspAnswer{url: strings.Join(urls, ", "), state: RevocationUnknown, err: joinErrors(errs)}
	}
	return last
}

func (c *OCSPChecker) queryOne(ctx context.Context, url string, cert, issuer *x509.Certificate) *ocspAnswer {
	fail := func(f RevocationFailure, err error) *ocspAnswer {
		return &ocspAnswer{url: url, state: RevocationUnknown, err: &RevocationSourceError{Method: "OCSP", URL: url, Failure: f, Err: err}}
	}
	var nonce []byte
	if !c.opts.DisableNonce {
		nonce = make([]byte, OCSPNonceSize)
		if _, err := rand.Read(nonce); err != nil {
			return fail(FailureUnavailable, fmt.Errorf("making a nonce: %w", err))
		}
	}
	reqDER, nonceExt, err := createOCSPRequest(cert, issuer, c.opts.Hash, nonce)
	if err != nil {
		return fail(FailureMalformed, fmt.Errorf("building the request: %w", err))
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(reqDER))
	if err != nil {
		return fail(FailureUnavailable, err)
	}
	req.Header.Set("Content-Type", "application/ocsp-request")
	req.Header.Set("Accept", "application/ocsp-response")
	body, err := httpFetch(c.client, "OCSP", req, c.opts.MaxResponseSize)
	if err != nil {
		var se *RevocationSourceError
		if errors.As(err, &se) {
			se.URL = url
			return &ocspAnswer{url: url, state: RevocationUnknown, err: se}
		}
		return fail(FailureUnavailable, err)
	}
	a, f, err := c.verifyResponse(body, cert, issuer, nonce, nonceExt)
	if err != nil {
		return fail(f, err)
	}
	a.url = url
	if se, ok := a.err.(*RevocationSourceError); ok {
		se.URL = url
	}
	return a
}

// ASN.1 of RFC 6960, for what golang.org/x/crypto/ocsp does not expose:
// request extensions (the nonce), response extensions (the echoed nonce) and
// the issuer hashes of each SingleResponse's CertID.
type ocspCertID struct {
	HashAlgorithm pkix.AlgorithmIdentifier
	NameHash      []byte
	IssuerKeyHash []byte
	SerialNumber  *big.Int
}

type ocspSingleRequest struct {
	Cert ocspCertID
}

type ocspTBSRequest struct {
	Version     int `asn1:"explicit,tag:0,default:0,optional"`
	RequestList []ocspSingleRequest
	Extensions  []pkix.Extension `asn1:"explicit,tag:2,optional"`
}

type ocspRequest struct {
	TBSRequest ocspTBSRequest
}

type ocspResponseData struct {
	Version     int `asn1:"optional,default:0,explicit,tag:0"`
	ResponderID asn1.RawValue
	ProducedAt  time.Time `asn1:"generalized"`
	Responses   []ocspSingleResponse
	Extensions  []pkix.Extension `asn1:"explicit,tag:1,optional"`
}

type ocspSingleResponse struct {
	CertID     ocspCertID
	Good       asn1.Flag        `asn1:"tag:0,optional"`
	Revoked    ocspRevokedInfo  `asn1:"tag:1,optional"`
	Unknown    asn1.Flag        `asn1:"tag:2,optional"`
	ThisUpdate time.Time        `asn1:"generalized"`
	NextUpdate time.Time        `asn1:"generalized,explicit,tag:0,optional"`
	Extensions []pkix.Extension `asn1:"explicit,tag:1,optional"`
}

type ocspRevokedInfo struct {
	RevocationTime time.Time       `asn1:"generalized"`
	Reason         asn1.Enumerated `asn1:"explicit,tag:0,optional"`
}

// issuerHashes returns the CertID hashes of issuer's name and key.
func issuerHashes(issuer *x509.Certificate, h crypto.Hash) (nameHash, keyHash []byte, err error) {
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(issuer.RawSubjectPublicKeyInfo, &spki); err != nil {
		return nil, nil, err
	}
	hh := h.New()
	hh.Write(issuer.RawSubject)
	nameHash = hh.Sum(nil)
	hh.Reset()
	hh.Write(spki.PublicKey.RightAlign())
	return nameHash, hh.Sum(nil), nil
}

// createOCSPRequest encodes a request for cert with an RFC 8954 nonce
// extension (unless nonce is nil), which ocsp.CreateRequest cannot add. It
// returns the extension value (DER OCTET STRING of the nonce) to compare
// with the echo.
func createOCSPRequest(cert, issuer *x509.Certificate, h crypto.Hash, nonce []byte) (der, nonceExt []byte, err error) {
	nameHash, keyHash, err := issuerHashes(issuer, h)
	if err != nil {
		return nil, nil, err
	}
	req := ocspRequest{TBSRequest: ocspTBSRequest{RequestList: []ocspSingleRequest{{Cert: ocspCertID{
		HashAlgorithm: pkix.AlgorithmIdentifier{Algorithm: ocspHashOIDs[h], Parameters: asn1.NullRawValue},
		NameHash:      nameHash,
		IssuerKeyHash: keyHash,
		SerialNumber:  cert.SerialNumber,
	}}}}}
	if nonce != nil {
		if nonceExt, err = asn1.Marshal(nonce); err != nil {
			return nil, nil, err
		}
		req.TBSRequest.Extensions = []pkix.Extension{{Id: oidOCSPNonce, Value: nonceExt}}
	}
	der, err = asn1.Marshal(req)
	return der, nonceExt, err
}

// verifyResponse checks a response body and extracts the answer.
func (c *OCSPChecker) verifyResponse(der []byte, cert, issuer *x509.Certificate, nonce, nonceExt []byte) (*ocspAnswer, RevocationFailure, error) {
	now := c.opts.Now()
	skew := c.opts.ClockSkew

	// x/crypto/ocsp parses the envelope, maps error statuses, finds the
	// signature algorithm and verifies the signature with an embedded
	// responder certificate. With a nil issuer it authorizes nothing: that
	// is done below.
	resp, err := ocsp.ParseResponseForCert(der, cert, nil)
	if err != nil {
		var re ocsp.ResponseError
		var pe ocsp.ParseError
		switch {
		case errors.As(err, &re):
			return nil, FailureRefused, fmt.Errorf("responder answered %q", re.Status.String())
		case errors.As(err, &pe) && strings.HasPrefix(string(pe), "bad signature on embedded certificate"):
			return nil, FailureBadSignature, fmt.Errorf("response signature does not verify with the embedded responder certificate: %w", err)
		case errors.As(err, &pe) && strings.HasPrefix(string(pe), "no response matching"):
			return nil, FailureMismatch, fmt.Errorf("response has no status for serial %s", serialOf(cert))
		}
		var ae asn1.StructuralError
		var se asn1.SyntaxError
		if errors.As(err, &ae) || errors.As(err, &se) {
			// encoding/asn1 errors dump whole field descriptions.
			return nil, FailureMalformed, fmt.Errorf("the answer (%d bytes) is not a DER OCSP response: %.100s", len(der), err.Error())
		}
		return nil, FailureMalformed, fmt.Errorf("parsing the response: %w", err)
	}
	if f, err := c.checkSigner(resp, issuer, now); err != nil {
		return nil, f, err
	}

	var rd ocspResponseData
	if rest, err := asn1.Unmarshal(resp.TBSResponseData, &rd); err != nil || len(rest) != 0 {
		if err == nil {
			err = errors.New("trailing data")
		}
		return nil, FailureMalformed, fmt.Errorf("parsing the response data: %w", err)
	}
	single, err := matchSingleResponse(rd.Responses, cert, issuer)
	if err != nil {
		return nil, FailureMismatch, err
	}
	for _, e := range single.Extensions {
		if e.Critical {
			return nil, FailureMalformed, fmt.Errorf("unsupported critical extension %v in the single response", e.Id)
		}
	}
	var echoed *pkix.Extension
	for i, e := range rd.Extensions {
		if e.Id.Equal(oidOCSPNonce) {
			echoed = &rd.Extensions[i]
		} else if e.Critical {
			return nil, FailureMalformed, fmt.Errorf("unsupported critical response extension %v", e.Id)
		}
	}

	if nonce != nil {
		switch {
		case echoed != nil:
			// RFC 8954 wraps the nonce in an OCTET STRING; some responders
			// echo it bare.
			if !bytes.Equal(echoed.Value, nonceExt) && !bytes.Equal(echoed.Value, nonce) {
				return nil, FailureNonce, fmt.Errorf("response nonce %x does not match the request nonce %x", echoed.Value, nonceExt)
			}
		case c.opts.RequireNonce:
			return nil, FailureNonce, errors.New("response carries no nonce and a nonce is required")
		}
	}

	// Freshness (RFC 6960 4.2.2.1, RFC 5019 4).
	switch {
	case single.ThisUpdate.IsZero():
		return nil, FailureMalformed, errors.New("response has no thisUpdate")
	case single.ThisUpdate.After(now.Add(skew)):
		return nil, FailureStale, fmt.Errorf("thisUpdate %s is in the future (now %s)", timeText(single.ThisUpdate), timeText(now))
	case !single.NextUpdate.IsZero() && single.NextUpdate.Before(single.ThisUpdate):
		return nil, FailureMalformed, fmt.Errorf("nextUpdate %s is before thisUpdate %s", timeText(single.NextUpdate), timeText(single.ThisUpdate))
	case !single.NextUpdate.IsZero() && now.After(single.NextUpdate.Add(skew)):
		return nil, FailureStale, fmt.Errorf("nextUpdate %s has passed (now %s)", timeText(single.NextUpdate), timeText(now))
	case single.NextUpdate.IsZero() && now.Sub(single.ThisUpdate) > c.opts.MaxAge+skew:
		return nil, FailureStale, fmt.Errorf("response without nextUpdate is older than %s (thisUpdate %s)", c.opts.MaxAge, timeText(single.ThisUpdate))
	}

	a := &ocspAnswer{thisUpdate: single.ThisUpdate, nextUpdate: single.NextUpdate}
	switch {
	case bool(single.Good):
		a.state = RevocationGood
	case bool(single.Unknown):
		a.state = RevocationUnknown
		a.err = &RevocationSourceError{Method: "OCSP", Failure: FailureStatusUnknown,
			Err: fmt.Errorf("the responder does not know certificate %s (serial %s)", describe(cert), serialOf(cert))}
	case !single.Revoked.RevocationTime.IsZero():
		a.state = RevocationRevoked
		a.revokedAt = single.Revoked.RevocationTime
		a.reason = RevocationReason(single.Revoked.Reason)
	default:
		return nil, FailureMalformed, errors.New("response has no certificate status")
	}
	return a, 0, nil
}

// checkSigner authorizes the response's signer (RFC 6960 4.2.2.2): the
// issuer itself, a delegated responder issued by the issuer with
// id-kp-OCSPSigning and valid now, or a configured trusted responder.
// x/crypto/ocsp has already verified the signature when a certificate is
// embedded.
func (c *OCSPChecker) checkSigner(resp *ocsp.Response, issuer *x509.Certificate, now time.Time) (RevocationFailure, error) {
	skew := c.opts.ClockSkew
	rc := resp.Certificate
	if rc == nil {
		if resp.CheckSignatureFrom(issuer) == nil {
			return 0, nil
		}
		for _, t := range c.opts.TrustedResponders {
			if resp.CheckSignatureFrom(t) == nil {
				return 0, nil
			}
		}
		return FailureBadSignature, fmt.Errorf("response signature does not verify with the key of issuer %s or a configured responder", describe(issuer))
	}
	if rc.Equal(issuer) || slices.ContainsFunc(c.opts.TrustedResponders, rc.Equal) {
		return 0, nil
	}
	if !bytes.Equal(rc.RawIssuer, issuer.RawSubject) || rc.CheckSignatureFrom(issuer) != nil {
		return FailureUnauthorizedResponder, fmt.Errorf("responder certificate %s is not issued by %s", describe(rc), describe(issuer))
	}
	if !slices.Contains(rc.ExtKeyUsage, x509.ExtKeyUsageOCSPSigning) {
		return FailureUnauthorizedResponder, fmt.Errorf("responder certificate %s lacks the id-kp-OCSPSigning extended key usage", describe(rc))
	}
	if rc.KeyUsage != 0 && rc.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return FailureUnauthorizedResponder, fmt.Errorf("responder certificate %s lacks the digitalSignature key usage", describe(rc))
	}
	if now.Add(skew).Before(rc.NotBefore) || now.Add(-skew).After(rc.NotAfter) {
		return FailureUnauthorizedResponder, fmt.Errorf("responder certificate %s is outside its validity %s to %s",
			describe(rc), timeText(rc.NotBefore), timeText(rc.NotAfter))
	}
	return 0, nil
}

// matchSingleResponse finds the SingleResponse whose CertID names cert's
// serial and issuer (name and key hash, with the hash the responder chose).
func matchSingleResponse(rs []ocspSingleResponse, cert, issuer *x509.Certificate) (*ocspSingleResponse, error) {
	for i, r := range rs {
		if r.CertID.SerialNumber == nil || r.CertID.SerialNumber.Cmp(cert.SerialNumber) != 0 {
			continue
		}
		var h crypto.Hash
		for hh, oid := range ocspHashOIDs {
			if r.CertID.HashAlgorithm.Algorithm.Equal(oid) {
				h = hh
			}
		}
		if h == 0 || !h.Available() {
			continue
		}
		nameHash, keyHash, err := issuerHashes(issuer, h)
		if err != nil {
			return nil, err
		}
		if bytes.Equal(nameHash, r.CertID.NameHash) && bytes.Equal(keyHash, r.CertID.IssuerKeyHash) {
			return &rs[i], nil
		}
	}
	return nil, fmt.Errorf("response has no status for serial %s from issuer %s", serialOf(cert), describe(issuer))
}

// joinErrors joins errors with "; " (errors.Join uses newlines, which break
// log lines); errors.Is and errors.As see each.
func joinErrors(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return joinedErrors(errs)
}

type joinedErrors []error

func (j joinedErrors) Error() string {
	parts := make([]string, len(j))
	for i, e := range j {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

func (j joinedErrors) Unwrap() []error { return j }
