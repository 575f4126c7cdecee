package metrics

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"strings"
	"testing"
	"time"

	"github.com/as4gw/as4gw/trust"
)

func TestCertificateExpiryExtra(t *testing.T) {
	notAfter := time.Unix(1900000000, 0)
	c := func(cn string) *x509.Certificate {
		return &x509.Certificate{Subject: pkix.Name{CommonName: cn}, NotAfter: notAfter}
	}
	m := New(Options{PModes: testSet(), DataDir: t.TempDir(), Certificates: func() []trust.LabeledCertificate {
		return []trust.LabeledCertificate{
			{Role: "tls-client", Name: "AP0040", Certificate: c("AP0040 TLS")},
			{Role: "tls-anchor", Name: "SITHS CA", Certificate: c("SITHS CA")},
			{Role: "identity", Name: "ignored", Certificate: c("ignored")}, // from Options.Identity instead
			{Role: "smp-anchor", Name: "none"},                             // no certificate: skipped
		}
	}})
	out := scrape(t, m)
	for _, want := range []string{
		`as4gw_certificate_expiry_timestamp_seconds{party="AP0040",role="tls-client",subject_cn="AP0040 TLS"} 1.9e+09`,
		`as4gw_certificate_expiry_timestamp_seconds{party="SITHS CA",role="tls-anchor",subject_cn="SITHS CA"} 1.9e+09`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
	if strings.Contains(out, `subject_cn="ignored"`) || strings.Contains(out, `role="smp-anchor"`) {
		t.Error("identity from Certificates or a nil certificate exported")
	}
}
