package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/as4gw/as4gw/as4"
	"github.com/as4gw/as4gw/ebms"
	"github.com/as4gw/as4gw/pmode"
	"github.com/as4gw/as4gw/trust"
)

// tf07ID is the Header/ID of xhe/testdata/tf07-minimal.xml: the conversation
// id of the AS4 headers the test bed puts on the TF-09 and TF-10 envelopes,
// which are variations of it.
const tf07ID = "3f0c2d4e-8a61-4b7e-9c35-1d2e6f7a8b90"

// testBedSend plays DIGG's test bed: it sends payload as the cid:message of
// an SDK message from AP1's identity to AP2, signed and encrypted, over
// mutual TLS, with AS4 headers for sdkSender → sdkRecipient on the SDK
// message leg, whatever the XHE inside says. No gateway checks the XHE on
// the way out. It returns AP2's HTTP status, its response, and the MessageId.
func (f *sdkFederation) testBedSend(t *testing.T, payload []byte) (int, string, string) {
	t.Helper()
	p := f.pki
	id := ebms.NewMessageID("testbed.sdk.test")
	um := &ebms.UserMessage{
		MessageInfo: ebms.MessageInfo{Timestamp: time.Now().UTC(), MessageID: id},
		PartyInfo: ebms.PartyInfo{
			From: ebms.Party{PartyIDs: []ebms.PartyID{{Value: f.ap1.name, Type: sdkPartyType}}, Role: ebms.RoleInitiator},
			To:   ebms.Party{PartyIDs: []ebms.PartyID{{Value: f.ap2.name, Type: sdkPartyType}}, Role: ebms.RoleResponder},
		},
		CollaborationInfo: ebms.CollaborationInfo{
			Service: ebms.Service{Value: pmode.SDKService, Type: pmode.SDKServiceType}, Action: pmode.SDKActionMessage, ConversationID: tf07ID,
		},
		MessageProperties: []ebms.Property{
			{Name: ebms.PropertyOriginalSender, Type: pmode.SDKParticipantScheme, Value: sdkSender},
			{Name: ebms.PropertyFinalRecipient, Type: pmode.SDKParticipantScheme, Value: sdkRecipient},
		},
	}
	leg := pmode.SDKLegs()[0]
	wm, err := as4.BuildUserMessage(um, []as4.OutboundPayload{{
		ContentID: pmode.EnvelopePartID, MimeType: "text/xml", Compress: true,
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(payload)), nil },
	}}, as4.WireOptions{
		Identity: &trust.Identity{Signer: p.ap1.Key, Certificate: p.ap1.Certificate, Chain: []*x509.Certificate{p.as4QA.Certificate}},
		Sign:     true, SignatureMethod: leg.Security.SignatureAlgorithm, DigestMethod: leg.Security.DigestAlgorithm,
		Encrypt: true, Recipient: p.ap2.Certificate, DataEncryption: leg.Security.DataEncryption,
		SpoolDir: t.TempDir(), Now: time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer wm.Close()
	ct, body := wm.Body()
	defer body.Close()
	roots := x509.NewCertPool()
	roots.AddCert(p.tlsCA.Certificate)
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: roots, Certificates: []tls.Certificate{tlsCert(p.tls1, p.tlsCA)}}}}
	resp, err := c.Post(f.ap2.as4URL, ct, body)
	if err != nil {
		t.Fatalf("test bed → AP2: %v", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data), id
}

// wantRefused sends payload from the test bed and expects AP2 to answer
// with an EBMS:0004 error signal, not a receipt, and to keep nothing.
func (f *sdkFederation) wantRefused(t *testing.T, payload []byte) {
	t.Helper()
	status, resp, id := f.testBedSend(t, payload)
	if !strings.Contains(resp, `errorCode="EBMS:0004"`) || strings.Contains(resp, "Receipt>") {
		t.Errorf("AP2 answered HTTP %d without an EBMS:0004 error:\n%.2000s", status, resp)
	}
	if f.ap2.inboxHas(t, id) {
		t.Errorf("AP2 delivered %s", id)
	}
	if _, code := f.ap2.message(t, id); code != http.StatusNotFound {
		t.Errorf("AP2 stored %s (GET answers %d)", id, code)
	}
}
