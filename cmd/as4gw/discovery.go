package main

import (
	"errors"
	"fmt"

	"github.com/as4gw/as4gw/config"
	"github.com/as4gw/as4gw/discovery"
)

// buildResolver makes the discovery resolver of cfg, or nil when discovery is
// not configured. The SMP's signatures are checked against the SMP trust store
// and the receiving access points' certificates against the AS4 store, each
// with its own revocation checker (SDK keeps the three apart).
func buildResolver(cfg *config.Config, ts *trustSet, obs discovery.Observer) (*discovery.Resolver, error) {
	d := cfg.Discovery
	if !d.Enabled() {
		return nil, nil
	}
	static, err := d.Loaded()
	if err != nil {
		return nil, err
	}
	rc := discovery.Config{
		TransportProfile:         d.TransportProfile,
		DefaultParticipantScheme: d.ParticipantScheme,
		Cache:                    discovery.CacheConfig{TTL: d.Cache.TTL, NegativeTTL: d.Cache.NegativeTTL, MaxEntries: d.Cache.MaxEntries},
		Static:                   static,
		Observer:                 obs,
	}
	if ts != nil && ts.AS4 != nil {
		rc.EndpointTrust, rc.EndpointRevocation, rc.EndpointRevocationPolicy = ts.AS4.Store, ts.AS4.Revocation, ts.AS4.Policy
	}
	if d.SML.Zone != "" {
		if ts == nil || ts.SMP == nil {
			return nil, errors.New("discovery.sml.zone is set but identity.trust.smp has no anchors: SMP answers could not be verified")
		}
		if rc.SML, err = discovery.NewSML(discovery.SMLConfig{Zone: d.SML.Zone, Servers: d.SML.Servers, Timeout: d.SML.Timeout}); err != nil {
			return nil, fmt.Errorf("discovery.sml: %w", err)
		}
		if rc.SMP, err = discovery.NewSMPClient(discovery.SMPConfig{
			Trust: ts.SMP.Store, Revocation: ts.SMP.Revocation, RevocationPolicy: ts.SMP.Policy,
			Timeout: d.SMP.Timeout, MaxRedirects: d.SMP.MaxRedirects,
		}); err != nil {
			return nil, fmt.Errorf("discovery.smp: %w", err)
		}
	}
	r, err := discovery.New(rc)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	return r, nil
}
