package discovery

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/as4gw/as4gw/trust"
)

// SMPConfig configures the SMP client.
type SMPConfig struct {
	// Trust holds the SMP signing anchors ("Rot CA eDelivery SMP-*" for
	// SDK), a trust store of its own, separate from the AS4 and TLS ones.
	// Required.
	Trust *trust.Store
	// Revocation checks the SMP signing chain (nil: not checked, which the
	// SDK does not allow in production; the lead's wiring passes the
	// configured OCSP/CRL checker). RevocationPolicy is hard-fail by
	// default.
	Revocation       trust.RevocationChecker
	RevocationPolicy trust.RevocationPolicy
	// HTTPClient is used for the GETs; nil means a client with Timeout.
	HTTPClient *http.Client
	// Timeout bounds one SMP request when HTTPClient is nil; 0 means 10 s.
	Timeout time.Duration
	// Limits bound each response; zero fields take DefaultXMLLimits.
	Limits XMLLimits
	// MaxRedirects caps SMP 1.0 <Redirect> hops (not HTTP redirects); 0
	// means 1, negative means none are followed.
	MaxRedirects int
	// Now is the clock for certificate checks; nil means time.Now.
	Now func() time.Time
}

// SMPClient fetches and verifies OASIS SMP 1.0 documents.
type SMPClient struct {
	cfg  SMPConfig
	http *http.Client
}

// NewSMPClient checks cfg.
func NewSMPClient(cfg SMPConfig) (*SMPClient, error) {
	if cfg.Trust == nil || len(cfg.Trust.Anchors()) == 0 {
		return nil, errors.New("discovery: the SMP trust store has no anchors")
	}
	hc := cfg.HTTPClient
	if hc == nil {
		t := cfg.Timeout
		if t <= 0 {
			t = 10 * time.Second
		}
		hc = &http.Client{Timeout: t, CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("more than 3 HTTP redirects")
			}
			return nil
		}}
	}
	if cfg.MaxRedirects == 0 {
		cfg.MaxRedirects = 1
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &SMPClient{cfg: cfg, http: hc}, nil
}

// errHTTPNotFound marks a 404 so callers can say what was not found.
var errHTTPNotFound = errors.New("HTTP 404 Not Found")

// get fetches url; a 404 returns errHTTPNotFound, anything else that is not
// 200 or not received is an SMP-unreachable *LookupError.
func (c *SMPClient) get(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, lookupErr(KindBadResponse, fmt.Sprintf("the SMP address %s is not usable", url), err)
	}
	req.Header.Set("Accept", "application/xml, text/xml")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, lookupErr(KindSMPUnreachable, fmt.Sprintf("the SMP at %s did not answer", hostOf(url)), err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, errHTTPNotFound
	case resp.StatusCode != http.StatusOK:
		return nil, lookupErr(KindSMPUnreachable,
			fmt.Sprintf("the SMP at %s answered HTTP %d", hostOf(url), resp.StatusCode), nil)
	}
	data, err := readLimited(resp.Body, c.cfg.Limits.withDefaults().MaxBytes)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			return nil, lookupErr(KindBadResponse, fmt.Sprintf("the SMP at %s sent a response over the size limit", hostOf(url)), err)
		}
		return nil, lookupErr(KindSMPUnreachable, fmt.Sprintf("the SMP at %s broke off its answer", hostOf(url)), err)
	}
	return data, nil
}

func hostOf(u string) string {
	s := strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	return s
}

// ServiceGroup fetches the participant's ServiceGroup from the SMP at base.
func (c *SMPClient) ServiceGroup(ctx context.Context, base string, participant Identifier) (*ServiceGroup, error) {
	url := ServiceGroupURL(base, participant)
	data, err := c.get(ctx, url)
	if errors.Is(err, errHTTPNotFound) {
		return nil, lookupErr(KindNotRegistered,
			fmt.Sprintf("participant %s is in the SML but its SMP (%s) does not know it", participant, hostOf(base)), nil)
	}
	if err != nil {
		return nil, err
	}
	g, err := ParseServiceGroup(data, c.cfg.Limits)
	if err != nil {
		return nil, lookupErr(KindBadResponse, fmt.Sprintf("the SMP at %s sent an unreadable ServiceGroup", hostOf(base)), err)
	}
	if !equalParticipant(g.Participant, participant) {
		return nil, lookupErr(KindBadResponse,
			fmt.Sprintf("the SMP at %s answered for participant %s instead of %s", hostOf(base), g.Participant, participant), nil)
	}
	return g, nil
}

// Metadata is verified ServiceInformation with who signed it.
type Metadata struct {
	*ServiceMetadata
	// URL is where it was fetched (after SMP redirects).
	URL string
	// Signer is the validated SMP signing certificate.
	Signer *x509.Certificate
}

// ServiceMetadata fetches and verifies the SignedServiceMetadata for
// participant and doc, following SMP Redirects up to MaxRedirects. A 404
// is KindDocumentTypeNotSupported: the SMP knows the participant (the
// ServiceGroup was read first) but not this document type.
func (c *SMPClient) ServiceMetadata(ctx context.Context, base string, participant, doc Identifier) (*Metadata, error) {
	url := ServiceMetadataURL(base, participant, doc)
	var wantUID string
	for hop := 0; ; hop++ {
		m, err := c.fetchSigned(ctx, url, participant, doc)
		if err != nil {
			return nil, err
		}
		if wantUID != "" && !certificateHasUID(m.Signer, wantUID) {
			return nil, lookupErr(KindBadSignature,
				fmt.Sprintf("the SMP redirected to %s, which signs with a certificate other than the one named in the redirect (%s)", hostOf(url), wantUID), nil)
		}
		if m.Redirect == nil {
			return m, nil
		}
		if c.cfg.MaxRedirects < 0 || hop >= c.cfg.MaxRedirects {
			return nil, lookupErr(KindBadResponse,
				fmt.Sprintf("the SMP redirects more than %d times for %s", max(c.cfg.MaxRedirects, 0), doc), nil)
		}
		url, wantUID = m.Redirect.Href, m.Redirect.CertificateUID
	}
}

func (c *SMPClient) fetchSigned(ctx context.Context, url string, participant, doc Identifier) (*Metadata, error) {
	data, err := c.get(ctx, url)
	if errors.Is(err, errHTTPNotFound) {
		return nil, lookupErr(KindDocumentTypeNotSupported,
			fmt.Sprintf("the SMP of %s does not list document type %s for it", participant, doc), nil)
	}
	if err != nil {
		return nil, err
	}
	m, err := c.Verify(ctx, data, hostOf(url))
	if err != nil {
		return nil, err
	}
	m.URL = url
	sm := m.ServiceMetadata
	if sm.Redirect == nil {
		if !equalParticipant(sm.Participant, participant) {
			return nil, lookupErr(KindBadResponse,
				fmt.Sprintf("the SMP at %s answered for participant %s instead of %s", hostOf(url), sm.Participant, participant), nil)
		}
		if !equalDocOrProcess(sm.DocumentType, doc) {
			return nil, lookupErr(KindBadResponse,
				fmt.Sprintf("the SMP at %s answered for document type %s instead of %s", hostOf(url), sm.DocumentType, doc), nil)
		}
	}
	return m, nil
}

// Verify reads a SignedServiceMetadata document: parsed with the limits,
// its enveloped signature verified, its signer validated against the SMP
// trust store (with revocation), and only then its content read from the
// verified tree. from names the source in reasons (a host name). It does
// not compare the content with what was asked for; ServiceMetadata does.
func (c *SMPClient) Verify(ctx context.Context, data []byte, from string) (*Metadata, error) {
	xdoc, err := parseXML(data, c.cfg.Limits)
	if err != nil {
		return nil, lookupErr(KindBadResponse, fmt.Sprintf("the SMP at %s sent unreadable service metadata", from), err)
	}
	root := xdoc.Root()
	if root.Tag != "SignedServiceMetadata" || root.NamespaceURI() != NamespaceSMP {
		return nil, lookupErr(KindBadResponse,
			fmt.Sprintf("the SMP at %s sent {%s}%s, not SignedServiceMetadata", from, root.NamespaceURI(), root.Tag), nil)
	}
	sb, err := verifyEnveloped(root)
	if err != nil {
		return nil, lookupErr(KindBadSignature, fmt.Sprintf("the service metadata from the SMP at %s has an invalid signature", from), err)
	}
	_, err = c.cfg.Trust.VerifyContext(ctx, sb.Signer, sb.Intermediates, trust.VerifyOptions{
		At:               c.cfg.Now(),
		KeyUsage:         trust.KeyUsageSigning,
		Revocation:       c.cfg.Revocation,
		RevocationPolicy: c.cfg.RevocationPolicy,
	})
	if err != nil {
		le := lookupErr(KindBadSignature,
			fmt.Sprintf("the SMP at %s signs with a certificate the SMP trust store does not accept (%s)", from, sb.Signer.Subject), err)
		// An unanswered revocation check can pass on a later try.
		le.Temporary = errors.Is(err, trust.ErrRevocationUnknown)
		return nil, le
	}
	sm, err := parseServiceMetadata(root)
	if err != nil {
		return nil, lookupErr(KindBadResponse, fmt.Sprintf("the SMP at %s sent unreadable service metadata", from), err)
	}
	return &Metadata{ServiceMetadata: sm, Signer: sb.Signer}, nil
}

// certificateHasUID matches an SMP 1.0 Redirect CertificateUID against the
// signer: the spec names the certificate's unique identifier without fixing
// its form, so the subject's UID (0.9.2342.19200300.100.1.1) or
// serialNumber attribute, the subject DN, or the SHA-256 fingerprint in hex
// are accepted.
func certificateHasUID(c *x509.Certificate, uid string) bool {
	uid = strings.TrimSpace(uid)
	for _, n := range c.Subject.Names {
		if v, ok := n.Value.(string); ok && v == uid &&
			(n.Type.String() == "0.9.2342.19200300.100.1.1" || n.Type.String() == "2.5.4.5") {
			return true
		}
	}
	if c.Subject.String() == uid {
		return true
	}
	sum := sha256.Sum256(c.Raw)
	return strings.EqualFold(hex.EncodeToString(sum[:]), strings.ReplaceAll(uid, ":", ""))
}
