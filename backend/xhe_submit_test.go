package backend

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/as4gw/as4gw/pmode"
	"github.com/as4gw/as4gw/store"
)

const (
	sdkService     = "bdx:noprocess"
	sdkServiceType = "urn:fdc:digg.se:edelivery:process"
	sdkAction      = "busdox-docid-qns::urn:riv:infrastructure:messaging:MessageWithAttachments:3::messagePayload##3.0::tm-base-ext-sigenc"
	tf07ID         = "3f0c2d4e-8a61-4b7e-9c35-1d2e6f7a8b90"
)

// withSDKLeg adds a leg for SDK messages (the service and action of the test XHE).
func withSDKLeg(t *testing.T) func(*Config) {
	return func(c *Config) {
		c.PModes.Legs = append(c.PModes.Legs, pmode.Leg{
			Name: "sdk", Initiators: []string{"ours"}, Responders: []string{"peer"},
			Service: pmode.Service{Value: sdkService, Type: sdkServiceType}, Action: sdkAction,
			PayloadProfile: pmode.PayloadProfile{Parts: []pmode.PayloadPart{
				{Name: "business", ContentID: "message", MimeType: "text/xml", Required: true},
				{Name: "attachments", ContentID: "attachment*", MimeType: "application/octet-stream"},
			}},
			Properties: c.PModes.Legs[0].Properties,
		})
		c.PModes.ApplyDefaults()
		if err := c.PModes.Validate(); err != nil {
			t.Fatal(err)
		}
	}
}

func tf07(t *testing.T) []byte {
	b, err := os.ReadFile("../xhe/testdata/tf07-minimal.xml")
	if err != nil {
		t.Skipf("test XHE: %v", err)
	}
	return b
}

func TestSubmitXHEOnly(t *testing.T) {
	xheDoc := tf07(t)
	e := newEnv(t, withSDKLeg(t))
	meta := func(mod func(map[string]any)) part {
		m := map[string]any{"payloads": []map[string]any{{"id": "message", "mimeType": "text/xml"}, {"id": "attachment1", "mimeType": "application/octet-stream"}}}
		if mod != nil {
			mod(m)
		}
		return metaPart(m)
	}
	ok := []part{filePart("message", xheDoc), filePart("attachment1", binPayload)}

	t.Run("headers derived", func(t *testing.T) {
		w := e.submit(tokenA, append([]part{meta(nil)}, ok...)...)
		if w.Code != http.StatusAccepted {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		resp := decodeJSON[submitResponse](t, w)
		if resp.ConversationID != tf07ID {
			t.Errorf("conversationId %q, want the XHE's Header/ID", resp.ConversationID)
		}
		msgs, err := e.st.Find(context.Background(), store.Outbound, resp.MessageID)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("find: %v, %d", err, len(msgs))
		}
		m := msgs[0]
		want := store.Message{Service: sdkService, ServiceType: sdkServiceType, Action: sdkAction, ConversationID: tf07ID, LegName: "sdk",
			OriginalSender: store.PartyID{ID: partA, Type: upis}, FinalRecipient: store.PartyID{ID: partB, Type: upis}}
		if m.Service != want.Service || m.ServiceType != want.ServiceType || m.Action != want.Action || m.ConversationID != want.ConversationID ||
			m.LegName != want.LegName || m.OriginalSender != want.OriginalSender || m.FinalRecipient != want.FinalRecipient {
			t.Errorf("stored %+v", m)
		}
		if len(m.Payloads) != 2 || m.Payloads[0].ID != "message" || m.Payloads[0].Size != int64(len(xheDoc)) || m.Payloads[1].Size != int64(len(binPayload)) {
			t.Errorf("payloads %+v", m.Payloads)
		}
	})
	t.Run("given headers that agree", func(t *testing.T) {
		w := e.submit(tokenA, append([]part{meta(func(m map[string]any) {
			m["originalSender"] = partA
			m["finalRecipientType"] = upis
			m["serviceType"] = sdkServiceType
			m["conversationId"] = tf07ID
		})}, ok...)...)
		if w.Code != http.StatusAccepted {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	})

	tests := []struct {
		name   string
		token  string
		mod    func(map[string]any)
		parts  []part
		status int
		slug   string
		field  string
		detail string
	}{
		{name: "finalRecipient contradicts", mod: func(m map[string]any) { m["finalRecipient"] = partC }, status: 400, slug: "invalid-request", field: "finalRecipient", detail: "contradicts the XHE envelope"},
		{name: "conversationId contradicts", mod: func(m map[string]any) { m["conversationId"] = "other" }, status: 400, slug: "invalid-request", field: "conversationId", detail: "Header/ID"},
		{name: "action contradicts", mod: func(m map[string]any) { m["action"] = "deliver" }, status: 400, slug: "invalid-request", field: "action", detail: "DOCUMENTID"},
		{name: "serviceType contradicts", mod: func(m map[string]any) { m["serviceType"] = svcType }, status: 400, slug: "invalid-request", field: "serviceType"},
		{name: "originalSenderType contradicts", mod: func(m map[string]any) { m["originalSenderType"] = "other-scheme" }, status: 400, slug: "invalid-request", field: "originalSenderType"},
		{name: "not an XHE", parts: []part{filePart("message", xmlPayload), filePart("attachment1", binPayload)}, status: 400, slug: "invalid-request", field: "originalSender", detail: "not a usable SDK XHE envelope"},
		{name: "XHE not first", parts: []part{filePart("attachment1", binPayload), filePart("message", xheDoc)}, status: 400, slug: "invalid-request", field: "payloads[0]", detail: "first file part"},
		{name: "XHE part missing", parts: []part{}, status: 400, slug: "invalid-request", field: "payloads[0]"},
		{name: "XHE of another client's participant", token: tokenB, status: 403, slug: "forbidden", field: "originalSender"},
		{name: "given originalSender not the client's", mod: func(m map[string]any) { m["originalSender"] = partC }, status: 403, slug: "forbidden", field: "originalSender"},
		{name: "no XML payload to derive from", mod: func(m map[string]any) {
			m["payloads"] = []map[string]any{{"id": "attachment1", "mimeType": "application/octet-stream"}}
		}, parts: []part{filePart("attachment1", binPayload)}, status: 400, slug: "invalid-request", field: "service"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts := tt.parts
			if parts == nil {
				parts = ok
			}
			token := tt.token
			if token == "" {
				token = tokenA
			}
			before := e.payloadFiles()
			w := e.submit(token, append([]part{meta(tt.mod)}, parts...)...)
			p := expectProblem(t, w, tt.status, tt.slug, tt.field)
			if !strings.Contains(p.Detail, tt.detail) {
				t.Errorf("detail %q does not contain %q", p.Detail, tt.detail)
			}
			if after := e.payloadFiles(); after != before {
				t.Errorf("%d payload files left behind", after-before)
			}
		})
	}
}

func TestXHEIndex(t *testing.T) {
	tests := []struct {
		ps   []payloadJSON
		want int
	}{
		{nil, -1},
		{[]payloadJSON{{ID: "a", MimeType: "application/octet-stream"}}, -1},
		{[]payloadJSON{{ID: "a", MimeType: "application/octet-stream"}, {ID: "x", MimeType: "application/xml"}}, 1},
		{[]payloadJSON{{ID: "x", MimeType: "text/xml; charset=utf-8"}, {ID: "message", MimeType: "text/xml"}}, 1},
		{[]payloadJSON{{ID: "doc", MimeType: "application/xhe+xml"}}, 0},
		{[]payloadJSON{{ID: "message", MimeType: "application/pdf"}}, -1},
	}
	for i, tt := range tests {
		if got := xheIndex(tt.ps); got != tt.want {
			t.Errorf("%d: got %d, want %d", i, got, tt.want)
		}
	}
}

// A leg that carries XHE envelopes checks explicit headers against the envelope too,
// and takes the conversationId from it when the metadata gives none.
func TestSubmitExplicitHeadersOnXHELeg(t *testing.T) {
	xheDoc := tf07(t)
	sdk := withSDKLeg(t)
	e := newEnv(t, func(c *Config) {
		sdk(c)
		c.PModes.Legs[len(c.PModes.Legs)-1].Envelope = pmode.EnvelopeXHE
	})
	meta := func(mod func(map[string]any)) part {
		m := map[string]any{
			"originalSender": partA, "finalRecipient": partB,
			"service": sdkService, "serviceType": sdkServiceType, "action": sdkAction,
			"payloads": []map[string]any{{"id": "message", "mimeType": "text/xml"}},
		}
		if mod != nil {
			mod(m)
		}
		return metaPart(m)
	}
	tests := []struct {
		name   string
		mod    func(map[string]any)
		doc    []byte
		status int
		field  string
	}{
		{"conversation from the envelope", nil, xheDoc, http.StatusAccepted, ""},
		{"conversation given and equal", func(m map[string]any) { m["conversationId"] = tf07ID }, xheDoc, http.StatusAccepted, ""},
		{"conversation contradicts", func(m map[string]any) { m["conversationId"] = "another" }, xheDoc, http.StatusBadRequest, "conversationId"},
		{"recipient contradicts", func(m map[string]any) { m["finalRecipient"] = "0203:someone.else" }, xheDoc, http.StatusBadRequest, "finalRecipient"},
		{"not an XHE", nil, []byte("<hello/>"), http.StatusBadRequest, "payloads[0]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := e.submit(tokenA, meta(tc.mod), filePart("message", tc.doc))
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if tc.status == http.StatusAccepted {
				if resp := decodeJSON[submitResponse](t, w); resp.ConversationID != tf07ID {
					t.Errorf("conversationId %q, want the XHE's Header/ID", resp.ConversationID)
				}
				return
			}
			if !strings.Contains(w.Body.String(), `"field":"`+tc.field+`"`) {
				t.Errorf("problem does not name %s: %s", tc.field, w.Body)
			}
		})
	}
}
