package trust

import (
	"crypto/x509"
	"sort"
	"time"
)

// LabeledCertificate is a certificate with what it is to the gateway, for
// expiry reports: Role "identity", "tls-client", "partner", "as4-anchor",
// "tls-anchor", "smp-anchor"...; Name the party or file it belongs to.
type LabeledCertificate struct {
	Role        string
	Name        string
	Certificate *x509.Certificate
}

// ExpiryNotice is a certificate that expires within the warning window or
// has expired.
type ExpiryNotice struct {
	LabeledCertificate
	// Left is the time until NotAfter; negative once expired.
	Left time.Duration
}

// Expired reports whether the certificate is past its NotAfter.
func (n ExpiryNotice) Expired() bool { return n.Left < 0 }

// ExpiringWithin returns the certificates whose NotAfter is before
// now+within (expired ones included), soonest first. The same certificate
// listed under several labels is reported once per label, since each label
// is a different thing for the operator to renew or replace.
func ExpiringWithin(certs []LabeledCertificate, now time.Time, within time.Duration) []ExpiryNotice {
	var out []ExpiryNotice
	for _, c := range certs {
		if c.Certificate == nil {
			continue
		}
		if left := c.Certificate.NotAfter.Sub(now); left < within {
			out = append(out, ExpiryNotice{LabeledCertificate: c, Left: left})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Left < out[j].Left })
	return out
}
