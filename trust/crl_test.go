package trust

import (
	"context"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/as4gw/as4gw/trust/testpki"
)

func TestCRLGoodAndRevoked(t *testing.T) {
	e := newRevEnv(t)
	good := e.leaf(t, "AP-crl-good")
	revoked := e.leaf(t, "AP-crl-revoked")
	revokedAt := e.clock.Now().Add(-72 * time.Hour).UTC().Truncate(time.Second)
	e.crl.Revoke(revoked.Certificate.SerialNumber, revokedAt, ocsp.KeyCompromise)
	c := e.crlChecker(t, CRLOptions{})

	st, err := e.check(t, c, good)
	wantState(t, st, err, RevocationGood)
	if !strings.HasPrefix(st.Source, "CRL "+e.crl.URL) {
		t.Errorf("source %q does not name the CRL", st.Source)
	}
	st, err = e.check(t, c, revoked)
	wantState(t, st, err, RevocationRevoked)
	if st.Reason != ReasonKeyCompromise || !st.RevokedAt.Equal(revokedAt) {
		t.Errorf("revoked %v reason %v, want %v keyCompromise", st.RevokedAt, st.Reason, revokedAt)
	}
	if e.ocsp.Requests() != 0 {
		t.Error("CRL checker asked the OCSP responder")
	}
	if n := e.crl.Requests(); n != 1 {
		t.Errorf("%d downloads for two certificates on one CRL, want 1", n)
	}
}

func TestCRLFailures(t *testing.T) {
	f := pki(t)
	deltaIndicator := pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 27}, Critical: true, Value: []byte{0x02, 0x01, 0x01}}
	unknownCritical := pkix.Extension{Id: asn1.ObjectIdentifier{1, 2, 3, 4}, Critical: true, Value: []byte{0x05, 0x00}}
	tests := []struct {
		name     string
		behavior testpki.CRLBehavior
		opts     CRLOptions
		want     RevocationFailure
		detail   string
	}{
		{name: "server down", behavior: testpki.CRLBehavior{Down: true}, want: FailureUnavailable},
		{name: "HTTP 404", behavior: testpki.CRLBehavior{HTTPStatus: http.StatusNotFound}, want: FailureUnavailable, detail: "404"},
		{name: "timeout", behavior: testpki.CRLBehavior{Delay: 3 * time.Second}, opts: CRLOptions{Timeout: 150 * time.Millisecond}, want: FailureTimeout},
		{name: "not a CRL", behavior: testpki.CRLBehavior{Garbage: true}, want: FailureMalformed},
		{name: "too large", behavior: testpki.CRLBehavior{Padding: 4096}, opts: CRLOptions{MaxSize: 2048}, want: FailureTooLarge},
		{name: "expired (nextUpdate passed)", behavior: testpki.CRLBehavior{Expired: true}, want: FailureStale, detail: "nextUpdate"},
		{name: "signed with a wrong key", behavior: testpki.CRLBehavior{WrongKey: true}, want: FailureBadSignature, detail: "signature"},
		{name: "issued by another CA", behavior: testpki.CRLBehavior{SignedBy: f.prod.Intermediate}, want: FailureBadSignature, detail: "CA-SDK-PROD"},
		{name: "delta CRL", behavior: testpki.CRLBehavior{ExtraExtensions: []pkix.Extension{deltaIndicator}}, want: FailureMalformed, detail: "delta"},
		{name: "unknown critical extension", behavior: testpki.CRLBehavior{ExtraExtensions: []pkix.Extension{unknownCritical}}, want: FailureMalformed, detail: "1.2.3.4"},
		{name: "scope: CA certificates only", behavior: testpki.CRLBehavior{ExtraExtensions: []pkix.Extension{issuingDP(t, "", true)}}, want: FailureMalformed, detail: "CA certificates only"},
		{name: "scope: another distribution point", behavior: testpki.CRLBehavior{ExtraExtensions: []pkix.Extension{issuingDP(t, "http://crl.example/other.crl", false)}}, want: FailureMalformed, detail: "other.crl"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newRevEnv(t)
			e.crl.Configure(tc.behavior)
			leaf := e.leaf(t, fmt.Sprintf("AP-crl-failure-%d", i))
			start := time.Now()
			st, err := e.check(t, e.crlChecker(t, tc.opts), leaf)
			wantFailure(t, st, err, tc.want, e.crl.URL)
			if tc.detail != "" && !strings.Contains(err.Error(), tc.detail) {
				t.Errorf("error does not say %q: %v", tc.detail, err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("check took %v", d)
			}
			t.Log(err)
		})
	}
}

func TestCRLAccepted(t *testing.T) {
	tests := []struct {
		name     string
		behavior testpki.CRLBehavior
		opts     CRLOptions
	}{
		{name: "PEM", behavior: testpki.CRLBehavior{PEM: true}},
		{name: "issuing distribution point naming this URL"}, // extension added below
		{name: "nextUpdate just passed, within the clock skew", behavior: testpki.CRLBehavior{NextUpdate: time.Minute - time.Second}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newRevEnv(t)
			if i == 1 {
				tc.behavior.ExtraExtensions = []pkix.Extension{issuingDP(t, e.crl.URL, false)}
			}
			e.crl.Configure(tc.behavior)
			leaf := e.leaf(t, fmt.Sprintf("AP-crl-accepted-%d", i))
			if i == 2 {
				e.clock.Advance(time.Minute) // thisUpdate is a minute before the clock
			}
			st, err := e.check(t, e.crlChecker(t, tc.opts), leaf)
			wantState(t, st, err, RevocationGood)
		})
	}
}

// issuingDP builds an issuing distribution point extension naming uri (if
// any), optionally for CA certificates only.
func issuingDP(t *testing.T, uri string, onlyCA bool) pkix.Extension {
	t.Helper()
	var body []byte
	if uri != "" {
		gn, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 6, Bytes: []byte(uri)})
		full, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: gn})
		dp, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: full})
		body = append(body, dp...)
	}
	if onlyCA {
		body = append(body, 0x82, 0x01, 0xff)
	}
	der, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: body})
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 28}, Critical: true, Value: der}
}

func TestCRLSourceSelection(t *testing.T) {
	e := newRevEnv(t)
	bare := e.leafWith(t, "AP-crl-no-cdp", testpki.RevocationURLs{})
	st, err := e.check(t, e.crlChecker(t, CRLOptions{}), bare)
	wantFailure(t, st, err, FailureNoSource, "")
	ldapOnly := e.leafWith(t, "AP-crl-ldap-cdp", testpki.RevocationURLs{CRL: []string{"ldap://ldap.example/cn=CA?certificateRevocationList"}})
	st, err = e.check(t, e.crlChecker(t, CRLOptions{}), ldapOnly)
	wantFailure(t, st, err, FailureNoSource, "")

	st, err = e.check(t, e.crlChecker(t, CRLOptions{URL: e.crl.URL}), bare)
	wantState(t, st, err, RevocationGood)

	if _, err := NewCRLChecker(CRLOptions{URL: "file:///etc/ca.crl"}); err == nil {
		t.Error("file CRL URL accepted")
	}
}

func TestCRLCache(t *testing.T) {
	t.Run("reused until CacheTTL, then refreshed", func(t *testing.T) {
		e := newRevEnv(t)
		leaf := e.leaf(t, "AP-crl-cache")
		c := e.crlChecker(t, CRLOptions{CacheTTL: time.Hour})
		for range 3 {
			st, err := e.check(t, c, leaf)
			wantState(t, st, err, RevocationGood)
		}
		if n := e.crl.Requests(); n != 1 {
			t.Fatalf("%d downloads for three checks, want 1", n)
		}
		e.crl.Revoke(leaf.Certificate.SerialNumber, e.clock.Now(), ocsp.CessationOfOperation)
		e.clock.Advance(59 * time.Minute)
		st, err := e.check(t, c, leaf)
		wantState(t, st, err, RevocationGood)
		e.clock.Advance(2 * time.Minute)
		st, err = e.check(t, c, leaf)
		wantState(t, st, err, RevocationRevoked)
		if n := e.crl.Requests(); n != 2 {
			t.Errorf("%d downloads, want 2", n)
		}
	})
	t.Run("refreshed at nextUpdate", func(t *testing.T) {
		e := newRevEnv(t)
		e.crl.Configure(testpki.CRLBehavior{NextUpdate: 10 * time.Minute})
		leaf := e.leaf(t, "AP-crl-nextupdate")
		c := e.crlChecker(t, CRLOptions{CacheTTL: 24 * time.Hour})
		e.check(t, c, leaf)
		e.clock.Advance(8 * time.Minute)
		e.check(t, c, leaf)
		if n := e.crl.Requests(); n != 1 {
			t.Fatalf("%d downloads before nextUpdate, want 1", n)
		}
		e.clock.Advance(2 * time.Minute) // nextUpdate (thisUpdate was a minute before the start)
		st, err := e.check(t, c, leaf)
		wantState(t, st, err, RevocationGood)
		if n := e.crl.Requests(); n != 2 {
			t.Errorf("%d downloads after nextUpdate, want 2", n)
		}
	})
	t.Run("failed refresh keeps a current CRL", func(t *testing.T) {
		e := newRevEnv(t)
		leaf := e.leaf(t, "AP-crl-keep")
		c := e.crlChecker(t, CRLOptions{CacheTTL: time.Hour})
		e.check(t, c, leaf)
		e.crl.Configure(testpki.CRLBehavior{HTTPStatus: http.StatusServiceUnavailable})
		e.clock.Advance(2 * time.Hour)
		st, err := e.check(t, c, leaf)
		wantState(t, st, err, RevocationGood)
		st, err = e.check(t, c, leaf)
		wantState(t, st, err, RevocationGood)
		if n := e.crl.Requests(); n != 2 {
			t.Errorf("%d downloads, want 2 (the failed refresh is not retried at once)", n)
		}
		// Past the old CRL's nextUpdate the failure shows.
		e.clock.Advance(23 * time.Hour)
		st, err = e.check(t, c, leaf)
		wantFailure(t, st, err, FailureUnavailable, e.crl.URL)
	})
	t.Run("failures cached briefly", func(t *testing.T) {
		e := newRevEnv(t)
		e.crl.Configure(testpki.CRLBehavior{HTTPStatus: http.StatusBadGateway})
		leaf := e.leaf(t, "AP-crl-negative")
		c := e.crlChecker(t, CRLOptions{})
		e.check(t, c, leaf)
		e.check(t, c, leaf)
		if n := e.crl.Requests(); n != 1 {
			t.Fatalf("%d downloads while the failure is cached, want 1", n)
		}
		e.crl.Configure(testpki.CRLBehavior{})
		e.clock.Advance(DefaultNegativeCacheTTL + time.Second)
		st, err := e.check(t, c, leaf)
		wantState(t, st, err, RevocationGood)
	})
	t.Run("a cached CRL is checked against each issuer", func(t *testing.T) {
		// A PROD certificate pointing at the QA CA's CRL URL: the CRL is
		// cached, but not QA's to answer for a PROD certificate.
		f := pki(t)
		e := newRevEnv(t)
		qaLeaf := e.leaf(t, "AP-crl-qa")
		prodLeaf := mustIssuer(t)(f.prod.Intermediate.NewLeafWithURLs(testpki.Spec{CommonName: "AP-crl-prod", KeySlot: revocationKeySlot},
			testpki.RevocationURLs{CRL: []string{e.crl.URL}}))
		c := e.crlChecker(t, CRLOptions{})
		st, err := e.check(t, c, qaLeaf)
		wantState(t, st, err, RevocationGood)
		st, err = c.Check(context.Background(), prodLeaf.Certificate, f.prod.Intermediate.Certificate, e.clock.Now())
		wantFailure(t, st, err, FailureBadSignature, e.crl.URL)
	})
}

func TestCRLConcurrentDownloadShared(t *testing.T) {
	e := newRevEnv(t)
	e.crl.Configure(testpki.CRLBehavior{Delay: 200 * time.Millisecond})
	var leaves []*testpki.Cert
	for i := range 5 {
		leaves = append(leaves, e.leaf(t, fmt.Sprintf("AP-crl-conc-%d", i)))
	}
	e.crl.Revoke(leaves[4].Certificate.SerialNumber, time.Now().Add(-time.Hour), ocsp.KeyCompromise)
	c := e.crlChecker(t, CRLOptions{})
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		wg.Go(func() {
			st, err := e.check(t, c, leaves[i%5])
			want := RevocationGood
			if i%5 == 4 {
				want = RevocationRevoked
			}
			if err != nil || st.State != want {
				errs <- fmt.Errorf("check %d: %v %v, want %v", i, st.State, err, want)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := e.crl.Requests(); n != 1 {
		t.Errorf("%d downloads for 100 concurrent checks on one URL, want 1", n)
	}
}
