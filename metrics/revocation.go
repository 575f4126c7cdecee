package metrics

import (
	"context"
	"crypto/x509"
	"strings"
	"time"

	"github.com/as4gw/as4gw/trust"
	"github.com/prometheus/client_golang/prometheus"
)

// revocationMetrics count OCSP/CRL checks per trust store (as4, tls, smp).
type revocationMetrics struct {
	checks  *prometheus.CounterVec
	seconds *prometheus.HistogramVec
}

func newRevocationMetrics() *revocationMetrics {
	return &revocationMetrics{
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "as4gw_revocation_checks_total",
			Help: "Certificate revocation checks (OCSP and/or CRL, cached answers included) by trust store (as4, tls, smp) and outcome (good, revoked, unknown, not_checked, error).",
		}, []string{"store", "outcome"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "as4gw_revocation_check_duration_seconds",
			Help:    "Time of revocation checks by trust store; answers from the cache are near zero, fetches from a responder or CRL endpoint show here.",
			Buckets: []float64{.0001, .001, .01, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"store"}),
	}
}

// InstrumentRevocation wraps c so its checks are counted under the trust store's
// name; a nil checker stays nil (revocation off).
func (m *Metrics) InstrumentRevocation(store string, c trust.RevocationChecker) trust.RevocationChecker {
	if c == nil {
		return nil
	}
	if inner, ok := c.(instrumentedRevocation); ok {
		c = inner.next // never count a check twice
	}
	for _, o := range []string{"good", "revoked", "unknown", "not_checked", "error"} {
		m.revocation.checks.WithLabelValues(store, o)
	}
	return instrumentedRevocation{next: c, store: store, m: m.revocation}
}

type instrumentedRevocation struct {
	next  trust.RevocationChecker
	store string
	m     *revocationMetrics
}

func (r instrumentedRevocation) Check(ctx context.Context, cert, issuer *x509.Certificate, at time.Time) (trust.RevocationStatus, error) {
	start := time.Now()
	st, err := r.next.Check(ctx, cert, issuer, at)
	r.m.seconds.WithLabelValues(r.store).Observe(time.Since(start).Seconds())
	outcome := "error"
	if err == nil {
		switch st.State {
		case trust.RevocationGood:
			outcome = "good"
		case trust.RevocationRevoked:
			outcome = "revoked"
		case trust.RevocationUnknown:
			outcome = "unknown"
		default:
			outcome = "not_checked"
		}
	}
	r.m.checks.WithLabelValues(r.store, outcome).Inc()
	return st, err
}

// TLS handshake failure reasons (the reason label), from classifyTLSError.
var tlsFailureReasons = []string{"no_certificate", "untrusted", "revoked", "revocation_unknown", "expired", "protocol", "other"}

func newTLSFailures() *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "as4gw_tls_handshake_failures_total",
		Help: "Refused or failed TLS handshakes on our listeners by listener and reason (no_certificate, untrusted, revoked, revocation_unknown, expired, protocol, other).",
	}, []string{"listener", "reason"})
	return c
}

// TLSHandshakeFailure counts a failed handshake; message is the server's log
// text, classified into a bounded reason.
func (m *Metrics) TLSHandshakeFailure(listener, message string) {
	m.tlsFailures.WithLabelValues(listener, ClassifyTLSError(message)).Inc()
}

// ClassifyTLSError maps a handshake error text to one of a few reasons.
func ClassifyTLSError(msg string) string {
	s := strings.ToLower(msg)
	switch {
	case strings.Contains(s, "revocation status"), strings.Contains(s, "revocation unknown"):
		return "revocation_unknown"
	case strings.Contains(s, "revoked"):
		return "revoked"
	case strings.Contains(s, "didn't provide a certificate"), strings.Contains(s, "no certificate"), strings.Contains(s, "certificate required"):
		return "no_certificate"
	case strings.Contains(s, "expired"), strings.Contains(s, "not yet valid"), strings.Contains(s, "validity"):
		return "expired"
	case strings.Contains(s, "unknown authority"), strings.Contains(s, "untrusted"), strings.Contains(s, "not issued"), strings.Contains(s, "trust store"), strings.Contains(s, "bad certificate"):
		return "untrusted"
	case strings.Contains(s, "protocol version"), strings.Contains(s, "cipher"), strings.Contains(s, "first record does not look like"), strings.Contains(s, "unsupported"):
		return "protocol"
	}
	return "other"
}
