package trust

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"
)

// CRLOptions configure a CRLChecker. The zero value downloads the CRL named
// in each certificate's CRL distribution points with the package defaults.
type CRLOptions struct {
	// URL, when set, is downloaded for every certificate instead of the
	// certificate's distribution points (a local mirror). http or https.
	URL string

	// Timeout bounds one download; 0 means DefaultRevocationTimeout.
	Timeout time.Duration
	// MaxSize limits a CRL; 0 means DefaultMaxCRLSize.
	MaxSize int64
	// ClockSkew tolerated on thisUpdate and nextUpdate; 0 means
	// DefaultClockSkew, negative means none.
	ClockSkew time.Duration
	// MaxAge of a CRL without nextUpdate (which RFC 5280 forbids), from
	// thisUpdate; 0 means DefaultMaxAnswerAge.
	MaxAge time.Duration
	// CacheTTL caps how long a downloaded CRL is used before it is fetched
	// again (never past its nextUpdate); 0 means DefaultCRLCacheTTL,
	// negative disables caching.
	CacheTTL time.Duration
	// NegativeCacheTTL is how long a failed download is remembered; 0
	// means DefaultNegativeCacheTTL, negative disables. While a previously
	// downloaded CRL is still within its nextUpdate, a failed refresh keeps
	// using it instead.
	NegativeCacheTTL time.Duration

	// HTTPClient downloads; nil means a client of this package.
	HTTPClient *http.Client
	// Now is the clock for freshness and cache expiry; nil means time.Now.
	Now func() time.Time
}

// CRLChecker is a RevocationChecker that downloads CRLs (RFC 5280) over HTTP.
//
// A CRL is used only when it parses, is issued and signed by the
// certificate's issuer (name, authority key identifier, signature; the
// issuer needs cRLSign when it has a KeyUsage extension), is current
// (thisUpdate not in the future, nextUpdate not passed), is a complete CRL
// (no delta CRL indicator, no indirect or reason-partitioned scope), covers
// the certificate's kind (issuing distribution point scope) and has no
// unknown critical extension. CRLs are cached per URL until nextUpdate, at
// most CacheTTL; concurrent checks needing the same URL share one download.
// Signature checks are remembered per CRL and issuer.
//
// Errors are *RevocationSourceError naming the CRL URL and the failure.
//
// A CRLChecker is safe for concurrent use.
type CRLChecker struct {
	opts   CRLOptions
	client *http.Client
	cache  ttlCache[*crlResult]
	flight flightGroup[*crlResult]
}

// NewCRLChecker checks the options and returns a checker.
func NewCRLChecker(opts CRLOptions) (*CRLChecker, error) {
	if opts.URL != "" && !isHTTPURL(opts.URL) {
		return nil, fmt.Errorf("trust: CRL: URL %q is not an http or https URL", opts.URL)
	}
	if opts.MaxSize < 0 {
		return nil, errors.New("trust: CRL: negative MaxSize")
	}
	opts.Timeout = durationOr(opts.Timeout, DefaultRevocationTimeout)
	opts.ClockSkew = max(durationOr(opts.ClockSkew, DefaultClockSkew), 0)
	opts.MaxAge = durationOr(opts.MaxAge, DefaultMaxAnswerAge)
	opts.CacheTTL = durationOr(opts.CacheTTL, DefaultCRLCacheTTL)
	opts.NegativeCacheTTL = durationOr(opts.NegativeCacheTTL, DefaultNegativeCacheTTL)
	if opts.MaxSize == 0 {
		opts.MaxSize = DefaultMaxCRLSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &CRLChecker{opts: opts, client: opts.HTTPClient}
	if c.client == nil {
		c.client = defaultRevocationHTTPClient()
	}
	return c, nil
}

// crlResult is a cache entry: a parsed CRL or the failure to get one.
type crlResult struct {
	crl *crlEntry
	err error
}

// crlEntry is a downloaded, parsed, current CRL, not yet tied to an issuer.
type crlEntry struct {
	url        string
	list       *x509.RevocationList
	revoked    map[string]*x509.RevocationListEntry // serial (hex) → entry
	validUntil time.Time                            // nextUpdate+skew, or thisUpdate+MaxAge+skew
	scope      crlScope

	mu       sync.Mutex
	verified map[[32]byte]error // issuer certificate hash → signature check
}

// crlScope is what the issuing distribution point extension says.
type crlScope struct {
	onlyUser, onlyCA bool
	uris             []string // distribution point fullName URIs
}

// Check implements RevocationChecker.
func (c *CRLChecker) Check(ctx context.Context, cert, issuer *x509.Certificate, at time.Time) (RevocationStatus, error) {
	if cert == nil || issuer == nil {
		return RevocationStatus{State: RevocationUnknown, Source: "CRL"}, errors.New("trust: CRL: certificate or issuer missing")
	}
	urls := c.urls(cert)
	if len(urls) == 0 {
		return RevocationStatus{State: RevocationUnknown, Source: "CRL"}, &RevocationSourceError{Method: "CRL", Failure: FailureNoSource,
			Err: fmt.Errorf("certificate %s names no HTTP CRL distribution point and none is configured", describe(cert))}
	}
	var errs []error
	for _, u := range urls {
		st, err := c.checkURL(ctx, u, cert, issuer, at)
		if err == nil {
			return st, nil
		}
		errs = append(errs, err)
	}
	return RevocationStatus{State: RevocationUnknown, Source: "CRL " + urls[0]}, joinErrors(errs)
}

func (c *CRLChecker) urls(cert *x509.Certificate) []string {
	if c.opts.URL != "" {
		return []string{c.opts.URL}
	}
	var out []string
	for _, u := range cert.CRLDistributionPoints {
		if isHTTPURL(u) && !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out
}

func (c *CRLChecker) checkURL(ctx context.Context, url string, cert, issuer *x509.Certificate, at time.Time) (RevocationStatus, error) {
	fail := func(f RevocationFailure, err error) (RevocationStatus, error) {
		return RevocationStatus{State: RevocationUnknown, Source: "CRL " + url}, &RevocationSourceError{Method: "CRL", URL: url, Failure: f, Err: err}
	}
	e, err := c.get(ctx, url)
	if err != nil {
		return RevocationStatus{State: RevocationUnknown, Source: "CRL " + url}, err
	}
	if now := c.opts.Now(); now.After(e.validUntil) {
		return fail(FailureStale, fmt.Errorf("CRL expired: nextUpdate %s has passed (now %s)", timeText(e.list.NextUpdate), timeText(now)))
	}
	if f, err := e.verify(issuer); err != nil {
		return fail(f, err)
	}
	if err := e.scope.covers(cert); err != nil {
		return fail(FailureMalformed, err)
	}
	src := fmt.Sprintf("CRL %s (thisUpdate %s)", url, timeText(e.list.ThisUpdate))
	ent, ok := e.revoked[cert.SerialNumber.Text(16)]
	// removeFromCRL belongs in delta CRLs only; in a complete CRL it cannot
	// mean "revoked".
	if !ok || ent.ReasonCode == int(ReasonRemoveFromCRL) {
		return RevocationStatus{State: RevocationGood, Source: src}, nil
	}
	reason := RevocationReason(ent.ReasonCode)
	if !effectiveRevocation(ent.RevocationTime, reason, at) {
		return RevocationStatus{State: RevocationGood,
			Source: fmt.Sprintf("%s; revoked %s (%s), after the validation time %s", src, timeText(ent.RevocationTime), reason, timeText(at))}, nil
	}
	return RevocationStatus{State: RevocationRevoked, RevokedAt: ent.RevocationTime, Reason: reason, Source: src}, nil
}

// get returns the cached CRL for url or downloads it, one download per URL
// at a time.
func (c *CRLChecker) get(ctx context.Context, url string) (*crlEntry, error) {
	if r, ok := c.cache.get(url, c.opts.Now()); ok {
		return r.crl, r.err
	}
	r, err := c.flight.do(ctx, url, func() (*crlResult, error) {
		now := c.opts.Now()
		if r, ok := c.cache.get(url, now); ok {
			return r, nil
		}
		e, err := c.download(context.WithoutCancel(ctx), url, now)
		if err != nil {
			// A failed refresh keeps a previous CRL that is still current.
			if old, ok := c.cache.peek(url); ok && old.crl != nil && now.Before(old.crl.validUntil) {
				if c.opts.NegativeCacheTTL > 0 {
					c.cache.put(url, old, minTime(now.Add(c.opts.NegativeCacheTTL), old.crl.validUntil), now)
				}
				return old, nil
			}
			r := &crlResult{err: err}
			if c.opts.NegativeCacheTTL > 0 {
				c.cache.put(url, r, now.Add(c.opts.NegativeCacheTTL), now)
			}
			return r, nil
		}
		r := &crlResult{crl: e}
		if c.opts.CacheTTL > 0 {
			until := e.list.NextUpdate
			if until.IsZero() {
				until = e.validUntil
			}
			c.cache.put(url, r, minTime(until, now.Add(c.opts.CacheTTL)), now)
		}
		return r, nil
	})
	if err != nil {
		return nil, fetchError("CRL", url, fmt.Errorf("waiting for the download: %w", err))
	}
	return r.crl, r.err
}

var (
	oidExtCRLNumber         = asn1.ObjectIdentifier{2, 5, 29, 20}
	oidExtDeltaCRL          = asn1.ObjectIdentifier{2, 5, 29, 27}
	oidExtIssuingDP         = asn1.ObjectIdentifier{2, 5, 29, 28}
	oidExtAuthorityKeyID    = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidExtIssuerAltName     = asn1.ObjectIdentifier{2, 5, 29, 18}
	oidExtFreshestCRL       = asn1.ObjectIdentifier{2, 5, 29, 46}
	oidExtAuthorityInfo     = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 1}
	oidExtReasonCode        = asn1.ObjectIdentifier{2, 5, 29, 21}
	oidExtInvalidityDate    = asn1.ObjectIdentifier{2, 5, 29, 24}
	oidExtCertificateIssuer = asn1.ObjectIdentifier{2, 5, 29, 29}
)

// download fetches, parses and checks the freshness of one CRL.
func (c *CRLChecker) download(ctx context.Context, url string, now time.Time) (*crlEntry, error) {
	fail := func(f RevocationFailure, err error) (*crlEntry, error) {
		return nil, &RevocationSourceError{Method: "CRL", URL: url, Failure: f, Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fail(FailureUnavailable, err)
	}
	req.Header.Set("Accept", "application/pkix-crl")
	body, err := httpFetch(c.client, "CRL", req, c.opts.MaxSize)
	if err != nil {
		var se *RevocationSourceError
		if errors.As(err, &se) {
			se.URL = url
			return nil, se
		}
		return fail(FailureUnavailable, err)
	}
	if p, _ := pem.Decode(body); p != nil && p.Type == "X509 CRL" {
		body = p.Bytes
	}
	list, err := x509.ParseRevocationList(body)
	if err != nil {
		return fail(FailureMalformed, fmt.Errorf("parsing the CRL: %w", err))
	}
	e := &crlEntry{url: url, list: list, revoked: make(map[string]*x509.RevocationListEntry, len(list.RevokedCertificateEntries))}
	for _, ext := range list.Extensions {
		switch {
		case ext.Id.Equal(oidExtDeltaCRL):
			return fail(FailureMalformed, errors.New("a delta CRL cannot be used as a complete CRL"))
		case ext.Id.Equal(oidExtIssuingDP):
			if e.scope, err = parseIssuingDP(ext.Value); err != nil {
				return fail(FailureMalformed, err)
			}
		case ext.Id.Equal(oidExtCRLNumber), ext.Id.Equal(oidExtAuthorityKeyID), ext.Id.Equal(oidExtIssuerAltName),
			ext.Id.Equal(oidExtFreshestCRL), ext.Id.Equal(oidExtAuthorityInfo):
		case ext.Critical:
			return fail(FailureMalformed, fmt.Errorf("unsupported critical CRL extension %v", ext.Id))
		}
	}
	for i := range list.RevokedCertificateEntries {
		ent := &list.RevokedCertificateEntries[i]
		for _, ext := range ent.Extensions {
			switch {
			case ext.Id.Equal(oidExtCertificateIssuer):
				return fail(FailureMalformed, errors.New("indirect CRL entries (certificateIssuer) are not supported"))
			case ext.Id.Equal(oidExtReasonCode), ext.Id.Equal(oidExtInvalidityDate):
			case ext.Critical:
				return fail(FailureMalformed, fmt.Errorf("unsupported critical CRL entry extension %v", ext.Id))
			}
		}
		if ent.SerialNumber != nil {
			e.revoked[ent.SerialNumber.Text(16)] = ent
		}
	}

	skew := c.opts.ClockSkew
	switch {
	case list.ThisUpdate.After(now.Add(skew)):
		return fail(FailureStale, fmt.Errorf("thisUpdate %s is in the future (now %s)", timeText(list.ThisUpdate), timeText(now)))
	case !list.NextUpdate.IsZero() && list.NextUpdate.Before(list.ThisUpdate):
		return fail(FailureMalformed, fmt.Errorf("nextUpdate %s is before thisUpdate %s", timeText(list.NextUpdate), timeText(list.ThisUpdate)))
	case !list.NextUpdate.IsZero():
		e.validUntil = list.NextUpdate.Add(skew)
	default:
		e.validUntil = list.ThisUpdate.Add(c.opts.MaxAge + skew)
	}
	if now.After(e.validUntil) {
		if list.NextUpdate.IsZero() {
			return fail(FailureStale, fmt.Errorf("CRL without nextUpdate is older than %s (thisUpdate %s)", c.opts.MaxAge, timeText(list.ThisUpdate)))
		}
		return fail(FailureStale, fmt.Errorf("CRL expired: nextUpdate %s has passed (now %s)", timeText(list.NextUpdate), timeText(now)))
	}
	return e, nil
}

// verify checks that issuer issued and signed the CRL; the result is
// remembered per issuer certificate.
func (e *crlEntry) verify(issuer *x509.Certificate) (RevocationFailure, error) {
	key := sha256.Sum256(issuer.Raw)
	e.mu.Lock()
	err, done := e.verified[key]
	e.mu.Unlock()
	if !done {
		err = e.verifyNow(issuer)
		e.mu.Lock()
		if e.verified == nil {
			e.verified = map[[32]byte]error{}
		}
		e.verified[key] = err
		e.mu.Unlock()
	}
	if err != nil {
		return FailureBadSignature, err
	}
	return 0, nil
}

func (e *crlEntry) verifyNow(issuer *x509.Certificate) error {
	if !bytes.Equal(e.list.RawIssuer, issuer.RawSubject) {
		return fmt.Errorf("CRL issuer %q is not the certificate's issuer %s", e.list.Issuer.String(), describe(issuer))
	}
	if len(e.list.AuthorityKeyId) > 0 && len(issuer.SubjectKeyId) > 0 && !bytes.Equal(e.list.AuthorityKeyId, issuer.SubjectKeyId) {
		return fmt.Errorf("CRL authority key identifier %x is not the key identifier %x of issuer %s", e.list.AuthorityKeyId, issuer.SubjectKeyId, describe(issuer))
	}
	if err := e.list.CheckSignatureFrom(issuer); err != nil {
		var cv x509.ConstraintViolationError
		if errors.As(err, &cv) {
			return fmt.Errorf("issuer %s may not sign CRLs (not a CA or no cRLSign key usage)", describe(issuer))
		}
		return fmt.Errorf("CRL signature does not verify with the key of issuer %s: %w", describe(issuer), err)
	}
	return nil
}

// issuingDistributionPoint is RFC 5280 5.2.5.
type issuingDistributionPoint struct {
	DistributionPoint          asn1.RawValue  `asn1:"optional,explicit,tag:0"`
	OnlyContainsUserCerts      bool           `asn1:"optional,tag:1"`
	OnlyContainsCACerts        bool           `asn1:"optional,tag:2"`
	OnlySomeReasons            asn1.BitString `asn1:"optional,tag:3"`
	IndirectCRL                bool           `asn1:"optional,tag:4"`
	OnlyContainsAttributeCerts bool           `asn1:"optional,tag:5"`
}

func parseIssuingDP(der []byte) (crlScope, error) {
	var idp issuingDistributionPoint
	if rest, err := asn1.Unmarshal(der, &idp); err != nil || len(rest) != 0 {
		if err == nil {
			err = errors.New("trailing data")
		}
		return crlScope{}, fmt.Errorf("parsing the issuing distribution point: %w", err)
	}
	switch {
	case idp.IndirectCRL:
		return crlScope{}, errors.New("indirect CRLs are not supported")
	case idp.OnlySomeReasons.BitLength > 0:
		return crlScope{}, errors.New("CRLs partitioned by reason (onlySomeReasons) are not supported")
	case idp.OnlyContainsAttributeCerts:
		return crlScope{}, errors.New("the CRL covers attribute certificates only")
	}
	s := crlScope{onlyUser: idp.OnlyContainsUserCerts, onlyCA: idp.OnlyContainsCACerts}
	// distributionPoint [0] holds a DistributionPointName; its fullName [0]
	// is a GeneralNames sequence, of which URIs ([6]) are compared.
	dp := idp.DistributionPoint
	if len(dp.FullBytes) > 0 {
		var name asn1.RawValue
		if _, err := asn1.Unmarshal(dp.Bytes, &name); err != nil {
			return crlScope{}, fmt.Errorf("parsing the issuing distribution point name: %w", err)
		}
		if name.Class == asn1.ClassContextSpecific && name.Tag == 0 {
			rest := name.Bytes
			for len(rest) > 0 {
				var gn asn1.RawValue
				var err error
				if rest, err = asn1.Unmarshal(rest, &gn); err != nil {
					return crlScope{}, fmt.Errorf("parsing the issuing distribution point name: %w", err)
				}
				if gn.Class == asn1.ClassContextSpecific && gn.Tag == 6 {
					s.uris = append(s.uris, string(gn.Bytes))
				}
			}
		}
	}
	return s, nil
}

// covers checks that a CRL of this scope can answer for cert.
func (s crlScope) covers(cert *x509.Certificate) error {
	isCA := cert.BasicConstraintsValid && cert.IsCA
	switch {
	case s.onlyUser && isCA:
		return errors.New("the CRL covers end-entity certificates only and the certificate is a CA")
	case s.onlyCA && !isCA:
		return errors.New("the CRL covers CA certificates only and the certificate is not a CA")
	}
	// RFC 5280 6.3.3 (b)(2)(i): a CRL naming its distribution point must be
	// the one the certificate points to, or a CRL for another partition of
	// the same CA could be substituted.
	if len(s.uris) > 0 && len(cert.CRLDistributionPoints) > 0 {
		for _, u := range s.uris {
			if slices.Contains(cert.CRLDistributionPoints, u) {
				return nil
			}
		}
		return fmt.Errorf("the CRL is for distribution point %v, not one of the certificate's %v", s.uris, cert.CRLDistributionPoints)
	}
	return nil
}
