package trust

import (
	"crypto/x509"
	"sync"
	"testing"
	"time"

	"github.com/as4gw/as4gw/trust/testpki"
)

// fixtures is a DIGG-shaped test PKI shared by the tests of this package:
// QA and PROD environments with separate roots, plus a shared-root variant
// in which both environments' CAs sit under one root.
type fixtures struct {
	qa, prod *testpki.Hierarchy
	// sharedRoot → sharedQA, sharedPROD → leaves
	sharedRoot, sharedQA, sharedPROD *testpki.Cert
	sharedQALeaf, sharedPRODLeaf     *testpki.Cert
}

var (
	fixOnce sync.Once
	fix     *fixtures
	fixErr  error
)

func pki(t *testing.T) *fixtures {
	t.Helper()
	fixOnce.Do(func() {
		f := &fixtures{}
		if f.qa, fixErr = testpki.NewHierarchy("QA", "AP0001-SDK-QA", 2048); fixErr != nil {
			return
		}
		if f.prod, fixErr = testpki.NewHierarchy("PROD", "AP0001-SDK-PROD", 2048); fixErr != nil {
			return
		}
		if f.sharedRoot, fixErr = testpki.NewRoot(testpki.Spec{CommonName: "eDelivery test root shared", KeySlot: 100}); fixErr != nil {
			return
		}
		if f.sharedQA, fixErr = f.sharedRoot.NewIntermediate(testpki.Spec{CommonName: "Accesspunkt CA-SDK-QA", KeySlot: 101}); fixErr != nil {
			return
		}
		if f.sharedPROD, fixErr = f.sharedRoot.NewIntermediate(testpki.Spec{CommonName: "Accesspunkt CA-SDK-PROD", KeySlot: 102}); fixErr != nil {
			return
		}
		if f.sharedQALeaf, fixErr = f.sharedQA.NewLeaf(testpki.Spec{CommonName: "AP0002-SDK-QA", KeySlot: 103}); fixErr != nil {
			return
		}
		if f.sharedPRODLeaf, fixErr = f.sharedPROD.NewLeaf(testpki.Spec{CommonName: "AP0002-SDK-PROD", KeySlot: 104}); fixErr != nil {
			return
		}
		fix = f
	})
	if fixErr != nil {
		t.Fatalf("test PKI: %v", fixErr)
	}
	return fix
}

var (
	leaf3072Once sync.Once
	leaf3072     *testpki.Cert
	leaf3072Err  error
)

// pki3072 is a DIGG-size (RSA-3072) access point certificate under the QA
// intermediate. Made only when a test asks, as the key takes seconds.
func pki3072(t *testing.T) *testpki.Cert {
	t.Helper()
	f := pki(t)
	leaf3072Once.Do(func() {
		leaf3072, leaf3072Err = f.qa.Intermediate.NewLeaf(testpki.Spec{CommonName: "AP0003-SDK-QA", KeySize: 3072})
	})
	if leaf3072Err != nil {
		t.Fatal(leaf3072Err)
	}
	return leaf3072
}

// mustIssuer returns a function that unwraps testpki's (cert, error)
// results, failing t on error: must(ca.NewLeaf(spec)).
func mustIssuer(t *testing.T) func(*testpki.Cert, error) *testpki.Cert {
	return func(c *testpki.Cert, err error) *testpki.Cert {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
}

func certs(cs ...*testpki.Cert) []*x509.Certificate {
	out := make([]*x509.Certificate, len(cs))
	for i, c := range cs {
		out[i] = c.Certificate
	}
	return out
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}
