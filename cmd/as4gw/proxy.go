package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/as4gw/as4gw/config"
	"github.com/as4gw/as4gw/trust"
)

// peerAuth establishes who the partner access point on the AS4 listener is
// when TLS may be terminated by a reverse proxy (listeners.as4.proxy):
//
//   - On a connection from a trusted proxy address, the proxy's header is
//     the partner's certificate (the TLS peer, if any, is the proxy itself).
//     It is verified against the TLS trust store with revocation, exactly
//     like a certificate from our own handshake.
//   - From any other address the header is untrusted input: it is removed
//     and logged, and the connection's own TLS client certificate (verified
//     in the handshake) is the identity.
//   - With clientAuth require, a request without a verified certificate is
//     refused with 403 before the AS4 handler reads it.
//
// The verified certificate is presented to the handler as
// r.TLS.PeerCertificates, as if the partner had connected directly.
type peerAuth struct {
	header     string
	clientAuth string
	proxies    []netip.Prefix
	trust      func() *trust.Validator
	log        *slog.Logger
	next       http.Handler
}

func newPeerAuth(px config.Proxy, h *trustHolder, log *slog.Logger, next http.Handler) (*peerAuth, error) {
	prefixes, err := px.Prefixes()
	if err != nil {
		return nil, err
	}
	return &peerAuth{header: px.ClientCertHeader, clientAuth: px.EffectiveClientAuth(), proxies: prefixes,
		trust: h.tlsValidator, log: log, next: next}, nil
}

func (p *peerAuth) fromProxy(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, pf := range p.proxies {
		if pf.Contains(a) {
			return true
		}
	}
	return false
}

func (p *peerAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	trusted := p.fromProxy(r.RemoteAddr)
	var value string
	if p.header != "" {
		value = r.Header.Get(p.header)
		if len(r.Header.Values(p.header)) > 1 {
			// Two values: a client added one that the proxy appended to
			// instead of replacing. Believe neither.
			p.refuse(w, r, "the client certificate header appears more than once")
			return
		}
		r.Header.Del(p.header)
	}
	switch {
	case value != "" && !trusted:
		p.log.Warn("ignored a client certificate header from an address that is not a trusted proxy",
			"remoteAddr", r.RemoteAddr, "header", p.header)
	case value != "" && p.clientAuth != "none":
		certs, err := trust.ParseForwardedCertificate(value)
		if err != nil {
			p.refuse(w, r, err.Error())
			return
		}
		res, err := p.verify(r.Context(), certs)
		if err != nil {
			p.refuse(w, r, err.Error())
			return
		}
		r = r.Clone(r.Context())
		cs := tls.ConnectionState{}
		if r.TLS != nil {
			cs = *r.TLS
		}
		cs.PeerCertificates, cs.VerifiedChains = certs, [][]*x509.Certificate{res.Chain}
		r.TLS = &cs
		p.next.ServeHTTP(w, r)
		return
	}
	// No usable header: the partner must have authenticated in our own
	// handshake, which a connection from the proxy cannot show.
	direct := r.TLS != nil && len(r.TLS.PeerCertificates) > 0 && !trusted
	if p.clientAuth == "require" && !direct {
		p.refuse(w, r, "a client certificate is required (mutual TLS)")
		return
	}
	if trusted && r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		// The proxy's own certificate is not the partner's identity.
		r = r.Clone(r.Context())
		cs := *r.TLS
		cs.PeerCertificates, cs.VerifiedChains = nil, nil
		r.TLS = &cs
	}
	p.next.ServeHTTP(w, r)
}

func (p *peerAuth) verify(ctx context.Context, certs []*x509.Certificate) (*trust.Result, error) {
	v := p.trust()
	if v == nil {
		return nil, errors.New("no TLS trust store configured (identity.trust.tls.files)")
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	return v.VerifyTLSPeer(ctx, certs)
}

func (p *peerAuth) refuse(w http.ResponseWriter, r *http.Request, reason string) {
	p.log.Warn("refused an AS4 request: client certificate", "remoteAddr", r.RemoteAddr, "reason", reason)
	http.Error(w, "client certificate refused: "+reason, http.StatusForbidden)
}
