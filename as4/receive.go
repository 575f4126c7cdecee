package as4

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/as4gw/as4gw/as4/soap"
	"github.com/as4gw/as4gw/as4/wssec/xenc"
	"github.com/as4gw/as4gw/ebms"
	"github.com/as4gw/as4gw/pmode"
	"github.com/as4gw/as4gw/store"
	"github.com/as4gw/as4gw/xhe"
)

// ServeHTTP is the AS4 endpoint (POST /as4, /services/msh). It answers a
// UserMessage with a signed receipt once the message is durably stored, a
// duplicate with the original receipt, and anything it refuses with an ebMS
// Error signal: HTTP 200 for ebMS-level errors (the response is a valid ebMS
// message), 4xx for input that is not an AS4 message at all, 413 when a limit
// is exceeded, 503 when our own storage fails (so the peer retries). It never
// answers 500 for bad input.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "AS4 endpoint: POST an AS4 message", http.StatusMethodNotAllowed)
		return
	}
	g = g.current() // one configuration for the whole message, whatever a reload does meanwhile
	ctx := r.Context()
	var leg *pmode.Leg
	partner := ""
	start := time.Now()
	defer func() { g.observer().InboundDuration(time.Since(start)) }()
	in, err := OpenInbound(r.Body, r.Header.Get("Content-Type"), InboundConfig{
		Identity: g.Identity, Limits: g.Limits, SpoolDir: g.SpoolDir, Now: g.Now,
		Payloads: g.Store, Context: ctx,
	}, func(m *ebms.Messaging) (InboundPolicy, error) {
		if m.UserMessage == nil {
			// Receipts and errors come on the HTTP response of our own
			// requests; a one-way push partner never pushes signals.
			return InboundPolicy{}, &ebms.ValidationError{Code: ebms.CodeFeatureNotSupported, Element: "eb:SignalMessage",
				Detail: "signal messages are accepted only as responses (one-way push, reply pattern response)"}
		}
		partner = g.partnerName(m.UserMessage.PartyInfo.From.PartyIDs)
		l, err := g.PModes.MatchInbound(m.UserMessage)
		if err != nil {
			return InboundPolicy{}, err
		}
		leg = l
		var expected = g.partnerCertificate(m.UserMessage.PartyInfo.From.PartyIDs)
		return InboundPolicy{
			Signature:         l.SecurityPolicy(),
			RequireEncryption: l.Security.Encrypt,
			Validator:         g.signerValidator(expected),
			Lookup:            g.Trust.Index(),
		}, nil
	})
	if err != nil {
		g.observer().Received(leg, partner, ReceivedRefused)
		g.refuse(w, err)
		return
	}
	defer in.Close()
	status, body, err := g.accept(ctx, in, leg)
	if err != nil {
		g.observer().Received(leg, partner, ReceivedRefused)
		g.refuse(w, err)
		return
	}
	w.Header().Set("Content-Type", soap.SOAP12.ContentType())
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// partnerCertificate returns the certificate the P-Mode configures for the
// sending party, if any.
func (g *Gateway) partnerCertificate(ids []ebms.PartyID) *x509.Certificate {
	for _, id := range ids {
		if p := g.PModes.PartyByID(pmode.PartyID{Value: id.Value, Type: id.Type}); p != nil {
			return p.Certificate
		}
	}
	return nil
}

// accept stores a verified UserMessage and returns the receipt to send. A
// duplicate returns the receipt stored with the original.
func (g *Gateway) accept(ctx context.Context, in *Inbound, leg *pmode.Leg) (int, []byte, error) {
	u := in.Messaging.UserMessage
	ref := u.MessageInfo.MessageID
	if err := leg.CheckProperties(u.MessageProperties); err != nil {
		return 0, nil, failure(err, ref)
	}
	// Sizes by PartInfo href, as CheckPayloads looks them up; these are the
	// decrypted (still compressed) sizes.
	sizes := map[string]int64{}
	for _, pi := range u.PayloadInfo {
		if a, err := in.Message.AttachmentByCID(pi.Href); err == nil {
			sizes[pi.Href] = a.Size
		}
	}
	if err := leg.CheckPayloads(u.PayloadInfo, sizes); err != nil {
		return 0, nil, failure(err, ref)
	}
	m := storeMessage(u, leg)
	m.PeerAP = store.PeerAP{PartyID: firstPartyID(u.PartyInfo.From)}
	if in.Verified != nil {
		m.PeerAP.CertSHA256 = fingerprint(in.Verified.Certificate)
	}
	if g.Serves != nil && !g.Serves(m.Recipient()) {
		e := ebms.CodeOther.NewError(ref, "NOT_SERVICED")
		e.Description = &ebms.Description{Lang: "en", Text: fmt.Sprintf("recipient %s is not served by this access point", m.Recipient())}
		return 0, nil, &Failure{Signal: e, RefToMessageID: ref, Status: http.StatusOK, Err: errors.New("finalRecipient not served here")}
	}

	// A resend of a message we already hold is answered without storing its
	// payloads again (Receive below still catches a concurrent duplicate).
	if prior, err := g.Store.Find(ctx, store.Inbound, ref); err == nil {
		for _, p := range prior {
			if p.From == m.From {
				receipt, err := g.receiptFor(in, u)
				if err != nil {
					return 0, nil, storageFailure(err, ref)
				}
				g.observer().Received(leg, g.partnerName(u.PartyInfo.From.PartyIDs), ReceivedDuplicate)
				return http.StatusOK, g.duplicateReceipt(p, receipt, ref), nil
			}
		}
	}

	// Payloads: decompressed (bombs and corrupt gzip refused here, before
	// any receipt) and made durable before the metadata commit.
	var blobs []store.BlobRef
	discard := func() {
		for _, b := range blobs {
			g.Store.DiscardPayload(context.WithoutCancel(ctx), b)
		}
	}
	for i := range u.PayloadInfo {
		pi := &u.PayloadInfo[i]
		att, err := in.Message.AttachmentByCID(pi.Href)
		if err != nil {
			discard()
			return 0, nil, failure(err, ref)
		}
		if blob, ok := in.Streamed(att.ContentID); ok {
			// Stored while it arrived; Inbound.Close discards it unless
			// the message commits.
			m.Payloads[i].Blob, m.Payloads[i].Size, m.Payloads[i].SHA256 = blob.Ref, blob.Size, blob.SHA256
			continue
		}
		rc, err := xenc.OpenPayload(att, pi, g.Limits.WithDefaults().MaxDecompressedBytes)
		if err != nil {
			discard()
			return 0, nil, failure(err, ref)
		}
		blob, err := g.Store.PutPayload(ctx, rc)
		rc.Close()
		if err != nil {
			discard()
			var pe *xenc.PayloadError
			if errors.As(err, &pe) {
				return 0, nil, failure(err, ref)
			}
			return 0, nil, storageFailure(err, ref)
		}
		blobs = append(blobs, blob.Ref)
		m.Payloads[i].Blob, m.Payloads[i].Size, m.Payloads[i].SHA256 = blob.Ref, blob.Size, blob.SHA256
	}

	if leg.Envelope == pmode.EnvelopeXHE {
		if err := g.checkXHE(ctx, u, m); err != nil {
			discard()
			return 0, nil, err
		}
	}

	receipt, err := g.receiptFor(in, u)
	if err != nil {
		discard()
		return 0, nil, storageFailure(err, ref)
	}
	m.Receipt = receipt
	stored, err := g.Store.Receive(ctx, m)
	switch {
	case errors.Is(err, store.ErrDuplicate):
		discard()
		g.observer().Received(leg, g.partnerName(u.PartyInfo.From.PartyIDs), ReceivedDuplicate)
		return http.StatusOK, g.duplicateReceipt(stored, receipt, ref), nil
	case err != nil:
		discard()
		return 0, nil, storageFailure(err, ref)
	}
	in.Keep()
	g.observer().Received(leg, g.partnerName(u.PartyInfo.From.PartyIDs), ReceivedStored)
	g.log().Info("message received", "messageId", ref, "conversationId", m.ConversationID,
		"from", m.PeerAP.PartyID, "originalSender", m.OriginalSender.String(), "finalRecipient", m.FinalRecipient.String(),
		"leg", m.LegName, "payloads", len(m.Payloads), "outcome", string(stored.State))
	return http.StatusOK, receipt.Raw, nil
}

// checkXHE reads the stored (decompressed) "message" payload as an XHE
// envelope and checks it and the AS4 headers against each other (SDK). A
// malformed envelope or one that contradicts the headers is refused with
// EBMS:0004 (NOT_SERVICED where the profile says so), logged with the reason,
// and never stored or delivered.
func (g *Gateway) checkXHE(ctx context.Context, u *ebms.UserMessage, m store.Message) error {
	ref := u.MessageInfo.MessageID
	refuse := func(err error) error {
		var xe *xhe.Error
		if !errors.As(err, &xe) {
			return storageFailure(err, ref)
		}
		g.log().Warn("XHE envelope refused", "messageId", ref, "kind", xe.Kind.String(), "reason", xe.Error())
		return &Failure{Signal: xe.EBMSError(ref), RefToMessageID: ref, Status: http.StatusOK, Err: err}
	}
	var blob store.BlobRef
	for _, p := range m.Payloads {
		if strings.EqualFold(p.ContentID, pmode.EnvelopePartID) {
			blob = p.Blob
		}
	}
	if blob == "" {
		return refuse(&xhe.Error{Kind: xhe.KindMalformed, Problems: []xhe.Problem{{Path: "eb:PayloadInfo", Msg: "no cid:" + pmode.EnvelopePartID + " payload carries the XHE envelope"}}})
	}
	r, err := g.Store.OpenPayload(ctx, blob)
	if err != nil {
		return storageFailure(err, ref)
	}
	defer r.Close()
	env, err := xhe.Parse(r, xhe.Limits{})
	if err != nil {
		return refuse(err)
	}
	if err := env.Check(); err != nil {
		return refuse(err)
	}
	if err := xhe.CheckAgainst(u, env); err != nil {
		return refuse(err)
	}
	return nil
}

// duplicateReceipt answers a message we already hold. A byte-identical
// resend (same signed references) gets the original receipt again. A resend
// the sender rebuilt (after a lost receipt or a crash: fresh encryption and
// signature, same MessageId) gets a receipt for what it sent now, so that its
// NRR check passes; it is neither stored nor delivered a second time.
func (g *Gateway) duplicateReceipt(stored store.Message, fresh *store.Receipt, ref string) []byte {
	identical := stored.Receipt != nil && len(stored.Receipt.Raw) > 0 && bytes.Equal(stored.Receipt.NRR, fresh.NRR)
	g.log().Info("duplicate received", "messageId", ref, "from", stored.PeerAP.PartyID, "identicalResend", identical, "outcome", "duplicate")
	if identical {
		return stored.Receipt.Raw
	}
	return fresh.Raw
}

// receiptFor builds the signed receipt: non-repudiation information when the
// message was signed, else a copy of the UserMessage.
func (g *Gateway) receiptFor(in *Inbound, u *ebms.UserMessage) (*store.Receipt, error) {
	opts := g.signalOptions()
	var raw []byte
	var err error
	var nrr []byte
	if in.Verified != nil {
		raw, err = ReceiptEnvelope(in.Verified, u.MessageInfo.MessageID, opts)
		refs := make([]ebms.Reference, len(in.Verified.References))
		for i, r := range in.Verified.References {
			refs[i] = r.Reference
		}
		nrr, _ = json.Marshal(refs)
	} else {
		raw, err = CopyReceiptEnvelope(u, opts)
	}
	if err != nil {
		return nil, err
	}
	return &store.Receipt{Time: opts.Now.UTC(), Raw: raw, NRR: nrr}, nil
}

// refuse answers with an ebMS Error signal, signed where we can.
func (g *Gateway) refuse(w http.ResponseWriter, err error) {
	f := failure(err, "")
	var ff *Failure
	if errors.As(err, &ff) {
		f = ff
	}
	if code, ok := securityCode(f); ok {
		g.observer().SecurityFailure(code)
	}
	g.log().Warn("message refused", "messageId", f.RefToMessageID, "code", string(f.Signal.ErrorCode),
		"detail", f.Signal.ErrorDetail, "outcome", "refused", "error", err.Error())
	body, berr := ErrorEnvelope([]ebms.Error{f.Signal}, f.RefToMessageID, g.signalOptions())
	if berr != nil {
		http.Error(w, "cannot build the ebMS error signal", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", soap.SOAP12.ContentType())
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(f.Status)
	w.Write(body)
}

// storageFailure is our fault, not the peer's: EBMS:0004 with HTTP 503 so
// that the sender retries later.
func storageFailure(err error, ref string) *Failure {
	return &Failure{Signal: ebms.CodeOther.NewError(ref, "temporarily unable to store the message"),
		RefToMessageID: ref, Status: http.StatusServiceUnavailable, Err: err}
}
