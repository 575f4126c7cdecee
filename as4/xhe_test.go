package as4

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/as4gw/as4gw/ebms"
	"github.com/as4gw/as4gw/pmode"
	"github.com/as4gw/as4gw/store"
	"github.com/as4gw/as4gw/xhe"
)

// TestGatewayChecksXHE: on a leg whose envelope is XHE (SDK), red accepts a
// message whose XHE agrees with the AS4 headers and refuses, with EBMS:0004,
// one that contradicts them or is malformed; refused messages never reach
// the inbox.
func TestGatewayChecksXHE(t *testing.T) {
	envelope, err := os.ReadFile(filepath.Join("..", "xhe", "testdata", "tf07-minimal.xml"))
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := xhe.Parse(bytes.NewReader(envelope), xhe.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := parsed.Derive()
	if err != nil {
		t.Fatal(err)
	}
	blue, red := testPair(t)
	for _, ap := range []*testAP{blue, red} {
		l := ap.gw.PModes.Leg("dev")
		l.Service = pmode.Service{Value: h.Service.Value, Type: h.Service.Type}
		l.Action = h.Action
		l.Envelope = pmode.EnvelopeXHE
	}
	blue.startSender(t)

	send := func(t *testing.T, finalRecipient string, payload []byte) store.Message {
		t.Helper()
		ctx := context.Background()
		blob, err := blue.store.PutPayload(ctx, bytes.NewReader(payload))
		if err != nil {
			t.Fatal(err)
		}
		m, err := blue.store.Submit(ctx, store.Message{
			ID: ebms.NewMessageID("blue"), LegName: "dev",
			From: store.PartyID{ID: "blue", Type: partyType}, To: store.PartyID{ID: "red", Type: partyType},
			OriginalSender: store.PartyID{ID: h.OriginalSender.Value, Type: h.OriginalSender.Type},
			FinalRecipient: store.PartyID{ID: finalRecipient, Type: h.FinalRecipient.Type},
			Service:        h.Service.Value, ServiceType: h.Service.Type, Action: h.Action, ConversationID: h.ConversationID,
			Payloads: []store.Payload{{ID: "message", ContentID: "message", MimeType: "application/xml", Blob: blob.Ref, Size: blob.Size, SHA256: blob.SHA256}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}

	ok := send(t, h.FinalRecipient.Value, envelope)
	waitState(t, blue.store, ok.Key, store.Acknowledged, 20*time.Second)
	if n := len(inboxFor(t, red, h.FinalRecipient.Value)); n != 1 {
		t.Fatalf("inbox holds %d messages, want the consistent one", n)
	}

	tests := []struct {
		name           string
		finalRecipient string
		payload        []byte
		wantDetail     string
	}{
		{"finalRecipient contradicts ToParty", "0203:malmo.se", envelope, "NOT_SERVICED"},
		{"malformed XHE", h.FinalRecipient.Value, bytes.Replace(envelope, []byte(h.ConversationID), []byte("not-a-uuid"), 1), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := send(t, tt.finalRecipient, tt.payload)
			failed := waitState(t, blue.store, m.Key, store.SendFailure, 20*time.Second)
			last := failed.Attempts[len(failed.Attempts)-1]
			if last.Error.Code != string(ebms.CodeOther) || !strings.Contains(last.Error.Detail, tt.wantDetail) {
				t.Errorf("last attempt = %+v, want EBMS:0004 %s", last, tt.wantDetail)
			}
		})
	}
	for _, r := range []string{h.FinalRecipient.Value, "0203:malmo.se"} {
		msgs := inboxFor(t, red, r)
		for _, m := range msgs {
			if m.ID != ok.ID {
				t.Errorf("refused message %s reached the inbox of %s", m.ID, r)
			}
		}
	}
}
