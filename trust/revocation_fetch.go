package trust

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// RevocationFailure says why an OCSP responder or a CRL gave no usable
// answer. It is an error so that errors.Is(err, FailureTimeout) works on the
// errors the OCSP, CRL and mode checkers return.
type RevocationFailure int

const (
	// FailureNoSource: the certificate names no OCSP responder (AIA) or
	// HTTP CRL distribution point, and none is configured.
	FailureNoSource RevocationFailure = iota + 1
	// FailureUnavailable: connection refused or reset, DNS failure, an HTTP
	// status other than 200, or the request was cancelled.
	FailureUnavailable
	// FailureTimeout: no complete answer within the configured timeout.
	FailureTimeout
	// FailureTooLarge: the answer exceeds the configured size limit.
	FailureTooLarge
	// FailureMalformed: the answer does not parse as an OCSP response or
	// CRL, or uses an unsupported feature (delta CRL, indirect CRL).
	FailureMalformed
	// FailureRefused: the OCSP responder answered with an error status
	// (tryLater, unauthorized, internalError, ...).
	FailureRefused
	// FailureBadSignature: the answer's signature does not verify with the
	// issuer's (or the embedded responder certificate's) key, or the CRL is
	// from another issuer.
	FailureBadSignature
	// FailureUnauthorizedResponder: the OCSP response is signed by a
	// certificate that may not answer for this issuer (not issued by it, no
	// id-kp-OCSPSigning extended key usage, or outside its validity).
	FailureUnauthorizedResponder
	// FailureStale: thisUpdate is in the future, nextUpdate has passed, or
	// (without nextUpdate) the answer is older than the maximum age.
	FailureStale
	// FailureNonce: the OCSP response carries another nonce than the one
	// sent, or none while a nonce is required.
	FailureNonce
	// FailureMismatch: the OCSP response is about another certificate.
	FailureMismatch
	// FailureStatusUnknown: the OCSP responder does not know the
	// certificate (status "unknown").
	FailureStatusUnknown
)

func (f RevocationFailure) String() string {
	switch f {
	case FailureNoSource:
		return "no revocation source"
	case FailureUnavailable:
		return "unavailable"
	case FailureTimeout:
		return "timeout"
	case FailureTooLarge:
		return "answer too large"
	case FailureMalformed:
		return "malformed or unsupported answer"
	case FailureRefused:
		return "responder refused"
	case FailureBadSignature:
		return "bad signature"
	case FailureUnauthorizedResponder:
		return "responder not authorized"
	case FailureStale:
		return "stale"
	case FailureNonce:
		return "nonce mismatch"
	case FailureMismatch:
		return "answer for another certificate"
	case FailureStatusUnknown:
		return "status unknown"
	}
	return fmt.Sprintf("RevocationFailure(%d)", int(f))
}

// Error makes a RevocationFailure usable as an errors.Is target.
func (f RevocationFailure) Error() string { return f.String() }

// RevocationSourceError is a failed OCSP or CRL check: which source, which
// URL, why. Store.Verify wraps it in a *RevocationUnknownError under the
// hard-fail policy, or records it as a warning under soft-fail.
type RevocationSourceError struct {
	// Method is "OCSP" or "CRL".
	Method string
	// URL is the responder or CRL URL; empty for FailureNoSource.
	URL     string
	Failure RevocationFailure
	// Err gives the detail.
	Err error
}

func (e *RevocationSourceError) Error() string {
	var b strings.Builder
	b.WriteString("trust: ")
	b.WriteString(e.Method)
	if e.URL != "" {
		if e.Method == "OCSP" {
			b.WriteString(" responder")
		}
		b.WriteString(" ")
		b.WriteString(e.URL)
	}
	b.WriteString(": ")
	b.WriteString(e.Failure.String())
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Is matches the failure kind: errors.Is(err, trust.FailureStale).
func (e *RevocationSourceError) Is(target error) bool {
	f, ok := target.(RevocationFailure)
	return ok && f == e.Failure
}

// Unwrap returns the detail error.
func (e *RevocationSourceError) Unwrap() error { return e.Err }

// Defaults shared by the OCSP and CRL checkers.
const (
	// DefaultRevocationTimeout bounds one OCSP request or CRL download.
	DefaultRevocationTimeout = 10 * time.Second
	// DefaultClockSkew is tolerated on thisUpdate, nextUpdate and responder
	// certificate validity.
	DefaultClockSkew = 5 * time.Minute
	// DefaultMaxAnswerAge is the maximum age of an answer without nextUpdate.
	DefaultMaxAnswerAge = 24 * time.Hour
	// DefaultNegativeCacheTTL is how long a failed check (or an OCSP
	// "unknown") is remembered, so that a down responder does not cost every
	// message a full timeout.
	DefaultNegativeCacheTTL = 30 * time.Second
	// DefaultOCSPCacheTTL caps how long a good or revoked OCSP answer is
	// reused, even when its nextUpdate is later.
	DefaultOCSPCacheTTL = time.Hour
	// DefaultCRLCacheTTL caps how long a CRL is used before it is downloaded
	// again, even when its nextUpdate is later (CAs publish more often than
	// nextUpdate says).
	DefaultCRLCacheTTL = time.Hour
	// DefaultMaxOCSPResponseSize limits an OCSP response body.
	DefaultMaxOCSPResponseSize = 256 << 10
	// DefaultMaxCRLSize limits a CRL download.
	DefaultMaxCRLSize = 20 << 20
	// defaultMaxCacheEntries bounds each cache.
	defaultMaxCacheEntries = 10000
)

// durationOr returns d, or def when d is zero. A negative d is kept (the
// caller decides what it means, usually "off").
func durationOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func defaultRevocationHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 4
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("more than 3 redirects")
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return fmt.Errorf("redirect to unsupported scheme %q", req.URL.Scheme)
			}
			return nil
		},
	}
}

// isHTTPURL reports whether u is an http or https URL (OCSP and CRL sources
// over LDAP or file are not fetched).
func isHTTPURL(u string) bool {
	l := strings.ToLower(u)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// fetchError classifies a transport error.
func fetchError(method, url string, err error) *RevocationSourceError {
	f := FailureUnavailable
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		f = FailureTimeout
	}
	return &RevocationSourceError{Method: method, URL: url, Failure: f, Err: err}
}

// httpFetch sends req (its context carries the timeout) and reads at most
// limit bytes of a 200 answer.
func httpFetch(client *http.Client, method string, req *http.Request, limit int64) ([]byte, error) {
	url := req.URL.String()
	resp, err := client.Do(req)
	if err != nil {
		return nil, fetchError(method, url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, &RevocationSourceError{Method: method, URL: url, Failure: FailureUnavailable,
			Err: fmt.Errorf("HTTP status %s", resp.Status)}
	}
	if resp.ContentLength > limit {
		return nil, &RevocationSourceError{Method: method, URL: url, Failure: FailureTooLarge,
			Err: fmt.Errorf("Content-Length %d exceeds the limit of %d bytes", resp.ContentLength, limit)}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fetchError(method, url, fmt.Errorf("reading the answer: %w", err))
	}
	if int64(len(body)) > limit {
		return nil, &RevocationSourceError{Method: method, URL: url, Failure: FailureTooLarge,
			Err: fmt.Errorf("answer exceeds the limit of %d bytes", limit)}
	}
	return body, nil
}

// flightGroup lets concurrent callers with the same key share one call of
// fn (stdlib-only singleflight). fn runs in its own goroutine so that a
// caller giving up (its context ends) neither cancels the shared call nor
// leaves the others waiting on it; fn must bound its own duration.
type flightGroup[V any] struct {
	mu    sync.Mutex
	calls map[string]*flightCall[V]
}

type flightCall[V any] struct {
	done chan struct{}
	val  V
	err  error
}

// do returns fn's result for key, starting fn unless a call for key is in
// progress. It returns early with ctx.Err() when ctx ends first.
func (g *flightGroup[V]) do(ctx context.Context, key string, fn func() (V, error)) (V, error) {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = map[string]*flightCall[V]{}
	}
	c, ok := g.calls[key]
	if !ok {
		c = &flightCall[V]{done: make(chan struct{})}
		g.calls[key] = c
		go func() {
			defer func() {
				g.mu.Lock()
				delete(g.calls, key)
				g.mu.Unlock()
				close(c.done)
			}()
			c.val, c.err = fn()
		}()
	}
	g.mu.Unlock()
	select {
	case <-c.done:
		return c.val, c.err
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}

// ttlCache is a small map with per-entry expiry and a size bound.
type ttlCache[V any] struct {
	mu      sync.Mutex
	entries map[string]ttlEntry[V]
	max     int
}

type ttlEntry[V any] struct {
	val     V
	expires time.Time
}

func (c *ttlCache[V]) get(key string, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || !now.Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.val, true
}

// peek returns the entry even when expired.
func (c *ttlCache[V]) peek(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	return e.val, ok
}

func (c *ttlCache[V]) put(key string, val V, expires, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]ttlEntry[V]{}
	}
	limit := c.max
	if limit <= 0 {
		limit = defaultMaxCacheEntries
	}
	if _, ok := c.entries[key]; !ok && len(c.entries) >= limit {
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
		// Still full: drop arbitrary entries (map order) to make room.
		for k := range c.entries {
			if len(c.entries) < limit {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[key] = ttlEntry[V]{val: val, expires: expires}
}

// minTime returns the earlier of a and b, ignoring zero values.
func minTime(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero():
		return a
	case b.Before(a):
		return b
	}
	return a
}

// effectiveRevocation reports whether a revocation at revokedAt with reason
// counts for a validation at time at. A certificate revoked after at was
// still good then (recorded messages are validated at their own time),
// except when the key was compromised: then nothing signed with it can be
// trusted, whatever the time. A missing revocation time counts.
func effectiveRevocation(revokedAt time.Time, reason RevocationReason, at time.Time) bool {
	if revokedAt.IsZero() || !revokedAt.After(at) {
		return true
	}
	switch reason {
	case ReasonKeyCompromise, ReasonCACompromise, ReasonAACompromise:
		return true
	}
	return false
}

func timeText(t time.Time) string { return t.UTC().Format(time.RFC3339) }
