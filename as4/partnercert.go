package as4

import (
	"context"
	"errors"
	"fmt"

	"github.com/as4gw/as4gw/ebms"
	"github.com/as4gw/as4gw/pmode"
	"github.com/as4gw/as4gw/store"
	"github.com/as4gw/as4gw/trust"
)

// vetReceiver runs Gateway.CheckPartnerCert on the receiving access point's
// certificate before anything is built or sent: SDK requires the sender to
// check that the receiver's certificate chains to the federation's CA and is
// not revoked (test TF-02). It reports false when the send must not go
// ahead, with the outcome to record; the problem's detail is what the
// backend sees in the message status.
//
// A revoked, untrusted or expired certificate fails the message for good:
// retrying cannot change the answer, and the backend should learn at once.
// A revocation status that could not be established (responder down under
// hard-fail) is retried by the leg's policy, as the responder may recover.
func (g *Gateway) vetReceiver(ctx context.Context, party *pmode.Party) (sendOutcome, bool) {
	if g.CheckPartnerCert == nil || party == nil || party.Certificate == nil {
		return sendOutcome{}, true
	}
	err := g.CheckPartnerCert(ctx, party.Certificate)
	if err == nil {
		return sendOutcome{}, true
	}
	what := "is refused"
	retry := false
	switch {
	case errors.Is(err, trust.ErrRevoked):
		what = "is revoked"
	case errors.Is(err, trust.ErrRevocationUnknown):
		what = "has a revocation status that could not be established"
		retry = true
	case errors.Is(err, trust.ErrUntrusted):
		what = "is not issued by a CA of this federation's AS4 trust store"
	case errors.Is(err, trust.ErrExpired), errors.Is(err, trust.ErrNotYetValid):
		what = "is outside its validity period"
	}
	detail := fmt.Sprintf("not sent: the receiving access point's certificate (party %q, %s) %s: %v",
		party.Name, party.Certificate.Subject, what, err)
	return sendOutcome{problem: store.Problem{Code: string(ebms.CodeFailedAuthentication), Detail: detail}, retry: retry}, false
}
