package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"github.com/as4gw/as4gw/trust"
)

// TrustStores are identity.trust: three separate stores, as SDK asks.
// Nothing is shared between them: a CA in the TLS store does not make a
// certificate good for signing AS4 messages, and each store has its own
// revocation caches.
type TrustStores struct {
	// AS4: partners' signing and encryption certificates (inbound signature
	// verification, the receiver's certificate before a send, receipts).
	AS4 TrustStore `mapstructure:"as4"`
	// TLS: peers of mutual TLS, inbound on the AS4 listener and the servers
	// we post to. Empty: outbound TLS trusts the system roots and inbound
	// mutual TLS cannot be required.
	TLS TrustStore `mapstructure:"tls"`
	// SMP: signers of SMP responses (dynamic discovery).
	SMP TrustStore `mapstructure:"smp"`
}

// TrustStore is one trust store. Put the issuing CA of the environment
// (e.g. "Accesspunkt CA-SDK-QA") in Files rather than a root shared by
// several environments, so another environment's certificate is refused
// (SDK test TF-03).
type TrustStore struct {
	// Files are PEM/DER/PKCS#7 bundles of trust anchors (CAs or pinned
	// partner certificates).
	Files []string `mapstructure:"files"`
	// IntermediateFiles help build chains for peers that send only their
	// leaf; they are not trusted by themselves.
	IntermediateFiles []string   `mapstructure:"intermediateFiles"`
	Revocation        Revocation `mapstructure:"revocation"`
}

// Revocation configures the revocation checking of one trust store.
type Revocation struct {
	// Mode: ocsp, crl, ocsp-then-crl (default) or none.
	Mode string `mapstructure:"mode"`
	// FailMode: hard (default; SDK) refuses a certificate whose status
	// cannot be established; soft accepts it and logs a warning. A revoked
	// certificate is refused either way.
	FailMode string `mapstructure:"failMode"`
	// OCSPResponderURL, when set, is asked instead of the responder named
	// in each certificate.
	OCSPResponderURL string `mapstructure:"ocspResponderURL"`
	// CRLURL, when set, is downloaded instead of each certificate's CRL
	// distribution points.
	CRLURL string `mapstructure:"crlURL"`
	// RequireNonce rejects OCSP responses without the request's nonce.
	RequireNonce bool `mapstructure:"requireNonce"`
	// Timeout of one OCSP request or CRL download (default 10s).
	Timeout time.Duration `mapstructure:"timeout"`
	// CacheTTL caps how long an answer is reused, never past its nextUpdate
	// (default 1h).
	CacheTTL time.Duration `mapstructure:"cacheTTL"`
	// AllowNoSource accepts, with a warning, certificates that name no OCSP
	// responder or CRL (CA certificates under roots that publish nothing).
	AllowNoSource bool `mapstructure:"allowNoSource"`
}

// TLSClient is our client certificate for outbound mutual TLS, in its own
// key store: the TLS key (e.g. a SITHS function certificate) is not the AS4
// signing key.
type TLSClient struct {
	PKCS12File   string `mapstructure:"pkcs12File"`
	KeyAlias     string `mapstructure:"keyAlias"`
	KeyFile      string `mapstructure:"keyFile"`
	CertFile     string `mapstructure:"certFile"`
	PasswordFile string `mapstructure:"passwordFile"`
	PasswordEnv  string `mapstructure:"passwordEnv"`
}

// Proxy is the AS4 listener behind a TLS-terminating reverse proxy. The
// proxy's header names the partner's client certificate, and is believed
// only on connections from TrustedProxies; from anywhere else it is
// removed before the request is handled.
type Proxy struct {
	// TrustedProxies are the proxies' addresses or networks (CIDR).
	TrustedProxies []string `mapstructure:"trustedProxies"`
	// ClientCertHeader carries the client certificate (URL-escaped or plain
	// PEM, base64 DER, or Envoy's X-Forwarded-Client-Cert), e.g.
	// X-SSL-Client-Cert for nginx's $ssl_client_escaped_cert.
	ClientCertHeader string `mapstructure:"clientCertHeader"`
	// ClientAuth: require (default) refuses requests without a verified
	// client certificate, from the TLS handshake or the proxy's header;
	// request verifies one when given; none ignores the header.
	ClientAuth string `mapstructure:"clientAuth"`
}

// Enabled reports whether proxy mode is configured.
func (p Proxy) Enabled() bool { return len(p.TrustedProxies) > 0 || p.ClientCertHeader != "" }

// EffectiveClientAuth is ClientAuth with its default.
func (p Proxy) EffectiveClientAuth() string {
	if p.ClientAuth == "" {
		return "require"
	}
	return p.ClientAuth
}

// Prefixes parses TrustedProxies (an address is a /32 or /128 network).
func (p Proxy) Prefixes() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for i, s := range p.TrustedProxies {
		s = strings.TrimSpace(s)
		if pf, err := netip.ParsePrefix(s); err == nil {
			out = append(out, pf.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("trustedProxies[%d]: %q is not an IP address or CIDR network", i, s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// AS4TrustFiles are the AS4 store's anchor files: identity.trust.as4.files,
// or the older identity.trustFiles (the same store).
func (c *Config) AS4TrustFiles() (files []string, key string) {
	if len(c.Identity.Trust.AS4.Files) > 0 {
		return c.Identity.Trust.AS4.Files, "identity.trust.as4.files"
	}
	return c.Identity.TrustFiles, "identity.trustFiles"
}

// TLSTrustFiles are the TLS store's anchor files: identity.trust.tls.files,
// or the AS4 listener's older tls.clientCAFile.
func (c *Config) TLSTrustFiles() (files []string, key string) {
	if len(c.Identity.Trust.TLS.Files) > 0 {
		return c.Identity.Trust.TLS.Files, "identity.trust.tls.files"
	}
	if f := c.Listeners.AS4.TLS.ClientCAFile; f != "" {
		return []string{f}, "listeners.as4.tls.clientCAFile"
	}
	return nil, "identity.trust.tls.files"
}

// BuildValidator loads one trust store ("as4", "tls" or "smp") with its
// revocation checker. A store without anchor files gives nil, nil. warn
// receives soft-failed checks. Each call builds fresh caches, so a reload
// starts clean.
func (c *Config) BuildValidator(name string, warn func(string, ...any)) (*trust.Validator, error) {
	var ts TrustStore
	var files []string
	var key string
	switch name {
	case "as4":
		ts = c.Identity.Trust.AS4
		files, key = c.AS4TrustFiles()
	case "tls":
		ts = c.Identity.Trust.TLS
		files, key = c.TLSTrustFiles()
	case "smp":
		ts = c.Identity.Trust.SMP
		files, key = ts.Files, "identity.trust.smp.files"
	default:
		return nil, fmt.Errorf("config: no trust store %q", name)
	}
	if len(files) == 0 {
		return nil, nil
	}
	st := trust.NewStore()
	for i, f := range files {
		if err := st.AddAnchorsFile(f); err != nil {
			return nil, fmt.Errorf("%s[%d] %s: %w", key, i, f, err)
		}
	}
	for i, f := range ts.IntermediateFiles {
		if err := st.AddIntermediatesFile(f); err != nil {
			return nil, fmt.Errorf("identity.trust.%s.intermediateFiles[%d] %s: %w", name, i, f, err)
		}
	}
	rc, policy, err := ts.Revocation.build()
	if err != nil {
		return nil, fmt.Errorf("identity.trust.%s.revocation: %w", name, err)
	}
	return &trust.Validator{Name: name, Store: st, Revocation: rc, Policy: policy, Warn: warn}, nil
}

// EffectiveMode is Mode with its default.
func (r Revocation) EffectiveMode() string {
	if r.Mode == "" {
		return string(trust.RevocationModeOCSPThenCRL)
	}
	return strings.ToLower(r.Mode)
}

func (r Revocation) build() (trust.RevocationChecker, trust.RevocationPolicy, error) {
	policy := trust.RevocationHardFail
	if strings.EqualFold(r.FailMode, "soft") {
		policy = trust.RevocationSoftFail
	}
	mode, err := trust.ParseRevocationMode(r.EffectiveMode())
	if err != nil {
		return nil, policy, err
	}
	mc, err := trust.NewRevocationChecker(trust.RevocationConfig{
		Mode:          mode,
		AllowNoSource: r.AllowNoSource,
		OCSP:          trust.OCSPOptions{ResponderURL: r.OCSPResponderURL, RequireNonce: r.RequireNonce, Timeout: r.Timeout, CacheTTL: r.CacheTTL},
		CRL:           trust.CRLOptions{URL: r.CRLURL, Timeout: r.Timeout, CacheTTL: r.CacheTTL},
	})
	if err != nil {
		return nil, policy, err
	}
	return mc, policy, nil
}

// LoadTLSClient reads our outbound TLS client certificate; nil, nil when
// identity.tlsClient is not configured.
func (c *Config) LoadTLSClient() (*tls.Certificate, error) {
	tc := c.Identity.TLSClient
	if tc.PKCS12File == "" && tc.KeyFile == "" {
		return nil, nil
	}
	password, err := Secret(tc.PasswordFile, tc.PasswordEnv, "identity.tlsClient")
	if err != nil {
		return nil, err
	}
	var id *trust.Identity
	if tc.PKCS12File != "" {
		entries, err := trust.LoadPKCS12File(tc.PKCS12File, password)
		if err != nil {
			return nil, fmt.Errorf("identity.tlsClient.pkcs12File %s: %w", tc.PKCS12File, err)
		}
		e, err := trust.SelectKeyEntry(entries, tc.KeyAlias)
		if err != nil {
			return nil, fmt.Errorf("identity.tlsClient.keyAlias: %w", err)
		}
		id = &e.Identity
	} else if id, err = trust.LoadPEMFiles(tc.KeyFile, tc.CertFile, password); err != nil {
		return nil, fmt.Errorf("identity.tlsClient.keyFile/certFile: %w", err)
	}
	cert := &tls.Certificate{PrivateKey: id.Signer, Leaf: id.Certificate}
	for _, x := range append([]*x509.Certificate{id.Certificate}, id.Chain...) {
		cert.Certificate = append(cert.Certificate, x.Raw)
	}
	return cert, nil
}

func (c *Config) resolveTrustPaths(baseDir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(baseDir, *p)
		}
	}
	for _, ts := range []*TrustStore{&c.Identity.Trust.AS4, &c.Identity.Trust.TLS, &c.Identity.Trust.SMP} {
		for i := range ts.Files {
			abs(&ts.Files[i])
		}
		for i := range ts.IntermediateFiles {
			abs(&ts.IntermediateFiles[i])
		}
	}
	tc := &c.Identity.TLSClient
	for _, p := range []*string{&tc.PKCS12File, &tc.KeyFile, &tc.CertFile, &tc.PasswordFile} {
		abs(p)
	}
}

// validateTrust checks identity.trust, identity.tlsClient and the AS4
// listener's proxy section.
func (c *Config) validateTrust(p *Problems) {
	id := c.Identity
	if len(id.TrustFiles) > 0 && len(id.Trust.AS4.Files) > 0 {
		p.add("identity.trustFiles", "is the older spelling of identity.trust.as4.files; give the AS4 trust store in one place only")
	}
	if len(id.Trust.TLS.Files) > 0 && c.Listeners.AS4.TLS.ClientCAFile != "" {
		p.add("listeners.as4.tls.clientCAFile", "the AS4 listener's client CAs are the TLS trust store identity.trust.tls.files; give them in one place only")
	}
	for _, s := range []struct {
		name string
		ts   TrustStore
	}{{"as4", id.Trust.AS4}, {"tls", id.Trust.TLS}, {"smp", id.Trust.SMP}} {
		s.ts.validate(p, "identity.trust."+s.name)
	}

	tc := id.TLSClient
	key := "identity.tlsClient"
	switch {
	case tc.PKCS12File != "" && (tc.KeyFile != "" || tc.CertFile != ""):
		p.add(key, "give pkcs12File or keyFile+certFile, not both")
	case tc.PKCS12File == "" && (tc.KeyFile == "") != (tc.CertFile == ""):
		p.add(key, "give both keyFile and certFile")
	case tc.PKCS12File == "" && tc.KeyFile == "" && (tc.KeyAlias != "" || tc.PasswordFile != "" || tc.PasswordEnv != ""):
		p.add(key, "give pkcs12File, or keyFile and certFile")
	}
	if tc.PasswordFile != "" && tc.PasswordEnv != "" {
		p.add(key, "give passwordFile or passwordEnv, not both")
	}

	for _, l := range []struct {
		name string
		px   Proxy
	}{{"backend", c.Listeners.Backend.Proxy}, {"operations", c.Listeners.Operations.Proxy}} {
		if l.px.Enabled() {
			p.add("listeners."+l.name+".proxy", "only the AS4 listener (listeners.as4.proxy) takes a client certificate from a reverse proxy")
		}
	}
	if files, _ := c.TLSTrustFiles(); c.Listeners.AS4.TLS.ClientAuth == "require" && len(files) == 0 {
		p.add("identity.trust.tls.files", "is required when listeners.as4.tls.clientAuth is require")
	}
	px := c.Listeners.AS4.Proxy
	if !px.Enabled() {
		if px.ClientAuth != "" {
			p.add("listeners.as4.proxy.clientAuth", "is set but listeners.as4.proxy has no trustedProxies or clientCertHeader")
		}
		return
	}
	if len(px.TrustedProxies) == 0 {
		p.add("listeners.as4.proxy.trustedProxies", "list the reverse proxies' addresses or CIDR networks; the client certificate header is believed only from them")
	} else if _, err := px.Prefixes(); err != nil {
		p.add("listeners.as4.proxy", "%v", err)
	}
	switch px.EffectiveClientAuth() {
	case "none":
	case "request", "require":
		if px.ClientCertHeader == "" {
			p.add("listeners.as4.proxy.clientCertHeader", "is required with clientAuth %s (e.g. X-SSL-Client-Cert)", px.EffectiveClientAuth())
		}
		if files, _ := c.TLSTrustFiles(); len(files) == 0 {
			p.add("identity.trust.tls.files", "is required to verify client certificates forwarded by the proxy")
		}
	default:
		p.add("listeners.as4.proxy.clientAuth", "%q is not none, request or require", px.ClientAuth)
	}
	if h := px.ClientCertHeader; h != "" && !validHeaderName(h) {
		p.add("listeners.as4.proxy.clientCertHeader", "%q is not an HTTP header name", h)
	}
}

func (ts TrustStore) validate(p *Problems, key string) {
	r := ts.Revocation
	if _, err := trust.ParseRevocationMode(r.EffectiveMode()); err != nil {
		p.add(key+".revocation.mode", "%q is not ocsp, crl, ocsp-then-crl or none", r.Mode)
	}
	switch strings.ToLower(r.FailMode) {
	case "", "hard", "soft":
	default:
		p.add(key+".revocation.failMode", "%q is not hard or soft", r.FailMode)
	}
	for _, u := range []struct{ k, v string }{{"ocspResponderURL", r.OCSPResponderURL}, {"crlURL", r.CRLURL}} {
		if u.v != "" && !strings.HasPrefix(u.v, "http://") && !strings.HasPrefix(u.v, "https://") {
			p.add(key+".revocation."+u.k, "%q is not an http:// or https:// URL", u.v)
		}
	}
	if r.Timeout < 0 {
		p.add(key+".revocation.timeout", "must not be negative")
	}
	if len(ts.IntermediateFiles) > 0 && len(ts.Files) == 0 && key != "identity.trust.as4" {
		p.add(key+".files", "intermediateFiles are given but no trust anchors")
	}
}

func validHeaderName(h string) bool {
	return h != "" && http.CanonicalHeaderKey(h) != "" && !strings.ContainsAny(h, " \t\r\n:()<>@,;\\\"/[]?={}")
}
