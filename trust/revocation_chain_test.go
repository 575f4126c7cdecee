package trust

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/as4gw/as4gw/trust/testpki"
)

func TestParseRevocationMode(t *testing.T) {
	for in, want := range map[string]RevocationMode{
		"ocsp": RevocationModeOCSP, "CRL": RevocationModeCRL, " ocsp-then-crl ": RevocationModeOCSPThenCRL, "none": RevocationModeNone,
	} {
		if got, err := ParseRevocationMode(in); err != nil || got != want {
			t.Errorf("ParseRevocationMode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "crl-then-ocsp", "both"} {
		if _, err := ParseRevocationMode(in); err == nil {
			t.Errorf("ParseRevocationMode(%q) accepted", in)
		}
	}
	if _, err := NewRevocationChecker(RevocationConfig{Mode: "sometimes"}); err == nil {
		t.Error("NewRevocationChecker accepted an unknown mode")
	}
	if _, err := NewRevocationChecker(RevocationConfig{Mode: RevocationModeOCSP, OCSP: OCSPOptions{ResponderURL: "ftp://x"}}); err == nil {
		t.Error("NewRevocationChecker accepted a bad OCSP option")
	}
}

func (e *revEnv) modeChecker(t *testing.T, cfg RevocationConfig) *ModeChecker {
	t.Helper()
	if cfg.OCSP.Now == nil {
		cfg.OCSP.Now = e.clock.Now
	}
	if cfg.CRL.Now == nil {
		cfg.CRL.Now = e.clock.Now
	}
	m, err := NewRevocationChecker(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestModeChecker(t *testing.T) {
	type setup struct {
		ocsp    testpki.OCSPBehavior
		crl     testpki.CRLBehavior
		ocspSet *testpki.CertStatus
		crlRev  bool
	}
	down := testpki.OCSPBehavior{HTTPStatus: http.StatusServiceUnavailable}
	crlDown := testpki.CRLBehavior{HTTPStatus: http.StatusServiceUnavailable}
	revokedOCSP := &testpki.CertStatus{Status: testpki.StatusRevoked, RevokedAt: time.Now().Add(-time.Hour), Reason: ocsp.KeyCompromise}
	unknownOCSP := &testpki.CertStatus{Status: testpki.StatusUnknown}
	tests := []struct {
		name      string
		mode      RevocationMode
		setup     setup
		want      RevocationState
		wantErr   []RevocationFailure
		wantOCSP  int // requests expected
		wantCRL   int
		sourceHas string
	}{
		{name: "none", mode: RevocationModeNone, want: RevocationNotChecked},
		{name: "ocsp good", mode: RevocationModeOCSP, want: RevocationGood, wantOCSP: 1},
		{name: "ocsp down", mode: RevocationModeOCSP, setup: setup{ocsp: down}, wantErr: []RevocationFailure{FailureUnavailable}, wantOCSP: 1},
		{name: "crl revoked", mode: RevocationModeCRL, setup: setup{crlRev: true}, want: RevocationRevoked, wantCRL: 1},
		{name: "crl down, OCSP not asked", mode: RevocationModeCRL, setup: setup{crl: crlDown}, wantErr: []RevocationFailure{FailureUnavailable}, wantCRL: 1},
		{name: "ocsp-then-crl: OCSP good is final", mode: RevocationModeOCSPThenCRL, setup: setup{crlRev: true}, want: RevocationGood, wantOCSP: 1},
		{name: "ocsp-then-crl: OCSP revoked is final", mode: RevocationModeOCSPThenCRL, setup: setup{ocspSet: revokedOCSP}, want: RevocationRevoked, wantOCSP: 1},
		{name: "ocsp-then-crl: OCSP down, CRL good", mode: RevocationModeOCSPThenCRL, setup: setup{ocsp: down}, want: RevocationGood, wantOCSP: 1, wantCRL: 1,
			sourceHas: "after OCSP failed: unavailable at http://"},
		{name: "ocsp-then-crl: OCSP down, CRL revoked", mode: RevocationModeOCSPThenCRL, setup: setup{ocsp: down, crlRev: true}, want: RevocationRevoked, wantOCSP: 1, wantCRL: 1},
		{name: "ocsp-then-crl: OCSP stale, CRL good", mode: RevocationModeOCSPThenCRL, setup: setup{ocsp: testpki.OCSPBehavior{Stale: true}}, want: RevocationGood, wantOCSP: 1, wantCRL: 1,
			sourceHas: "after OCSP failed: stale"},
		{name: "ocsp-then-crl: OCSP bad signature, CRL good", mode: RevocationModeOCSPThenCRL, setup: setup{ocsp: testpki.OCSPBehavior{WrongKey: true}}, want: RevocationGood, wantOCSP: 1, wantCRL: 1},
		{name: "ocsp-then-crl: OCSP unknown, CRL revoked", mode: RevocationModeOCSPThenCRL, setup: setup{ocspSet: unknownOCSP, crlRev: true}, want: RevocationRevoked, wantOCSP: 1, wantCRL: 1},
		{name: "ocsp-then-crl: both fail", mode: RevocationModeOCSPThenCRL, setup: setup{ocsp: down, crl: testpki.CRLBehavior{Expired: true}},
			wantErr: []RevocationFailure{FailureUnavailable, FailureStale}, wantOCSP: 1, wantCRL: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newRevEnv(t)
			e.ocsp.Configure(tc.setup.ocsp)
			e.crl.Configure(tc.setup.crl)
			leaf := e.leaf(t, "AP-mode")
			if tc.setup.ocspSet != nil {
				e.ocsp.SetStatus(leaf.Certificate.SerialNumber, *tc.setup.ocspSet)
			}
			if tc.setup.crlRev {
				e.crl.Revoke(leaf.Certificate.SerialNumber, time.Now().Add(-time.Hour), ocsp.Superseded)
			}
			m := e.modeChecker(t, RevocationConfig{Mode: tc.mode})
			if m.Mode() != tc.mode {
				t.Errorf("Mode() = %q", m.Mode())
			}
			st, err := e.check(t, m, leaf)
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatalf("want an error, got %v (%s)", st.State, st.Source)
				}
				for _, f := range tc.wantErr {
					if !errors.Is(err, f) {
						t.Errorf("error is not %v: %v", f, err)
					}
				}
				if st.State != RevocationUnknown {
					t.Errorf("state %v with the error, want unknown", st.State)
				}
				if tc.wantOCSP > 0 && !strings.Contains(err.Error(), e.ocsp.URL) || tc.wantCRL > 0 && !strings.Contains(err.Error(), e.crl.URL) {
					t.Errorf("error does not name every source asked: %v", err)
				}
				t.Log(err)
			} else {
				wantState(t, st, err, tc.want)
			}
			if tc.sourceHas != "" && !strings.Contains(st.Source, tc.sourceHas) {
				t.Errorf("source %q does not contain %q", st.Source, tc.sourceHas)
			}
			if e.ocsp.Requests() != tc.wantOCSP || e.crl.Requests() != tc.wantCRL {
				t.Errorf("OCSP asked %d times, CRL %d; want %d and %d", e.ocsp.Requests(), e.crl.Requests(), tc.wantOCSP, tc.wantCRL)
			}
		})
	}
}

func TestModeCheckerNoSource(t *testing.T) {
	e := newRevEnv(t)
	bare := e.leafWith(t, "AP-mode-bare", testpki.RevocationURLs{})
	ocspOnly := e.leafWith(t, "AP-mode-ocsp-only", testpki.RevocationURLs{OCSP: []string{e.ocsp.URL}})
	for _, mode := range []RevocationMode{RevocationModeOCSP, RevocationModeCRL, RevocationModeOCSPThenCRL} {
		st, err := e.check(t, e.modeChecker(t, RevocationConfig{Mode: mode}), bare)
		if !errors.Is(err, FailureNoSource) || st.State != RevocationUnknown {
			t.Errorf("%s: certificate without URLs: %v, %v; want a no-source failure", mode, st.State, err)
		}
		st, err = e.check(t, e.modeChecker(t, RevocationConfig{Mode: mode, AllowNoSource: true}), bare)
		wantState(t, st, err, RevocationNotChecked)
	}
	// With AllowNoSource, one missing source does not hide the other's failure.
	e.ocsp.Configure(testpki.OCSPBehavior{Stale: true})
	st, err := e.check(t, e.modeChecker(t, RevocationConfig{Mode: RevocationModeOCSPThenCRL, AllowNoSource: true}), ocspOnly)
	if !errors.Is(err, FailureStale) || !errors.Is(err, FailureNoSource) {
		t.Errorf("stale OCSP and no CRL: %v, %v; want both failures", st.State, err)
	}
}

// Store.Verify with a real checker: the shape of DIGG's TF-02 (the
// receiver's certificate is revoked) and of a responder that is down.
func TestVerifyWithRevocationChecker(t *testing.T) {
	f := pki(t)
	e := newRevEnv(t)
	// SDK shape: the environment's AP CA is the anchor.
	store := NewStore(f.qa.Intermediate.Certificate)
	good := e.leaf(t, "AP0010-SDK-QA")
	revoked := e.leaf(t, "AP0011-SDK-QA")
	revokedAt := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	e.ocsp.Revoke(revoked.Certificate.SerialNumber, revokedAt, ocsp.KeyCompromise)
	e.crl.Revoke(revoked.Certificate.SerialNumber, revokedAt, ocsp.KeyCompromise)

	for _, mode := range []RevocationMode{RevocationModeOCSP, RevocationModeCRL, RevocationModeOCSPThenCRL} {
		t.Run(string(mode), func(t *testing.T) {
			opts := VerifyOptions{Revocation: e.modeChecker(t, RevocationConfig{Mode: mode}), KeyUsage: KeyUsageSigning}
			res, err := store.Verify(good.Certificate, nil, opts)
			if err != nil {
				t.Fatalf("good certificate: %v", err)
			}
			if len(res.Revocation) != 1 || res.Revocation[0].Status.State != RevocationGood || len(res.Warnings) != 0 {
				t.Errorf("revocation outcome %+v, warnings %v", res.Revocation, res.Warnings)
			}

			_, err = store.Verify(revoked.Certificate, nil, opts)
			if !errors.Is(err, ErrRevoked) {
				t.Fatalf("revoked certificate: %v, want ErrRevoked", err)
			}
			var re *RevokedError
			if !errors.As(err, &re) || re.Status.Reason != ReasonKeyCompromise || !re.Status.RevokedAt.Equal(revokedAt) {
				t.Errorf("want a RevokedError with reason and time, got %#v", err)
			}
			for _, want := range []string{"AP0011-SDK-QA", "revoked", "keyCompromise", "http://127.0.0.1"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not say %q: %v", want, err)
				}
			}
			// Revoked stays fatal under soft-fail.
			opts.RevocationPolicy = RevocationSoftFail
			if _, err := store.Verify(revoked.Certificate, nil, opts); !errors.Is(err, ErrRevoked) {
				t.Errorf("revoked certificate under soft-fail: %v", err)
			}
		})
	}

	t.Run("responder down", func(t *testing.T) {
		e := newRevEnv(t)
		e.ocsp.Configure(testpki.OCSPBehavior{Down: true})
		leaf := e.leaf(t, "AP0012-SDK-QA")
		checker := e.modeChecker(t, RevocationConfig{Mode: RevocationModeOCSP})

		_, err := store.Verify(leaf.Certificate, nil, VerifyOptions{Revocation: checker})
		if !errors.Is(err, ErrRevocationUnknown) || !errors.Is(err, FailureUnavailable) {
			t.Fatalf("hard-fail: %v, want ErrRevocationUnknown (unavailable)", err)
		}
		for _, want := range []string{e.ocsp.URL, "unavailable", "hard-fail", "AP0012-SDK-QA"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("hard-fail error does not say %q: %v", want, err)
			}
		}

		res, err := store.Verify(leaf.Certificate, nil, VerifyOptions{Revocation: checker, RevocationPolicy: RevocationSoftFail})
		if err != nil {
			t.Fatalf("soft-fail: %v", err)
		}
		if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], e.ocsp.URL) || !strings.Contains(res.Warnings[0], "soft-fail") {
			t.Errorf("soft-fail warnings %q do not name the responder", res.Warnings)
		}
		if res.Revocation[0].Err == nil {
			t.Error("soft-failed outcome carries no error")
		}
	})

	t.Run("intermediate checked against the root's CRL", func(t *testing.T) {
		// Anchored at the root: the AP CA is checked too, here against a
		// CRL published by the root.
		must := mustIssuer(t)
		root := newRevEnvFor(t, f.qa.Root)
		ica := must(f.qa.Root.NewIntermediateWithURLs(testpki.Spec{CommonName: "Accesspunkt CA-SDK-QA 2", KeySlot: revocationKeySlot},
			testpki.RevocationURLs{CRL: []string{root.crl.URL}}))
		icaEnv := newRevEnvFor(t, ica)
		leaf := icaEnv.leaf(t, "AP0013-SDK-QA")
		rootStore := NewStore(f.qa.Root.Certificate)
		checker := e.modeChecker(t, RevocationConfig{Mode: RevocationModeOCSPThenCRL})
		opts := VerifyOptions{Revocation: checker}

		res, err := rootStore.Verify(leaf.Certificate, []*x509.Certificate{ica.Certificate}, opts)
		if err != nil {
			t.Fatalf("valid chain: %v", err)
		}
		if len(res.Revocation) != 2 || res.Revocation[1].Status.State != RevocationGood {
			t.Errorf("outcomes %+v", res.Revocation)
		}

		root.crl.Revoke(ica.Certificate.SerialNumber, time.Now().Add(-time.Hour), ocsp.CACompromise)
		checker = e.modeChecker(t, RevocationConfig{Mode: RevocationModeOCSPThenCRL}) // fresh cache
		_, err = rootStore.Verify(leaf.Certificate, []*x509.Certificate{ica.Certificate}, VerifyOptions{Revocation: checker})
		var re *RevokedError
		if !errors.As(err, &re) || re.Cert.Subject.CommonName != "Accesspunkt CA-SDK-QA 2" || re.Status.Reason != ReasonCACompromise {
			t.Errorf("revoked intermediate: %v", err)
		}

		// The fixture's AP CA names no revocation source: hard-fail
		// rejects, unless the operator allows certificates without one.
		_, err = rootStore.Verify(f.qa.Leaf.Certificate, []*x509.Certificate{f.qa.Intermediate.Certificate}, VerifyOptions{Revocation: checker})
		if !errors.Is(err, FailureNoSource) {
			t.Errorf("chain without revocation sources: %v", err)
		}
		lenient := e.modeChecker(t, RevocationConfig{Mode: RevocationModeOCSPThenCRL, AllowNoSource: true})
		res, err = rootStore.Verify(f.qa.Leaf.Certificate, []*x509.Certificate{f.qa.Intermediate.Certificate}, VerifyOptions{Revocation: lenient})
		if err != nil || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "not checked") {
			t.Errorf("AllowNoSource: %v, warnings %q", err, resWarnings(res))
		}
	})
}

func resWarnings(r *Result) []string {
	if r == nil {
		return nil
	}
	return r.Warnings
}

// The checkers honour a cancelled context without waiting for the network.
func TestModeCheckerCancelled(t *testing.T) {
	e := newRevEnv(t)
	e.ocsp.Configure(testpki.OCSPBehavior{Delay: time.Second})
	e.crl.Configure(testpki.CRLBehavior{Delay: time.Second})
	leaf := e.leaf(t, "AP-mode-cancelled")
	m := e.modeChecker(t, RevocationConfig{Mode: RevocationModeOCSPThenCRL})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	st, err := m.Check(ctx, leaf.Certificate, e.ca.Certificate, time.Now())
	if err == nil || st.State != RevocationUnknown {
		t.Fatalf("cancelled check: %v, %v", st.State, err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("cancelled check took %v", d)
	}
}
