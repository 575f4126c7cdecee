package trust

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/as4gw/as4gw/trust/testpki"
)

// warnLog collects Validator warnings.
type warnLog struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnLog) warn(msg string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := 1; i < len(args); i += 2 {
		if s, ok := args[i].(string); ok {
			msg += " " + s
		}
	}
	w.msgs = append(w.msgs, msg)
}

func (w *warnLog) all() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.msgs, "\n")
}

func TestValidatorDomains(t *testing.T) {
	e := newRevEnv(t)
	good := e.leaf(t, "AP0010-SDK-QA")
	revoked := e.leaf(t, "AP0011-SDK-QA")
	e.ocsp.Revoke(revoked.Certificate.SerialNumber, e.clock.Now().Add(-time.Hour), 1)
	other := pki(t).prod.Leaf // another environment (TF-03)

	checker, err := NewRevocationChecker(RevocationConfig{Mode: RevocationModeOCSP, OCSP: OCSPOptions{Now: e.clock.Now}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cert    *x509.Certificate
		policy  RevocationPolicy
		down    bool
		want    error
		warning string
	}{
		{name: "good", cert: good.Certificate},
		{name: "revoked hard", cert: revoked.Certificate, want: ErrRevoked},
		{name: "revoked soft still refused", cert: revoked.Certificate, policy: RevocationSoftFail, want: ErrRevoked},
		{name: "other federation", cert: other.Certificate, want: ErrUntrusted},
		{name: "responder down hard", cert: good.Certificate, down: true, want: ErrRevocationUnknown},
		{name: "responder down soft", cert: good.Certificate, down: true, policy: RevocationSoftFail, warning: "soft-fail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.ocsp.Configure(testpki.OCSPBehavior{Down: tt.down})
			// A fresh checker per case: the cache would otherwise answer.
			ck := checker
			if tt.down || tt.policy != 0 {
				ck, _ = NewRevocationChecker(RevocationConfig{Mode: RevocationModeOCSP, OCSP: OCSPOptions{Now: e.clock.Now, Timeout: 2 * time.Second}})
			}
			var w warnLog
			v := &Validator{Name: "as4", Store: NewStore(e.ca.Certificate), Revocation: ck, Policy: tt.policy, Warn: w.warn, Now: e.clock.Now}
			_, err := v.Verify(context.Background(), tt.cert, nil, VerifyOptions{At: e.clock.Now(), KeyUsage: KeyUsageSigning})
			if tt.want == nil && err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Verify: got %v, want %v", err, tt.want)
			}
			if tt.warning != "" && !strings.Contains(w.all(), tt.warning) {
				t.Errorf("warnings %q do not mention %q", w.all(), tt.warning)
			}
			// The TLS entry point gives the same answer, wrapped.
			_, terr := v.VerifyTLSPeer(context.Background(), []*x509.Certificate{tt.cert})
			var pe *TLSPeerError
			if (terr == nil) != (err == nil) || (terr != nil && !errors.As(terr, &pe)) {
				t.Errorf("VerifyTLSPeer: %v (Verify: %v)", terr, err)
			}
		})
	}
}

func TestVerifyConnection(t *testing.T) {
	e := newRevEnv(t)
	good := e.leaf(t, "AP0012-SDK-QA")
	v := &Validator{Name: "tls", Store: NewStore(e.ca.Certificate), Now: e.clock.Now}
	get := func() *Validator { return v }
	if err := VerifyConnection(get, true)(tls.ConnectionState{}); err != nil {
		t.Errorf("optional, no certificate: %v", err)
	}
	if err := VerifyConnection(get, false)(tls.ConnectionState{}); err == nil {
		t.Error("required, no certificate: accepted")
	}
	if err := VerifyConnection(func() *Validator { return nil }, false)(tls.ConnectionState{PeerCertificates: []*x509.Certificate{good.Certificate}}); err == nil {
		t.Error("no validator: accepted")
	}
	if err := VerifyConnection(get, false)(tls.ConnectionState{PeerCertificates: []*x509.Certificate{good.Certificate}}); err != nil {
		t.Errorf("good certificate: %v", err)
	}
}

func TestExpiringWithin(t *testing.T) {
	now := time.Now()
	mk := func(left time.Duration) *x509.Certificate { return &x509.Certificate{NotAfter: now.Add(left)} }
	certs := []LabeledCertificate{
		{Role: "identity", Certificate: mk(365 * 24 * time.Hour)},
		{Role: "partner", Name: "red", Certificate: mk(10 * 24 * time.Hour)},
		{Role: "tls-client", Certificate: mk(-time.Hour)},
		{Role: "none"},
	}
	got := ExpiringWithin(certs, now, 30*24*time.Hour)
	if len(got) != 2 || got[0].Role != "tls-client" || !got[0].Expired() || got[1].Name != "red" || got[1].Expired() {
		t.Fatalf("got %+v", got)
	}
}

func TestParseForwardedCertificate(t *testing.T) {
	h := pki(t).qa
	leaf, ica := h.Leaf.Certificate, h.Intermediate.Certificate
	pemLeaf := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw}))
	pemICA := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ica.Raw}))
	tests := []struct {
		name  string
		value string
		n     int
		bad   string
	}{
		{name: "nginx escaped", value: url.QueryEscape(pemLeaf), n: 1},
		{name: "escaped with chain", value: url.PathEscape(pemLeaf + pemICA), n: 2},
		{name: "apache spaces", value: strings.ReplaceAll(pemLeaf, "\n", " "), n: 1},
		{name: "nginx tabs", value: strings.ReplaceAll(strings.TrimSpace(pemLeaf), "\n", "\n\t"), n: 1},
		{name: "haproxy base64 der", value: base64.StdEncoding.EncodeToString(leaf.Raw), n: 1},
		{name: "envoy xfcc", value: `By=spiffe://gw;Hash=abc;Cert="` + url.QueryEscape(pemLeaf) + `";Subject="CN=x,O=\"y\""`, n: 1},
		{name: "envoy xfcc last element", value: `Hash=1;Cert="` + url.QueryEscape(pemICA) + `",Hash=2;Cert="` + url.QueryEscape(pemLeaf) + `";Chain="` + url.QueryEscape(pemLeaf+pemICA) + `"`, n: 2},
		{name: "empty", value: "  ", bad: "empty"},
		{name: "garbage", value: "not a certificate", bad: "neither"},
		{name: "bad escape", value: "%zz", bad: "URL-escaped"},
		{name: "no end", value: "-----BEGIN CERTIFICATE----- AAAA", bad: "END"},
		{name: "xfcc without cert", value: "By=x;Hash=y", bad: "no Cert"},
		{name: "too long", value: strings.Repeat("A", MaxForwardedCertificateBytes+1), bad: "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			certs, err := ParseForwardedCertificate(tt.value)
			if tt.bad != "" {
				if err == nil || !strings.Contains(err.Error(), tt.bad) {
					t.Fatalf("got %v, want an error with %q", err, tt.bad)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(certs) != tt.n || !certs[0].Equal(leaf) {
				t.Fatalf("got %d certificates, first %v", len(certs), certs[0].Subject)
			}
		})
	}
}

func FuzzParseForwardedCertificate(f *testing.F) {
	c := fuzzCert(f).cert
	p := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
	for _, s := range []string{url.QueryEscape(p), base64.StdEncoding.EncodeToString(c.Raw), `Cert="` + url.QueryEscape(p) + `";By=x`, strings.ReplaceAll(p, "\n", " "), `a="b\",c`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		certs, err := ParseForwardedCertificate(s)
		if err == nil && len(certs) == 0 {
			t.Fatal("no error and no certificate")
		}
	})
}
