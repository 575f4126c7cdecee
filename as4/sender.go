package as4

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/as4gw/as4gw/as4/soap"
	"github.com/as4gw/as4gw/as4/wssec"
	"github.com/as4gw/as4gw/ebms"
	"github.com/as4gw/as4gw/pmode"
	"github.com/as4gw/as4gw/store"
)

// shutdownGrace is how long in-flight sends may finish after Run's context
// is cancelled. A send cut off later simply keeps its lease; the store makes
// it due again on the next start, and the partner's duplicate detection
// absorbs a resend of a message it had already stored.
const shutdownGrace = 10 * time.Second

// runSender claims due messages and sends them with a bounded worker pool.
// A partner that keeps failing is put in backoff and may hold at most half
// the workers, so traffic to healthy partners keeps its pace.
func (g *Gateway) runSender(ctx context.Context) error {
	workers := g.Workers
	if workers <= 0 {
		workers = 32
	}
	poll := g.PollInterval
	if poll <= 0 {
		poll = time.Second
	}
	lease := g.Lease
	if lease <= 0 {
		lease = time.Minute
		if g.HTTPClient != nil && g.HTTPClient.Timeout > 0 {
			lease += g.HTTPClient.Timeout
		}
	}
	perPartner := max(1, workers/2)
	b := &partners{inFlight: map[string]int{}, backoffUntil: map[string]time.Time{}, failures: map[string]int{}}

	sendCtx, cancelSends := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSends()
	var wg sync.WaitGroup
	sem := make(chan struct{}, workers)
	done := make(chan struct{}, 1)
	for {
		changed := g.Store.Changed()
		free := workers - len(sem)
		var claimed []store.Message
		if free > 0 {
			now := g.now()
			var err error
			claimed, err = g.Store.ClaimDue(ctx, now, free, lease, func(p string) bool { return b.skip(p, now, perPartner) })
			if err != nil && ctx.Err() == nil {
				g.log().Error("claiming due messages failed", "error", err)
			}
		}
		for _, m := range claimed {
			sem <- struct{}{}
			b.start(m.QueueKey())
			wg.Add(1)
			go func(m store.Message) {
				defer wg.Done()
				ok, transport := g.send(sendCtx, m)
				b.finish(m.QueueKey(), ok, transport, g.now())
				<-sem
				select {
				case done <- struct{}{}:
				default:
				}
			}(m)
		}
		if len(claimed) > 0 && len(claimed) == free {
			continue // more may be due
		}
		select {
		case <-ctx.Done():
			finished := make(chan struct{})
			go func() { wg.Wait(); close(finished) }()
			select {
			case <-finished:
			case <-time.After(shutdownGrace):
				cancelSends()
				<-finished
			}
			return nil
		case <-changed:
		case <-done:
		case <-time.After(poll):
		}
	}
}

// partners tracks in-flight sends and backoff per partner (QueueKey).
type partners struct {
	mu           sync.Mutex
	inFlight     map[string]int
	backoffUntil map[string]time.Time
	failures     map[string]int
}

func (p *partners) skip(partner string, now time.Time, perPartner int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.inFlight[partner] >= perPartner {
		return true
	}
	return now.Before(p.backoffUntil[partner])
}

func (p *partners) start(partner string) {
	p.mu.Lock()
	p.inFlight[partner]++
	p.mu.Unlock()
}

// finish records the outcome. Transport failures (no answer, 5xx) back the
// partner off: 5 s, doubling to 5 min; any answer resets it.
func (p *partners) finish(partner string, ok, transport bool, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inFlight[partner]--
	if !transport {
		delete(p.failures, partner)
		delete(p.backoffUntil, partner)
		return
	}
	// Sends that were in flight together fail together: count one failure
	// per backoff round, not one per message, or a partner restarting under
	// load would be backed off for minutes.
	if now.Before(p.backoffUntil[partner]) {
		return
	}
	p.failures[partner]++
	d := 5 * time.Second << min(p.failures[partner]-1, 6)
	p.backoffUntil[partner] = now.Add(min(d, 5*time.Minute))
}

// retryGap is the spacing the retry policy puts before retry n (1-based):
// the difference between its offset and the previous one.
func retryGap(offsets []time.Duration, n int) time.Duration {
	switch {
	case n < 1 || n > len(offsets):
		return 0
	case n == 1:
		return offsets[0]
	}
	return offsets[n-1] - offsets[n-2]
}

// sendOutcome is the result of one attempt.
type sendOutcome struct {
	status    int
	problem   store.Problem
	retry     bool // worth another attempt
	transport bool // the partner did not answer properly (backoff)
	receipt   *store.Receipt
	peer      store.PeerAP // where the attempt went, for the audit log
	keepCode  bool         // a discovery failure: its code stays when retries are spent
}

// send makes one attempt for a claimed message and records the outcome. It
// reports whether the message was acknowledged and whether the partner
// failed at transport level.
func (g *Gateway) send(ctx context.Context, m store.Message) (ok, transport bool) {
	g = g.current() // one configuration for the whole attempt, whatever a reload does meanwhile
	log := g.log().With("messageId", m.ID, "conversationId", m.ConversationID, "to", m.To.String(), "leg", m.LegName)
	now := g.now()
	out := g.attempt(ctx, &m, log)
	if ctx.Err() != nil && out.receipt == nil {
		return false, false // shutting down: the lease brings it back after restart
	}
	a := store.Attempt{At: now, HTTPStatus: out.status, Error: out.problem, Peer: out.peer}
	bg := context.WithoutCancel(ctx)
	obs, partner, leg := g.observer(), g.outboundPartnerName(m.To.ID, m.To.Type), g.PModes.Leg(m.LegName)
	obs.Attempt(partner, attemptOutcome(out))
	if out.receipt != nil {
		if _, err := g.Store.MarkAcknowledged(bg, m.Key, a, *out.receipt); err != nil {
			log.Error("recording the receipt failed", "error", err)
			return false, false
		}
		obs.Sent(leg, partner, SentAcknowledged)
		obs.SendToReceipt(max(0, g.now().Sub(m.Created)))
		log.Info("message acknowledged", "receiptId", out.receipt.MessageID, "attempt", len(m.Attempts)+1, "outcome", "ACKNOWLEDGED")
		return true, false
	}
	var next time.Time
	retry := false
	if out.retry && leg != nil {
		first := m.Created
		if len(m.Attempts) > 0 {
			first = m.Attempts[0].At
		}
		n := len(m.Attempts) + 1
		next, retry = leg.Reliability.Retry.NextAttempt(first, n)
		// The schedule is a grid from the first attempt; after a delay
		// (backoff, downtime) several grid points lie in the past. Keep the
		// policy's spacing from now instead of spending them in a burst.
		if gap := retryGap(leg.Reliability.Retry.Offsets(), n); retry && next.Before(now.Add(gap)) {
			next = now.Add(gap)
		}
	}
	var err error
	if retry {
		_, err = g.Store.ScheduleRetry(bg, m.Key, m.Lease.Token, a, next)
		log.Warn("send failed, will retry", "code", out.problem.Code, "detail", out.problem.Detail, "nextAttempt", next, "outcome", "WAITING_FOR_RETRY")
	} else {
		switch {
		case out.retry && out.problem.Code == string(ebms.CodeConnectionFailure):
			a.Error.Detail = fmt.Sprintf("the receiving access point stayed unreachable after %d attempts: %s", len(m.Attempts)+1, out.problem.Detail)
		case out.retry && !out.keepCode:
			// Retries spent without a receipt.
			a.Error = store.Problem{Code: string(ebms.CodeMissingReceipt), Detail: out.problem.Code + " " + out.problem.Detail}
		}
		_, err = g.Store.MarkFailed(bg, m.Key, m.Lease.Token, a)
		log.Error("send failed for good", "code", a.Error.Code, "detail", a.Error.Detail, "outcome", "SEND_FAILURE")
	}
	switch {
	case err == nil && retry:
		obs.Sent(leg, partner, SentRetry)
	case err == nil:
		obs.Sent(leg, partner, SentFailed)
	case !errors.Is(err, store.ErrLeaseLost):
		log.Error("recording the attempt failed", "error", err)
	}
	return false, out.transport
}

// attempt builds, sends and checks one exchange.
func (g *Gateway) attempt(ctx context.Context, m *store.Message, log interface{ Warn(string, ...any) }) (res sendOutcome) {
	fail := func(code ebms.Code, retry, transport bool, format string, args ...any) sendOutcome {
		return sendOutcome{problem: store.Problem{Code: string(code), Detail: fmt.Sprintf(format, args...)}, retry: retry, transport: transport}
	}
	leg := g.PModes.Leg(m.LegName)
	if leg == nil {
		return fail(ebms.CodeProcessingModeMismatch, false, false, "P-Mode leg %q is no longer configured", m.LegName)
	}
	party := g.PModes.PartyByID(pmode.PartyID{Value: m.To.ID, Type: m.To.Type})
	discovered := false
	if (party == nil || party.Endpoint == "") && m.To.IsZero() && !m.FinalRecipient.IsZero() {
		var out sendOutcome
		if party, out = g.discoverReceiver(ctx, m); party == nil {
			return out
		}
		discovered = true
	}
	if party == nil || party.Endpoint == "" {
		return fail(ebms.CodeOther, false, false, "no endpoint is configured for party %s", m.To)
	}
	defer func() { res.peer = peerOf(party) }()
	if !strings.HasPrefix(strings.ToLower(party.Endpoint), "https://") && !g.AllowPlainHTTP {
		return fail(ebms.CodeOther, false, false, "endpoint %q of party %s is not https:// (plain HTTP is off)", party.Endpoint, m.To)
	}
	if out, ok := g.vetReceiver(ctx, party); !ok {
		return out
	}
	var payloads []OutboundPayload
	for _, p := range m.Payloads {
		blob := p.Blob
		payloads = append(payloads, OutboundPayload{
			ContentID: p.ContentID, MimeType: p.MimeType, Compress: leg.Compression,
			Properties: toEbmsProperties(p.Properties),
			Open:       func() (io.ReadCloser, error) { return g.Store.OpenPayload(ctx, blob) },
		})
	}
	um := userMessage(m, leg)
	if discovered {
		um.PartyInfo.To.PartyIDs = []ebms.PartyID{{Value: party.PartyIDs[0].Value, Type: party.PartyIDs[0].Type}}
	}
	wm, err := BuildUserMessage(um, payloads, WireOptions{
		Identity: g.Identity, Sign: leg.Security.Sign, SignatureMethod: leg.Security.SignatureAlgorithm, DigestMethod: leg.Security.DigestAlgorithm,
		Encrypt: leg.Security.Encrypt, Recipient: party.Certificate, DataEncryption: leg.Security.DataEncryption,
		SpoolDir: g.SpoolDir, Now: g.now(),
	})
	if err != nil {
		return fail(ebms.CodeOther, false, false, "building the message: %v", err)
	}
	defer wm.Close()
	ct, body := wm.Body()
	defer body.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, party.Endpoint, body)
	if err != nil {
		return fail(ebms.CodeOther, false, false, "endpoint %q: %v", party.Endpoint, err)
	}
	req.Header.Set("Content-Type", ct)
	client := g.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fail(ebms.CodeConnectionFailure, true, true, "%v", err)
	}
	defer resp.Body.Close()
	out := g.checkResponse(resp, m, leg, party, wm)
	out.status = resp.StatusCode
	return out
}

// checkResponse reads the synchronous response: a receipt that must verify
// and echo exactly what we signed, or an error signal.
func (g *Gateway) checkResponse(resp *http.Response, m *store.Message, leg *pmode.Leg, party *pmode.Party, wm *WireMessage) sendOutcome {
	fail := func(code ebms.Code, retry, transport bool, format string, args ...any) sendOutcome {
		return sendOutcome{problem: store.Problem{Code: string(code), Detail: fmt.Sprintf(format, args...)}, retry: retry, transport: transport}
	}
	lim := soap.Limits{MaxMessageBytes: 16 << 20, MaxEnvelopeBytes: 4 << 20, MaxParts: 1}
	msg, err := soap.ReadMessage(resp.Body, resp.Header.Get("Content-Type"), lim, g.SpoolDir)
	if err != nil {
		return fail(ebms.CodeMissingReceipt, true, resp.StatusCode >= 500, "HTTP %d without a readable ebMS response: %v", resp.StatusCode, err)
	}
	defer msg.Close()
	el, err := ebms.FindMessaging(msg.Envelope.Header)
	if err != nil {
		return fail(ebms.CodeMissingReceipt, true, resp.StatusCode >= 500, "HTTP %d: %v", resp.StatusCode, err)
	}
	rm, err := ebms.Decode(el)
	if err != nil || len(rm.SignalMessages) == 0 {
		return fail(ebms.CodeMissingReceipt, true, resp.StatusCode >= 500, "HTTP %d: the response holds no signal: %v", resp.StatusCode, err)
	}
	sig := rm.SignalMessages[0]
	if len(sig.Errors) > 0 && sig.Receipt == nil {
		e := sig.Errors[0]
		detail := e.ShortDescription
		if e.ErrorDetail != "" {
			detail += ": " + e.ErrorDetail
		}
		if e.Description != nil && e.Description.Text != "" {
			detail += " (" + e.Description.Text + ")"
		}
		// A 5xx with an error signal is the peer's temporary trouble
		// (storage); a failure at 2xx/4xx is a decision about this message.
		retry := resp.StatusCode >= 500 || e.Severity == ebms.SeverityWarning
		return sendOutcome{problem: store.Problem{Code: string(e.ErrorCode), Detail: detail}, retry: retry, transport: resp.StatusCode >= 500}
	}
	if sig.Receipt == nil {
		return fail(ebms.CodeMissingReceipt, true, false, "the response signal is neither a receipt nor an error")
	}
	verified, err := wssec.Verify(wssec.EnvelopeFromSOAP(msg.Envelope), nil, wssec.VerifyOptions{
		Policy: leg.ReceiptPolicy(), At: g.now(), Validator: g.signerValidator(party.Certificate), Lookup: g.Trust.Index(),
	})
	if err != nil && !(wssec.IsUnsigned(err) && !leg.Security.RequireSignedReceipt) {
		return fail(ebms.CodeInvalidReceipt, true, false, "receipt signature: %v", err)
	}
	if leg.Reliability.NonRepudiation && len(wm.SignedReferences) > 0 {
		if err := wssec.CheckReceipt(rm, m.ID, wm.SignedReferences); err != nil {
			return fail(ebms.CodeInvalidReceipt, true, false, "%v", err)
		}
	} else if sig.MessageInfo.RefToMessageID != m.ID {
		return fail(ebms.CodeInvalidReceipt, true, false, "the receipt refers to %q", sig.MessageInfo.RefToMessageID)
	}
	nrr, _ := json.Marshal(wm.SignedReferences)
	r := &store.Receipt{MessageID: sig.MessageInfo.MessageID, Time: sig.MessageInfo.Timestamp, NRR: nrr, Raw: msg.EnvelopeBytes}
	if verified != nil { // the receipt's signer, for the audit log
		r.CertSHA256 = fingerprint(verified.Certificate)
	}
	for _, e := range sig.Errors {
		r.Warnings = append(r.Warnings, store.Problem{Code: string(e.ErrorCode), Detail: e.ShortDescription})
	}
	return sendOutcome{receipt: r}
}

func toEbmsProperties(ps []store.Property) []ebms.Property {
	out := make([]ebms.Property, 0, len(ps))
	for _, p := range ps {
		out = append(out, ebms.Property{Name: p.Name, Type: p.Type, Value: p.Value})
	}
	return out
}
