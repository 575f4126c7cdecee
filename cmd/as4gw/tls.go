package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/as4gw/as4gw/config"
	"github.com/as4gw/as4gw/metrics"
	"github.com/as4gw/as4gw/trust"
)

// trustSet is everything the gateway trusts and presents, built from one
// configuration by buildTrust. A reload builds a new set and stores it in
// the trustHolder; TLS handshakes and the proxy check read the holder, so
// new connections use the new stores.
type trustSet struct {
	// AS4, TLS and SMP are the three separate trust domains; nil when the
	// store has no anchors configured.
	AS4, TLS, SMP *trust.Validator
	// TLSClient is our outbound TLS client certificate; nil: none.
	TLSClient *tls.Certificate
	// tlsPool holds the TLS store's anchors (server CertificateRequest
	// hints).
	tlsPool *x509.CertPool
}

// trustHolder gives TLS callbacks the current trustSet.
type trustHolder struct{ p atomic.Pointer[trustSet] }

func (h *trustHolder) get() *trustSet { return h.p.Load() }

// swap installs a set from buildTrust (a reload): new TLS handshakes, the
// proxy check, the receiver check, expiry warnings and metrics use it.
func (h *trustHolder) swap(ts *trustSet) { h.p.Store(ts) }

func (h *trustHolder) tlsValidator() *trust.Validator {
	if ts := h.get(); ts != nil {
		return ts.TLS
	}
	return nil
}

// buildTrust loads the AS4, TLS and SMP trust stores with their revocation
// checkers and our TLS client certificate. Each call has fresh revocation
// caches. Soft-failed checks are logged on log.
func buildTrust(cfg *config.Config, log *slog.Logger) (*trustSet, error) {
	warn := func(msg string, args ...any) { log.Warn(msg, args...) }
	ts := &trustSet{}
	var err error
	if ts.AS4, err = cfg.BuildValidator("as4", warn); err != nil {
		return nil, err
	}
	if ts.TLS, err = cfg.BuildValidator("tls", warn); err != nil {
		return nil, err
	}
	if ts.SMP, err = cfg.BuildValidator("smp", warn); err != nil {
		return nil, err
	}
	if ts.TLSClient, err = cfg.LoadTLSClient(); err != nil {
		return nil, err
	}
	if ts.TLS != nil {
		ts.tlsPool = ts.TLS.Store.CertPool()
	}
	return ts, nil
}

// logTrustSummary says at start what each store checks, so an operator sees
// at once when revocation is off or a store is missing.
func logTrustSummary(cfg *config.Config, ts *trustSet, log *slog.Logger) {
	for _, s := range []struct {
		name string
		v    *trust.Validator
		r    config.Revocation
	}{{"as4", ts.AS4, cfg.Identity.Trust.AS4.Revocation}, {"tls", ts.TLS, cfg.Identity.Trust.TLS.Revocation}, {"smp", ts.SMP, cfg.Identity.Trust.SMP.Revocation}} {
		if s.v == nil {
			log.Info("trust store not configured", "trustStore", s.name)
			continue
		}
		failMode := "hard"
		if s.v.Policy == trust.RevocationSoftFail {
			failMode = "soft"
		}
		attrs := []any{"trustStore", s.name, "anchors", len(s.v.Store.Anchors()), "revocation", s.r.EffectiveMode(), "failMode", failMode}
		if s.r.EffectiveMode() == "none" {
			log.Warn("trust store checks no revocation (SDK requires it)", attrs...)
		} else {
			log.Info("trust store loaded", attrs...)
		}
	}
	https := false
	for _, p := range cfg.PModes.Parties {
		https = https || strings.HasPrefix(strings.ToLower(p.Endpoint), "https://")
	}
	if ts.TLS == nil && https {
		log.Warn("no TLS trust store (identity.trust.tls.files): outbound TLS trusts the system roots without revocation checks")
	}
}

// checkPartnerCert is as4.Gateway.CheckPartnerCert: the receiver's
// certificate must chain to the AS4 store, be usable for key transport and
// not be revoked.
func (h *trustHolder) checkPartnerCert(ctx context.Context, cert *x509.Certificate) error {
	ts := h.get()
	if ts == nil || ts.AS4 == nil {
		return errors.New("no AS4 trust store configured")
	}
	_, err := ts.AS4.Verify(ctx, cert, nil, trust.VerifyOptions{KeyUsage: trust.KeyUsageEncryption})
	return err
}

// outboundClient posts to partners: TLS 1.2 or 1.3 only, our client
// certificate when configured, servers verified against the TLS trust store
// (chain, host name and revocation) when there is one, the request timeout
// bounding one attempt. Connections are pooled per partner: the sender
// workers share them, so a busy partner keeps up to Workers warm
// connections instead of a handshake per message.
func outboundClient(cfg *config.Config, h *trustHolder) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if h != nil {
		tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			if ts := h.get(); ts != nil && ts.TLSClient != nil {
				return ts.TLSClient, nil
			}
			return &tls.Certificate{}, nil // none: the server decides
		}
		if ts := h.get(); ts != nil && ts.TLS != nil {
			// crypto/tls checks the chain against the TLS store's anchors and
			// the host name; the store then adds its own rules and
			// revocation, which crypto/tls does not check. The anchor pool is
			// fixed when the client is built: after a reload a removed CA is
			// refused by the store check, a new one needs a new client.
			tc.RootCAs = ts.tlsPool
			tc.VerifyConnection = trust.VerifyConnection(h.tlsValidator, false)
		}
	}
	tr.TLSClientConfig = tc
	tr.MaxIdleConnsPerHost = max(2, cfg.Sender.Workers)
	tr.MaxIdleConns = max(100, 4*cfg.Sender.Workers)
	tr.IdleConnTimeout = 90 * time.Second
	return &http.Client{Timeout: cfg.Sender.RequestTimeout, Transport: tr}
}

// serverTLS: TLS 1.2 or 1.3 only. On the AS4 listener (h non-nil), client
// certificates are verified against the TLS trust store with its
// revocation checking; on the internal listeners against clientCAFile by
// crypto/tls (the backend identifies clients by certificate fingerprint).
func serverTLS(t config.TLS, h *trustHolder) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, err
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if h != nil && h.tlsValidator() != nil {
		switch t.ClientAuth {
		case "request":
			tc.ClientAuth = tls.RequestClientCert
		case "require":
			tc.ClientAuth = tls.RequireAnyClientCert
		default:
			return tc, nil
		}
		// The chain is checked by the store (VerifyConnection), not by
		// crypto/tls, so store intermediates, pinned partners and revocation
		// apply; ClientCAs only tells clients which CAs we accept.
		tc.VerifyConnection = trust.VerifyConnection(h.tlsValidator, tc.ClientAuth == tls.RequestClientCert)
		base := tc
		tc = base.Clone()
		tc.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
			c := base.Clone()
			if ts := h.get(); ts != nil {
				c.ClientCAs = ts.tlsPool
			}
			return c, nil
		}
		return tc, nil
	}
	switch t.ClientAuth {
	case "request":
		tc.ClientAuth = tls.RequestClientCert
	case "require":
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	if t.ClientCAFile != "" {
		certs, err := trust.LoadCertificatesFile(t.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("clientCAFile: %w", err)
		}
		pool := x509.NewCertPool()
		for _, c := range certs {
			pool.AddCert(c)
		}
		tc.ClientCAs = pool
		if tc.ClientAuth == tls.RequestClientCert {
			tc.ClientAuth = tls.VerifyClientCertIfGiven
		}
	}
	return tc, nil
}

// expiryWarning is how long before NotAfter a certificate is warned about.
const expiryWarning = 30 * 24 * time.Hour

// watchedCertificates lists our own certificates, the partners' and the
// trust stores' anchors, for expiry warnings and metrics.
func watchedCertificates(cfg *config.Config, identity *x509.Certificate, ts *trustSet) []trust.LabeledCertificate {
	out := []trust.LabeledCertificate{{Role: "identity", Name: cfg.Identity.PartyID, Certificate: identity}}
	if ts != nil && ts.TLSClient != nil {
		out = append(out, trust.LabeledCertificate{Role: "tls-client", Name: cfg.Identity.PartyID, Certificate: ts.TLSClient.Leaf})
	}
	for _, p := range cfg.PModes.Parties {
		if p.Name != cfg.PModes.Self && p.Certificate != nil {
			out = append(out, trust.LabeledCertificate{Role: "partner", Name: p.Name, Certificate: p.Certificate})
		}
	}
	if ts != nil {
		for _, v := range []*trust.Validator{ts.AS4, ts.TLS, ts.SMP} {
			if v == nil {
				continue
			}
			for _, a := range v.Store.Anchors() {
				out = append(out, trust.LabeledCertificate{Role: v.Name + "-anchor", Name: a.Subject.CommonName, Certificate: a})
			}
		}
	}
	return out
}

// logExpiry warns about certificates that expire within 30 days (an error
// once expired).
func logExpiry(log *slog.Logger, certs []trust.LabeledCertificate, now time.Time) {
	for _, n := range trust.ExpiringWithin(certs, now, expiryWarning) {
		attrs := []any{"role", n.Role, "name", n.Name, "subject", n.Certificate.Subject.String(),
			"notAfter", n.Certificate.NotAfter.UTC().Format(time.RFC3339), "fingerprint", trust.Fingerprint(n.Certificate)}
		if n.Expired() {
			log.Error("certificate has expired", attrs...)
		} else {
			log.Warn("certificate expires soon", append(attrs, "daysLeft", int(n.Left.Hours()/24))...)
		}
	}
}

// watchExpiry logs expiry warnings now and then daily until ctx ends. certs
// is called each time, so a reload's certificates are the ones checked.
func watchExpiry(ctx context.Context, log *slog.Logger, certs func() []trust.LabeledCertificate) {
	logExpiry(log, certs(), time.Now())
	t := time.NewTicker(24 * time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			logExpiry(log, certs(), now)
		}
	}
}

// instrumentTrust counts each store's revocation checks in the metrics. It
// changes ts in place, so call it before ts is in use.
func instrumentTrust(ts *trustSet, mx *metrics.Metrics) {
	for _, v := range []*trust.Validator{ts.AS4, ts.TLS, ts.SMP} {
		if v != nil {
			v.Revocation = mx.InstrumentRevocation(v.Name, v.Revocation)
		}
	}
}
