package xenc

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/as4gw/as4gw/as4/soap"
	"github.com/as4gw/as4gw/as4/wssec"
	"github.com/as4gw/as4gw/as4/wssec/aesgcm"
	"github.com/as4gw/as4gw/ebms"
)

// receive does what the receiving MSH does after reading the MIME message:
// decrypt → verify (over the decrypted, still compressed octets) → decompress,
// and checks every payload against what was sent.
func receive(t *testing.T, msg *soap.Message, spoolDir string, ps []payload, signed bool) *DecryptResult {
	t.Helper()
	dres, err := DecryptAttachments(wenv(msg.Envelope), msg, receiver(), DecryptOptions{RequireEncryption: true})
	if err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	if len(dres.Parts) != len(ps) {
		t.Fatalf("decrypted %d parts, want %d", len(dres.Parts), len(ps))
	}
	// The plaintext replaced the ciphertext: nothing else is left in the
	// spool directory.
	if files := spoolFiles(t, spoolDir); len(files) != len(msg.Attachments) {
		t.Fatalf("spool dir holds %d files, want %d: %v", len(files), len(msg.Attachments), files)
	}
	if signed {
		env, atts := wssec.FromSOAP(msg)
		vr, err := wssec.Verify(env, atts, wssec.VerifyOptions{Policy: wssec.DefaultPolicy(), At: fixedTime})
		if err != nil {
			t.Fatalf("verify after decryption: %v", err)
		}
		if len(vr.AttachmentsSigned) != len(ps) {
			t.Fatalf("signature covers %d attachments, want %d", len(vr.AttachmentsSigned), len(ps))
		}
	}
	mEl, err := ebms.FindMessaging(msg.Envelope.Header)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ebms.Decode(mEl)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range ps {
		pi := &m.UserMessage.PayloadInfo[i]
		att, err := msg.AttachmentByCID(pi.Href)
		if err != nil {
			t.Fatal(err)
		}
		wantCT := p.mime
		if p.compress {
			wantCT = soap.CompressionTypeGzip
		}
		if att.ContentType != wantCT || att.Header.Get("Content-Type") != wantCT {
			t.Errorf("part %s: Content-Type %q / header %q, want %q", p.cid, att.ContentType, att.Header.Get("Content-Type"), wantCT)
		}
		if got := contentSHA256(t, att); got != att.SHA256 {
			t.Errorf("part %s: SHA256 field does not match the file", p.cid)
		}
		rc, err := OpenPayload(att, pi, 0)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		n, err := io.Copy(h, rc)
		rc.Close()
		if err != nil {
			t.Fatalf("part %s: reading payload: %v", p.cid, err)
		}
		if want := sha256.Sum256(p.data); n != int64(len(p.data)) || !bytes.Equal(h.Sum(nil), want[:]) {
			t.Errorf("part %s: payload differs (%d bytes, want %d)", p.cid, n, len(p.data))
		}
	}
	return dres
}

func TestEndToEnd(t *testing.T) {
	sizes := []int{0, 1, 10 << 10, 5 << 20}
	for _, size := range sizes {
		t.Run(fmt.Sprintf("one-%d", size), func(t *testing.T) {
			ps := []payload{{cid: "payload-1@as4gw.test", mime: "application/xml", data: randomData(uint64(size), size), compress: true}}
			wire, ct, _ := buildMessage(t, ps, defaultSend())
			msg, dir := readMessage(t, wire, ct)
			att := msg.Attachments[0]
			if att.ContentType != ContentTypeEncrypted {
				t.Errorf("encrypted part Content-Type %q", att.ContentType)
			}
			var z bytes.Buffer
			soap.Compress(&z, bytes.NewReader(ps[0].data))
			if att.Size != int64(z.Len()+aesgcm.Overhead) {
				t.Errorf("encrypted part is %d bytes, want %d", att.Size, z.Len()+aesgcm.Overhead)
			}
			encSize := att.Size
			res := receive(t, msg, dir, ps, true)
			if p := res.Parts[0]; p.Size != int64(z.Len()) || p.EncryptedSize != encSize || p.ContentType != soap.CompressionTypeGzip || p.Algorithm != aesgcm.AES128GCM {
				t.Errorf("part result %+v", p)
			}
			if k := res.Keys[0]; !k.RecipientIdentified || k.Reference != wssec.RefBSTX509v3 || !k.Certificate.Equal(receiver().Certificate) || k.Params != aesgcm.EDeliveryOAEP {
				t.Errorf("key result %+v", k)
			}
		})
	}
	t.Run("several", func(t *testing.T) {
		ps := []payload{
			{cid: "message", mime: "text/xml", data: []byte("<xhe>hello</xhe>"), compress: true},
			{cid: "attachment", mime: "application/octet-stream", data: randomData(9, 100<<10), compress: true},
			{cid: "raw/part%odd@x", mime: "image/jpeg", data: randomData(10, 3000)},
			{cid: "empty@x", mime: "text/plain", data: nil},
			{cid: "xml@x", mime: "application/xml", data: []byte("<a  b='1'>\n<c/></a>")},
			{cid: "text@x", mime: "text/plain", data: []byte("line one\nline two\r\n")},
		}
		wire, ct, _ := buildMessage(t, ps, defaultSend())
		msg, dir := readMessage(t, wire, ct)
		receive(t, msg, dir, ps, true)
	})
}

func TestOptions(t *testing.T) {
	ps := []payload{{cid: "a@x", mime: "application/xml", data: []byte("<a/>"), compress: true}, {cid: "b@x", mime: "text/plain", data: []byte("bee")}}
	cases := map[string]struct {
		opts EncryptOptions
		ref  wssec.TokenReference
	}{
		"default":      {EncryptOptions{}, wssec.RefBSTX509v3},
		"issuerserial": {EncryptOptions{KeyReference: RefIssuerSerial}, wssec.RefIssuerSerial},
		"ski":          {EncryptOptions{KeyReference: RefSKI}, wssec.RefSKI},
		"thumbprint":   {EncryptOptions{KeyReference: RefThumbprint}, wssec.RefThumbprint},
		"aes192":       {EncryptOptions{DataAlgorithm: aesgcm.AES192GCM}, wssec.RefBSTX509v3},
		"aes256":       {EncryptOptions{DataAlgorithm: aesgcm.AES256GCM}, wssec.RefBSTX509v3},
		"mgf1p-sha256": {EncryptOptions{KeyTransport: aesgcm.OAEPParams{Algorithm: aesgcm.RSAOAEPMGF1P, Hash: crypto.SHA256, MGFHash: crypto.SHA1}}, wssec.RefBSTX509v3},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := defaultSend()
			cfg.opts = c.opts
			wire, ct, _ := buildMessage(t, ps, cfg)
			msg, dir := readMessage(t, wire, ct)
			res := receive(t, msg, dir, ps, true)
			k := res.Keys[0]
			if !k.RecipientIdentified || k.Reference != c.ref {
				t.Errorf("key reference %q identified=%v, want %q", k.Reference, k.RecipientIdentified, c.ref)
			}
			want := c.opts.DataAlgorithm
			if want == "" {
				want = aesgcm.AES128GCM
			}
			for _, p := range res.Parts {
				if p.Algorithm != want {
					t.Errorf("algorithm %s, want %s", p.Algorithm, want)
				}
			}
		})
	}
}

// TestHeaderLayout checks the wire format against what eDelivery peers send
// (phase4's dump-raw.as4out is the model).
func TestHeaderLayout(t *testing.T) {
	ps := []payload{{cid: "a@x", mime: "application/xml", data: []byte("<a/>"), compress: true}}
	wire, ct, res := buildMessage(t, ps, defaultSend())
	msg, _ := readMessage(t, wire, ct)
	sec := security(t, msg)
	var order []string
	for _, c := range sec.ChildElements() {
		order = append(order, c.Tag)
	}
	want := []string{"Timestamp", "BinarySecurityToken", "BinarySecurityToken", "EncryptedKey", "EncryptedData", "Signature"}
	if fmt.Sprint(order) != fmt.Sprint(want) {
		t.Fatalf("Security header order %v, want %v", order, want)
	}
	ek := sec.ChildElements()[3]
	if id, _ := attr(ek, "Id"); id != res.EncryptedKeyID {
		t.Errorf("EncryptedKey Id %q, want %q", id, res.EncryptedKeyID)
	}
	em := ek.SelectElement("xenc:EncryptionMethod")
	if a, _ := attr(em, "Algorithm"); a != aesgcm.RSAOAEP {
		t.Errorf("key transport %s", a)
	}
	if a, _ := attr(em.SelectElement("ds:DigestMethod"), "Algorithm"); a != "http://www.w3.org/2001/04/xmlenc#sha256" {
		t.Errorf("OAEP digest %s", a)
	}
	if a, _ := attr(em.SelectElement("xenc11:MGF"), "Algorithm"); a != "http://www.w3.org/2009/xmlenc11#mgf1sha256" {
		t.Errorf("MGF %s", a)
	}
	ed := sec.ChildElements()[4]
	for k, v := range map[string]string{
		"Id":       res.Parts[0].EncryptedDataID,
		"Type":     wssec.TypeAttachmentContentOnly,
		"MimeType": "application/gzip",
	} {
		if got, _ := attr(ed, k); got != v {
			t.Errorf("EncryptedData/@%s = %q, want %q", k, got, v)
		}
	}
	if a, _ := attr(ed.SelectElement("xenc:EncryptionMethod"), "Algorithm"); a != aesgcm.AES128GCM {
		t.Errorf("data algorithm %s", a)
	}
	cr := ed.FindElement("xenc:CipherData/xenc:CipherReference")
	if u, _ := attr(cr, "URI"); u != "cid:a@x" {
		t.Errorf("CipherReference %q", u)
	}
	if a, _ := attr(cr.FindElement("xenc:Transforms/ds:Transform"), "Algorithm"); a != wssec.AlgAttachmentCiphertext {
		t.Errorf("transform %s", a)
	}
	if u, _ := attr(ek.FindElement("xenc:ReferenceList/xenc:DataReference"), "URI"); u != "#"+res.Parts[0].EncryptedDataID {
		t.Errorf("DataReference %q", u)
	}
	if u := keyInfoReference(ed); u != "#"+res.EncryptedKeyID {
		t.Errorf("EncryptedData KeyInfo reference %q", u)
	}
}

func TestEncryptWithoutSignature(t *testing.T) {
	ps := []payload{{cid: "a@x", mime: "text/plain", data: []byte("unsigned")}}
	cfg := defaultSend()
	cfg.sign = false
	wire, ct, _ := buildMessage(t, ps, cfg)
	msg, dir := readMessage(t, wire, ct)
	sec := security(t, msg)
	var order []string
	for _, c := range sec.ChildElements() {
		order = append(order, c.Tag)
	}
	if fmt.Sprint(order) != "[BinarySecurityToken EncryptedKey EncryptedData]" {
		t.Errorf("header %v", order)
	}
	receive(t, msg, dir, ps, false)
}

func TestEncryptForOwnCertificateReusesToken(t *testing.T) {
	ps := []payload{{cid: "a@x", mime: "text/plain", data: []byte("loop")}}
	cfg := defaultSend()
	cfg.recipient = sender() // the signing certificate
	wire, ct, _ := buildMessage(t, ps, cfg)
	msg, _ := readMessage(t, wire, ct)
	if n := len(childrenNS(security(t, msg), wssec.NSWSSE, "BinarySecurityToken")); n != 1 {
		t.Fatalf("%d tokens, want the signing token reused", n)
	}
	if _, err := DecryptAttachments(wenv(msg.Envelope), msg, sender(), DecryptOptions{RequireEncryption: true}); err != nil {
		t.Fatal(err)
	}
}

func TestEncryptArguments(t *testing.T) {
	env := newEnvelope(t, nil)
	att := PlainAttachment{ContentID: "a", Open: bytesOpener(nil)}
	if _, err := EncryptAttachments(wenv(env), []PlainAttachment{att}, nil, EncryptOptions{}); err == nil {
		t.Error("nil recipient accepted")
	}
	if _, err := EncryptAttachments(wenv(env), []PlainAttachment{att, att}, receiver().Certificate, EncryptOptions{}); err == nil {
		t.Error("duplicate Content-ID accepted")
	}
	if _, err := EncryptAttachments(wenv(env), []PlainAttachment{att}, receiver().Certificate, EncryptOptions{DataAlgorithm: "http://www.w3.org/2001/04/xmlenc#aes128-cbc"}); err == nil {
		t.Error("CBC accepted for sending")
	}
	if _, err := EncryptAttachments(wenv(env), []PlainAttachment{att}, receiver().Certificate, EncryptOptions{KeyTransport: aesgcm.OAEPParams{Algorithm: "http://www.w3.org/2001/04/xmlenc#rsa-1_5"}}); err == nil {
		t.Error("RSA 1.5 accepted for sending")
	}
	res, err := EncryptAttachments(wenv(env), nil, receiver().Certificate, EncryptOptions{})
	if err != nil || len(res.Parts) != 0 || env.Header.FindElement("Security") != nil {
		t.Errorf("no attachments: %v %+v", err, res)
	}
	if _, err := EncryptAttachments(wenv(env), []PlainAttachment{att}, receiver().Certificate, EncryptOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := EncryptAttachments(wenv(env), []PlainAttachment{att}, receiver().Certificate, EncryptOptions{}); err == nil {
		t.Error("encrypting twice accepted")
	}
}

// TestPartReader covers both ways of streaming a part: Read in small pieces
// and WriteTo; each call uses a fresh IV, and Destroy disables the parts.
func TestPartReader(t *testing.T) {
	data := randomData(3, 200<<10)
	env := newEnvelope(t, nil)
	res, err := EncryptAttachments(wenv(env), []PlainAttachment{{ContentID: "a", ContentType: "text/plain", Open: bytesOpener(data)}}, receiver().Certificate, EncryptOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := res.Parts[0]
	var viaRead bytes.Buffer
	r := p.Reader()
	buf := make([]byte, 777)
	for {
		n, err := r.Read(buf)
		viaRead.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	r.Close()
	var viaWriteTo bytes.Buffer
	if _, err := io.Copy(&viaWriteTo, p.Reader()); err != nil {
		t.Fatal(err)
	}
	for name, ct := range map[string][]byte{"Read": viaRead.Bytes(), "WriteTo": viaWriteTo.Bytes()} {
		if len(ct) != len(data)+aesgcm.Overhead {
			t.Fatalf("%s: %d bytes", name, len(ct))
		}
		var pt bytes.Buffer
		if _, err := aesgcm.Decrypt(&pt, bytes.NewReader(ct), res.key, nil); err != nil || !bytes.Equal(pt.Bytes(), data) {
			t.Fatalf("%s: does not decrypt: %v", name, err)
		}
	}
	if bytes.Equal(viaRead.Bytes()[:aesgcm.IVSize], viaWriteTo.Bytes()[:aesgcm.IVSize]) {
		t.Error("two writes of a part used the same IV")
	}
	res.Destroy()
	if _, err := p.WriteTo(io.Discard); err == nil {
		t.Error("WriteTo after Destroy succeeded")
	}
	if _, err := io.Copy(io.Discard, p.Reader()); err == nil {
		t.Error("Reader after Destroy succeeded")
	}
}

// A read error while encrypting must not end the part with a valid tag.
func TestWriteToReadError(t *testing.T) {
	env := newEnvelope(t, nil)
	failing := func() (io.ReadCloser, error) {
		return io.NopCloser(io.MultiReader(bytes.NewReader(randomData(4, 1000)), errReader{})), nil
	}
	res, err := EncryptAttachments(wenv(env), []PlainAttachment{{ContentID: "a", Open: failing}}, receiver().Certificate, EncryptOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := res.Parts[0].WriteTo(&out); err == nil {
		t.Fatal("no error")
	}
	if _, err := aesgcm.Decrypt(io.Discard, bytes.NewReader(out.Bytes()), res.key, nil); err == nil {
		t.Fatal("truncated output decrypts")
	}
	if _, err := io.Copy(io.Discard, struct{ io.Reader }{res.Parts[0].Reader()}); err == nil {
		t.Fatal("Reader: no error")
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, os.ErrClosed }
