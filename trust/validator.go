package trust

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// Validator is one trust domain of the gateway (AS4 message security, TLS,
// or SMP signatures): its Store, its own revocation checker and the policy
// for checks that give no answer. The three domains never share a Validator,
// a Store or a checker cache, so a certificate trusted for TLS is not
// thereby trusted to sign AS4 messages, and another federation's CA in one
// store does not leak into the others.
//
// A Validator is immutable after construction and safe for concurrent use;
// a configuration reload builds new ones.
type Validator struct {
	// Name identifies the domain in errors and logs: "as4", "tls", "smp".
	Name  string
	Store *Store
	// Revocation checks every non-anchor chain certificate; nil means no
	// check (recorded as a warning by Store.Verify).
	Revocation RevocationChecker
	// Policy decides what a check without an answer means.
	Policy RevocationPolicy
	// Warn receives what was accepted but belongs in the log (soft-failed
	// revocation checks, revocation not checked); nil drops it.
	Warn func(msg string, args ...any)
	// Now is the clock for TLS handshakes; nil means time.Now.
	Now func() time.Time

	warned WarnLimiter // the same warning about one certificate once per WarningRepeat
}

// Verify validates cert with the domain's store, revocation checker and
// policy. opts.Revocation and opts.RevocationPolicy are replaced by the
// Validator's own.
func (v *Validator) Verify(ctx context.Context, cert *x509.Certificate, intermediates []*x509.Certificate, opts VerifyOptions) (*Result, error) {
	if v == nil || v.Store == nil {
		return nil, errors.New("trust: no trust store configured")
	}
	opts.Revocation = v.Revocation
	opts.RevocationPolicy = v.Policy
	res, err := v.Store.VerifyContext(ctx, cert, intermediates, opts)
	if err != nil {
		return nil, err
	}
	if v.Warn != nil {
		for _, w := range res.Warnings {
			if v.warned.Allow(cert, w, time.Now()) {
				v.Warn("certificate accepted with a warning", "trustStore", v.Name, "certificate", describe(cert), "warning", w,
					"repeatsSuppressedFor", WarningRepeat.String())
			}
		}
	}
	return res, nil
}

// TLSPeerError is a refused TLS peer certificate; Err is the trust error
// (*UntrustedError, *RevokedError, ...).
type TLSPeerError struct {
	Store string
	Err   error
}

func (e *TLSPeerError) Error() string {
	return fmt.Sprintf("TLS peer certificate refused by trust store %q: %v", e.Store, e.Err)
}

func (e *TLSPeerError) Unwrap() error { return e.Err }

// VerifyTLSPeer validates the certificates a TLS peer presented (leaf
// first, as in tls.ConnectionState.PeerCertificates). Extra certificates
// serve only to build the chain. An empty list is an error: callers that
// accept peers without certificates check that first.
func (v *Validator) VerifyTLSPeer(ctx context.Context, certs []*x509.Certificate) (*Result, error) {
	if len(certs) == 0 {
		return nil, &TLSPeerError{Store: v.name(), Err: errors.New("the peer sent no certificate")}
	}
	if v == nil {
		return nil, &TLSPeerError{Store: v.name(), Err: errors.New("no TLS trust store configured")}
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	res, err := v.Verify(ctx, certs[0], certs[1:], VerifyOptions{At: now()})
	if err != nil {
		return nil, &TLSPeerError{Store: v.name(), Err: err}
	}
	return res, nil
}

func (v *Validator) name() string {
	if v == nil || v.Name == "" {
		return "tls"
	}
	return v.Name
}

// VerifyConnection returns a tls.Config.VerifyConnection callback that
// validates the peer with the Validator current at handshake time (get is
// called per handshake, so a reload that swaps Validators applies to new
// connections). With optional set, a peer without a certificate passes (a
// server with clientAuth "request"); its identity is then simply unknown.
//
// Go has already checked the chain against tls.Config.RootCAs or ClientCAs
// (and the host name, on the client side) when this runs, unless that
// verification is switched off; this adds the store's own rules and
// revocation, which crypto/tls does not check.
func VerifyConnection(get func() *Validator, optional bool) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 && optional {
			return nil
		}
		v := get()
		if v == nil {
			return errors.New("TLS peer certificate refused: no TLS trust store configured")
		}
		ctx, cancel := context.WithTimeout(context.Background(), tlsRevocationTimeout)
		defer cancel()
		_, err := v.VerifyTLSPeer(ctx, cs.PeerCertificates)
		return err
	}
}

// tlsRevocationTimeout bounds the revocation checks of one handshake, so
// that a slow responder cannot hold a connection (and a server goroutine)
// for the sum of several checker timeouts.
const tlsRevocationTimeout = 20 * time.Second

// CertPool returns the store's anchors as a pool, for tls.Config.RootCAs and
// ClientCAs (the CA names a server sends in its CertificateRequest).
func (s *Store) CertPool() *x509.CertPool {
	pool := x509.NewCertPool()
	for _, a := range s.Anchors() {
		pool.AddCert(a)
	}
	return pool
}
