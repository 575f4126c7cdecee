package discovery_test

import (
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/as4gw/as4gw/discovery"
	"github.com/as4gw/as4gw/discovery/federationtest"
	"github.com/as4gw/as4gw/trust"
	"github.com/as4gw/as4gw/trust/testpki"
)

type recorder struct {
	mu     sync.Mutex
	events []discovery.LookupEvent
}

func (r *recorder) ObserveLookup(e discovery.LookupEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) last(stage string) discovery.LookupEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.events) - 1; i >= 0; i-- {
		if r.events[i].Stage == stage {
			return r.events[i]
		}
	}
	return discovery.LookupEvent{}
}

type env struct {
	fed *federationtest.Federation
	res *discovery.Resolver
	obs *recorder
	ap  *x509.Certificate
	now time.Time
	mu  sync.Mutex
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(d)
}

func newEnv(t *testing.T, fopts federationtest.Options, mutate func(*discovery.Config)) *env {
	t.Helper()
	fed, err := federationtest.Start(fopts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fed.Close)
	e := &env{fed: fed, obs: &recorder{}, ap: apCert(t).Certificate, now: time.Now()}
	fed.Register(federationtest.Participant{ID: malmo, Services: []federationtest.Service{
		{DocumentType: sdkDoc, Process: noproc, EndpointURL: "https://ap.malmo.test/as4", Certificate: e.ap},
	}})
	sml, err := discovery.NewSML(discovery.SMLConfig{Zone: fed.Zone, Servers: []string{fed.DNSAddr}, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	smp, err := discovery.NewSMPClient(discovery.SMPConfig{Trust: fed.SMPTrust(), Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cfg := discovery.Config{SML: sml, SMP: smp, Observer: e.obs, Now: e.clock,
		Cache: discovery.CacheConfig{TTL: time.Hour, NegativeTTL: time.Minute}}
	if mutate != nil {
		mutate(&cfg)
	}
	if e.res, err = discovery.New(cfg); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) resolve(t *testing.T, p, d, pr discovery.Identifier) (*discovery.Endpoint, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return e.res.Resolve(ctx, p, d, pr)
}

func TestResolveAndCache(t *testing.T) {
	e := newEnv(t, federationtest.Options{}, nil)
	ep, err := e.resolve(t, malmo, sdkDoc, noproc)
	if err != nil {
		t.Fatal(err)
	}
	if ep.URL != "https://ap.malmo.test/as4" || !ep.Certificate.Equal(e.ap) || ep.TransportProfile != discovery.TransportProfile ||
		ep.Source != "smp" || ep.SMPSigner == nil || !strings.Contains(ep.SMPURL, "/services/") {
		t.Errorf("endpoint %+v", ep)
	}
	if ev := e.obs.last(discovery.StageResolve); ev.Outcome != "ok" || ev.Source != discovery.SourceNetwork {
		t.Errorf("observer %+v", ev)
	}
	for _, st := range []string{discovery.StageSML, discovery.StageServiceGroup, discovery.StageServiceMetadata} {
		if ev := e.obs.last(st); ev.Outcome != "ok" {
			t.Errorf("stage %s: %+v", st, ev)
		}
	}
	dns, smp := e.fed.DNSQueries(), e.fed.SMPRequests()

	// Cached: no traffic; participant case does not matter.
	upper := discovery.Identifier{Scheme: malmo.Scheme, Value: "0203:MALMO.SE"}
	if _, err := e.resolve(t, upper, sdkDoc, noproc); err != nil {
		t.Fatal(err)
	}
	if e.fed.DNSQueries() != dns || e.fed.SMPRequests() != smp {
		t.Errorf("cache hit made requests: dns %d→%d smp %d→%d", dns, e.fed.DNSQueries(), smp, e.fed.SMPRequests())
	}
	if ev := e.obs.last(discovery.StageResolve); ev.Source != discovery.SourceCache {
		t.Errorf("observer %+v", ev)
	}
	// After the TTL the SMP is asked again and a moved endpoint is seen.
	e.fed.Register(federationtest.Participant{ID: malmo, Services: []federationtest.Service{
		{DocumentType: sdkDoc, Process: noproc, EndpointURL: "https://ap2.malmo.test/as4", Certificate: e.ap},
	}})
	e.advance(time.Hour + time.Second)
	if ep, err := e.resolve(t, malmo, sdkDoc, noproc); err != nil || ep.URL != "https://ap2.malmo.test/as4" {
		t.Errorf("after TTL: %v %v", ep, err)
	}
}

func TestResolveFailures(t *testing.T) {
	unknown := discovery.Identifier{Scheme: discovery.ParticipantScheme, Value: "0203:nowhere.se"}
	otherDoc := discovery.Identifier{Scheme: discovery.DocumentScheme, Value: "urn:example:other"}
	otherProc := discovery.Identifier{Scheme: discovery.ProcessScheme, Value: "urn:other"}
	tests := []struct {
		name      string
		setup     func(*env)
		p, d, pr  discovery.Identifier
		want      error
		reason    string
		temporary bool
	}{
		{"not in SML", nil, unknown, sdkDoc, noproc, discovery.ErrNotRegistered, "not registered in the SML", false},
		{"gone from SMP", func(e *env) { e.fed.SetGoneFromSMP(malmo, true) }, malmo, sdkDoc, noproc, discovery.ErrNotRegistered, "SMP", false},
		{"SML down", func(e *env) { e.fed.SetSMLDown(true) }, malmo, sdkDoc, noproc, discovery.ErrSMLUnreachable, "could not be queried", true},
		{"SMP down", func(e *env) { e.fed.SetSMPDown(true) }, malmo, sdkDoc, noproc, discovery.ErrSMPUnreachable, "did not answer", true},
		{"bad signature", func(e *env) { e.fed.SetBadSignature(true) }, malmo, sdkDoc, noproc, discovery.ErrBadSignature, "invalid signature", false},
		{"document type not listed", nil, malmo, otherDoc, noproc, discovery.ErrDocumentTypeNotSupported, "does not list document type", false},
		{"process not listed", nil, malmo, sdkDoc, otherProc, discovery.ErrDocumentTypeNotSupported, "not under process", false},
		{"other transport profile only", func(e *env) {
			e.fed.Register(federationtest.Participant{ID: malmo, Services: []federationtest.Service{
				{DocumentType: sdkDoc, Process: noproc, EndpointURL: "https://ap.malmo.test/as4", Certificate: e.ap, TransportProfile: "bdxr-transport-ebms3-as4-v1p0"},
			}})
		}, malmo, sdkDoc, noproc, discovery.ErrNoEndpoint, "over no digg-transport-as4-v1_0 endpoint", false},
		{"endpoint expired", func(e *env) {
			e.fed.Register(federationtest.Participant{ID: malmo, Services: []federationtest.Service{
				{DocumentType: sdkDoc, Process: noproc, EndpointURL: "https://ap.malmo.test/as4", Certificate: e.ap, Expiration: time.Now().Add(-time.Hour)},
			}})
		}, malmo, sdkDoc, noproc, discovery.ErrNoEndpoint, "expired at", false},
		{"endpoint without certificate", func(e *env) {
			e.fed.Register(federationtest.Participant{ID: malmo, Services: []federationtest.Service{
				{DocumentType: sdkDoc, Process: noproc, EndpointURL: "https://ap.malmo.test/as4"},
			}})
		}, malmo, sdkDoc, noproc, discovery.ErrEndpointCertificate, "no usable certificate", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, federationtest.Options{}, nil)
			if tc.setup != nil {
				tc.setup(e)
			}
			ep, err := e.resolve(t, tc.p, tc.d, tc.pr)
			if !errors.Is(err, tc.want) || ep != nil {
				t.Fatalf("got %v, %v; want %v", ep, err, tc.want)
			}
			var le *discovery.LookupError
			if !errors.As(err, &le) || !strings.Contains(le.Reason, tc.reason) || le.Temporary != tc.temporary {
				t.Fatalf("error %#v, want reason containing %q, temporary %v", le, tc.reason, tc.temporary)
			}
			if le.Participant != tc.p.String() || le.DocumentID != tc.d.String() || le.Code() == "" {
				t.Errorf("identifiers not filled in: %+v", le)
			}
			if ev := e.obs.last(discovery.StageResolve); ev.Outcome != discovery.Outcome(err) || ev.Outcome == "ok" {
				t.Errorf("observer %+v", ev)
			}
		})
	}
}

// TestNegativeCache: "not registered" is remembered for NegativeTTL;
// a network failure is not, so a repair is seen at once.
func TestNegativeCache(t *testing.T) {
	e := newEnv(t, federationtest.Options{}, nil)
	newcomer := discovery.Identifier{Scheme: discovery.ParticipantScheme, Value: "0203:ny.se"}
	if _, err := e.resolve(t, newcomer, sdkDoc, noproc); !errors.Is(err, discovery.ErrNotRegistered) {
		t.Fatal(err)
	}
	e.fed.Register(federationtest.Participant{ID: newcomer, Services: []federationtest.Service{
		{DocumentType: sdkDoc, Process: noproc, EndpointURL: "https://ap.ny.test/as4", Certificate: e.ap},
	}})
	q := e.fed.DNSQueries()
	if _, err := e.resolve(t, newcomer, sdkDoc, noproc); !errors.Is(err, discovery.ErrNotRegistered) || e.fed.DNSQueries() != q {
		t.Fatalf("negative cache: %v, %d queries", err, e.fed.DNSQueries()-q)
	}
	if ev := e.obs.last(discovery.StageResolve); ev.Source != discovery.SourceNegativeCache {
		t.Errorf("observer %+v", ev)
	}
	e.advance(time.Minute + time.Second)
	if _, err := e.resolve(t, newcomer, sdkDoc, noproc); err != nil {
		t.Fatalf("after negative TTL: %v", err)
	}

	e.fed.SetSMLDown(true)
	other := discovery.Identifier{Scheme: discovery.ParticipantScheme, Value: "0203:other.se"}
	e.fed.Register(federationtest.Participant{ID: other, Services: []federationtest.Service{
		{DocumentType: sdkDoc, Process: noproc, EndpointURL: "https://ap.other.test/as4", Certificate: e.ap},
	}})
	if _, err := e.resolve(t, other, sdkDoc, noproc); !errors.Is(err, discovery.ErrSMLUnreachable) {
		t.Fatal(err)
	}
	e.fed.SetSMLDown(false)
	if _, err := e.resolve(t, other, sdkDoc, noproc); err != nil {
		t.Fatalf("SML back: %v", err)
	}
}

func TestResolveOverTCPAfterTruncation(t *testing.T) {
	e := newEnv(t, federationtest.Options{}, nil)
	e.fed.SetTruncateUDP(true)
	if _, err := e.resolve(t, malmo, sdkDoc, noproc); err != nil {
		t.Fatal(err)
	}
}

func TestResolveExclusiveC14NSMP(t *testing.T) {
	e := newEnv(t, federationtest.Options{Sign: federationtest.SignOptions{Exclusive: true}}, nil)
	if _, err := e.resolve(t, malmo, sdkDoc, noproc); err != nil {
		t.Fatal(err)
	}
}

func TestUntrustedSMP(t *testing.T) {
	other := testpki.Must(testpki.NewRoot(testpki.Spec{CommonName: "Rot CA eDelivery SMP-PROD", KeySlot: 7301}))
	e := newEnv(t, federationtest.Options{}, func(c *discovery.Config) {
		smp, err := discovery.NewSMPClient(discovery.SMPConfig{Trust: trust.NewStore(other.Certificate)})
		if err != nil {
			t.Fatal(err)
		}
		c.SMP = smp
	})
	_, err := e.resolve(t, malmo, sdkDoc, noproc)
	if !errors.Is(err, discovery.ErrBadSignature) || !errors.Is(err, trust.ErrUntrusted) {
		t.Fatalf("%v", err)
	}
}

func TestConcurrentLookupsShareOneFetch(t *testing.T) {
	e := newEnv(t, federationtest.Options{}, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.resolve(t, malmo, sdkDoc, noproc)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := e.fed.SMPRequests(); n != 2 {
		t.Errorf("%d SMP requests for 16 concurrent lookups, want 2 (ServiceGroup + metadata)", n)
	}
}

func TestStaticOverride(t *testing.T) {
	ap := apCert(t).Certificate
	partner := discovery.Identifier{Value: "0007:5560000001"} // scheme defaulted
	r, err := discovery.New(discovery.Config{Static: []discovery.StaticEndpoint{{
		Participant: partner, URL: "https://partner.test/as4", Certificate: ap,
		DocumentTypes: []discovery.Identifier{sdkDoc, receipt},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p := discovery.Identifier{Scheme: discovery.ParticipantScheme, Value: "0007:5560000001"}
	ep, err := r.Resolve(ctx, p, receipt, noproc)
	if err != nil || ep.URL != "https://partner.test/as4" || ep.Source != discovery.SourceStatic || !ep.Certificate.Equal(ap) {
		t.Fatalf("%+v %v", ep, err)
	}
	if _, err := r.Resolve(ctx, p, discovery.Identifier{Scheme: discovery.DocumentScheme, Value: "urn:x"}, noproc); !errors.Is(err, discovery.ErrDocumentTypeNotSupported) {
		t.Errorf("unlisted document type: %v", err)
	}
	if _, err := r.Resolve(ctx, malmo, sdkDoc, noproc); !errors.Is(err, discovery.ErrNotRegistered) {
		t.Errorf("participant without static entry and no SML: %v", err)
	}

	// A static entry also wins over the SML.
	e := newEnv(t, federationtest.Options{}, func(c *discovery.Config) {
		c.Static = []discovery.StaticEndpoint{{Participant: malmo, URL: "https://static.test/as4", Certificate: ap, DocumentTypes: []discovery.Identifier{sdkDoc}}}
	})
	if ep, err := e.resolve(t, malmo, sdkDoc, noproc); err != nil || ep.URL != "https://static.test/as4" || e.fed.DNSQueries() != 0 {
		t.Errorf("static before SML: %+v %v (dns %d)", ep, err, e.fed.DNSQueries())
	}

	bad := []discovery.StaticEndpoint{
		{Participant: malmo, URL: "ftp://x", Certificate: ap, DocumentTypes: []discovery.Identifier{sdkDoc}},
		{Participant: malmo, URL: "https://x", DocumentTypes: []discovery.Identifier{sdkDoc}},
		{Participant: malmo, URL: "https://x", Certificate: ap},
	}
	for i, s := range bad {
		if _, err := discovery.New(discovery.Config{Static: []discovery.StaticEndpoint{s}}); err == nil {
			t.Errorf("bad static %d accepted", i)
		}
	}
}

// TestReceiverCertificateChecked is SDK TF-02: the certificate the SMP
// publishes is revoked, so nothing may be sent.
func TestReceiverCertificateChecked(t *testing.T) {
	h := testpki.Must(testpki.NewHierarchy("QA", "AP0001-SDK-QA", 0))
	resp := testpki.NewOCSPResponder(h.Intermediate)
	t.Cleanup(resp.Close)
	checker, err := trust.NewOCSPChecker(trust.OCSPOptions{ResponderURL: resp.URL, CacheTTL: -1, NegativeCacheTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	prod := testpki.Must(testpki.NewHierarchy("PROD", "AP0009-SDK-PROD", 0))
	e := newEnv(t, federationtest.Options{}, func(c *discovery.Config) {
		c.EndpointTrust = trust.NewStore(h.Intermediate.Certificate)
		c.EndpointRevocation = checker
	})
	resp.SetStatus(h.Leaf.Certificate.SerialNumber, testpki.CertStatus{Status: testpki.StatusGood})
	if _, err := e.resolve(t, malmo, sdkDoc, noproc); err != nil {
		t.Fatalf("good certificate: %v", err)
	}
	resp.Revoke(h.Leaf.Certificate.SerialNumber, time.Now().Add(-time.Minute), 1)
	_, err = e.resolve(t, malmo, sdkDoc, noproc) // from the cache, but checked again
	var le *discovery.LookupError
	if !errors.Is(err, discovery.ErrEndpointCertificate) || !errors.Is(err, trust.ErrRevoked) || !errors.As(err, &le) || !strings.Contains(le.Reason, "revoked") {
		t.Fatalf("revoked: %v", err)
	}
	// A certificate of another environment (TF-03's mirror image).
	e.fed.Register(federationtest.Participant{ID: malmo, Services: []federationtest.Service{
		{DocumentType: sdkDoc, Process: noproc, EndpointURL: "https://ap.malmo.test/as4", Certificate: prod.Leaf.Certificate},
	}})
	e.res.Purge()
	if _, err := e.resolve(t, malmo, sdkDoc, noproc); !errors.Is(err, trust.ErrUntrusted) {
		t.Fatalf("other environment: %v", err)
	}
}

// BenchmarkResolveCold measures a full lookup over loopback with the cache
// off: SML query, ServiceGroup, SignedServiceMetadata with signature
// verification and chain validation.
func BenchmarkResolveCold(b *testing.B) {
	fed, err := federationtest.Start(federationtest.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer fed.Close()
	fed.Register(federationtest.Participant{ID: malmo, Services: []federationtest.Service{
		{DocumentType: sdkDoc, Process: noproc, EndpointURL: "https://ap.malmo.test/as4", Certificate: apCert(b).Certificate},
	}})
	sml, _ := discovery.NewSML(discovery.SMLConfig{Zone: fed.Zone, Servers: []string{fed.DNSAddr}})
	smp, _ := discovery.NewSMPClient(discovery.SMPConfig{Trust: fed.SMPTrust()})
	r, err := discovery.New(discovery.Config{SML: sml, SMP: smp, Cache: discovery.CacheConfig{TTL: -1, NegativeTTL: -1}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Resolve(ctx, malmo, sdkDoc, noproc); err != nil {
			b.Fatal(err)
		}
	}
}
