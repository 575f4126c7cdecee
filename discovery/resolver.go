package discovery

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/as4gw/as4gw/trust"
)

// Endpoint is where and to whom to send one document type for one
// recipient.
type Endpoint struct {
	// URL is the receiving access point's AS4 endpoint (EndpointURI).
	URL string
	// Certificate is the receiving access point's certificate: the key to
	// encrypt for and the signer to expect on the receipt. Its CN is the
	// AS4 To/PartyId in SDK.
	Certificate      *x509.Certificate
	TransportProfile string
	Participant      Identifier
	DocumentType     Identifier
	Process          Identifier
	// ActivationDate and ExpirationDate are the SMP's service window (zero
	// when not published or for a static override).
	ActivationDate time.Time
	ExpirationDate time.Time
	// Source is "smp" or "static".
	Source string
	// SMPURL is the SignedServiceMetadata address (empty for static).
	SMPURL string
	// SMPSigner is the certificate that signed the metadata (nil for
	// static), for the audit log.
	SMPSigner *x509.Certificate
}

// Stages and sources reported to the Observer.
const (
	StageResolve             = "resolve"
	StageSML                 = "sml"
	StageServiceGroup        = "smp_service_group"
	StageServiceMetadata     = "smp_service_metadata"
	StageEndpointCertificate = "endpoint_certificate"

	SourceStatic        = "static"
	SourceCache         = "cache"
	SourceNegativeCache = "negative_cache"
	SourceNetwork       = "network"
)

// LookupEvent is one observed lookup step. All fields are bounded label
// values (no participant ids) so they can become metric labels.
type LookupEvent struct {
	// Stage is one of the Stage constants.
	Stage string
	// Outcome is "ok" or a lower-case failure label (see Outcome).
	Outcome string
	// Source is set on StageResolve events: static, cache, negative_cache
	// or network.
	Source   string
	Duration time.Duration
}

// Observer receives lookup events, for metrics. Calls are synchronous and
// must be cheap.
type Observer interface {
	ObserveLookup(LookupEvent)
}

// StaticEndpoint bypasses SML and SMP for one participant: for partners
// outside the SML (tests, bilateral set-ups) or while an SMP is being
// fixed. It is trusted as configured; the certificate is still checked
// against EndpointTrust when that is set.
type StaticEndpoint struct {
	Participant Identifier
	URL         string
	Certificate *x509.Certificate
	// DocumentTypes the participant accepts; at least one. A document type
	// not listed is refused like one the SMP does not list.
	DocumentTypes []Identifier
	// Processes, when not empty, restricts the processes accepted.
	Processes []Identifier
	// TransportProfile defaults to Config.TransportProfile.
	TransportProfile string
}

// Config configures a Resolver.
type Config struct {
	// SML and SMP are required unless every recipient is static.
	SML *SML
	SMP *SMPClient
	// TransportProfile to pick from the SMP; empty means TransportProfile
	// (digg-transport-as4-v1_0).
	TransportProfile string
	// DefaultParticipantScheme fills an empty participant scheme (SDK's
	// finalRecipient may come without a type); empty means
	// iso6523-actorid-upis.
	DefaultParticipantScheme string
	// EndpointTrust, when set, validates the receiving access point's
	// certificate (chain to the federation's AS4 CA, validity, revocation
	// through EndpointRevocation) on every Resolve, cached or not, so a
	// revoked receiver is refused before anything is sent (SDK TF-02).
	EndpointTrust            *trust.Store
	EndpointRevocation       trust.RevocationChecker
	EndpointRevocationPolicy trust.RevocationPolicy
	Cache                    CacheConfig
	Static                   []StaticEndpoint
	Observer                 Observer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Resolver finds the receiving access point for a recipient and document
// type. It is safe for concurrent use.
type Resolver struct {
	cfg    Config
	cache  *lruCache
	flight flight
	static map[string]*StaticEndpoint
}

// New checks cfg and returns a Resolver.
func New(cfg Config) (*Resolver, error) {
	if cfg.TransportProfile == "" {
		cfg.TransportProfile = TransportProfile
	}
	if cfg.DefaultParticipantScheme == "" {
		cfg.DefaultParticipantScheme = ParticipantScheme
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Cache = cfg.Cache.withDefaults()
	r := &Resolver{cfg: cfg, cache: newLRU(cfg.Cache.MaxEntries), static: map[string]*StaticEndpoint{}}
	for i := range cfg.Static {
		s := cfg.Static[i]
		if s.Participant.Scheme == "" {
			s.Participant.Scheme = cfg.DefaultParticipantScheme
		}
		if err := s.Participant.Validate(); err != nil {
			return nil, fmt.Errorf("discovery: static endpoint %d: %w", i, err)
		}
		if err := checkSMPURL(s.URL); err != nil {
			return nil, fmt.Errorf("discovery: static endpoint for %s: endpoint %w", s.Participant, err)
		}
		if s.Certificate == nil {
			return nil, fmt.Errorf("discovery: static endpoint for %s: a certificate is required", s.Participant)
		}
		if len(s.DocumentTypes) == 0 {
			return nil, fmt.Errorf("discovery: static endpoint for %s: list at least one document type", s.Participant)
		}
		if s.TransportProfile == "" {
			s.TransportProfile = cfg.TransportProfile
		}
		k := strings.ToLower(s.Participant.String())
		if _, dup := r.static[k]; dup {
			return nil, fmt.Errorf("discovery: two static endpoints for %s", s.Participant)
		}
		r.static[k] = &s
	}
	if len(r.static) == 0 && (cfg.SML == nil || cfg.SMP == nil) {
		return nil, errors.New("discovery: SML and SMP are required when no static endpoints are configured")
	}
	return r, nil
}

// Purge empties the cache, e.g. after the SMP trust store was reloaded.
func (r *Resolver) Purge() { r.cache.purge() }

// CacheLen returns the number of cached answers.
func (r *Resolver) CacheLen() int { return r.cache.len() }

func (r *Resolver) observe(stage, outcome, source string, start time.Time) {
	if r.cfg.Observer != nil {
		r.cfg.Observer.ObserveLookup(LookupEvent{Stage: stage, Outcome: outcome, Source: source, Duration: time.Since(start)})
	}
}

// Resolve returns the endpoint for sending doc under process to
// participant. Errors are *LookupError (errors.Is with ErrNotRegistered,
// ErrSMLUnreachable, ErrSMPUnreachable, ErrDocumentTypeNotSupported,
// ErrNoEndpoint, ErrBadSignature, ErrBadResponse, ErrEndpointCertificate),
// carrying the identifiers and a Reason for the backend event; or the
// context's error.
func (r *Resolver) Resolve(ctx context.Context, participant, doc, process Identifier) (*Endpoint, error) {
	start := time.Now()
	if participant.Scheme == "" {
		participant.Scheme = r.cfg.DefaultParticipantScheme
	}
	ep, source, err := r.resolve(ctx, participant, doc, process)
	if err == nil {
		err = r.checkEndpointCertificate(ctx, ep)
	}
	var le *LookupError
	if errors.As(err, &le) {
		// The error may be shared with concurrent callers (one flight) and
		// the cache: fill in a copy.
		cp := *le
		cp.Participant, cp.DocumentID, cp.ProcessID = participant.String(), doc.String(), process.String()
		err = &cp
	}
	r.observe(StageResolve, Outcome(err), source, start)
	return ep, err
}

func (r *Resolver) resolve(ctx context.Context, participant, doc, process Identifier) (*Endpoint, string, error) {
	for _, id := range []Identifier{participant, doc, process} {
		if err := id.Validate(); err != nil {
			return nil, "", lookupErr(KindBadResponse, "the lookup was asked with an invalid identifier", err)
		}
	}
	if s, ok := r.static[strings.ToLower(participant.String())]; ok {
		ep, err := r.fromStatic(s, participant, doc, process)
		return ep, SourceStatic, err
	}
	if r.cfg.SML == nil || r.cfg.SMP == nil {
		return nil, SourceStatic, lookupErr(KindNotRegistered,
			fmt.Sprintf("participant %s has no static endpoint and SML lookups are not configured", participant), nil)
	}
	k := keyOf(participant, doc, process)
	if e, ok := r.cache.get(k, r.cfg.Now()); ok {
		if e.err != nil {
			le := *e.err
			return nil, SourceNegativeCache, &le
		}
		cp := *e.ep
		return &cp, SourceCache, nil
	}
	ep, err := r.flight.do(ctx, k, func() (*Endpoint, error) {
		ep, err := r.lookup(ctx, participant, doc, process)
		r.remember(k, ep, err)
		return ep, err
	})
	if ep != nil {
		cp := *ep
		ep = &cp
	}
	return ep, SourceNetwork, err
}

func (r *Resolver) remember(k cacheKey, ep *Endpoint, err error) {
	now := r.cfg.Now()
	if err == nil {
		if r.cfg.Cache.TTL < 0 {
			return
		}
		exp := now.Add(r.cfg.Cache.TTL)
		if !ep.ExpirationDate.IsZero() && ep.ExpirationDate.Before(exp) {
			exp = ep.ExpirationDate
		}
		if ep.Certificate != nil && ep.Certificate.NotAfter.Before(exp) {
			exp = ep.Certificate.NotAfter
		}
		r.cache.put(&cacheEntry{key: k, ep: ep, expires: exp})
		return
	}
	var le *LookupError
	if r.cfg.Cache.NegativeTTL < 0 || !errors.As(err, &le) {
		return
	}
	switch le.Kind {
	case KindNotRegistered, KindDocumentTypeNotSupported, KindNoEndpoint:
		r.cache.put(&cacheEntry{key: k, err: le, expires: now.Add(r.cfg.Cache.NegativeTTL)})
	}
}

func (r *Resolver) fromStatic(s *StaticEndpoint, participant, doc, process Identifier) (*Endpoint, error) {
	listed := false
	for _, d := range s.DocumentTypes {
		listed = listed || equalDocOrProcess(d, doc)
	}
	if !listed {
		return nil, lookupErr(KindDocumentTypeNotSupported,
			fmt.Sprintf("the static endpoint configured for %s does not list document type %s", participant, doc), nil)
	}
	if len(s.Processes) > 0 {
		ok := false
		for _, p := range s.Processes {
			ok = ok || equalDocOrProcess(p, process)
		}
		if !ok {
			return nil, lookupErr(KindDocumentTypeNotSupported,
				fmt.Sprintf("the static endpoint configured for %s does not list process %s", participant, process), nil)
		}
	}
	return &Endpoint{URL: s.URL, Certificate: s.Certificate, TransportProfile: s.TransportProfile,
		Participant: participant, DocumentType: doc, Process: process, Source: SourceStatic}, nil
}

// lookup is the network path: SML, ServiceGroup, SignedServiceMetadata.
func (r *Resolver) lookup(ctx context.Context, participant, doc, process Identifier) (*Endpoint, error) {
	t := time.Now()
	base, err := r.cfg.SML.Lookup(ctx, participant)
	r.observe(StageSML, Outcome(err), "", t)
	if err != nil {
		return nil, err
	}

	t = time.Now()
	group, err := r.cfg.SMP.ServiceGroup(ctx, base, participant)
	r.observe(StageServiceGroup, Outcome(err), "", t)
	if err != nil {
		return nil, err
	}
	if !group.Lists(doc) {
		return nil, lookupErr(KindDocumentTypeNotSupported,
			fmt.Sprintf("the SMP of %s does not list document type %s for it", participant, doc), nil)
	}

	t = time.Now()
	md, err := r.cfg.SMP.ServiceMetadata(ctx, base, participant, doc)
	r.observe(StageServiceMetadata, Outcome(err), "", t)
	if err != nil {
		return nil, err
	}
	return r.pickEndpoint(md, participant, doc, process)
}

// pickEndpoint finds the process and the endpoint for the transport profile
// in verified metadata, active now.
func (r *Resolver) pickEndpoint(md *Metadata, participant, doc, process Identifier) (*Endpoint, error) {
	var proc *ProcessInfo
	for i := range md.Processes {
		if equalDocOrProcess(md.Processes[i].Process, process) {
			proc = &md.Processes[i]
			break
		}
	}
	if proc == nil {
		return nil, lookupErr(KindDocumentTypeNotSupported,
			fmt.Sprintf("the SMP of %s lists document type %s but not under process %s", participant, doc, process), nil)
	}
	now := r.cfg.Now()
	var inactive []string
	for i := range proc.Endpoints {
		e := &proc.Endpoints[i]
		if e.TransportProfile != r.cfg.TransportProfile {
			continue
		}
		if !e.ActivationDate.IsZero() && now.Before(e.ActivationDate) {
			inactive = append(inactive, "active only from "+e.ActivationDate.UTC().Format(time.RFC3339))
			continue
		}
		if !e.ExpirationDate.IsZero() && !now.Before(e.ExpirationDate) {
			inactive = append(inactive, "expired at "+e.ExpirationDate.UTC().Format(time.RFC3339))
			continue
		}
		if err := checkSMPURL(e.URI); err != nil {
			return nil, lookupErr(KindBadResponse, fmt.Sprintf("the SMP of %s publishes an unusable endpoint address", participant), err)
		}
		cert, err := e.Certificate()
		if err != nil {
			return nil, lookupErr(KindEndpointCertificate,
				fmt.Sprintf("the SMP of %s publishes no usable certificate for its access point", participant), err)
		}
		return &Endpoint{URL: e.URI, Certificate: cert, TransportProfile: e.TransportProfile,
			Participant: participant, DocumentType: doc, Process: process,
			ActivationDate: e.ActivationDate, ExpirationDate: e.ExpirationDate,
			Source: "smp", SMPURL: md.URL, SMPSigner: md.Signer}, nil
	}
	reason := fmt.Sprintf("the SMP of %s offers document type %s over no %s endpoint", participant, doc, r.cfg.TransportProfile)
	if len(inactive) > 0 {
		reason = fmt.Sprintf("the %s endpoint of %s for document type %s is not active now (%s)",
			r.cfg.TransportProfile, participant, doc, strings.Join(inactive, "; "))
	}
	return nil, lookupErr(KindNoEndpoint, reason, nil)
}

func (r *Resolver) checkEndpointCertificate(ctx context.Context, ep *Endpoint) error {
	if r.cfg.EndpointTrust == nil || ep == nil {
		return nil
	}
	t := time.Now()
	_, err := r.cfg.EndpointTrust.VerifyContext(ctx, ep.Certificate, nil, trust.VerifyOptions{
		At:               r.cfg.Now(),
		KeyUsage:         trust.KeyUsageEncryption,
		Revocation:       r.cfg.EndpointRevocation,
		RevocationPolicy: r.cfg.EndpointRevocationPolicy,
	})
	r.observe(StageEndpointCertificate, outcomeOfCert(err), "", t)
	if err != nil {
		le := lookupErr(KindEndpointCertificate,
			fmt.Sprintf("the receiving access point's certificate (%s) is not accepted: %s", ep.Certificate.Subject.CommonName, certProblem(err)), err)
		le.Temporary = errors.Is(err, trust.ErrRevocationUnknown)
		return le
	}
	return nil
}

func outcomeOfCert(err error) string {
	if err == nil {
		return "ok"
	}
	return KindEndpointCertificate.outcome()
}

// certProblem names the trust failure in words for the backend.
func certProblem(err error) string {
	switch {
	case errors.Is(err, trust.ErrRevoked):
		return "revoked"
	case errors.Is(err, trust.ErrExpired):
		return "expired"
	case errors.Is(err, trust.ErrNotYetValid):
		return "not yet valid"
	case errors.Is(err, trust.ErrUntrusted):
		return "not issued by this federation's CA"
	case errors.Is(err, trust.ErrRevocationUnknown):
		return "revocation status could not be checked"
	case errors.Is(err, trust.ErrKeyUsage):
		return "key usage does not allow encryption"
	}
	return "rejected"
}
