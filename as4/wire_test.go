package as4

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/as4gw/as4gw/as4/soap"
	"github.com/as4gw/as4gw/as4/wssec"
	"github.com/as4gw/as4gw/as4/wssec/xenc"
	"github.com/as4gw/as4gw/ebms"
	"github.com/as4gw/as4gw/trust"
	"github.com/as4gw/as4gw/trust/testpki"
)

func testIdentity(t testing.TB, cn string, slot int) *trust.Identity {
	t.Helper()
	c := testpki.Must(testpki.NewSelfSigned(testpki.Spec{CommonName: cn, KeySlot: slot}))
	id, err := trust.NewIdentity(c.Key, c.Certificate, nil)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func testUserMessage() *ebms.UserMessage {
	return &ebms.UserMessage{
		MessageInfo: ebms.MessageInfo{Timestamp: time.Now().UTC(), MessageID: ebms.NewMessageID("blue.test")},
		PartyInfo: ebms.PartyInfo{
			From: ebms.Party{PartyIDs: []ebms.PartyID{{Value: "blue", Type: "urn:test"}}, Role: ebms.RoleInitiator},
			To:   ebms.Party{PartyIDs: []ebms.PartyID{{Value: "red", Type: "urn:test"}}, Role: ebms.RoleResponder},
		},
		CollaborationInfo: ebms.CollaborationInfo{Service: ebms.Service{Value: "svc", Type: "urn:test"}, Action: "act", ConversationID: "conv-1"},
		MessageProperties: []ebms.Property{{Name: "originalSender", Value: "0203:a.se"}, {Name: "finalRecipient", Value: "0203:b.se"}},
	}
}

func memPayload(cid, mime string, data []byte, compress bool) OutboundPayload {
	return OutboundPayload{ContentID: cid, MimeType: mime, Compress: compress,
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}
}

// TestWireRoundTrip sends a signed, encrypted, compressed message through the
// real MIME stream into OpenInbound, answers with a signed NRR receipt and
// checks the receipt the way the sender does.
func TestWireRoundTrip(t *testing.T) {
	blue, red := testIdentity(t, "blue", 1), testIdentity(t, "red", 2)
	big := make([]byte, 300<<10)
	rand.Read(big)
	payloads := []OutboundPayload{
		memPayload("message@blue", "text/xml", []byte("<doc>hello</doc>"), true),
		memPayload("attachment@blue", "application/octet-stream", big, true),
		memPayload("raw@blue", "application/pdf", []byte("%PDF-1.7 not compressed"), false),
	}
	um := testUserMessage()
	wm, err := BuildUserMessage(um, payloads, WireOptions{Identity: blue, Sign: true, Encrypt: true, Recipient: red.Certificate, SpoolDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer wm.Close()
	ct, body := wm.Body()
	defer body.Close()

	policy := InboundPolicy{Signature: wssec.DefaultPolicy(), RequireEncryption: true,
		Validator: wssec.ValidatorFunc(func(c *x509.Certificate, _ []*x509.Certificate, _ time.Time) error {
			if !c.Equal(blue.Certificate) {
				return errors.New("unknown signer")
			}
			return nil
		})}
	in, err := OpenInbound(body, ct, InboundConfig{Identity: red, SpoolDir: t.TempDir()}, func(*ebms.Messaging) (InboundPolicy, error) { return policy, nil })
	if err != nil {
		t.Fatalf("OpenInbound: %v", err)
	}
	defer in.Close()
	if got := in.Messaging.UserMessage.MessageInfo.MessageID; got != um.MessageInfo.MessageID {
		t.Errorf("MessageId %q, want %q", got, um.MessageInfo.MessageID)
	}
	if in.Verified == nil || len(in.Verified.AttachmentsSigned) != 3 {
		t.Fatalf("verified = %+v", in.Verified)
	}
	// Every payload arrives intact after decryption and decompression.
	for i, pi := range in.Messaging.UserMessage.PayloadInfo {
		att, err := in.Message.AttachmentByCID(pi.Href)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := xenc.OpenPayload(att, &in.Messaging.UserMessage.PayloadInfo[i], 0)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		want, _ := io.ReadAll(must(payloads[i].Open()))
		if !bytes.Equal(got, want) {
			t.Errorf("payload %s differs after the round trip", pi.Href)
		}
	}

	// Receipt: signed by red, checked by blue against what blue signed.
	receipt, err := ReceiptEnvelope(in.Verified, um.MessageInfo.MessageID, SignalOptions{Identity: red})
	if err != nil {
		t.Fatal(err)
	}
	renv, err := soap.ParseEnvelope(bytes.NewReader(receipt), soap.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wssec.Verify(wssec.EnvelopeFromSOAP(renv), nil, wssec.VerifyOptions{Policy: wssec.DefaultPolicy()}); err != nil {
		t.Fatalf("receipt signature: %v", err)
	}
	el, _ := ebms.FindMessaging(renv.Header)
	rm, err := ebms.Decode(el)
	if err != nil {
		t.Fatal(err)
	}
	if err := wssec.CheckReceipt(rm, um.MessageInfo.MessageID, wm.SignedReferences); err != nil {
		t.Fatalf("CheckReceipt: %v", err)
	}
}

func TestOpenInboundRejects(t *testing.T) {
	blue, red, mallory := testIdentity(t, "blue", 1), testIdentity(t, "red", 2), testIdentity(t, "mallory", 3)
	build := func(t *testing.T, opts WireOptions) (string, io.Reader) {
		wm, err := BuildUserMessage(testUserMessage(), []OutboundPayload{memPayload("m@b", "text/xml", []byte("<a/>"), true)}, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(wm.Close)
		ct, body := wm.Body()
		data, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		return ct, bytes.NewReader(data)
	}
	strict := InboundPolicy{Signature: wssec.DefaultPolicy(), RequireEncryption: true}
	tests := []struct {
		name     string
		opts     WireOptions
		body     func(ct string, r io.Reader) (string, io.Reader)
		wantCode ebms.Code
		status   int
	}{
		{"unsigned where signing is required", WireOptions{Encrypt: true, Recipient: red.Certificate}, nil, ebms.CodePolicyNoncompliance, 200},
		{"unencrypted where encryption is required", WireOptions{Identity: blue, Sign: true}, nil, ebms.CodePolicyNoncompliance, 200},
		{"encrypted for someone else", WireOptions{Identity: blue, Sign: true, Encrypt: true, Recipient: mallory.Certificate}, nil, ebms.CodeFailedDecryption, 200},
		{"not MIME at all", WireOptions{Identity: blue, Sign: true, Encrypt: true, Recipient: red.Certificate},
			func(string, io.Reader) (string, io.Reader) {
				return "application/soap+xml", bytes.NewReader([]byte("<!DOCTYPE x><x/>"))
			}, ebms.CodeInvalidHeader, 400},
		{"truncated MIME", WireOptions{Identity: blue, Sign: true, Encrypt: true, Recipient: red.Certificate},
			func(ct string, r io.Reader) (string, io.Reader) {
				data, _ := io.ReadAll(r)
				return ct, bytes.NewReader(data[:len(data)-40])
			}, ebms.CodeMimeInconsistency, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.SpoolDir = t.TempDir()
			ct, body := build(t, tt.opts)
			if tt.body != nil {
				ct, body = tt.body(ct, body)
			}
			in, err := OpenInbound(body, ct, InboundConfig{Identity: red, SpoolDir: t.TempDir()}, func(*ebms.Messaging) (InboundPolicy, error) { return strict, nil })
			if err == nil {
				in.Close()
				t.Fatal("accepted")
			}
			var f *Failure
			if !errors.As(err, &f) || f.Signal.ErrorCode != tt.wantCode || f.Status != tt.status {
				t.Fatalf("err = %v (%T), want %s with HTTP %d", err, err, tt.wantCode, tt.status)
			}
		})
	}
}

func must(rc io.ReadCloser, err error) io.ReadCloser {
	if err != nil {
		panic(err)
	}
	return rc
}
