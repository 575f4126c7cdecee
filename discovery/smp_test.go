package discovery_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/as4gw/as4gw/discovery"
	"github.com/as4gw/as4gw/discovery/federationtest"
	"github.com/as4gw/as4gw/trust"
	"github.com/as4gw/as4gw/trust/testpki"
)

func redirectDoc(href, uid string) *etree.Document {
	d := etree.NewDocument()
	root := d.CreateElement("SignedServiceMetadata")
	root.CreateAttr("xmlns", discovery.NamespaceSMP)
	r := root.CreateElement("ServiceMetadata").CreateElement("Redirect")
	r.CreateAttr("href", href)
	r.CreateElement("CertificateUID").SetText(uid)
	return d
}

// serve answers every GET with body (or status when body is nil).
func serve(t *testing.T, status int, body func() []byte) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if body == nil {
			w.WriteHeader(status)
			return
		}
		_, _ = w.Write(body())
	}))
	t.Cleanup(s.Close)
	return s
}

func TestSMPRedirect(t *testing.T) {
	p := newSMPPKI(t)
	ctx := context.Background()
	target := serve(t, 200, func() []byte { return sign(t, metadataDoc(t), p.signer, federationtest.SignOptions{}) })
	uid := p.signer.Certificate.Subject.String()
	first := serve(t, 200, func() []byte {
		return sign(t, redirectDoc(target.URL+"/x", uid), p.signer, federationtest.SignOptions{})
	})

	m, err := p.client(t).ServiceMetadata(ctx, first.URL, malmo, sdkDoc)
	if err != nil || m.URL != target.URL+"/x" || m.Processes[0].Endpoints[0].URI != "https://ap.malmo.test/as4" {
		t.Fatalf("%+v %v", m, err)
	}

	wrongUID := serve(t, 200, func() []byte {
		return sign(t, redirectDoc(target.URL+"/x", "CN=someone else"), p.signer, federationtest.SignOptions{})
	})
	if _, err := p.client(t).ServiceMetadata(ctx, wrongUID.URL, malmo, sdkDoc); !errors.Is(err, discovery.ErrBadSignature) {
		t.Errorf("redirect to another signer: %v", err)
	}
	loop := serve(t, 200, func() []byte {
		return sign(t, redirectDoc(first.URL+"/y", uid), p.signer, federationtest.SignOptions{})
	})
	if _, err := p.client(t).ServiceMetadata(ctx, loop.URL, malmo, sdkDoc); !errors.Is(err, discovery.ErrBadResponse) {
		t.Errorf("two redirects: %v", err)
	}
}

func TestSMPResponses(t *testing.T) {
	p := newSMPPKI(t)
	ctx := context.Background()
	signedFor := func(part, doc discovery.Identifier) func() []byte {
		return func() []byte {
			d, err := federationtest.ServiceMetadataDocument(part, doc, []federationtest.Service{{DocumentType: doc, Process: noproc, EndpointURL: "https://x.test/as4"}})
			if err != nil {
				t.Fatal(err)
			}
			return sign(t, d, p.signer, federationtest.SignOptions{})
		}
	}
	tests := []struct {
		name   string
		status int
		body   func() []byte
		want   error
	}{
		{"503", 503, nil, discovery.ErrSMPUnreachable},
		{"403", 403, nil, discovery.ErrSMPUnreachable},
		{"404", 404, nil, discovery.ErrDocumentTypeNotSupported},
		{"too large", 200, func() []byte { return []byte("<a>" + strings.Repeat("x", 3<<20) + "</a>") }, discovery.ErrBadResponse},
		{"not XML", 200, func() []byte { return []byte("<html>") }, discovery.ErrBadResponse},
		{"wrong document", 200, func() []byte { return []byte(`<ServiceGroup xmlns="` + discovery.NamespaceSMP + `"/>`) }, discovery.ErrBadResponse},
		{"other participant", 200, signedFor(discovery.Identifier{Scheme: discovery.ParticipantScheme, Value: "0203:evil.se"}, sdkDoc), discovery.ErrBadResponse},
		{"other document type", 200, signedFor(malmo, receipt), discovery.ErrBadResponse},
	}
	for _, tc := range tests {
		s := serve(t, tc.status, tc.body)
		if _, err := p.client(t).ServiceMetadata(ctx, s.URL, malmo, sdkDoc); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	dead := serve(t, 200, nil)
	dead.Close()
	if _, err := p.client(t).ServiceGroup(ctx, dead.URL, malmo); !errors.Is(err, discovery.ErrSMPUnreachable) {
		t.Errorf("closed port: %v", err)
	}
}

// TestSMPSignerRevocation: the SMP signing chain is checked for revocation
// like any other; an unanswered check is temporary.
func TestSMPSignerRevocation(t *testing.T) {
	root := testpki.Must(testpki.NewRoot(testpki.Spec{CommonName: "Rot CA eDelivery SMP-QA", KeySlot: 7401}))
	resp := testpki.NewOCSPResponder(root)
	t.Cleanup(resp.Close)
	signer := testpki.Must(root.NewLeafWithURLs(testpki.Spec{CommonName: "SMP QA signer", KeySlot: 7402}, testpki.RevocationURLs{OCSP: []string{resp.URL}}))
	checker, err := trust.NewOCSPChecker(trust.OCSPOptions{CacheTTL: -1, NegativeCacheTTL: -1, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c, err := discovery.NewSMPClient(discovery.SMPConfig{Trust: trust.NewStore(root.Certificate), Revocation: checker})
	if err != nil {
		t.Fatal(err)
	}
	data := sign(t, metadataDoc(t), signer, federationtest.SignOptions{})
	ctx := context.Background()
	resp.SetStatus(signer.Certificate.SerialNumber, testpki.CertStatus{Status: testpki.StatusGood})
	if _, err := c.Verify(ctx, data, "smp"); err != nil {
		t.Fatalf("good: %v", err)
	}
	resp.Revoke(signer.Certificate.SerialNumber, time.Now().Add(-time.Hour), 1)
	var le *discovery.LookupError
	if _, err := c.Verify(ctx, data, "smp"); !errors.Is(err, trust.ErrRevoked) || !errors.As(err, &le) || le.Temporary {
		t.Fatalf("revoked: %v", err)
	}
	resp.Close()
	if _, err := c.Verify(ctx, data, "smp"); !errors.Is(err, trust.ErrRevocationUnknown) || !errors.As(err, &le) || !le.Temporary || le.Kind != discovery.KindBadSignature {
		t.Fatalf("responder down: %v", err)
	}
}
