package as4

import (
	"context"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/as4gw/as4gw/ebms"
	"github.com/as4gw/as4gw/store"
	"github.com/as4gw/as4gw/trust"
	"github.com/as4gw/as4gw/trust/testpki"
)

// checkWith is a CheckPartnerCert hook over a trust domain, as serve wires
// it: chain, key transport usage and revocation.
func checkWith(v *trust.Validator) func(context.Context, *x509.Certificate) error {
	return func(ctx context.Context, c *x509.Certificate) error {
		_, err := v.Verify(ctx, c, nil, trust.VerifyOptions{KeyUsage: trust.KeyUsageEncryption})
		return err
	}
}

// TestGatewayReceiverCertificate is SDK test TF-02 and its neighbours: the
// sender checks the receiver's certificate before sending, and a refused
// certificate stops the send with a reason the backend sees in the
// message's attempts.
func TestGatewayReceiverCertificate(t *testing.T) {
	ca := testpki.Must(testpki.NewRoot(testpki.Spec{CommonName: "TF-02 test AP CA", KeySlot: 20}))
	other := testpki.Must(testpki.NewHierarchy("OTHERFED", "AP9999-SDK-PROD", 0))
	ocsp := testpki.NewOCSPResponder(ca)
	t.Cleanup(ocsp.Close)
	revoked := testpki.Must(ca.NewLeafWithURLs(testpki.Spec{CommonName: "red-revoked", KeySlot: 21}, testpki.RevocationURLs{OCSP: []string{ocsp.URL}}))
	ocsp.Revoke(revoked.Certificate.SerialNumber, time.Now().Add(-time.Hour), 1)
	unchecked := testpki.Must(ca.NewLeafWithURLs(testpki.Spec{CommonName: "red-unreachable-ocsp", KeySlot: 21}, testpki.RevocationURLs{OCSP: []string{"http://127.0.0.1:1/ocsp"}}))
	checker, err := trust.NewRevocationChecker(trust.RevocationConfig{Mode: trust.RevocationModeOCSP, OCSP: trust.OCSPOptions{Timeout: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	fed := &trust.Validator{Name: "as4", Store: trust.NewStore(ca.Certificate), Revocation: checker}

	tests := []struct {
		name     string
		cert     *x509.Certificate
		detail   string
		attempts int // 1: failed at once; 0: retried (not failed yet)
	}{
		{name: "revoked (TF-02)", cert: revoked.Certificate, detail: "is revoked", attempts: 1},
		{name: "other federation", cert: other.Leaf.Certificate, detail: "is not issued by a CA of this federation", attempts: 1},
		{name: "revocation unknown is retried", cert: unchecked.Certificate, detail: "could not be established"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			blue, _ := testPair(t)
			blue.gw.PModes.Parties[1].Certificate = tt.cert // red, as the SMP would give it
			blue.gw.CheckPartnerCert = checkWith(fed)
			blue.startSender(t)
			m := blue.submit(t, "red", "0203:red.example", randomBytes(10))
			var got store.Message
			if tt.attempts == 1 {
				got = waitState(t, blue.store, m.Key, store.SendFailure, 10*time.Second)
			} else {
				got = waitState(t, blue.store, m.Key, store.WaitingForRetry, 10*time.Second)
			}
			last := got.Attempts[len(got.Attempts)-1]
			if last.Error.Code != string(ebms.CodeFailedAuthentication) || !strings.Contains(last.Error.Detail, tt.detail) ||
				!strings.Contains(last.Error.Detail, "not sent: the receiving access point's certificate") {
				t.Errorf("last attempt error = %+v, want EBMS:0101 with %q", last.Error, tt.detail)
			}
			if tt.attempts == 1 && len(got.Attempts) != 1 {
				t.Errorf("%d attempts, want 1 (no retry of a definite refusal)", len(got.Attempts))
			}
		})
	}

	t.Run("trusted receiver is sent", func(t *testing.T) {
		blue, red := testPair(t)
		blue.gw.CheckPartnerCert = checkWith(&trust.Validator{Name: "as4", Store: blue.gw.Trust, Revocation: trust.NoRevocationCheck{}})
		blue.startSender(t)
		m := blue.submit(t, "red", "0203:red.example", randomBytes(10))
		waitState(t, blue.store, m.Key, store.Acknowledged, 10*time.Second)
		_ = red
	})
}
