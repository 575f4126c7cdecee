package as4

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/as4gw/as4gw/as4/soap"
	"github.com/as4gw/as4gw/as4/wssec"
	"github.com/as4gw/as4gw/pmode"
	"github.com/as4gw/as4gw/store"
	"github.com/as4gw/as4gw/trust"
)

// Store is what the MSH needs from persistence.
type Store interface {
	store.Payloads
	store.Messages
	store.Queue
	store.Events
}

// Gateway is the MSH of one access-point identity: the inbound HTTP handler
// and the outbound sender share it.
type Gateway struct {
	Identity *trust.Identity
	PartyID  pmode.PartyID
	PModes   *pmode.Set
	// Trust is the AS4 trust store partner signing certificates must chain
	// to (a partner certificate pinned in it counts).
	Trust *trust.Store
	Store Store
	// Serves reports whether a participant (finalRecipient) has a backend
	// here; messages for others are refused with EBMS:0004 NOT_SERVICED.
	Serves   func(store.PartyID) bool
	Limits   soap.Limits
	SpoolDir string
	Log      *slog.Logger
	Now      func() time.Time
	// HTTPClient sends outbound messages; its timeout bounds one attempt.
	HTTPClient *http.Client
	// Workers is the number of concurrent sends (default 8).
	Workers int
	// PollInterval is how often the queue is checked when idle (default 1s).
	PollInterval time.Duration
	// AllowPlainHTTP permits http:// partner endpoints; otherwise only https://.
	AllowPlainHTTP bool
	// Lease is how long a claimed message is held by a worker before it is
	// considered abandoned (default: the HTTP timeout plus a minute).
	Lease time.Duration
	// Observer receives events for metrics (nil: none); see observe.go.
	Observer Observer
}

func (g *Gateway) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

func (g *Gateway) log() *slog.Logger {
	if g.Log != nil {
		return g.Log
	}
	return slog.Default()
}

// idDomain is the right-hand side of the MessageIds we generate.
func (g *Gateway) idDomain() string {
	if g.PartyID.Value != "" {
		return g.PartyID.Value
	}
	return "as4gw"
}

func (g *Gateway) signalOptions() SignalOptions {
	return SignalOptions{Identity: g.Identity, IDDomain: g.idDomain(), Now: g.now()}
}

// signerValidator checks a partner's signing certificate: it chains to the
// AS4 trust store at the verification time, has the signing key usage, and,
// when the P-Mode names the partner's certificate, is that certificate
// (party binding).
func (g *Gateway) signerValidator(expected *x509.Certificate) wssec.CertificateValidator {
	return wssec.ValidatorFunc(func(cert *x509.Certificate, inter []*x509.Certificate, at time.Time) error {
		if g.Trust == nil {
			return errors.New("no AS4 trust store configured")
		}
		if _, err := g.Trust.Verify(cert, inter, trust.VerifyOptions{At: at, KeyUsage: trust.KeyUsageSigning}); err != nil {
			return err
		}
		if expected != nil && !expected.Equal(cert) {
			return fmt.Errorf("signed with %s, but the P-Mode names %s for this party", cert.Subject, expected.Subject)
		}
		return nil
	})
}

// Run sends outbound messages until ctx is cancelled; see sender.go.
func (g *Gateway) Run(ctx context.Context) error {
	return g.runSender(ctx)
}
