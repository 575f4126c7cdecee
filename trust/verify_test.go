package trust

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/as4gw/as4gw/trust/testpki"
)

func TestVerifyChain(t *testing.T) {
	must := mustIssuer(t)
	f := pki(t)
	now := time.Now()
	qa := NewStore(f.qa.Root.Certificate)
	qaWithICA := NewStore(f.qa.Root.Certificate)
	qaWithICA.AddIntermediates(f.qa.Intermediate.Certificate)
	// The QA environment's CA as the anchor, under a root shared with PROD.
	sharedQA := NewStore(f.sharedQA.Certificate)
	sharedRoot := NewStore(f.sharedRoot.Certificate)

	ica := f.qa.Intermediate
	expired := must(ica.NewLeaf(testpki.Spec{CommonName: "AP-expired", KeySlot: 200,
		NotBefore: now.AddDate(-3, 0, 0), NotAfter: now.AddDate(-1, 0, 0)}))
	future := must(ica.NewLeaf(testpki.Spec{CommonName: "AP-future", KeySlot: 200,
		NotBefore: now.AddDate(0, 1, 0), NotAfter: now.AddDate(1, 0, 0)}))
	oldICA := must(f.qa.Root.NewIntermediate(testpki.Spec{CommonName: "Accesspunkt CA-SDK-QA old", KeySlot: 201,
		NotBefore: now.AddDate(-5, 0, 0), NotAfter: now.AddDate(-1, 0, 0)}))
	underOldICA := must(oldICA.NewLeaf(testpki.Spec{CommonName: "AP-under-old-CA", KeySlot: 200,
		NotBefore: now.AddDate(-2, 0, 0), NotAfter: now.AddDate(1, 0, 0)}))
	encOnly := must(ica.NewLeaf(testpki.Spec{CommonName: "AP-enc-only", KeySlot: 200, KeyUsage: x509.KeyUsageKeyEncipherment}))
	noKU := must(ica.NewLeaf(testpki.Spec{CommonName: "AP-no-ku", KeySlot: 200, OmitKeyUsage: true}))
	clientAuth := must(ica.NewLeaf(testpki.Spec{CommonName: "AP-clientauth", KeySlot: 200, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}))
	expiredProd := must(f.prod.Intermediate.NewLeaf(testpki.Spec{CommonName: "AP-expired-prod", KeySlot: 202,
		NotBefore: now.AddDate(-3, 0, 0), NotAfter: now.AddDate(-1, 0, 0)}))
	// A leaf whose "issuer" is a CA certificate without the CA flag.
	notCA := must(f.qa.Root.NewLeaf(testpki.Spec{CommonName: "not a CA", KeySlot: 203, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}))
	underNotCA := must(notCA.NewLeaf(testpki.Spec{CommonName: "AP-under-not-CA", KeySlot: 200}))

	tests := []struct {
		name          string
		store         *Store
		leaf          *testpki.Cert
		intermediates []*testpki.Cert
		opts          VerifyOptions
		wantErr       error
		wantChain     int
		wantWarn      string
		check         func(t *testing.T, err error)
	}{
		{name: "valid chain, intermediate from the message", store: qa, leaf: f.qa.Leaf, intermediates: []*testpki.Cert{ica},
			opts: VerifyOptions{KeyUsage: KeyUsageSigning}, wantChain: 3},
		{name: "valid chain, intermediate from the store", store: qaWithICA, leaf: f.qa.Leaf,
			opts: VerifyOptions{KeyUsage: KeyUsageSigning | KeyUsageEncryption}, wantChain: 3},
		{name: "RSA-3072 access point certificate", store: qaWithICA, leaf: pki3072(t), opts: VerifyOptions{KeyUsage: KeyUsageSigning}, wantChain: 3},
		{name: "intermediate missing", store: qa, leaf: f.qa.Leaf, wantErr: ErrUntrusted},
		{name: "other environment (own root)", store: qaWithICA, leaf: f.prod.Leaf, intermediates: []*testpki.Cert{f.prod.Intermediate}, wantErr: ErrUntrusted},
		{name: "other environment under a shared root, anchored at the environment CA", store: sharedQA, leaf: f.sharedPRODLeaf,
			intermediates: []*testpki.Cert{f.sharedPROD}, wantErr: ErrUntrusted},
		{name: "own environment under a shared root, anchored at the environment CA", store: sharedQA, leaf: f.sharedQALeaf, wantChain: 2},
		{name: "a shared root alone cannot tell environments apart", store: sharedRoot, leaf: f.sharedPRODLeaf,
			intermediates: []*testpki.Cert{f.sharedPROD}, wantChain: 3},
		{name: "expired", store: qaWithICA, leaf: expired, wantErr: ErrExpired, check: func(t *testing.T, err error) {
			var ve *ValidityError
			if !errors.As(err, &ve) || ve.Role != "certificate" || !ve.NotAfter.Equal(expired.Certificate.NotAfter) {
				t.Errorf("want ValidityError for the certificate with its window, got %#v", err)
			}
			if !strings.Contains(err.Error(), "valid from") {
				t.Errorf("error does not name the window: %v", err)
			}
		}},
		{name: "expired but valid at the message time", store: qaWithICA, leaf: expired,
			opts: VerifyOptions{At: now.AddDate(-2, 0, 0)}, wantChain: 3},
		{name: "not yet valid", store: qaWithICA, leaf: future, wantErr: ErrNotYetValid},
		{name: "expired issuing CA", store: qa, leaf: underOldICA, intermediates: []*testpki.Cert{oldICA}, wantErr: ErrExpired,
			check: func(t *testing.T, err error) {
				var ve *ValidityError
				if !errors.As(err, &ve) || ve.Role != "issuing CA" || ve.Cert.Subject.CommonName != "Accesspunkt CA-SDK-QA old" {
					t.Errorf("want ValidityError for the issuing CA, got %v", err)
				}
			}},
		{name: "expired and from another environment reports untrusted", store: qaWithICA, leaf: expiredProd,
			intermediates: []*testpki.Cert{f.prod.Intermediate}, wantErr: ErrUntrusted},
		{name: "issuer without CA flag", store: qa, leaf: underNotCA, intermediates: []*testpki.Cert{notCA}, wantErr: ErrUntrusted},
		{name: "missing digitalSignature for signing", store: qaWithICA, leaf: encOnly, opts: VerifyOptions{KeyUsage: KeyUsageSigning},
			wantErr: ErrKeyUsage, check: func(t *testing.T, err error) {
				if !strings.Contains(err.Error(), "digitalSignature") {
					t.Errorf("error does not name the missing usage: %v", err)
				}
			}},
		{name: "keyEncipherment for encryption", store: qaWithICA, leaf: encOnly, opts: VerifyOptions{KeyUsage: KeyUsageEncryption}, wantChain: 3},
		{name: "no KeyUsage extension is unrestricted", store: qaWithICA, leaf: noKU, opts: VerifyOptions{KeyUsage: KeyUsageSigning},
			wantChain: 3, wantWarn: "no KeyUsage extension"},
		{name: "clientAuth-only EKU accepted", store: qaWithICA, leaf: clientAuth, opts: VerifyOptions{KeyUsage: KeyUsageSigning}, wantChain: 3},
		{name: "required EKU absent", store: qaWithICA, leaf: clientAuth,
			opts: VerifyOptions{ExtKeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, wantErr: ErrUntrusted},
		{name: "empty store", store: NewStore(), leaf: f.qa.Leaf, wantErr: ErrUntrusted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.opts.Revocation == nil {
				tc.opts.Revocation = NoRevocationCheck{}
			}
			res, err := tc.store.Verify(tc.leaf.Certificate, certs(tc.intermediates...), tc.opts)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("got %v, want %v", err, tc.wantErr)
				}
				if tc.check != nil {
					tc.check(t, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if len(res.Chain) != tc.wantChain || !res.Chain[0].Equal(tc.leaf.Certificate) {
				t.Errorf("chain of %d starting %s, want %d starting with the leaf", len(res.Chain), res.Chain[0].Subject, tc.wantChain)
			}
			if tc.wantWarn != "" && !strings.Contains(strings.Join(res.Warnings, "\n"), tc.wantWarn) {
				t.Errorf("warnings %q lack %q", res.Warnings, tc.wantWarn)
			}
		})
	}
}

// Domibus-style trust stores hold the partner's self-signed certificate
// itself.
func TestVerifyPinnedSelfSigned(t *testing.T) {
	must := mustIssuer(t)
	partner := must(testpki.NewSelfSigned(testpki.Spec{CommonName: "red_gw", Organization: "eDelivery", Country: "BE", KeySlot: 300}))
	impostor := must(testpki.NewSelfSigned(testpki.Spec{CommonName: "red_gw", Organization: "eDelivery", Country: "BE", KeySlot: 301}))
	other := must(testpki.NewSelfSigned(testpki.Spec{CommonName: "blue_gw", Organization: "eDelivery", Country: "BE", KeySlot: 302}))
	store := NewStore(partner.Certificate, other.Certificate)

	res, err := store.Verify(partner.Certificate, nil, VerifyOptions{KeyUsage: KeyUsageSigning})
	if err != nil {
		t.Fatalf("pinned partner: %v", err)
	}
	if !res.Pinned || len(res.Chain) != 1 || !res.Anchor().Equal(partner.Certificate) {
		t.Errorf("want a pinned one-element chain, got pinned=%v len=%d", res.Pinned, len(res.Chain))
	}
	// Same name, other key: not the pinned certificate.
	if _, err := store.Verify(impostor.Certificate, nil, VerifyOptions{}); !errors.Is(err, ErrUntrusted) {
		t.Errorf("impostor with the same name: got %v, want ErrUntrusted", err)
	}
	// Pinning does not override validity.
	if _, err := store.Verify(partner.Certificate, nil, VerifyOptions{At: partner.Certificate.NotAfter.Add(time.Hour)}); !errors.Is(err, ErrExpired) {
		t.Errorf("expired pinned certificate: got %v, want ErrExpired", err)
	}
}

// fakeChecker answers from a table keyed by subject CN and records calls.
type fakeChecker struct {
	status map[string]RevocationStatus
	errs   map[string]error
	calls  []string
}

func (f *fakeChecker) Check(_ context.Context, cert, issuer *x509.Certificate, _ time.Time) (RevocationStatus, error) {
	f.calls = append(f.calls, cert.Subject.CommonName+"<"+issuer.Subject.CommonName)
	if err := f.errs[cert.Subject.CommonName]; err != nil {
		return RevocationStatus{}, err
	}
	if st, ok := f.status[cert.Subject.CommonName]; ok {
		return st, nil
	}
	return RevocationStatus{State: RevocationGood, Source: "fake"}, nil
}

func TestVerifyRevocation(t *testing.T) {
	f := pki(t)
	store := NewStore(f.qa.Root.Certificate)
	store.AddIntermediates(f.qa.Intermediate.Certificate)
	leafCN, icaCN := "AP0001-SDK-QA", "Accesspunkt CA-SDK-QA"
	revokedAt := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	revoked := RevocationStatus{State: RevocationRevoked, RevokedAt: revokedAt, Reason: ReasonKeyCompromise, Source: "fake OCSP"}
	unknown := RevocationStatus{State: RevocationUnknown, Source: "fake OCSP"}
	down := errors.New("OCSP responder unreachable")

	tests := []struct {
		name     string
		status   map[string]RevocationStatus
		errs     map[string]error
		policy   RevocationPolicy
		wantErr  error
		wantWarn string
	}{
		{name: "good"},
		{name: "leaf revoked", status: map[string]RevocationStatus{leafCN: revoked}, wantErr: ErrRevoked},
		{name: "leaf revoked under soft-fail still fails", status: map[string]RevocationStatus{leafCN: revoked}, policy: RevocationSoftFail, wantErr: ErrRevoked},
		{name: "intermediate revoked", status: map[string]RevocationStatus{icaCN: revoked}, wantErr: ErrRevoked},
		{name: "checker error, hard-fail", errs: map[string]error{leafCN: down}, wantErr: ErrRevocationUnknown},
		{name: "checker error, soft-fail", errs: map[string]error{leafCN: down}, policy: RevocationSoftFail, wantWarn: "unreachable"},
		{name: "unknown status, hard-fail", status: map[string]RevocationStatus{icaCN: unknown}, wantErr: ErrRevocationUnknown},
		{name: "unknown status, soft-fail", status: map[string]RevocationStatus{icaCN: unknown}, policy: RevocationSoftFail, wantWarn: "unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fc := &fakeChecker{status: tc.status, errs: tc.errs}
			res, err := store.Verify(f.qa.Leaf.Certificate, nil, VerifyOptions{Revocation: fc, RevocationPolicy: tc.policy})
			// The anchor is never asked about; every other chain member is.
			if want := leafCN + "<" + icaCN; len(fc.calls) == 0 || fc.calls[0] != want {
				t.Errorf("calls %q, want first %q", fc.calls, want)
			}
			for _, c := range fc.calls {
				if strings.HasPrefix(c, "eDelivery test root") {
					t.Errorf("the trust anchor was checked: %q", fc.calls)
				}
			}
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("got %v, want %v", err, tc.wantErr)
				}
				var re *RevokedError
				if errors.As(err, &re) && (!re.Status.RevokedAt.Equal(revokedAt) || !strings.Contains(err.Error(), "keyCompromise")) {
					t.Errorf("revoked error lacks reason or time: %v", err)
				}
				if tc.errs != nil && !errors.Is(err, down) {
					t.Errorf("hard-fail error does not wrap the checker error: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if len(fc.calls) != 2 || len(res.Revocation) != 2 {
				t.Errorf("want 2 checks (leaf, intermediate), got calls %q, outcomes %d", fc.calls, len(res.Revocation))
			}
			warn := strings.Join(res.Warnings, "\n")
			if tc.wantWarn == "" && warn != "" {
				t.Errorf("unexpected warnings: %s", warn)
			}
			if tc.wantWarn != "" && !strings.Contains(warn, tc.wantWarn) {
				t.Errorf("warnings %q lack %q", warn, tc.wantWarn)
			}
		})
	}

	// No checker: passes, and the Result says revocation was not checked.
	res, err := store.Verify(f.qa.Leaf.Certificate, nil, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(res.Warnings, "\n"), "revocation not checked") {
		t.Errorf("warnings %q lack 'revocation not checked'", res.Warnings)
	}
}

// The Peppol receipt signers in the phase4 vectors chain to the G2 test CA
// stored with peppol-expired-ap-cert-pw-peppol.p12: valid at the time the
// receipts were captured, expired now.
func TestVerifyVectorPeppolReceiptSigners(t *testing.T) {
	store := NewStore()
	if err := store.AddAnchorsPEM(readVector(t, "phase4/derived/peppol-expired-ap-cert-pw-peppol.p12.cachain.pem")); err != nil {
		t.Fatal(err)
	}
	// The same CA certificates straight from the PKCS#12 keystore.
	entries, err := LoadPKCS12(readVector(t, "phase4/peppol-expired-ap-cert-pw-peppol.p12"), "peppol")
	if err != nil {
		t.Fatal(err)
	}
	fromP12 := NewStore(entries[0].Chain...)
	rootOnly := NewStore(entries[0].Chain[1])
	rootOnly.AddIntermediates(entries[0].Chain[0])
	at := mustTime(t, "2022-03-07T12:00:00Z")

	for _, file := range []string{"phase4/helger.as4in", "phase4/dataport1.as4in"} {
		t.Run(file, func(t *testing.T) {
			signer := bstCertificate(t, readVector(t, file))
			for _, tc := range []struct {
				name   string
				store  *Store
				anchor string
			}{
				// Every certificate of a trust bundle is an anchor, so the
				// shortest chain ends at the AP CA.
				{"derived PEM", store, "PEPPOL ACCESS POINT TEST CA - G2"},
				{"PKCS#12 chain", fromP12, "PEPPOL ACCESS POINT TEST CA - G2"},
				{"root anchor, AP CA intermediate", rootOnly, "PEPPOL Root TEST CA - G2"},
			} {
				res, err := tc.store.Verify(signer, nil, VerifyOptions{At: at, KeyUsage: KeyUsageSigning, Revocation: NoRevocationCheck{}})
				if err != nil {
					t.Fatalf("%s at %s: %v", tc.name, at, err)
				}
				if res.Anchor().Subject.CommonName != tc.anchor {
					t.Errorf("%s: chain of %d ending in %s, want %s", tc.name, len(res.Chain), res.Anchor().Subject, tc.anchor)
				}
			}
			_, err := store.Verify(signer, nil, VerifyOptions{KeyUsage: KeyUsageSigning})
			if !errors.Is(err, ErrExpired) {
				t.Fatalf("now: got %v, want ErrExpired", err)
			}
			// Not trusted by an unrelated store at any time.
			if _, err := NewStore(pki(t).qa.Root.Certificate).Verify(signer, nil, VerifyOptions{At: at}); !errors.Is(err, ErrUntrusted) {
				t.Errorf("unrelated store: got %v, want ErrUntrusted", err)
			}
		})
	}
}

// bstCertificate extracts the first X509v3 BinarySecurityToken crudely: the
// XML layer belongs to as4/wssec, this test only needs the certificate.
func bstCertificate(t *testing.T, msg []byte) *x509.Certificate {
	t.Helper()
	s := string(msg)
	i := strings.Index(s, "BinarySecurityToken")
	if i < 0 {
		t.Fatal("no BinarySecurityToken")
	}
	s = s[i:]
	start := strings.IndexByte(s, '>')
	end := strings.IndexByte(s, '<')
	if start < 0 || end < start {
		t.Fatal("malformed BinarySecurityToken")
	}
	b64 := strings.Join(strings.Fields(s[start+1:end]), "")
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestErrorMessages(t *testing.T) {
	f := pki(t)
	c := f.qa.Leaf.Certificate
	at := mustTime(t, "2030-01-01T00:00:00Z")
	tests := []struct {
		err  error
		want []string
	}{
		{&UntrustedError{Cert: c, Reason: "no chain"}, []string{"AP0001-SDK-QA", "not trusted", "no chain", "Accesspunkt CA-SDK-QA"}},
		{&ValidityError{Cert: c, Role: "certificate", NotBefore: c.NotBefore, NotAfter: c.NotAfter, At: at}, []string{"expired", "valid from", "2030-01-01T00:00:00Z"}},
		{&KeyUsageError{Cert: c, Have: x509.KeyUsageKeyEncipherment, Want: x509.KeyUsageDigitalSignature}, []string{"keyEncipherment", "digitalSignature"}},
		{&RevokedError{Cert: c, Status: RevocationStatus{State: RevocationRevoked, Reason: ReasonSuperseded, RevokedAt: at, Source: "CRL x"}}, []string{"revoked", "superseded", "2030-01-01T00:00:00Z", "CRL x"}},
		{&RevocationUnknownError{Cert: c, Err: fmt.Errorf("timeout")}, []string{"unknown", "timeout", "hard-fail"}},
	}
	for _, tc := range tests {
		for _, w := range tc.want {
			if !strings.Contains(tc.err.Error(), w) {
				t.Errorf("%T message %q lacks %q", tc.err, tc.err.Error(), w)
			}
		}
	}
}
