package as4

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/as4gw/as4gw/as4/soap"
	"github.com/as4gw/as4gw/as4/wssec"
	"github.com/as4gw/as4gw/as4/wssec/xenc"
	"github.com/as4gw/as4gw/ebms"
	"github.com/as4gw/as4gw/store"
	"github.com/as4gw/as4gw/trust"
)

// InboundPolicy is what the P-Mode leg (or, for signals, the sending leg)
// demands of an inbound message.
type InboundPolicy struct {
	Signature         wssec.Policy
	RequireEncryption bool
	// Validator checks the signer (trust store, revocation, party binding).
	Validator wssec.CertificateValidator
	// Lookup resolves IssuerSerial / SKI references to partner certificates.
	Lookup wssec.CertificateLookup
}

// InboundConfig is fixed per identity: our key for decryption, limits, spool
// directory and clock.
type InboundConfig struct {
	Identity *trust.Identity
	Limits   soap.Limits
	SpoolDir string
	Now      func() time.Time
	// Payloads, when set, lets OpenInbound decrypt, decompress and store a
	// large payload while it arrives instead of spooling it first
	// (inbound_stream.go); the blobs are in Inbound.Streamed.
	Payloads PayloadStore
	// Context bounds that storing.
	Context context.Context
}

func (c InboundConfig) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Inbound is a received message after the security checks: the parsed MIME
// message (attachments decrypted in place), its ebMS header read from the
// verified tree, and the verified signature (nil only when the policy let an
// unsigned message through).
type Inbound struct {
	Message   *soap.Message
	Messaging *ebms.Messaging
	Verified  *wssec.Result

	// streamed are the payloads stored while they arrived, by Content-ID:
	// staged until Keep, discarded by Close otherwise.
	streamed map[string]store.Blob
	payloads PayloadStore
	ctx      context.Context
	kept     bool
}

// Streamed returns the blob of a payload stored while it arrived, if the
// attachment was one.
func (in *Inbound) Streamed(contentID string) (store.Blob, bool) {
	b, ok := in.streamed[contentID]
	return b, ok
}

// Keep tells Close that a message referencing the streamed payloads has been
// committed: they are no longer staged.
func (in *Inbound) Keep() { in.kept = true }

// Close removes the spooled attachments and the streamed payloads not kept.
func (in *Inbound) Close() {
	if in == nil {
		return
	}
	if in.Message != nil {
		in.Message.Close()
	}
	in.discardStreamed()
}

func (in *Inbound) discardStreamed() {
	if in.kept {
		return
	}
	for cid, b := range in.streamed {
		in.payloads.DiscardPayload(context.WithoutCancel(in.ctx), b.Ref)
		delete(in.streamed, cid)
	}
}

// Failure is a rejected inbound message: the ebMS error to answer with and,
// when the header could be read, the MessageId it refers to.
type Failure struct {
	Signal         ebms.Error
	RefToMessageID string
	// Status is the HTTP status for the response.
	Status int
	Err    error
}

func (f *Failure) Error() string {
	return fmt.Sprintf("%s %s: %v", f.Signal.ErrorCode, f.Signal.ShortDescription, f.Err)
}

func (f *Failure) Unwrap() error { return f.Err }

// OpenInbound reads and checks an inbound AS4 message: MIME and SOAP with
// limits, the ebMS header, then policyFor (the P-Mode match on the still
// unverified header, which only selects what to demand), decryption,
// signature verification and payload consistency. Every rejection is a
// *Failure carrying the EBMS code. On success the caller owns the result and
// must Close it.
func OpenInbound(body io.Reader, contentType string, cfg InboundConfig, policyFor func(*ebms.Messaging) (InboundPolicy, error)) (*Inbound, error) {
	if cfg.Context == nil {
		cfg.Context = context.Background()
	}
	in := &Inbound{payloads: cfg.Payloads, ctx: cfg.Context}
	var (
		m   *ebms.Messaging
		pol InboundPolicy
		ref string
		st  *streamer
	)
	// The header is read and the policy chosen as soon as the root part is
	// in, before any attachment: a large part can then be processed while
	// it arrives, and a message we refuse anyway is not spooled.
	afterRoot := func(msg *soap.Message) (soap.StreamFunc, error) {
		el, err := ebms.FindMessaging(msg.Envelope.Header)
		if err != nil {
			return nil, failure(err, "")
		}
		if m, err = ebms.Decode(el); err != nil {
			return nil, failure(err, "")
		}
		ref = primaryMessageID(m)
		if pol, err = policyFor(m); err != nil {
			return nil, failure(err, ref)
		}
		if cfg.Payloads == nil || m.UserMessage == nil {
			return nil, nil
		}
		st = &streamer{ctx: cfg.Context, cfg: cfg, in: in, msg: msg, m: m, pol: pol, ref: ref}
		return st.stream, nil
	}
	msg, err := soap.ReadMessageWith(body, contentType, cfg.Limits, cfg.SpoolDir, soap.ReadOptions{AfterRoot: afterRoot})
	var dec *xenc.Decryption
	if st != nil {
		dec = st.dec
	}
	defer func() {
		if dec != nil {
			dec.Close()
		}
	}()
	if err != nil {
		in.discardStreamed()
		var f *Failure
		var he *soap.HandlerError
		switch {
		case errors.As(err, &f):
			return nil, f
		case errors.As(err, &he):
			return nil, failure(he.Err, ref)
		}
		f = readFailure(err)
		f.RefToMessageID = ref
		f.Signal.RefToMessageInError = ref
		return nil, f
	}
	in.Message = msg
	ok := false
	defer func() {
		if !ok {
			in.Close()
		}
	}()
	env := wssec.EnvelopeFromSOAP(msg.Envelope)
	if cfg.Identity != nil {
		if dec == nil {
			if dec, err = xenc.PrepareDecryption(env, cfg.Identity, xenc.DecryptOptions{
				RequireEncryption: pol.RequireEncryption, Lookup: pol.Lookup,
			}); err != nil {
				return nil, failure(err, ref)
			}
		}
		if _, err := dec.Apply(msg); err != nil {
			return nil, failure(err, ref)
		}
	} else if pol.RequireEncryption && len(msg.Attachments) > 0 {
		return nil, failure(&wssec.Error{Code: ebms.CodePolicyNoncompliance, Check: "encryption", Detail: "no decryption key configured"}, ref)
	}
	res, err := wssec.Verify(env, wssec.AttachmentsFromSOAP(msg.Attachments), wssec.VerifyOptions{
		Policy: pol.Signature, At: cfg.now(), Validator: pol.Validator, Lookup: pol.Lookup,
	})
	switch {
	case err == nil:
		in.Verified = res
	case wssec.IsUnsigned(err) && !pol.Signature.RequireSignature:
	default:
		return nil, failure(err, ref)
	}
	if m.UserMessage != nil {
		if err := checkPayloads(m.UserMessage, msg); err != nil {
			return nil, failure(err, ref)
		}
	}
	in.Messaging = m
	ok = true
	return in, nil
}

// checkPayloads makes sure every PartInfo names exactly one MIME part, every
// MIME part is named by a PartInfo, and compression types are known.
func checkPayloads(u *ebms.UserMessage, msg *soap.Message) error {
	named := map[*soap.Attachment]bool{}
	for i := range u.PayloadInfo {
		pi := &u.PayloadInfo[i]
		if pi.IsBodyPayload() {
			continue
		}
		att, err := msg.AttachmentByCID(pi.Href)
		if err != nil {
			return &ebms.ValidationError{Code: ebms.CodeValueInconsistent, Element: "eb:PayloadInfo/eb:PartInfo", Detail: fmt.Sprintf("%s names no MIME part: %v", pi.Href, err)}
		}
		named[att] = true
		if err := xenc.CheckCompression(pi); err != nil {
			return err
		}
	}
	for _, a := range msg.Attachments {
		if !named[a] {
			return &ebms.ValidationError{Code: ebms.CodeValueInconsistent, Element: "eb:PayloadInfo", Detail: fmt.Sprintf("MIME part <%s> is not described by any eb:PartInfo", a.ContentID)}
		}
	}
	return nil
}

func primaryMessageID(m *ebms.Messaging) string {
	if m.UserMessage != nil {
		return m.UserMessage.MessageInfo.MessageID
	}
	if len(m.SignalMessages) > 0 {
		return m.SignalMessages[0].MessageInfo.MessageID
	}
	return ""
}

// failure maps an error from any layer to the ebMS error to answer with.
func failure(err error, ref string) *Failure {
	var f *Failure
	if errors.As(err, &f) {
		return f
	}
	code, detail := ebms.CodeOther, err.Error()
	var we *wssec.Error
	var ve *ebms.ValidationError
	var pe *xenc.PayloadError
	var coded interface{ EBMSCode() ebms.Code }
	switch {
	case errors.As(err, &we):
		code = we.Code
	case errors.As(err, &ve):
		code = ve.Code
	case errors.As(err, &pe):
		code = pe.Code
	case errors.As(err, &coded):
		code = coded.EBMSCode()
	}
	e := code.NewError(ref, detail)
	return &Failure{Signal: e, RefToMessageID: ref, Status: 200, Err: err}
}

// readFailure maps MIME/SOAP reading errors: limits and broken packaging.
func readFailure(err error) *Failure {
	var le *soap.LimitError
	var me *soap.MIMEError
	var ee *soap.EnvelopeError
	var se *soap.SpoolError
	f := failure(err, "")
	switch {
	case errors.As(err, &se):
		// Our disk, not the peer's fault: a 503 tells it to retry.
		f.Signal = ebms.CodeOther.NewError("", "temporarily unable to store the message")
		f.Status = 503
	case errors.As(err, &le):
		f.Signal = ebms.CodeOther.NewError("", err.Error())
		f.Status = 413
	case errors.As(err, &me):
		f.Signal = ebms.CodeMimeInconsistency.NewError("", err.Error())
		f.Status = 400
	case errors.As(err, &ee):
		f.Signal = ebms.CodeInvalidHeader.NewError("", err.Error())
		f.Status = 400
	default:
		f.Status = 400
	}
	return f
}
