package trust

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/as4gw/as4gw/trust/testpki"
)

// revocationKeySlot is the key of the leaves issued by revocation tests
// (shared: only names and serials matter to these tests).
const revocationKeySlot = 300

// fakeClock is a settable clock shared by a checker and the test servers.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// revEnv is a CA (the QA "Accesspunkt CA-SDK-QA") with a running OCSP
// responder and CRL server on loopback, sharing one fake clock.
type revEnv struct {
	ca    *testpki.Cert
	ocsp  *testpki.OCSPResponder
	crl   *testpki.CRLServer
	clock *fakeClock
}

func newRevEnv(t *testing.T) *revEnv {
	t.Helper()
	return newRevEnvFor(t, pki(t).qa.Intermediate)
}

func newRevEnvFor(t *testing.T, ca *testpki.Cert) *revEnv {
	t.Helper()
	e := &revEnv{ca: ca, ocsp: testpki.NewOCSPResponder(ca), crl: testpki.NewCRLServer(ca), clock: newFakeClock()}
	e.ocsp.SetClock(e.clock.Now)
	e.crl.SetClock(e.clock.Now)
	t.Cleanup(e.ocsp.Close)
	t.Cleanup(e.crl.Close)
	return e
}

// leaf issues an access point certificate pointing at both servers.
func (e *revEnv) leaf(t *testing.T, cn string) *testpki.Cert {
	t.Helper()
	return e.leafWith(t, cn, testpki.RevocationURLs{OCSP: []string{e.ocsp.URL}, CRL: []string{e.crl.URL}})
}

func (e *revEnv) leafWith(t *testing.T, cn string, u testpki.RevocationURLs) *testpki.Cert {
	t.Helper()
	c, err := e.ca.NewLeafWithURLs(testpki.Spec{CommonName: cn, KeySlot: revocationKeySlot}, u)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *revEnv) ocspChecker(t *testing.T, opts OCSPOptions) *OCSPChecker {
	t.Helper()
	if opts.Now == nil {
		opts.Now = e.clock.Now
	}
	c, err := NewOCSPChecker(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *revEnv) crlChecker(t *testing.T, opts CRLOptions) *CRLChecker {
	t.Helper()
	if opts.Now == nil {
		opts.Now = e.clock.Now
	}
	c, err := NewCRLChecker(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// check runs c on leaf (issued by e.ca) at the fake clock's time.
func (e *revEnv) check(t *testing.T, c RevocationChecker, leaf *testpki.Cert) (RevocationStatus, error) {
	t.Helper()
	return c.Check(context.Background(), leaf.Certificate, e.ca.Certificate, e.clock.Now())
}

// wantFailure asserts err is a source failure of kind f that names url.
func wantFailure(t *testing.T, st RevocationStatus, err error, f RevocationFailure, url string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %v failure, got status %v (%s) and no error", f, st.State, st.Source)
	}
	if !errors.Is(err, f) {
		t.Fatalf("want %v failure, got %v", f, err)
	}
	var se *RevocationSourceError
	if !errors.As(err, &se) {
		t.Fatalf("error is not a *RevocationSourceError: %#v", err)
	}
	if url != "" && !strings.Contains(err.Error(), url) {
		t.Errorf("error does not name %s: %v", url, err)
	}
	if st.State == RevocationGood || st.State == RevocationRevoked {
		t.Errorf("failure came with a definite state %v", st.State)
	}
}

func wantState(t *testing.T, st RevocationStatus, err error, want RevocationState) {
	t.Helper()
	if err != nil {
		t.Fatalf("want %v, got error %v", want, err)
	}
	if st.State != want {
		t.Fatalf("want %v, got %v (%s)", want, st.State, st.Source)
	}
}
