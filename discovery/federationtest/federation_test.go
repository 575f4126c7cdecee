package federationtest

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/as4gw/as4gw/discovery"
)

func TestFederationServes(t *testing.T) {
	f, err := Start(Options{Zone: "sdk.example."})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := discovery.Identifier{Scheme: discovery.ParticipantScheme, Value: "0203:test.se"}
	doc := discovery.Identifier{Scheme: discovery.DocumentScheme, Value: "urn:doc"}
	f.Register(Participant{ID: p, Services: []Service{{DocumentType: doc, Process: discovery.Identifier{Scheme: "s", Value: "p"}, EndpointURL: "https://ap.test/as4"}}})

	for _, network := range []string{"udp", "tcp"} {
		q := new(dns.Msg)
		q.SetQuestion(dns.Fqdn(discovery.BDXLName(p, f.Zone)), dns.TypeNAPTR)
		r, _, err := (&dns.Client{Net: network}).Exchange(q, f.DNSAddr)
		if err != nil {
			t.Fatalf("%s: %v", network, err)
		}
		if len(r.Answer) != 1 || !strings.Contains(r.Answer[0].(*dns.NAPTR).Regexp, f.SMPURL) {
			t.Errorf("%s: answer %v", network, r.Answer)
		}
		q.SetQuestion("unknown.iso6523-actorid-upis.sdk.example.", dns.TypeNAPTR)
		if r, _, err = (&dns.Client{Net: network}).Exchange(q, f.DNSAddr); err != nil || r.Rcode != dns.RcodeNameError {
			t.Errorf("%s unknown: %v %v", network, r, err)
		}
	}

	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(discovery.ServiceGroupURL(f.SMPURL, p)); code != 200 || !strings.Contains(body, "ServiceMetadataReference") {
		t.Errorf("ServiceGroup: %d %s", code, body)
	}
	if code, body := get(discovery.ServiceMetadataURL(f.SMPURL, p, doc)); code != 200 || !strings.Contains(body, "SignatureValue") {
		t.Errorf("metadata: %d %s", code, body)
	}
	if code, _ := get(discovery.ServiceMetadataURL(f.SMPURL, p, discovery.Identifier{Scheme: "x", Value: "y"})); code != 404 {
		t.Errorf("unknown document type: %d", code)
	}
	f.Unregister(p)
	if code, _ := get(discovery.ServiceGroupURL(f.SMPURL, p)); code != 404 {
		t.Errorf("after Unregister: %d", code)
	}
}
