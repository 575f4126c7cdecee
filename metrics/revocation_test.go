package metrics

import (
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/as4gw/as4gw/trust"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

type fixedChecker struct {
	st  trust.RevocationStatus
	err error
}

func (f fixedChecker) Check(context.Context, *x509.Certificate, *x509.Certificate, time.Time) (trust.RevocationStatus, error) {
	return f.st, f.err
}

func TestInstrumentRevocation(t *testing.T) {
	m := New(Options{})
	if m.InstrumentRevocation("as4", nil) != nil {
		t.Fatal("a nil checker must stay nil (revocation off)")
	}
	cases := []struct {
		store   string
		checker trust.RevocationChecker
		outcome string
	}{
		{"as4", fixedChecker{st: trust.RevocationStatus{State: trust.RevocationGood}}, "good"},
		{"as4", fixedChecker{st: trust.RevocationStatus{State: trust.RevocationRevoked}}, "revoked"},
		{"tls", fixedChecker{st: trust.RevocationStatus{State: trust.RevocationUnknown}}, "unknown"},
		{"smp", fixedChecker{err: errors.New("responder down")}, "error"},
	}
	for _, c := range cases {
		ic := m.InstrumentRevocation(c.store, c.checker)
		ic = m.InstrumentRevocation(c.store, ic) // wrapping twice must not count twice
		ic.Check(context.Background(), nil, nil, time.Now())
		if got := testutil.ToFloat64(m.revocation.checks.WithLabelValues(c.store, c.outcome)); got != 1 {
			t.Errorf("%s/%s = %v, want 1", c.store, c.outcome, got)
		}
	}
	out, err := testutil.CollectAndLint(m.revocation.checks)
	if err != nil || len(out) > 0 {
		t.Errorf("lint: %v %v", err, out)
	}
	if !strings.HasPrefix(m.revocation.checks.WithLabelValues("as4", "good").Desc().String(), "Desc{fqName: \"as4gw_revocation_checks_total\"") {
		t.Error("unexpected metric name")
	}
}

func TestClassifyTLSError(t *testing.T) {
	for msg, want := range map[string]string{
		"http: TLS handshake error from 127.0.0.1:5: tls: client didn't provide a certificate":                 "no_certificate",
		"http: TLS handshake error from 127.0.0.1:5: trust: certificate CN=x is revoked (keyCompromise)":       "revoked",
		"http: TLS handshake error from 127.0.0.1:5: revocation status of CN=x is unknown (hard-fail)":         "revocation_unknown",
		"http: TLS handshake error from 127.0.0.1:5: x509: certificate signed by unknown authority":            "untrusted",
		"http: TLS handshake error from 127.0.0.1:5: x509: certificate has expired or is not yet valid":        "expired",
		"http: TLS handshake error from 127.0.0.1:5: tls: client offered only unsupported versions: [302 301]": "protocol",
		"http: TLS handshake error from 127.0.0.1:5: EOF":                                                      "other",
		"http: TLS handshake error from 127.0.0.1:5: tls: first record does not look like a TLS handshake":     "protocol",
	} {
		if got := ClassifyTLSError(msg); got != want {
			t.Errorf("%q → %s, want %s", msg, got, want)
		}
	}
}
