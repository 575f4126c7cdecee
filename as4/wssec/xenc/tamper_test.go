package xenc

import (
	"encoding/base64"
	"os"
	"testing"

	"github.com/beevik/etree"

	"github.com/as4gw/as4gw/as4/soap"
	"github.com/as4gw/as4gw/as4/wssec"
	"github.com/as4gw/as4gw/ebms"
)

var tamperPayloads = []payload{
	{cid: "one@x", mime: "application/xml", data: []byte("<one>first payload</one>"), compress: true},
	{cid: "two@x", mime: "application/xml", data: []byte("<two>second payload, a bit longer</two>"), compress: true},
}

// tamperMessage returns a freshly read signed+encrypted message.
func tamperMessage(t *testing.T) (*soap.Message, string) {
	t.Helper()
	wire, ct, _ := buildMessage(t, tamperPayloads, defaultSend())
	return readMessage(t, wire, ct)
}

// snapshot records the attachments so a failed decryption can be shown to
// leave the message untouched.
type snapshot struct {
	sums  [][32]byte
	types []string
	files int
}

func takeSnapshot(t *testing.T, msg *soap.Message, dir string) snapshot {
	var s snapshot
	for _, a := range msg.Attachments {
		s.sums = append(s.sums, a.SHA256)
		s.types = append(s.types, a.ContentType)
	}
	s.files = len(spoolFiles(t, dir))
	return s
}

func (s snapshot) check(t *testing.T, msg *soap.Message, dir string) {
	t.Helper()
	for i, a := range msg.Attachments {
		if a.SHA256 != s.sums[i] || a.ContentType != s.types[i] || contentSHA256(t, a) != s.sums[i] {
			t.Errorf("attachment <%s> changed by a failed decryption", a.ContentID)
		}
	}
	if n := len(spoolFiles(t, dir)); n != s.files {
		t.Errorf("spool dir holds %d files after the failure, want %d", n, s.files)
	}
}

func encryptedData(t *testing.T, msg *soap.Message) []*etree.Element {
	return childrenNS(security(t, msg), wssec.NSXENC, "EncryptedData")
}

func encryptedKey(t *testing.T, msg *soap.Message) *etree.Element {
	return childrenNS(security(t, msg), wssec.NSXENC, "EncryptedKey")[0]
}

func flipFileByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x80
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func TestTamper(t *testing.T) {
	type tc struct {
		mutate func(t *testing.T, msg *soap.Message)
		id     func() DecryptOptions
		code   ebms.Code
		check  string
	}
	required := func() DecryptOptions { return DecryptOptions{RequireEncryption: true} }
	cases := map[string]tc{
		"ciphertext-bit-flip": {mutate: func(t *testing.T, msg *soap.Message) {
			a := msg.Attachments[1]
			flipFileByte(t, a.Path(), a.Size/2)
		}, code: ebms.CodeFailedDecryption, check: CheckDecryption},
		"iv-bit-flip": {mutate: func(t *testing.T, msg *soap.Message) {
			flipFileByte(t, msg.Attachments[0].Path(), 0)
		}, code: ebms.CodeFailedDecryption, check: CheckDecryption},
		"tag-bit-flip": {mutate: func(t *testing.T, msg *soap.Message) {
			a := msg.Attachments[0]
			flipFileByte(t, a.Path(), a.Size-1)
		}, code: ebms.CodeFailedDecryption, check: CheckDecryption},
		"truncated-part": {mutate: func(t *testing.T, msg *soap.Message) {
			if err := os.Truncate(msg.Attachments[0].Path(), 20); err != nil {
				t.Fatal(err)
			}
		}, code: ebms.CodeFailedDecryption, check: CheckDecryption},
		"wrapped-key-bit-flip": {mutate: func(t *testing.T, msg *soap.Message) {
			cv := encryptedKey(t, msg).FindElement("xenc:CipherData/xenc:CipherValue")
			b, _ := base64.StdEncoding.DecodeString(cv.Text())
			b[len(b)/2] ^= 1
			cv.SetText(base64.StdEncoding.EncodeToString(b))
		}, code: ebms.CodeFailedDecryption, check: CheckDecryption},
		// Both parts reference the same MIME part: one would stay encrypted.
		"cipher-reference-duplicated": {mutate: func(t *testing.T, msg *soap.Message) {
			eds := encryptedData(t, msg)
			eds[1].FindElement("xenc:CipherData/xenc:CipherReference").CreateAttr("URI", "cid:one@x")
		}, code: ebms.CodeFailedDecryption, check: CheckCipherReference},
		"cipher-reference-missing-part": {mutate: func(t *testing.T, msg *soap.Message) {
			encryptedData(t, msg)[0].FindElement("xenc:CipherData/xenc:CipherReference").CreateAttr("URI", "cid:nothere@x")
		}, code: ebms.CodeFailedDecryption, check: CheckCipherReference},
		"cipher-reference-not-cid": {mutate: func(t *testing.T, msg *soap.Message) {
			encryptedData(t, msg)[0].FindElement("xenc:CipherData/xenc:CipherReference").CreateAttr("URI", "http://example.com/x")
		}, code: ebms.CodePolicyNoncompliance, check: CheckCipherForm},
		"cipher-reference-other-transform": {mutate: func(t *testing.T, msg *soap.Message) {
			encryptedData(t, msg)[0].FindElement("xenc:CipherData/xenc:CipherReference/xenc:Transforms/ds:Transform").CreateAttr("Algorithm", "http://www.w3.org/TR/1999/REC-xslt-19991116")
		}, code: ebms.CodePolicyNoncompliance, check: CheckCipherForm},
		"inline-cipher-value": {mutate: func(t *testing.T, msg *soap.Message) {
			cd := encryptedData(t, msg)[0].FindElement("xenc:CipherData")
			cd.RemoveChildAt(0)
			cd.CreateElement("xenc:CipherValue").SetText("AAAA")
		}, code: ebms.CodePolicyNoncompliance, check: CheckCipherForm},
		"encrypted-data-in-body": {mutate: func(t *testing.T, msg *soap.Message) {
			ed := encryptedData(t, msg)[0]
			security(t, msg).RemoveChild(ed)
			msg.Envelope.Body.AddChild(ed)
		}, code: ebms.CodePolicyNoncompliance, check: CheckPosition},
		"encrypted-data-in-other-header": {mutate: func(t *testing.T, msg *soap.Message) {
			ed := encryptedData(t, msg)[1]
			security(t, msg).RemoveChild(ed)
			msg.Envelope.Header.CreateElement("x:Other").AddChild(ed)
		}, code: ebms.CodePolicyNoncompliance, check: CheckPosition},
		"encrypted-key-nested": {mutate: func(t *testing.T, msg *soap.Message) {
			ek := encryptedKey(t, msg)
			security(t, msg).RemoveChild(ek)
			encryptedData(t, msg)[0].SelectElement("ds:KeyInfo").AddChild(ek)
		}, code: ebms.CodePolicyNoncompliance, check: CheckPosition},
		"duplicate-id": {mutate: func(t *testing.T, msg *soap.Message) {
			id, _ := attr(encryptedData(t, msg)[0], "Id")
			msg.Envelope.Body.CreateElement("decoy").CreateAttr("Id", id)
		}, code: ebms.CodeFailedDecryption, check: CheckDuplicateID},
		"data-reference-dangling": {mutate: func(t *testing.T, msg *soap.Message) {
			encryptedKey(t, msg).FindElement("xenc:ReferenceList/xenc:DataReference").CreateAttr("URI", "#nowhere")
		}, code: ebms.CodeFailedDecryption, check: CheckDataReference},
		"data-reference-to-body": {mutate: func(t *testing.T, msg *soap.Message) {
			msg.Envelope.Body.CreateAttr("Id", "body-1")
			encryptedKey(t, msg).FindElement("xenc:ReferenceList/xenc:DataReference").CreateAttr("URI", "#body-1")
		}, code: ebms.CodeFailedDecryption, check: CheckDataReference},
		"encrypted-data-without-key": {mutate: func(t *testing.T, msg *soap.Message) {
			ek := encryptedKey(t, msg)
			rl := ek.SelectElement("xenc:ReferenceList")
			rl.RemoveChildAt(len(rl.Child) - 1)
			for _, ed := range encryptedData(t, msg) {
				ed.RemoveChild(ed.SelectElement("ds:KeyInfo"))
			}
		}, code: ebms.CodeFailedDecryption, check: CheckDataReference},
		"standalone-reference-list-dangling": {mutate: func(t *testing.T, msg *soap.Message) {
			rl := security(t, msg).CreateElement("xenc:ReferenceList")
			rl.CreateAttr("xmlns:xenc", wssec.NSXENC)
			rl.CreateElement("xenc:DataReference").CreateAttr("URI", "#missing")
		}, code: ebms.CodeFailedDecryption, check: CheckDataReference},
		"keyinfo-names-other-key": {mutate: func(t *testing.T, msg *soap.Message) {
			ek2 := encryptedKey(t, msg).Copy()
			ek2.CreateAttr("Id", "EK-second")
			ek2.RemoveChild(ek2.SelectElement("xenc:ReferenceList"))
			security(t, msg).AddChild(ek2)
			encryptedData(t, msg)[0].FindElement("ds:KeyInfo/wsse:SecurityTokenReference/wsse:Reference").CreateAttr("URI", "#EK-second")
		}, code: ebms.CodeFailedDecryption, check: CheckDataReference},
		"cbc": {mutate: func(t *testing.T, msg *soap.Message) {
			encryptedData(t, msg)[0].SelectElement("xenc:EncryptionMethod").CreateAttr("Algorithm", "http://www.w3.org/2001/04/xmlenc#aes128-cbc")
		}, code: ebms.CodePolicyNoncompliance, check: CheckDataAlgorithm},
		"mixed-algorithms": {mutate: func(t *testing.T, msg *soap.Message) {
			encryptedData(t, msg)[0].SelectElement("xenc:EncryptionMethod").CreateAttr("Algorithm", "http://www.w3.org/2009/xmlenc11#aes256-gcm")
		}, code: ebms.CodeFailedDecryption, check: CheckEncryptedKey},
		"aes256-claimed": {mutate: func(t *testing.T, msg *soap.Message) {
			for _, ed := range encryptedData(t, msg) {
				ed.SelectElement("xenc:EncryptionMethod").CreateAttr("Algorithm", "http://www.w3.org/2009/xmlenc11#aes256-gcm")
			}
		}, code: ebms.CodeFailedDecryption, check: CheckDecryption},
		"rsa-1_5": {mutate: func(t *testing.T, msg *soap.Message) {
			encryptedKey(t, msg).SelectElement("xenc:EncryptionMethod").CreateAttr("Algorithm", "http://www.w3.org/2001/04/xmlenc#rsa-1_5")
		}, code: ebms.CodePolicyNoncompliance, check: CheckKeyTransport},
		"oaep-sha1-digest-md5": {mutate: func(t *testing.T, msg *soap.Message) {
			encryptedKey(t, msg).FindElement("xenc:EncryptionMethod/ds:DigestMethod").CreateAttr("Algorithm", "http://www.w3.org/2001/04/xmldsig-more#md5")
		}, code: ebms.CodePolicyNoncompliance, check: CheckKeyTransport},
		"oaep-label": {mutate: func(t *testing.T, msg *soap.Message) {
			encryptedKey(t, msg).SelectElement("xenc:EncryptionMethod").CreateElement("xenc:OAEPparams").SetText("AQID")
		}, code: ebms.CodePolicyNoncompliance, check: CheckKeyTransport},
		"type-attachment-complete": {mutate: func(t *testing.T, msg *soap.Message) {
			encryptedData(t, msg)[0].CreateAttr("Type", wssec.TypeAttachmentComplete)
		}, code: ebms.CodePolicyNoncompliance, check: CheckDataType},
		"type-element": {mutate: func(t *testing.T, msg *soap.Message) {
			encryptedData(t, msg)[0].CreateAttr("Type", "http://www.w3.org/2001/04/xmlenc#Element")
		}, code: ebms.CodePolicyNoncompliance, check: CheckDataType},
		"one-part-not-encrypted": {mutate: func(t *testing.T, msg *soap.Message) {
			ed := encryptedData(t, msg)[1]
			id, _ := attr(ed, "Id")
			security(t, msg).RemoveChild(ed)
			rl := encryptedKey(t, msg).SelectElement("xenc:ReferenceList")
			for _, dr := range rl.ChildElements() {
				if u, _ := attr(dr, "URI"); u == "#"+id {
					rl.RemoveChild(dr)
				}
			}
		}, id: required, code: ebms.CodePolicyNoncompliance, check: CheckEncryptionRequired},
		"no-encryption-at-all": {mutate: func(t *testing.T, msg *soap.Message) {
			sec := security(t, msg)
			for _, el := range append(encryptedData(t, msg), encryptedKey(t, msg)) {
				sec.RemoveChild(el)
			}
		}, id: required, code: ebms.CodePolicyNoncompliance, check: CheckEncryptionRequired},
		"too-many-encrypted-data": {
			id:   func() DecryptOptions { return DecryptOptions{MaxEncryptedData: 1} },
			code: ebms.CodePolicyNoncompliance, check: CheckLimit},
		"too-many-encrypted-keys": {mutate: func(t *testing.T, msg *soap.Message) {
			sec := security(t, msg)
			ek := encryptedKey(t, msg)
			for range 4 {
				c := ek.Copy()
				c.CreateAttr("Id", wssec.NewID("EK"))
				c.RemoveChild(c.SelectElement("xenc:ReferenceList"))
				sec.AddChild(c)
			}
		}, code: ebms.CodePolicyNoncompliance, check: CheckLimit},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			msg, dir := tamperMessage(t)
			snap := takeSnapshot(t, msg, dir)
			if c.mutate != nil {
				c.mutate(t, msg)
				if name == "ciphertext-bit-flip" || name == "iv-bit-flip" || name == "tag-bit-flip" || name == "truncated-part" {
					snap = takeSnapshot(t, msg, dir)
					for i, a := range msg.Attachments {
						snap.sums[i] = fileSHA256(t, a.Path())
						a.SHA256 = snap.sums[i]
					}
				}
			}
			opts := DecryptOptions{}
			if c.id != nil {
				opts = c.id()
			}
			_, err := DecryptAttachments(wenv(msg.Envelope), msg, receiver(), opts)
			wantErr(t, err, c.code, c.check)
			snap.check(t, msg, dir)
		})
	}
}

// TestNoOracle: a bad wrapped key and a bad tag look the same to the peer.
func TestNoOracle(t *testing.T) {
	msg1, _ := tamperMessage(t)
	cv := encryptedKey(t, msg1).FindElement("xenc:CipherData/xenc:CipherValue")
	b, _ := base64.StdEncoding.DecodeString(cv.Text())
	b[5] ^= 1
	cv.SetText(base64.StdEncoding.EncodeToString(b))
	_, errKey := DecryptAttachments(wenv(msg1.Envelope), msg1, receiver(), DecryptOptions{})

	msg2, _ := tamperMessage(t)
	flipFileByte(t, msg2.Attachments[0].Path(), 30)
	_, errTag := DecryptAttachments(wenv(msg2.Envelope), msg2, receiver(), DecryptOptions{})

	if errKey == nil || errTag == nil || errKey.Error() != errTag.Error() {
		t.Fatalf("errors differ:\n key: %v\n tag: %v", errKey, errTag)
	}
	for _, err := range []error{errKey, errTag} {
		if we := wantErr(t, err, ebms.CodeFailedDecryption, CheckDecryption); we.Err != nil {
			t.Fatalf("the decryption error carries a cause: %v", we.Err)
		}
	}
}

func TestWrongKey(t *testing.T) {
	// BST reference to the receiver's certificate: recognised as not ours
	// without trying the key.
	msg, dir := tamperMessage(t)
	snap := takeSnapshot(t, msg, dir)
	_, err := DecryptAttachments(wenv(msg.Envelope), msg, other(), DecryptOptions{})
	wantErr(t, err, ebms.CodeFailedDecryption, CheckRecipient)
	snap.check(t, msg, dir)

	// A SKI nobody knows: the key is tried and fails like a bad tag,
	// unless StrictRecipient.
	cfg := defaultSend()
	cfg.opts.KeyReference = RefSKI
	wire, ct, _ := buildMessage(t, tamperPayloads, cfg)
	msg, dir = readMessage(t, wire, ct)
	snap = takeSnapshot(t, msg, dir)
	_, err = DecryptAttachments(wenv(msg.Envelope), msg, other(), DecryptOptions{})
	wantErr(t, err, ebms.CodeFailedDecryption, CheckDecryption)
	_, err = DecryptAttachments(wenv(msg.Envelope), msg, other(), DecryptOptions{StrictRecipient: true})
	wantErr(t, err, ebms.CodeFailedDecryption, CheckRecipient)
	snap.check(t, msg, dir)

	// With the receiver certificate known as a partner certificate, the
	// SKI resolves to it: not ours.
	_, err = DecryptAttachments(wenv(msg.Envelope), msg, other(), DecryptOptions{Lookup: newIndex(receiver().Certificate)})
	wantErr(t, err, ebms.CodeFailedDecryption, CheckRecipient)

	// Key rollover: the right key among several is found.
	res, err := DecryptAttachments(wenv(msg.Envelope), msg, other(), DecryptOptions{ExtraIdentities: []*trustIdentity{receiver()}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Keys[0].RecipientIdentified || !res.Keys[0].Certificate.Equal(receiver().Certificate) {
		t.Errorf("key %+v", res.Keys[0])
	}
}

// TestUnreferencedKeyInfo: an EncryptedKey without KeyInfo is tried with our
// key (lenient) or refused (strict).
func TestUnreferencedKeyInfo(t *testing.T) {
	msg, _ := tamperMessage(t)
	ek := encryptedKey(t, msg)
	ek.RemoveChild(ek.SelectElement("ds:KeyInfo"))
	if _, err := DecryptAttachments(wenv(msg.Envelope), msg, receiver(), DecryptOptions{StrictRecipient: true}); err == nil {
		t.Fatal("strict: accepted")
	}
	res, err := DecryptAttachments(wenv(msg.Envelope), msg, receiver(), DecryptOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Keys[0].RecipientIdentified || !res.Keys[0].Certificate.Equal(receiver().Certificate) {
		t.Errorf("key %+v", res.Keys[0])
	}
}

// TestSwappedParts: the ciphertext stays bound to its Content-ID.
// Swapping both CipherReferences decrypts each part with the other
// EncryptedData's metadata, but every Content-ID keeps its own octets (the
// same key encrypts both); swapping the MIME bodies instead decrypts too,
// and the signature, checked afterwards over the decrypted octets, catches
// it. This is why AS4 verifies after decrypting.
func TestSwappedParts(t *testing.T) {
	msg, dir := tamperMessage(t)
	eds := encryptedData(t, msg)
	cr0 := eds[0].FindElement("xenc:CipherData/xenc:CipherReference")
	cr1 := eds[1].FindElement("xenc:CipherData/xenc:CipherReference")
	u0, _ := attr(cr0, "URI")
	u1, _ := attr(cr1, "URI")
	cr0.CreateAttr("URI", u1)
	cr1.CreateAttr("URI", u0)
	receive(t, msg, dir, tamperPayloads, true)

	msg, _ = tamperMessage(t)
	a, b := msg.Attachments[0], msg.Attachments[1]
	da, _ := os.ReadFile(a.Path())
	db, _ := os.ReadFile(b.Path())
	os.WriteFile(a.Path(), db, 0o600)
	os.WriteFile(b.Path(), da, 0o600)
	if _, err := DecryptAttachments(wenv(msg.Envelope), msg, receiver(), DecryptOptions{RequireEncryption: true}); err != nil {
		t.Fatal(err)
	}
	env, atts := wssec.FromSOAP(msg)
	_, err := wssec.Verify(env, atts, wssec.VerifyOptions{Policy: wssec.DefaultPolicy(), At: fixedTime})
	wantErr(t, err, ebms.CodeFailedAuthentication, "digest")
}

// Verifying before decrypting fails: the signature covers the plaintext.
func TestVerifyBeforeDecryptFails(t *testing.T) {
	msg, _ := tamperMessage(t)
	env, atts := wssec.FromSOAP(msg)
	_, err := wssec.Verify(env, atts, wssec.VerifyOptions{Policy: wssec.DefaultPolicy(), At: fixedTime})
	wantErr(t, err, ebms.CodeFailedAuthentication, "digest")
}

// TestKeyInfoBindingOnly: an EncryptedKey without ReferenceList, the
// EncryptedData pointing at it through KeyInfo (WSS 1.0 style), decrypts.
func TestKeyInfoBindingOnly(t *testing.T) {
	msg, dir := tamperMessage(t)
	ek := encryptedKey(t, msg)
	ek.RemoveChild(ek.SelectElement("xenc:ReferenceList"))
	res := receive(t, msg, dir, tamperPayloads, true)
	for _, p := range tamperPayloads {
		if !res.Encrypted(p.cid) {
			t.Errorf("<%s> not reported as encrypted", p.cid)
		}
	}
	if res.Encrypted("nothing@x") {
		t.Error("unknown part reported as encrypted")
	}
}

func TestNotRequired(t *testing.T) {
	cfg := defaultSend()
	cfg.encrypt = false
	wire, ct, _ := buildMessage(t, tamperPayloads, cfg)
	msg, _ := readMessage(t, wire, ct)
	res, err := DecryptAttachments(wenv(msg.Envelope), msg, receiver(), DecryptOptions{})
	if err != nil || len(res.Parts) != 0 {
		t.Fatalf("unencrypted, not required: %v %+v", err, res)
	}
	_, err = DecryptAttachments(wenv(msg.Envelope), msg, receiver(), DecryptOptions{RequireEncryption: true})
	wantErr(t, err, ebms.CodePolicyNoncompliance, CheckEncryptionRequired)

	// Without attachments there is nothing to encrypt.
	wire, ct, _ = buildMessage(t, nil, defaultSend())
	msg, _ = readMessage(t, wire, ct)
	if _, err := DecryptAttachments(wenv(msg.Envelope), msg, receiver(), DecryptOptions{RequireEncryption: true}); err != nil {
		t.Fatal(err)
	}
}
