package as4

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
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
	// Revocation checks partner signing certificates (inbound messages and
	// receipts) under RevocationPolicy; nil: not checked (logged as such).
	Revocation       trust.RevocationChecker
	RevocationPolicy trust.RevocationPolicy
	// CheckPartnerCert, when set, vets the receiver's certificate before
	// each send (trust chain and revocation, SDK TF-02); see partnercert.go.
	CheckPartnerCert func(ctx context.Context, cert *x509.Certificate) error
	Store            Store
	// Serves reports whether a participant (finalRecipient) has a backend
	// here; messages for others are refused with EBMS:0004 NOT_SERVICED.
	Serves   func(store.PartyID) bool
	Limits   soap.Limits
	SpoolDir string
	Log      *slog.Logger
	Now      func() time.Time
	// HTTPClient sends outbound messages; its timeout bounds one attempt.
	HTTPClient *http.Client
	// Workers is the number of concurrent sends (default 32); one partner holds at most half.
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
	// Discovery finds the receiving access point of messages submitted for a
	// finalRecipient without a configured party (SDK: SML + SMP); nil: off.
	Discovery Discoverer
	// Live, when set, holds the P-Modes and trust in force and replaces PModes, Trust,
	// Revocation and RevocationPolicy: a reload (SIGHUP) swaps it while the gateway
	// runs. Nil: they are fixed.
	Live *Live
}

// LiveConfig is the part of a gateway's configuration a reload can replace.
type LiveConfig struct {
	PModes           *pmode.Set
	Trust            *trust.Store
	Revocation       trust.RevocationChecker
	RevocationPolicy trust.RevocationPolicy
}

// Live holds the LiveConfig in force. A reload stores a new one; messages already being
// processed keep the one they started with (see current).
type Live struct{ p atomic.Pointer[LiveConfig] }

// NewLive returns a Live holding c.
func NewLive(c LiveConfig) *Live {
	l := &Live{}
	l.Store(c)
	return l
}

// Load returns the configuration in force.
func (l *Live) Load() LiveConfig { return *l.p.Load() }

// Store puts c in force for messages that start from now on.
func (l *Live) Store(c LiveConfig) { l.p.Store(&c) }

// current returns the gateway as configured now: with Live set, a shallow copy carrying
// the live P-Modes and trust store, which one message (inbound request or outbound
// attempt) uses from start to end, so a reload never changes the rules half way through
// a message. The copy is safe because Gateway holds no locks or counters by value; keep
// it that way (state shared between messages goes behind a pointer).
func (g *Gateway) current() *Gateway {
	if g.Live == nil {
		return g
	}
	c := g.Live.Load()
	cp := *g
	cp.PModes, cp.Trust, cp.Revocation, cp.RevocationPolicy = c.PModes, c.Trust, c.Revocation, c.RevocationPolicy
	return &cp
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

// signerWarnings keeps a partner certificate's warning (e.g. revocation not checked)
// from being logged for every message it signs.
var signerWarnings trust.WarnLimiter

// signerValidator checks a partner's signing certificate: it chains to the
// AS4 trust store at the verification time, has the signing key usage, and,
// when the P-Mode names the partner's certificate, is that certificate
// (party binding).
func (g *Gateway) signerValidator(expected *x509.Certificate) wssec.CertificateValidator {
	return wssec.ValidatorFunc(func(cert *x509.Certificate, inter []*x509.Certificate, at time.Time) error {
		if g.Trust == nil {
			return errors.New("no AS4 trust store configured")
		}
		res, err := g.Trust.Verify(cert, inter, trust.VerifyOptions{At: at, KeyUsage: trust.KeyUsageSigning,
			Revocation: g.Revocation, RevocationPolicy: g.RevocationPolicy})
		if err != nil {
			return err
		}
		if g.Revocation != nil {
			for _, w := range res.Warnings {
				// Keyed by our party too: identities in one process log their own.
				if signerWarnings.Allow(cert, g.PartyID.Value+"\x00"+w, time.Now()) {
					g.log().Warn("partner certificate accepted with a warning", "subject", cert.Subject.String(), "warning", w,
						"repeatsSuppressedFor", trust.WarningRepeat.String())
				}
			}
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
