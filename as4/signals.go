package as4

import (
	"errors"
	"time"

	"github.com/as4gw/as4gw/as4/soap"
	"github.com/as4gw/as4gw/as4/wssec"
	"github.com/as4gw/as4gw/ebms"
	"github.com/as4gw/as4gw/trust"
)

// SignalOptions say how to build a receipt or error signal.
type SignalOptions struct {
	// Identity signs the signal; nil sends it unsigned (only for errors
	// where no identity is known yet).
	Identity        *trust.Identity
	SignatureMethod string
	DigestMethod    string
	// IDDomain is the right-hand side of generated MessageIds.
	IDDomain string
	Now      time.Time
}

// ReceiptEnvelope builds the signed ebMS Receipt with non-repudiation
// information for a verified inbound message (AS4 reception awareness), to
// be returned on the same HTTP exchange.
func ReceiptEnvelope(verified *wssec.Result, refToMessageID string, opts SignalOptions) ([]byte, error) {
	if verified == nil {
		return nil, errors.New("as4: a non-repudiation receipt needs the verified signature")
	}
	now := signalTime(opts.Now)
	m := wssec.NonRepudiationReceipt(verified, refToMessageID, ebms.NewMessageID(opts.IDDomain), now)
	return signalEnvelope(m, opts)
}

// ErrorEnvelope builds an ebMS Error signal (signed when an identity is
// given) reporting errs about the message refToMessageID ("" when it could
// not be read).
func ErrorEnvelope(errs []ebms.Error, refToMessageID string, opts SignalOptions) ([]byte, error) {
	if len(errs) == 0 {
		return nil, errors.New("as4: an error signal needs at least one error")
	}
	now := signalTime(opts.Now)
	m := &ebms.Messaging{
		MustUnderstand: true,
		SignalMessages: []*ebms.SignalMessage{{
			MessageInfo: ebms.MessageInfo{Timestamp: now, MessageID: ebms.NewMessageID(opts.IDDomain), RefToMessageID: refToMessageID},
			Errors:      errs,
		}},
	}
	return signalEnvelope(m, opts)
}

func signalEnvelope(m *ebms.Messaging, opts SignalOptions) ([]byte, error) {
	env := soap.NewEnvelope(soap.SOAP12)
	env.EnsureHeader().AddChild(m.Encode(ebms.EncodeOptions{SOAPPrefix: env.Root.Space}))
	if opts.Identity != nil {
		_, err := wssec.Sign(wssec.EnvelopeFromSOAP(env), nil, wssec.SignOptions{
			Key: opts.Identity.Signer, Certificate: opts.Identity.Certificate,
			SignatureMethod: opts.SignatureMethod, DigestMethod: opts.DigestMethod, Now: opts.Now,
		})
		if err != nil {
			return nil, err
		}
	}
	return env.Bytes()
}

func signalTime(t time.Time) time.Time {
	if t.IsZero() {
		t = time.Now()
	}
	return t.UTC()
}

// CopyReceiptEnvelope builds a receipt holding a copy of the UserMessage, for
// legs that accept unsigned messages (there is no signature to give
// non-repudiation information about).
func CopyReceiptEnvelope(u *ebms.UserMessage, opts SignalOptions) ([]byte, error) {
	now := signalTime(opts.Now)
	cp := *u
	m := &ebms.Messaging{
		MustUnderstand: true,
		SignalMessages: []*ebms.SignalMessage{{
			MessageInfo: ebms.MessageInfo{Timestamp: now, MessageID: ebms.NewMessageID(opts.IDDomain), RefToMessageID: u.MessageInfo.MessageID},
			Receipt:     &ebms.Receipt{UserMessage: &cp},
		}},
	}
	return signalEnvelope(m, opts)
}
