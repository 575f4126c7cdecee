package as4

import (
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/as4gw/as4gw/discovery"
	"github.com/as4gw/as4gw/pmode"
	"github.com/as4gw/as4gw/store"
)

// fakeDiscoverer answers every lookup with ep or err and records the questions.
type fakeDiscoverer struct {
	mu    sync.Mutex
	ep    *discovery.Endpoint
	err   error
	asked [][3]discovery.Identifier
}

func (f *fakeDiscoverer) Resolve(_ context.Context, participant, doc, process discovery.Identifier) (*discovery.Endpoint, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, [3]discovery.Identifier{participant, doc, process})
	return f.ep, f.err
}

const discoveredAction = "busdox-docid-qns::urn:as4gw:test::deliver##1.0"

// discoveryPair is testPair with blue sending to "any party" found by
// discovery: its leg names no configured responder for the recipient.
func discoveryPair(t *testing.T, d Discoverer) (blue, red *testAP, redCert *x509.Certificate) {
	blue, red = testPair(t)
	for _, ap := range []*testAP{blue, red} {
		ap.gw.PModes.Legs[0].Action = discoveredAction
	}
	leg := &blue.gw.PModes.Legs[0]
	leg.Responders = []string{pmode.AnyParty}
	leg.AnyPartyIDType = partyType
	redCert = blue.gw.PModes.Party("red").Certificate
	blue.gw.Discovery = d
	return blue, red, redCert
}

func submitForDiscovery(t *testing.T, ap *testAP, finalRecipient string) store.Message {
	t.Helper()
	m := store.Message{
		ID: "disc-" + time.Now().Format("150405.000000000") + "@blue", LegName: "dev",
		From:           store.PartyID{ID: ap.name, Type: partyType},
		OriginalSender: store.PartyID{ID: "0203:blue.example", Type: "iso6523-actorid-upis"},
		FinalRecipient: store.PartyID{ID: finalRecipient, Type: "iso6523-actorid-upis"},
		Service:        "urn:as4gw:test", ServiceType: "urn:as4gw", Action: discoveredAction, ConversationID: "conv-disc",
	}
	stored, err := ap.store.Submit(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	return stored
}

func TestDiscoveredReceiverGetsTheMessage(t *testing.T) {
	d := &fakeDiscoverer{}
	blue, red, redCert := discoveryPair(t, d)
	d.ep = &discovery.Endpoint{URL: red.server.URL + "/as4", Certificate: redCert, Source: "smp"}
	blue.startSender(t)
	m := submitForDiscovery(t, blue, "0203:red.example")
	if got := m.QueueKey(); got != "recipient:iso6523-actorid-upis::0203:red.example" {
		t.Errorf("queue key %q", got)
	}
	done := waitState(t, blue.store, m.Key, store.Acknowledged, 20*time.Second)
	if len(inboxFor(t, red, "0203:red.example")) != 1 {
		t.Fatal("red's inbox does not hold the message")
	}
	want := [3]discovery.Identifier{
		{Scheme: "iso6523-actorid-upis", Value: "0203:red.example"},
		{Scheme: "busdox-docid-qns", Value: "urn:as4gw:test::deliver##1.0"},
		{Scheme: "urn:as4gw", Value: "urn:as4gw:test"},
	}
	if len(d.asked) == 0 || d.asked[0] != want {
		t.Errorf("asked %v, want %v", d.asked, want)
	}
	peer := done.Attempts[len(done.Attempts)-1].Peer
	if peer.PartyID != "red" || peer.Endpoint != d.ep.URL || len(peer.CertSHA256) != 64 {
		t.Errorf("attempt peer %+v", peer)
	}
}

func TestDiscoveryFailuresReachTheMessage(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		state store.State
		code  string
	}{
		{"not registered", &discovery.LookupError{Kind: discovery.KindNotRegistered, Reason: "0203:gone.example is not registered in the SML"}, store.SendFailure, "RECIPIENT_NOT_REGISTERED"},
		{"document type not listed", &discovery.LookupError{Kind: discovery.KindDocumentTypeNotSupported, Reason: "the SMP does not list the document type"}, store.SendFailure, "DOCUMENT_TYPE_NOT_SUPPORTED"},
		{"receiver revoked", &discovery.LookupError{Kind: discovery.KindEndpointCertificate, Reason: "the receiver's certificate is revoked"}, store.SendFailure, "RECEIVER_CERTIFICATE_REJECTED"},
		{"SMP down", &discovery.LookupError{Kind: discovery.KindSMPUnreachable, Reason: "the SMP did not answer", Temporary: true}, store.WaitingForRetry, "SMP_UNREACHABLE"},
		{"other error", errors.New("boom"), store.WaitingForRetry, "EBMS:0004"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := &fakeDiscoverer{err: tc.err}
			blue, _, _ := discoveryPair(t, d)
			blue.startSender(t)
			m := submitForDiscovery(t, blue, "0203:gone.example")
			got := waitState(t, blue.store, m.Key, tc.state, 20*time.Second)
			a := got.Attempts[0]
			if a.Error.Code != tc.code {
				t.Errorf("code %q, want %q (detail %q)", a.Error.Code, tc.code, a.Error.Detail)
			}
			if le := (*discovery.LookupError)(nil); errors.As(tc.err, &le) && !strings.Contains(a.Error.Detail, le.Reason) {
				t.Errorf("detail %q lacks the reason %q", a.Error.Detail, le.Reason)
			}
		})
	}
}
