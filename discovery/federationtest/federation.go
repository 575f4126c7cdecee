// Package federationtest runs a simulated SDK discovery infrastructure on
// loopback for tests: a DNS server (UDP and TCP, miekg/dns) answering BDXL
// NAPTR queries for registered participants, and an OASIS SMP 1.0 server
// whose SignedServiceMetadata is signed with a testpki SMP key using
// inclusive C14N, as real SMPs do. Switches make the SML or SMP fail, the
// signature break, or a participant vanish from the SMP only.
package federationtest

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beevik/etree"
	"github.com/miekg/dns"

	"github.com/as4gw/as4gw/discovery"
	"github.com/as4gw/as4gw/trust"
	"github.com/as4gw/as4gw/trust/testpki"
)

// Service is one document type and process a participant receives, at one
// access point.
type Service struct {
	DocumentType discovery.Identifier
	Process      discovery.Identifier
	EndpointURL  string
	// Certificate of the receiving access point.
	Certificate *x509.Certificate
	// TransportProfile defaults to discovery.TransportProfile.
	TransportProfile string
	// Activation and Expiration are published when not zero.
	Activation, Expiration time.Time
}

// Participant is a registered recipient.
type Participant struct {
	ID       discovery.Identifier
	Services []Service
}

// Options configure Start.
type Options struct {
	// Zone is the SML zone; empty means "sdk-qa.test".
	Zone string
	// Sign tunes the SMP's signatures (default: inclusive C14N, RSA-SHA256).
	Sign SignOptions
	// SMPCertificate replaces the SMP signing certificate issued from the
	// built-in "Rot CA eDelivery SMP-TEST" root (e.g. one with OCSP/CRL
	// URLs); its root must then be added to the trust store the test uses.
	SMPCertificate *testpki.Cert
}

// Federation is a running simulated SML + SMP.
type Federation struct {
	Zone string
	// DNSAddr is the DNS server's host:port (UDP and TCP).
	DNSAddr string
	// SMPURL is the SMP base URL.
	SMPURL string
	// SMPRoot is the SMP trust anchor; SMPSigner signs the metadata.
	SMPRoot, SMPSigner *testpki.Cert

	sign SignOptions

	mu           sync.Mutex
	participants map[string]*Participant // by lower-case scheme::value
	names        map[string]string       // BDXL FQDN (lower) → SMP URL
	smpGone      map[string]bool

	smlDown, smpDown, badSignature, truncate atomic.Bool
	dnsQueries, smpRequests                  atomic.Int64

	udp, tcp *dns.Server
	http     *httptest.Server
}

// Start starts the DNS and SMP servers on 127.0.0.1.
func Start(opts Options) (*Federation, error) {
	f := &Federation{Zone: opts.Zone, sign: opts.Sign,
		participants: map[string]*Participant{}, names: map[string]string{}, smpGone: map[string]bool{}}
	if f.Zone == "" {
		f.Zone = "sdk-qa.test"
	}
	f.Zone = strings.TrimSuffix(f.Zone, ".")
	root, err := testpki.NewRoot(testpki.Spec{CommonName: "Rot CA eDelivery SMP-TEST", Organization: "DIGG test", Country: "SE", KeySlot: 7101})
	if err != nil {
		return nil, err
	}
	f.SMPRoot = root
	f.SMPSigner = opts.SMPCertificate
	if f.SMPSigner == nil {
		if f.SMPSigner, err = root.NewLeaf(testpki.Spec{CommonName: "SMP test signer", Organization: "DIGG test", Country: "SE", KeySlot: 7102}); err != nil {
			return nil, err
		}
	}
	f.http = httptest.NewServer(http.HandlerFunc(f.serveSMP))
	f.SMPURL = f.http.URL
	if err := f.startDNS(); err != nil {
		f.http.Close()
		return nil, err
	}
	return f, nil
}

func (f *Federation) startDNS() error {
	var lastErr error
	for range 10 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err != nil {
			pc.Close()
			lastErr = err
			continue // the TCP port is taken; try another pair
		}
		f.DNSAddr = pc.LocalAddr().String()
		h := dns.HandlerFunc(f.serveDNS)
		f.udp = &dns.Server{PacketConn: pc, Handler: h}
		f.tcp = &dns.Server{Listener: l, Handler: h}
		started := make(chan struct{}, 2)
		f.udp.NotifyStartedFunc = func() { started <- struct{}{} }
		f.tcp.NotifyStartedFunc = func() { started <- struct{}{} }
		go func() { _ = f.udp.ActivateAndServe() }()
		go func() { _ = f.tcp.ActivateAndServe() }()
		<-started
		<-started
		return nil
	}
	return fmt.Errorf("federationtest: no UDP/TCP port pair: %w", lastErr)
}

// Close stops both servers.
func (f *Federation) Close() {
	if f.udp != nil {
		_ = f.udp.Shutdown()
	}
	if f.tcp != nil {
		_ = f.tcp.Shutdown()
	}
	f.http.Close()
}

// SMPTrust returns a trust store holding the SMP root, for SMPConfig.Trust.
func (f *Federation) SMPTrust() *trust.Store { return trust.NewStore(f.SMPRoot.Certificate) }

func key(id discovery.Identifier) string { return strings.ToLower(id.String()) }

// Register publishes p in the SML and the SMP (replacing an earlier entry).
func (f *Federation) Register(p Participant) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cp := p
	f.participants[key(p.ID)] = &cp
	f.names[strings.ToLower(dns.Fqdn(discovery.BDXLName(p.ID, f.Zone)))] = f.SMPURL
	delete(f.smpGone, key(p.ID))
}

// Unregister removes a participant from the SML and the SMP.
func (f *Federation) Unregister(id discovery.Identifier) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.participants, key(id))
	delete(f.names, strings.ToLower(dns.Fqdn(discovery.BDXLName(id, f.Zone))))
}

// SetGoneFromSMP keeps the participant in the SML but makes the SMP answer
// 404 for it (a stale SML registration).
func (f *Federation) SetGoneFromSMP(id discovery.Identifier, gone bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.smpGone[key(id)] = gone
}

// SetSMLDown makes the DNS server answer SERVFAIL.
func (f *Federation) SetSMLDown(v bool) { f.smlDown.Store(v) }

// SetSMPDown makes the SMP drop every connection without an answer.
func (f *Federation) SetSMPDown(v bool) { f.smpDown.Store(v) }

// SetBadSignature makes the SMP change the EndpointURI after signing.
func (f *Federation) SetBadSignature(v bool) { f.badSignature.Store(v) }

// SetTruncateUDP makes UDP answers empty with the TC bit, so clients must
// retry over TCP.
func (f *Federation) SetTruncateUDP(v bool) { f.truncate.Store(v) }

// DNSQueries and SMPRequests count what the servers received.
func (f *Federation) DNSQueries() int64  { return f.dnsQueries.Load() }
func (f *Federation) SMPRequests() int64 { return f.smpRequests.Load() }

func (f *Federation) serveDNS(w dns.ResponseWriter, req *dns.Msg) {
	f.dnsQueries.Add(1)
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	switch {
	case f.smlDown.Load():
		m.Rcode = dns.RcodeServerFailure
	case len(req.Question) != 1:
		m.Rcode = dns.RcodeFormatError
	case f.truncate.Load() && w.RemoteAddr().Network() == "udp":
		m.Truncated = true
	default:
		q := req.Question[0]
		name := strings.ToLower(q.Name)
		f.mu.Lock()
		smp, ok := f.names[name]
		f.mu.Unlock()
		switch {
		case !ok:
			m.Rcode = dns.RcodeNameError
		case q.Qtype == dns.TypeNAPTR:
			m.Answer = append(m.Answer, &dns.NAPTR{
				Hdr:   dns.RR_Header{Name: q.Name, Rrtype: dns.TypeNAPTR, Class: dns.ClassINET, Ttl: 60},
				Order: 100, Preference: 10, Flags: "U", Service: "Meta:SMP",
				Regexp: "!^.*$!" + smp + "!", Replacement: ".",
			})
		}
	}
	_ = w.WriteMsg(m)
}

func (f *Federation) serveSMP(w http.ResponseWriter, r *http.Request) {
	f.smpRequests.Add(1)
	if f.smpDown.Load() {
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
				return
			}
		}
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	segs := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	var ids []discovery.Identifier
	for i, s := range segs {
		if i == 1 {
			if s != "services" {
				http.NotFound(w, r)
				return
			}
			continue
		}
		raw, err := url.PathUnescape(s)
		if err != nil {
			http.Error(w, "bad path", http.StatusBadRequest)
			return
		}
		id, err := discovery.ParseIdentifier(raw)
		if err != nil {
			http.Error(w, "bad identifier", http.StatusBadRequest)
			return
		}
		ids = append(ids, id)
	}
	f.mu.Lock()
	p := f.participants[key(ids[0])]
	gone := f.smpGone[key(ids[0])]
	f.mu.Unlock()
	if p == nil || gone || (len(segs) != 1 && len(segs) != 3) {
		http.NotFound(w, r)
		return
	}
	var body []byte
	var err error
	if len(segs) == 1 {
		body, err = f.serviceGroup(p)
	} else {
		body, err = f.signedMetadata(p, ids[1])
	}
	if errors.Is(err, errNoService) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=UTF-8")
	_, _ = w.Write(body)
}

var errNoService = errors.New("no such service")

func (f *Federation) serviceGroup(p *Participant) ([]byte, error) {
	doc := etree.NewDocument()
	root := doc.CreateElement("ServiceGroup")
	root.CreateAttr("xmlns", discovery.NamespaceSMP)
	pid := root.CreateElement("ParticipantIdentifier")
	pid.CreateAttr("scheme", p.ID.Scheme)
	pid.SetText(p.ID.Value)
	coll := root.CreateElement("ServiceMetadataReferenceCollection")
	seen := map[string]bool{}
	for _, s := range p.Services {
		if seen[s.DocumentType.String()] {
			continue
		}
		seen[s.DocumentType.String()] = true
		coll.CreateElement("ServiceMetadataReference").CreateAttr("href", discovery.ServiceMetadataURL(f.SMPURL, p.ID, s.DocumentType))
	}
	doc.Indent(2)
	return doc.WriteToBytes()
}

// ServiceMetadataDocument builds the unsigned SignedServiceMetadata for
// participant and doc from services (those for doc are used).
func ServiceMetadataDocument(participant, doc discovery.Identifier, services []Service) (*etree.Document, error) {
	d := etree.NewDocument()
	d.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	root := d.CreateElement("SignedServiceMetadata")
	root.CreateAttr("xmlns", discovery.NamespaceSMP)
	info := root.CreateElement("ServiceMetadata").CreateElement("ServiceInformation")
	ident := func(parent *etree.Element, tag string, id discovery.Identifier) {
		e := parent.CreateElement(tag)
		e.CreateAttr("scheme", id.Scheme)
		e.SetText(id.Value)
	}
	ident(info, "ParticipantIdentifier", participant)
	ident(info, "DocumentIdentifier", doc)
	plist := info.CreateElement("ProcessList")
	procs := map[string]*etree.Element{}
	n := 0
	for _, s := range services {
		if s.DocumentType != doc {
			continue
		}
		n++
		list, ok := procs[s.Process.String()]
		if !ok {
			p := plist.CreateElement("Process")
			ident(p, "ProcessIdentifier", s.Process)
			list = p.CreateElement("ServiceEndpointList")
			procs[s.Process.String()] = list
		}
		tp := s.TransportProfile
		if tp == "" {
			tp = discovery.TransportProfile
		}
		ep := list.CreateElement("Endpoint")
		ep.CreateAttr("transportProfile", tp)
		ep.CreateElement("EndpointURI").SetText(s.EndpointURL)
		ep.CreateElement("RequireBusinessLevelSignature").SetText("false")
		if !s.Activation.IsZero() {
			ep.CreateElement("ServiceActivationDate").SetText(s.Activation.UTC().Format(time.RFC3339))
		}
		if !s.Expiration.IsZero() {
			ep.CreateElement("ServiceExpirationDate").SetText(s.Expiration.UTC().Format(time.RFC3339))
		}
		if s.Certificate != nil {
			ep.CreateElement("Certificate").SetText(base64.StdEncoding.EncodeToString(s.Certificate.Raw))
		}
		ep.CreateElement("ServiceDescription").SetText("as4gw federationtest access point")
		ep.CreateElement("TechnicalContactUrl").SetText("mailto:ops@example.test")
	}
	if n == 0 {
		return nil, errNoService
	}
	d.Indent(2)
	return d, nil
}

func (f *Federation) signedMetadata(p *Participant, doc discovery.Identifier) ([]byte, error) {
	d, err := ServiceMetadataDocument(p.ID, doc, p.Services)
	if err != nil {
		return nil, err
	}
	out, err := Sign(d, f.SMPSigner.Key, f.SMPSigner.Certificate, f.sign)
	if err != nil {
		return nil, err
	}
	if f.badSignature.Load() {
		out = []byte(strings.Replace(string(out), "<EndpointURI>", "<EndpointURI>https://attacker.example/as4?was=", 1))
	}
	return out, nil
}
