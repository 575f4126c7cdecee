package xenc

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/as4gw/as4gw/as4/soap"
	"github.com/as4gw/as4gw/as4/wssec"
	"github.com/as4gw/as4gw/ebms"
	"github.com/as4gw/as4gw/trust"
	"github.com/as4gw/as4gw/trust/testpki"
)

// Test identities: a sender that signs, the receiver we decrypt for, and a
// third party whose key must not work.
var testIDs = sync.OnceValue(func() map[string]*trust.Identity {
	out := map[string]*trust.Identity{}
	for slot, cn := range []string{"AP-SENDER", "AP-RECEIVER", "AP-OTHER"} {
		c := testpki.Must(testpki.NewSelfSigned(testpki.Spec{CommonName: cn, KeySlot: slot}))
		id, err := trust.NewIdentity(c.Key, c.Certificate, nil)
		if err != nil {
			panic(err)
		}
		out[cn] = id
	}
	return out
})

func sender() *trust.Identity   { return testIDs()["AP-SENDER"] }
func receiver() *trust.Identity { return testIDs()["AP-RECEIVER"] }
func other() *trust.Identity    { return testIDs()["AP-OTHER"] }

// payload is one attachment to send. gen, when set, produces size bytes
// deterministically instead of data (large tests).
type payload struct {
	cid      string
	mime     string
	data     []byte
	compress bool
}

type sendConfig struct {
	sign      bool
	encrypt   bool
	recipient *trust.Identity
	opts      EncryptOptions
}

func defaultSend() sendConfig {
	return sendConfig{sign: true, encrypt: true, recipient: receiver()}
}

func messagingXML(ps []payload) string {
	var b strings.Builder
	b.WriteString(`<eb:Messaging xmlns:eb="http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/" xmlns:S12="http://www.w3.org/2003/05/soap-envelope" S12:mustUnderstand="true">`)
	b.WriteString(`<eb:UserMessage><eb:MessageInfo><eb:Timestamp>2026-11-26T10:00:00.000Z</eb:Timestamp><eb:MessageId>m1@as4gw.test</eb:MessageId></eb:MessageInfo>`)
	b.WriteString(`<eb:PartyInfo><eb:From><eb:PartyId type="urn:fdc:digg.se:edelivery:transportprofile:as4:partytype:ap">AP-SENDER</eb:PartyId><eb:Role>http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/initiator</eb:Role></eb:From>`)
	b.WriteString(`<eb:To><eb:PartyId type="urn:fdc:digg.se:edelivery:transportprofile:as4:partytype:ap">AP-RECEIVER</eb:PartyId><eb:Role>http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/responder</eb:Role></eb:To></eb:PartyInfo>`)
	b.WriteString(`<eb:CollaborationInfo><eb:Service type="urn:fdc:digg.se:edelivery:process">bdx:noprocess</eb:Service><eb:Action>test</eb:Action><eb:ConversationId>c1</eb:ConversationId></eb:CollaborationInfo>`)
	b.WriteString(`<eb:PayloadInfo>`)
	for _, p := range ps {
		fmt.Fprintf(&b, `<eb:PartInfo href="%s"><eb:PartProperties><eb:Property name="MimeType">%s</eb:Property>`, soap.CIDURL(p.cid), p.mime)
		if p.compress {
			b.WriteString(`<eb:Property name="CompressionType">application/gzip</eb:Property>`)
		}
		b.WriteString(`</eb:PartProperties></eb:PartInfo>`)
	}
	b.WriteString(`</eb:PayloadInfo></eb:UserMessage></eb:Messaging>`)
	return b.String()
}

func newEnvelope(t testing.TB, ps []payload) *soap.Envelope {
	t.Helper()
	env := soap.NewEnvelope(soap.SOAP12)
	doc := etree.NewDocument()
	if err := doc.ReadFromString(messagingXML(ps)); err != nil {
		t.Fatal(err)
	}
	m := doc.Root()
	m.RemoveAttr("xmlns:S12") // the envelope declares it
	env.Header.AddChild(m)
	return env
}

func wenv(e *soap.Envelope) wssec.Envelope { return wssec.EnvelopeFromSOAP(e) }

func bytesOpener(b []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}

// buildMessage does what the sending MSH does: compress → sign → encrypt →
// MIME. It returns the wire bytes and the Content-Type.
func buildMessage(t testing.TB, ps []payload, cfg sendConfig) ([]byte, string, *EncryptResult) {
	t.Helper()
	env := newEnvelope(t, ps)
	var plains []PlainAttachment
	var signAtts []wssec.Attachment
	for _, p := range ps {
		data, ct := p.data, p.mime
		if p.compress {
			var z bytes.Buffer
			if _, err := soap.Compress(&z, bytes.NewReader(p.data)); err != nil {
				t.Fatal(err)
			}
			data, ct = z.Bytes(), soap.CompressionTypeGzip
		}
		plains = append(plains, PlainAttachment{ContentID: p.cid, ContentType: ct, Open: bytesOpener(data)})
		signAtts = append(signAtts, wssec.Attachment{ContentID: p.cid, ContentType: ct, Open: bytesOpener(data)})
	}
	if cfg.sign {
		if _, err := wssec.Sign(wenv(env), signAtts, wssec.SignOptions{Key: sender().Signer, Certificate: sender().Certificate}); err != nil {
			t.Fatal(err)
		}
	}
	var res *EncryptResult
	if cfg.encrypt {
		var err error
		res, err = EncryptAttachments(wenv(env), plains, cfg.recipient.Certificate, cfg.opts)
		if err != nil {
			t.Fatal(err)
		}
	}
	envBytes, err := env.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	var wire bytes.Buffer
	mw := soap.NewWriter(&wire)
	if err := mw.WriteEnvelope(envBytes); err != nil {
		t.Fatal(err)
	}
	if res != nil {
		if err := res.WriteAttachments(mw); err != nil {
			t.Fatal(err)
		}
	} else {
		for _, p := range plains {
			rc, _ := p.Open()
			if _, err := mw.WriteAttachment(p.ContentID, p.ContentType, rc); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return wire.Bytes(), mw.ContentType(), res
}

// readMessage parses wire bytes as the receiving MSH does, spooling into a
// fresh directory (returned) so tests can check nothing is left behind.
func readMessage(t testing.TB, wire []byte, ct string) (*soap.Message, string) {
	t.Helper()
	dir := t.TempDir()
	msg, err := soap.ReadMessage(bytes.NewReader(wire), ct, soap.Limits{}, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { msg.Close() })
	// Spooled as large parts are, so the tests can work on the files;
	// memory_test.go covers parts held in memory.
	for _, a := range msg.Attachments {
		if err := a.Spool(dir); err != nil {
			t.Fatal(err)
		}
	}
	return msg, dir
}

// spooled counts the attachments held in files (the large ones).
func spooled(msg *soap.Message) int {
	n := 0
	for _, a := range msg.Attachments {
		if a.Path() != "" {
			n++
		}
	}
	return n
}

// readMessageInMemory is readMessage leaving small parts in memory.
func readMessageInMemory(t testing.TB, wire []byte, ct string) (*soap.Message, string) {
	t.Helper()
	dir := t.TempDir()
	msg, err := soap.ReadMessage(bytes.NewReader(wire), ct, soap.Limits{}, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { msg.Close() })
	return msg, dir
}

// contentSHA256 digests an attachment's content, in memory or in a file.
func contentSHA256(t testing.TB, a *soap.Attachment) [32]byte {
	t.Helper()
	rc, err := a.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}

func fileSHA256(t testing.TB, path string) [32]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

func randomData(seed uint64, n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 7}).Read(b)
	return b
}

// wantErr checks that err is a *wssec.Error with the code and check.
func wantErr(t testing.TB, err error, code ebms.Code, check string) *wssec.Error {
	t.Helper()
	var we *wssec.Error
	if !errors.As(err, &we) {
		t.Fatalf("err = %v (%T), want *wssec.Error %s %s", err, err, code, check)
	}
	if we.Code != code || we.Check != check {
		t.Fatalf("err = %v, want %s %s", err, code, check)
	}
	return we
}

// spoolFiles lists the files in a spool directory.
func spoolFiles(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, filepath.Join(dir, e.Name()))
	}
	return out
}

// security returns the message's wsse:Security header.
func security(t testing.TB, msg *soap.Message) *etree.Element {
	t.Helper()
	sec, err := wssec.FindSecurity(msg.Envelope.Header)
	if err != nil || sec == nil {
		t.Fatalf("no Security header: %v", err)
	}
	return sec
}

// fixedTime is a verification time at which the test certificates are valid.
var fixedTime = time.Now()

type trustIdentity = trust.Identity

func newIndex(certs ...*x509.Certificate) *trust.CertificateIndex {
	return trust.NewCertificateIndex(certs...)
}

const (
	cryptoSHA1   = crypto.SHA1
	cryptoSHA256 = crypto.SHA256
)
