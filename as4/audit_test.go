package as4

import (
	"context"
	"testing"
	"time"

	"github.com/as4gw/as4gw/store"
)

// TestAuditEvidenceBothWays: after an exchange, the sender's audit record of the delivery
// names the receipt's signer and references the receipt, and the receiver's record of the
// inbound message names the message's signer and references the receipt it sent.
func TestAuditEvidenceBothWays(t *testing.T) {
	blue, red := testPair(t)
	red.startSender(t)
	blue.startSender(t)
	m := blue.submit(t, "red", "0203:red.example", randomBytes(100))
	waitState(t, blue.store, m.Key, store.Acknowledged, 20*time.Second)
	ctx := context.Background()
	sent, _, err := blue.store.ListAudit(ctx, store.AuditQuery{Parties: []store.PartyID{m.OriginalSender}, MessageID: m.ID})
	if err != nil || len(sent) == 0 {
		t.Fatalf("blue's records: %v, %d", err, len(sent))
	}
	redCert := fingerprint(red.gw.Identity.Certificate)
	blueCert := fingerprint(blue.gw.Identity.Certificate)
	d := sent[len(sent)-1]
	if d.Outcome != store.OutcomeDelivered || d.Peer.CertSHA256 != redCert || d.Signature == nil ||
		d.Signature.ReceiptID == "" || d.Signature.NRRSHA256.IsZero() || d.Signature.ReceiptSHA256.IsZero() {
		t.Errorf("blue's delivery record %+v (signature %+v), want red's certificate %s", d, d.Signature, redCert)
	}
	got, _, err := red.store.ListAudit(ctx, store.AuditQuery{Parties: []store.PartyID{m.FinalRecipient}, MessageID: m.ID})
	if err != nil || len(got) != 1 {
		t.Fatalf("red's records: %v, %d", err, len(got))
	}
	r := got[0]
	if r.Outcome != store.OutcomeReceived || r.Peer.CertSHA256 != blueCert || r.Peer.PartyID != "blue" ||
		r.Signature == nil || r.Signature.NRRSHA256.IsZero() || r.Signature.ReceiptSHA256.IsZero() {
		t.Errorf("red's receipt record %+v (signature %+v), want blue's certificate %s", r, r.Signature, blueCert)
	}
}
