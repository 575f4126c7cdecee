package config

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/as4gw/as4gw/discovery"
)

// Discovery configures dynamic discovery (SDK: SML by DNS, then a signed SMP
// 1.0 answer) for legs open to any party. Without it such legs can only
// reach the participants listed under static.
//
//	discovery:
//	  sml:
//	    zone: sml.qa.example.se        # DIGG's zone for the environment
//	    servers: ["10.0.0.53:53"]      # empty: /etc/resolv.conf
//	  smp: {timeout: 10s}
//	  cache: {ttl: 1h, negativeTtl: 5m}
//	  static:
//	    - participant: 0203:test.example.se
//	      url: https://ap.partner.example/as4
//	      certificateFile: certs/partner-ap.pem
//	      documentTypes: ["busdox-docid-qns::urn:riv:..."]
//
// The SMP's signing certificate is checked against identity.trust.smp, the
// receiving access point's certificate against the AS4 trust store.
type Discovery struct {
	SML SMLSettings `mapstructure:"sml"`
	SMP SMPSettings `mapstructure:"smp"`
	// TransportProfile picked from the SMP (default digg-transport-as4-v1_0).
	TransportProfile string `mapstructure:"transportProfile"`
	// ParticipantScheme fills a finalRecipient without a type (default
	// iso6523-actorid-upis).
	ParticipantScheme string         `mapstructure:"participantScheme"`
	Cache             DiscoveryCache `mapstructure:"cache"`
	Static            []StaticRoute  `mapstructure:"static"`
}

// SMLSettings locate the SML.
type SMLSettings struct {
	Zone    string        `mapstructure:"zone"`
	Servers []string      `mapstructure:"servers"`
	Timeout time.Duration `mapstructure:"timeout"`
}

// SMPSettings tune the SMP client.
type SMPSettings struct {
	Timeout      time.Duration `mapstructure:"timeout"`
	MaxRedirects int           `mapstructure:"maxRedirects"`
}

// DiscoveryCache bounds the lookup cache.
type DiscoveryCache struct {
	TTL         time.Duration `mapstructure:"ttl"`
	NegativeTTL time.Duration `mapstructure:"negativeTtl"`
	MaxEntries  int           `mapstructure:"maxEntries"`
}

// StaticRoute pins one participant's access point, bypassing SML and SMP.
type StaticRoute struct {
	Participant      string   `mapstructure:"participant"`
	URL              string   `mapstructure:"url"`
	CertificateFile  string   `mapstructure:"certificateFile"`
	DocumentTypes    []string `mapstructure:"documentTypes"`
	Processes        []string `mapstructure:"processes"`
	TransportProfile string   `mapstructure:"transportProfile"`
}

// Enabled reports whether any discovery is configured.
func (d Discovery) Enabled() bool { return d.SML.Zone != "" || len(d.Static) > 0 }

// Loaded turns the static routes into resolver entries; errors name the key.
func (d Discovery) Loaded() ([]discovery.StaticEndpoint, error) {
	var out []discovery.StaticEndpoint
	var p Problems
	for i, s := range d.Static {
		ep, err := discovery.StaticConfig{
			Participant: s.Participant, URL: s.URL, CertificateFile: s.CertificateFile,
			DocumentTypes: s.DocumentTypes, Processes: s.Processes, TransportProfile: s.TransportProfile,
		}.Load()
		if err != nil {
			var fe *discovery.FieldError
			key := fmt.Sprintf("discovery.static[%d]", i)
			if errors.As(err, &fe) {
				p.add(key+"."+fe.Field, "%v", fe.Err)
			} else {
				p.add(key, "%v", err)
			}
			continue
		}
		out = append(out, ep)
	}
	if len(p) > 0 {
		return nil, p
	}
	return out, nil
}

func (d Discovery) validate(p *Problems) {
	zone := strings.TrimSuffix(d.SML.Zone, ".")
	if zone != "" && (strings.ContainsAny(zone, " /:") || !strings.Contains(zone, ".")) {
		p.add("discovery.sml.zone", "%q is not a DNS zone (e.g. edelivery.example.se)", d.SML.Zone)
	}
	for i, s := range d.SML.Servers {
		if _, _, err := net.SplitHostPort(s); err != nil {
			p.add(fmt.Sprintf("discovery.sml.servers[%d]", i), "%q must be host:port (e.g. 10.0.0.53:53)", s)
		}
	}
	if len(d.SML.Servers) > 0 && zone == "" {
		p.add("discovery.sml.zone", "required when discovery.sml.servers is set")
	}
	for key, v := range map[string]time.Duration{
		"discovery.sml.timeout": d.SML.Timeout, "discovery.smp.timeout": d.SMP.Timeout,
	} {
		if v < 0 || v > 5*time.Minute {
			p.add(key, "%s must be between 0 (default) and 5m", v)
		}
	}
	if d.Cache.MaxEntries < 0 {
		p.add("discovery.cache.maxEntries", "must not be negative")
	}
	if d.SMP.MaxRedirects > 5 {
		p.add("discovery.smp.maxRedirects", "at most 5 SMP redirects")
	}
	seen := map[string]int{}
	for i, s := range d.Static {
		key := fmt.Sprintf("discovery.static[%d]", i)
		id := strings.ToLower(strings.TrimSpace(s.Participant))
		if id == "" {
			p.add(key+".participant", "required")
			continue
		}
		if j, dup := seen[id]; dup {
			p.add(key+".participant", "%q is also discovery.static[%d]", s.Participant, j)
		}
		seen[id] = i
		if s.URL == "" {
			p.add(key+".url", "required")
		}
		if s.CertificateFile == "" {
			p.add(key+".certificateFile", "required")
		}
		if len(s.DocumentTypes) == 0 {
			p.add(key+".documentTypes", "list at least one document type")
		}
	}
}
