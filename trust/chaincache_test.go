package trust

import (
	"context"
	"crypto/x509"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/as4gw/as4gw/trust/testpki"
)

type countingChecker struct{ calls atomic.Int32 }

func (c *countingChecker) Check(context.Context, *x509.Certificate, *x509.Certificate, time.Time) (RevocationStatus, error) {
	c.calls.Add(1)
	return RevocationStatus{State: RevocationGood, Source: "test"}, nil
}

// TestVerifyReusesChains: a second verification of the same certificate
// reuses the chain but still checks key usage, extended key usage,
// validity at the time asked and revocation.
func TestVerifyReusesChains(t *testing.T) {
	f := pki(t)
	st := NewStore(f.qa.Root.Certificate)
	leaf, icas := f.qa.Leaf.Certificate, []*x509.Certificate{f.qa.Intermediate.Certificate}
	rc := &countingChecker{}
	opts := VerifyOptions{KeyUsage: KeyUsageSigning, Revocation: rc}
	for i := 0; i < 2; i++ {
		if _, err := st.Verify(leaf, icas, opts); err != nil {
			t.Fatalf("verification %d: %v", i+1, err)
		}
	}
	if n := len(st.chains.entries); n != 1 {
		t.Fatalf("%d cached chain sets, want 1", n)
	}
	if rc.calls.Load() != 4 { // leaf and intermediate, twice
		t.Errorf("revocation checked %d times, want 4", rc.calls.Load())
	}

	tests := []struct {
		name string
		opts VerifyOptions
		want any
	}{
		{"after the leaf expired", VerifyOptions{At: leaf.NotAfter.Add(time.Hour)}, new(*ValidityError)},
		{"before the leaf is valid", VerifyOptions{At: leaf.NotBefore.Add(-time.Hour)}, new(*ValidityError)},
		{"key usage the leaf lacks", VerifyOptions{KeyUsage: x509.KeyUsageCertSign}, new(*KeyUsageError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := st.Verify(leaf, icas, tt.opts)
			if err == nil {
				t.Fatal("accepted")
			}
			if tt.want != nil && !errors.As(err, tt.want) {
				t.Fatalf("err = %v (%T)", err, err)
			}
		})
	}

	// Extended key usage is part of what was cached: a leaf for clientAuth
	// accepted for any use is still refused for code signing.
	client, err := f.qa.Intermediate.NewLeaf(testpki.Spec{CommonName: "AP-clientauth-cache", KeySlot: 200, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Verify(client.Certificate, icas, VerifyOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Verify(client.Certificate, icas, VerifyOptions{ExtKeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}); err == nil {
		t.Error("a clientAuth certificate was accepted for code signing from the cache")
	}

	// Another anchor: the chains are looked for again.
	gen := st.gen
	st.AddAnchors(f.prod.Root.Certificate)
	if st.gen == gen {
		t.Fatal("adding an anchor did not change the generation")
	}
	if _, err := st.Verify(leaf, icas, opts); err != nil {
		t.Fatal(err)
	}
	if n := len(st.chains.entries); n < 2 {
		t.Errorf("%d cached chain sets after a change, want a new one", n)
	}
}
