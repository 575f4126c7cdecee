package trust

import (
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/as4gw/as4gw/trust/testpki"
)

func TestOCSPGood(t *testing.T) {
	e := newRevEnv(t)
	leaf := e.leaf(t, "AP-ocsp-good")
	st, err := e.check(t, e.ocspChecker(t, OCSPOptions{}), leaf)
	wantState(t, st, err, RevocationGood)
	if !strings.HasPrefix(st.Source, "OCSP "+e.ocsp.URL) {
		t.Errorf("source %q does not name the responder", st.Source)
	}
	if n := e.ocsp.LastNonce(); len(n) != OCSPNonceSize {
		t.Errorf("request nonce of %d bytes, want %d", len(n), OCSPNonceSize)
	}
	if e.crl.Requests() != 0 {
		t.Error("OCSP checker downloaded the CRL")
	}
}

func TestOCSPRevoked(t *testing.T) {
	e := newRevEnv(t)
	leaf := e.leaf(t, "AP-ocsp-revoked")
	revokedAt := e.clock.Now().Add(-48 * time.Hour).UTC().Truncate(time.Second)
	e.ocsp.Revoke(leaf.Certificate.SerialNumber, revokedAt, ocsp.KeyCompromise)
	st, err := e.check(t, e.ocspChecker(t, OCSPOptions{}), leaf)
	wantState(t, st, err, RevocationRevoked)
	if st.Reason != ReasonKeyCompromise || !st.RevokedAt.Equal(revokedAt) {
		t.Errorf("revoked %v reason %v, want %v keyCompromise", st.RevokedAt, st.Reason, revokedAt)
	}
	if !strings.Contains(st.Source, e.ocsp.URL) {
		t.Errorf("source %q does not name the responder", st.Source)
	}
}

// A revocation after the validation time does not count (a recorded message
// signed before it), unless the key was compromised.
func TestOCSPRevokedAfterValidationTime(t *testing.T) {
	e := newRevEnv(t)
	superseded := e.leaf(t, "AP-ocsp-superseded")
	compromised := e.leaf(t, "AP-ocsp-compromised")
	revokedAt := e.clock.Now().Add(-time.Hour)
	e.ocsp.Revoke(superseded.Certificate.SerialNumber, revokedAt, ocsp.Superseded)
	e.ocsp.Revoke(compromised.Certificate.SerialNumber, revokedAt, ocsp.KeyCompromise)
	c := e.ocspChecker(t, OCSPOptions{})
	before := revokedAt.Add(-24 * time.Hour)

	st, err := c.Check(context.Background(), superseded.Certificate, e.ca.Certificate, before)
	wantState(t, st, err, RevocationGood)
	if !strings.Contains(st.Source, "after the validation time") {
		t.Errorf("source %q does not mention the later revocation", st.Source)
	}
	st, err = c.Check(context.Background(), superseded.Certificate, e.ca.Certificate, e.clock.Now())
	wantState(t, st, err, RevocationRevoked)
	st, err = c.Check(context.Background(), compromised.Certificate, e.ca.Certificate, before)
	wantState(t, st, err, RevocationRevoked)
}

func TestOCSPUnknown(t *testing.T) {
	e := newRevEnv(t)
	leaf := e.leaf(t, "AP-ocsp-unknown")
	e.ocsp.SetStatus(leaf.Certificate.SerialNumber, testpki.CertStatus{Status: testpki.StatusUnknown})
	st, err := e.check(t, e.ocspChecker(t, OCSPOptions{}), leaf)
	wantFailure(t, st, err, FailureStatusUnknown, e.ocsp.URL)
	if st.State != RevocationUnknown {
		t.Errorf("state %v, want unknown", st.State)
	}
}

func TestOCSPFailures(t *testing.T) {
	other := big.NewInt(777)
	tests := []struct {
		name     string
		behavior testpki.OCSPBehavior
		opts     OCSPOptions
		want     RevocationFailure
		detail   string
	}{
		{name: "responder down", behavior: testpki.OCSPBehavior{Down: true}, want: FailureUnavailable},
		{name: "HTTP 503", behavior: testpki.OCSPBehavior{HTTPStatus: http.StatusServiceUnavailable}, want: FailureUnavailable, detail: "503"},
		{name: "timeout", behavior: testpki.OCSPBehavior{Delay: 3 * time.Second}, opts: OCSPOptions{Timeout: 150 * time.Millisecond}, want: FailureTimeout},
		{name: "tryLater", behavior: testpki.OCSPBehavior{ResponseStatus: ocsp.TryLater}, want: FailureRefused, detail: "try later"},
		{name: "not OCSP", behavior: testpki.OCSPBehavior{Garbage: true}, want: FailureMalformed},
		{name: "too large", opts: OCSPOptions{MaxResponseSize: 100}, want: FailureTooLarge},
		{name: "stale: nextUpdate passed", behavior: testpki.OCSPBehavior{Stale: true}, want: FailureStale, detail: "nextUpdate"},
		{name: "stale: thisUpdate in the future", behavior: testpki.OCSPBehavior{Future: true}, want: FailureStale, detail: "future"},
		{name: "stale: no nextUpdate and too old", behavior: testpki.OCSPBehavior{NoNextUpdate: true, ThisUpdateAge: 25 * time.Hour}, want: FailureStale, detail: "older than"},
		{name: "signed with a wrong key", behavior: testpki.OCSPBehavior{WrongKey: true}, want: FailureBadSignature},
		{name: "nonce altered", behavior: testpki.OCSPBehavior{Nonce: testpki.NonceAlter}, want: FailureNonce},
		{name: "nonce omitted, nonce required", behavior: testpki.OCSPBehavior{Nonce: testpki.NonceOmit}, opts: OCSPOptions{RequireNonce: true}, want: FailureNonce},
		{name: "answer about another serial", behavior: testpki.OCSPBehavior{OtherSerial: other}, want: FailureMismatch},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newRevEnv(t)
			e.ocsp.Configure(tc.behavior)
			leaf := e.leaf(t, fmt.Sprintf("AP-ocsp-failure-%d", i))
			start := time.Now()
			st, err := e.check(t, e.ocspChecker(t, tc.opts), leaf)
			wantFailure(t, st, err, tc.want, e.ocsp.URL)
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

// Fresh answers and tolerated variations are accepted.
func TestOCSPAccepted(t *testing.T) {
	tests := []struct {
		name     string
		behavior testpki.OCSPBehavior
		opts     OCSPOptions
	}{
		{name: "nonce omitted, not required", behavior: testpki.OCSPBehavior{Nonce: testpki.NonceOmit}},
		{name: "no nonce sent", opts: OCSPOptions{DisableNonce: true}},
		{name: "no nextUpdate, recent", behavior: testpki.OCSPBehavior{NoNextUpdate: true}},
		{name: "thisUpdate within the clock skew", behavior: testpki.OCSPBehavior{ThisUpdateAge: -2 * time.Minute}},
		{name: "SHA-256 CertID", opts: OCSPOptions{Hash: crypto.SHA256}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newRevEnv(t)
			e.ocsp.Configure(tc.behavior)
			leaf := e.leaf(t, fmt.Sprintf("AP-ocsp-accepted-%d", i))
			st, err := e.check(t, e.ocspChecker(t, tc.opts), leaf)
			wantState(t, st, err, RevocationGood)
		})
	}
}

func TestOCSPDelegatedResponder(t *testing.T) {
	must := mustIssuer(t)
	f := pki(t)
	now := time.Now()
	ca := f.qa.Intermediate
	delegate := must(ca.NewOCSPSigner(testpki.Spec{CommonName: "OCSP responder CA-SDK-QA", KeySlot: revocationKeySlot}))
	noEKU := must(ca.NewLeaf(testpki.Spec{CommonName: "OCSP responder without EKU", KeySlot: revocationKeySlot}))
	otherCA := must(f.prod.Intermediate.NewOCSPSigner(testpki.Spec{CommonName: "OCSP responder CA-SDK-PROD", KeySlot: revocationKeySlot}))
	expired := must(ca.NewOCSPSigner(testpki.Spec{CommonName: "OCSP responder expired", KeySlot: revocationKeySlot,
		NotBefore: now.AddDate(0, -2, 0), NotAfter: now.AddDate(0, -1, 0)}))
	noDigSig := must(ca.NewOCSPSigner(testpki.Spec{CommonName: "OCSP responder keyEncipherment", KeySlot: revocationKeySlot, KeyUsage: x509.KeyUsageKeyEncipherment}))

	tests := []struct {
		name     string
		signer   *testpki.Cert
		behavior testpki.OCSPBehavior
		opts     OCSPOptions
		want     RevocationFailure // 0: good
	}{
		{name: "delegated with id-kp-OCSPSigning", signer: delegate},
		{name: "delegated without id-kp-OCSPSigning", signer: noEKU, want: FailureUnauthorizedResponder},
		{name: "delegated by another CA", signer: otherCA, want: FailureUnauthorizedResponder},
		{name: "delegated by another CA, configured as trusted", signer: otherCA, opts: OCSPOptions{TrustedResponders: []*x509.Certificate{otherCA.Certificate}}},
		{name: "delegated, expired", signer: expired, want: FailureUnauthorizedResponder},
		{name: "delegated without digitalSignature", signer: noDigSig, want: FailureUnauthorizedResponder},
		{name: "delegated, response signed with another key", signer: delegate, behavior: testpki.OCSPBehavior{WrongKey: true}, want: FailureBadSignature},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newRevEnv(t)
			e.ocsp.SetSigner(tc.signer)
			e.ocsp.Configure(tc.behavior)
			leaf := e.leaf(t, fmt.Sprintf("AP-ocsp-delegated-%d", i))
			st, err := e.check(t, e.ocspChecker(t, tc.opts), leaf)
			if tc.want == 0 {
				wantState(t, st, err, RevocationGood)
				return
			}
			wantFailure(t, st, err, tc.want, e.ocsp.URL)
			t.Log(err)
		})
	}
}

func TestOCSPSourceSelection(t *testing.T) {
	e := newRevEnv(t)
	bare := e.leafWith(t, "AP-ocsp-no-aia", testpki.RevocationURLs{})

	st, err := e.check(t, e.ocspChecker(t, OCSPOptions{}), bare)
	wantFailure(t, st, err, FailureNoSource, "")
	if !strings.Contains(err.Error(), "AP-ocsp-no-aia") {
		t.Errorf("error does not name the certificate: %v", err)
	}

	// A configured responder is asked even without AIA.
	st, err = e.check(t, e.ocspChecker(t, OCSPOptions{ResponderURL: e.ocsp.URL}), bare)
	wantState(t, st, err, RevocationGood)

	// Several AIA URLs: a dead first one falls through to the next.
	dead := testpki.NewOCSPResponder(e.ca)
	dead.Configure(testpki.OCSPBehavior{Down: true})
	defer dead.Close()
	two := e.leafWith(t, "AP-ocsp-two-aia", testpki.RevocationURLs{OCSP: []string{dead.URL, e.ocsp.URL}})
	st, err = e.check(t, e.ocspChecker(t, OCSPOptions{}), two)
	wantState(t, st, err, RevocationGood)
	if dead.Requests() != 1 {
		t.Errorf("first responder asked %d times", dead.Requests())
	}

	// Both dead: both named.
	e.ocsp.Configure(testpki.OCSPBehavior{HTTPStatus: http.StatusInternalServerError})
	st, err = e.check(t, e.ocspChecker(t, OCSPOptions{}), two)
	wantFailure(t, st, err, FailureUnavailable, dead.URL)
	if !strings.Contains(err.Error(), e.ocsp.URL) {
		t.Errorf("error does not name the second responder: %v", err)
	}

	if _, err := NewOCSPChecker(OCSPOptions{RequireNonce: true, DisableNonce: true}); err == nil {
		t.Error("RequireNonce with DisableNonce accepted")
	}
	if _, err := NewOCSPChecker(OCSPOptions{ResponderURL: "ldap://ocsp.example"}); err == nil {
		t.Error("ldap responder URL accepted")
	}
	if _, err := NewOCSPChecker(OCSPOptions{Hash: crypto.MD5}); err == nil {
		t.Error("MD5 CertID accepted")
	}
}

func TestOCSPNonceFreshPerRequest(t *testing.T) {
	e := newRevEnv(t)
	leaf := e.leaf(t, "AP-ocsp-nonce")
	c := e.ocspChecker(t, OCSPOptions{CacheTTL: -1, RequireNonce: true})
	seen := map[string]bool{}
	for range 3 {
		st, err := e.check(t, c, leaf)
		wantState(t, st, err, RevocationGood)
		seen[string(e.ocsp.LastNonce())] = true
	}
	if e.ocsp.Requests() != 3 || len(seen) != 3 {
		t.Errorf("%d requests, %d distinct nonces; want 3 and 3", e.ocsp.Requests(), len(seen))
	}
}

func TestOCSPCache(t *testing.T) {
	t.Run("reused until nextUpdate", func(t *testing.T) {
		e := newRevEnv(t)
		e.ocsp.Configure(testpki.OCSPBehavior{NextUpdate: 10 * time.Minute})
		leaf := e.leaf(t, "AP-ocsp-cache")
		c := e.ocspChecker(t, OCSPOptions{})
		for range 3 {
			st, err := e.check(t, c, leaf)
			wantState(t, st, err, RevocationGood)
		}
		if n := e.ocsp.Requests(); n != 1 {
			t.Fatalf("%d requests for three checks, want 1", n)
		}
		// Revoked meanwhile: the cached answer stands until nextUpdate...
		e.ocsp.Revoke(leaf.Certificate.SerialNumber, e.clock.Now(), ocsp.KeyCompromise)
		e.clock.Advance(5 * time.Minute)
		st, err := e.check(t, c, leaf)
		wantState(t, st, err, RevocationGood)
		// ...and is refreshed after it (thisUpdate was a minute before the first check).
		e.clock.Advance(5 * time.Minute)
		st, err = e.check(t, c, leaf)
		wantState(t, st, err, RevocationRevoked)
		if n := e.ocsp.Requests(); n != 2 {
			t.Errorf("%d requests, want 2", n)
		}
	})
	t.Run("capped by CacheTTL", func(t *testing.T) {
		e := newRevEnv(t)
		e.ocsp.Configure(testpki.OCSPBehavior{NextUpdate: 48 * time.Hour})
		leaf := e.leaf(t, "AP-ocsp-cache-ttl")
		c := e.ocspChecker(t, OCSPOptions{CacheTTL: 30 * time.Minute})
		e.check(t, c, leaf)
		e.clock.Advance(29 * time.Minute)
		e.check(t, c, leaf)
		if n := e.ocsp.Requests(); n != 1 {
			t.Fatalf("%d requests within the TTL, want 1", n)
		}
		e.clock.Advance(2 * time.Minute)
		e.check(t, c, leaf)
		if n := e.ocsp.Requests(); n != 2 {
			t.Errorf("%d requests after the TTL, want 2", n)
		}
	})
	t.Run("failures cached briefly", func(t *testing.T) {
		e := newRevEnv(t)
		e.ocsp.Configure(testpki.OCSPBehavior{Down: true})
		leaf := e.leaf(t, "AP-ocsp-negative")
		c := e.ocspChecker(t, OCSPOptions{NegativeCacheTTL: 30 * time.Second})
		for range 3 {
			st, err := e.check(t, c, leaf)
			wantFailure(t, st, err, FailureUnavailable, e.ocsp.URL)
		}
		if n := e.ocsp.Requests(); n != 1 {
			t.Fatalf("%d requests while the failure is cached, want 1", n)
		}
		e.ocsp.Configure(testpki.OCSPBehavior{})
		e.clock.Advance(31 * time.Second)
		st, err := e.check(t, c, leaf)
		wantState(t, st, err, RevocationGood)
		if n := e.ocsp.Requests(); n != 2 {
			t.Errorf("%d requests, want 2", n)
		}
	})
	t.Run("unknown cached briefly", func(t *testing.T) {
		e := newRevEnv(t)
		leaf := e.leaf(t, "AP-ocsp-unknown-cache")
		e.ocsp.SetStatus(leaf.Certificate.SerialNumber, testpki.CertStatus{Status: testpki.StatusUnknown})
		c := e.ocspChecker(t, OCSPOptions{})
		e.check(t, c, leaf)
		e.check(t, c, leaf)
		if n := e.ocsp.Requests(); n != 1 {
			t.Fatalf("%d requests, want 1", n)
		}
		e.clock.Advance(DefaultNegativeCacheTTL + time.Second)
		e.check(t, c, leaf)
		if n := e.ocsp.Requests(); n != 2 {
			t.Errorf("%d requests after the negative TTL, want 2", n)
		}
	})
	t.Run("caching off", func(t *testing.T) {
		e := newRevEnv(t)
		leaf := e.leaf(t, "AP-ocsp-nocache")
		c := e.ocspChecker(t, OCSPOptions{CacheTTL: -1})
		e.check(t, c, leaf)
		e.check(t, c, leaf)
		if n := e.ocsp.Requests(); n != 2 {
			t.Errorf("%d requests, want 2", n)
		}
	})
}

// Two CAs issue certificates with the same serial: the cache keeps their
// answers apart.
func TestOCSPCacheSeparatesIssuers(t *testing.T) {
	must := mustIssuer(t)
	f := pki(t)
	qa := newRevEnvFor(t, f.qa.Intermediate)
	prod := newRevEnvFor(t, f.prod.Intermediate)
	serial := big.NewInt(4242)
	qaLeaf := must(qa.ca.NewLeafWithURLs(testpki.Spec{CommonName: "AP-same-serial", KeySlot: revocationKeySlot, SerialNumber: serial},
		testpki.RevocationURLs{OCSP: []string{qa.ocsp.URL}}))
	prodLeaf := must(prod.ca.NewLeafWithURLs(testpki.Spec{CommonName: "AP-same-serial", KeySlot: revocationKeySlot, SerialNumber: serial},
		testpki.RevocationURLs{OCSP: []string{prod.ocsp.URL}}))
	prod.ocsp.Revoke(serial, time.Now().Add(-time.Hour), ocsp.KeyCompromise)

	c := qa.ocspChecker(t, OCSPOptions{})
	st, err := c.Check(context.Background(), qaLeaf.Certificate, qa.ca.Certificate, time.Now())
	wantState(t, st, err, RevocationGood)
	st, err = c.Check(context.Background(), prodLeaf.Certificate, prod.ca.Certificate, time.Now())
	wantState(t, st, err, RevocationRevoked)

	// Also with one configured responder for both: the PROD responder does
	// not serve the QA CA and says so.
	c = qa.ocspChecker(t, OCSPOptions{ResponderURL: prod.ocsp.URL})
	st, err = c.Check(context.Background(), prodLeaf.Certificate, prod.ca.Certificate, time.Now())
	wantState(t, st, err, RevocationRevoked)
	st, err = c.Check(context.Background(), qaLeaf.Certificate, qa.ca.Certificate, time.Now())
	wantFailure(t, st, err, FailureRefused, prod.ocsp.URL)
}

func TestOCSPConcurrent(t *testing.T) {
	e := newRevEnv(t)
	e.ocsp.Configure(testpki.OCSPBehavior{Delay: 200 * time.Millisecond})
	leaves := []*testpki.Cert{e.leaf(t, "AP-ocsp-conc-0"), e.leaf(t, "AP-ocsp-conc-1"), e.leaf(t, "AP-ocsp-conc-2")}
	e.ocsp.Revoke(leaves[2].Certificate.SerialNumber, time.Now().Add(-time.Hour), ocsp.Superseded)
	c := e.ocspChecker(t, OCSPOptions{})
	var wg sync.WaitGroup
	errs := make(chan error, 90)
	for i := range 90 {
		wg.Go(func() {
			leaf := leaves[i%3]
			st, err := e.check(t, c, leaf)
			want := RevocationGood
			if i%3 == 2 {
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
	if n := e.ocsp.Requests(); n != 3 {
		t.Errorf("%d requests for 3 certificates checked 30 times each at once, want 3", n)
	}
}

// A caller whose context ends stops waiting; the shared request finishes and
// is cached for the others.
func TestOCSPCallerContext(t *testing.T) {
	e := newRevEnv(t)
	e.ocsp.Configure(testpki.OCSPBehavior{Delay: 300 * time.Millisecond})
	leaf := e.leaf(t, "AP-ocsp-ctx")
	c := e.ocspChecker(t, OCSPOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	st, err := c.Check(ctx, leaf.Certificate, e.ca.Certificate, e.clock.Now())
	wantFailure(t, st, err, FailureTimeout, e.ocsp.URL)
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Errorf("caller waited %v after its deadline", d)
	}
	// The next check joins the request still in flight, or finds its answer
	// cached.
	st, err = e.check(t, c, leaf)
	wantState(t, st, err, RevocationGood)
	if n := e.ocsp.Requests(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}
