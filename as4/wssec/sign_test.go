package wssec

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/as4gw/as4gw/ebms"
	"github.com/as4gw/as4gw/trust/testpki"
)

const testEnvelope = `<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope"><S12:Header>` +
	`<eb:Messaging xmlns:eb="http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/" S12:mustUnderstand="true">` +
	`<eb:UserMessage><eb:MessageInfo><eb:Timestamp>2026-11-26T10:00:00.000Z</eb:Timestamp><eb:MessageId>a@b</eb:MessageId></eb:MessageInfo></eb:UserMessage>` +
	`</eb:Messaging></S12:Header><S12:Body/></S12:Envelope>`

// parseEnvelope parses XML into the parts WS-Security works on.
func parseEnvelope(t testing.TB, xml []byte) (*etree.Document, Envelope) {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(xml); err != nil {
		t.Fatal(err)
	}
	root := doc.Root()
	return doc, Envelope{Root: root, Header: root.SelectElement("S12:Header"), Body: root.SelectElement("S12:Body")}
}

func memAttachment(cid string, data []byte) Attachment {
	return Attachment{ContentID: cid, Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	signer := testpki.Must(testpki.NewSelfSigned(testpki.Spec{CommonName: "AP-TEST"}))
	atts := []Attachment{memAttachment("part1@as4gw", []byte("payload one")), memAttachment("part2@as4gw", []byte("payload two"))}
	for _, alg := range []struct{ sig, dig string }{
		{AlgRSASHA256, AlgSHA256}, {AlgRSASHA384, AlgSHA384}, {AlgRSASHA512, AlgSHA512},
	} {
		t.Run(alg.sig, func(t *testing.T) {
			doc, env := parseEnvelope(t, []byte(testEnvelope))
			res, err := Sign(env, atts, SignOptions{Key: signer.Signer(), Certificate: signer.Certificate,
				SignatureMethod: alg.sig, DigestMethod: alg.dig, Now: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.References) != 5 {
				t.Fatalf("signed %d references, want 5 (Messaging, Body, Timestamp, 2 attachments)", len(res.References))
			}
			// Serialize and read back, as a receiver would.
			doc.WriteSettings = ebms.WriteSettings()
			wire, err := doc.WriteToBytes()
			if err != nil {
				t.Fatal(err)
			}
			_, env2 := parseEnvelope(t, wire)
			vr, err := Verify(env2, atts, VerifyOptions{Policy: DefaultPolicy()})
			if err != nil {
				t.Fatalf("verify: %v\n%s", err, wire)
			}
			if !vr.MessagingSigned || !vr.BodySigned || len(vr.AttachmentsSigned) != 2 {
				t.Errorf("coverage = %+v", vr)
			}
			if !vr.Certificate.Equal(signer.Certificate) {
				t.Error("result names the wrong certificate")
			}
			// A swapped attachment fails with EBMS:0101.
			swapped := []Attachment{atts[0], memAttachment("part2@as4gw", []byte("payload TWO"))}
			_, err = Verify(env2, swapped, VerifyOptions{Policy: DefaultPolicy()})
			var we *Error
			if !errors.As(err, &we) || we.Code != ebms.CodeFailedAuthentication || we.Check != "digest" {
				t.Fatalf("swapped attachment: err = %v, want EBMS:0101 digest", err)
			}
		})
	}
}
