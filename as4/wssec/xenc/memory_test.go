package xenc

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"testing"

	"github.com/as4gw/as4gw/as4/wssec"
	"github.com/as4gw/as4gw/as4/wssec/aesgcm"
	"github.com/as4gw/as4gw/ebms"
)

// TestDecryptInMemory: small parts stay in memory through decryption (no
// file is created), the plaintext verifies, and a tampered in-memory part
// is refused with the message left as it was.
func TestDecryptInMemory(t *testing.T) {
	ps := []payload{
		{cid: "a@x", mime: "application/octet-stream", data: randomData(1, 5000)},
		{cid: "b@x", mime: "text/plain", data: []byte("second")},
	}
	tests := []struct {
		name   string
		mutate func(data []byte)
		ok     bool
	}{
		{"intact", nil, true},
		{"ciphertext bit flip", func(d []byte) { d[len(d)/2] ^= 1 }, false},
		{"tag bit flip", func(d []byte) { d[len(d)-1] ^= 1 }, false},
		{"iv bit flip", func(d []byte) { d[0] ^= 1 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wire, ct, _ := buildMessage(t, ps, defaultSend())
			msg, dir := readMessageInMemory(t, wire, ct)
			for _, a := range msg.Attachments {
				if _, inMem := a.Bytes(); !inMem {
					t.Fatalf("<%s> not held in memory", a.ContentID)
				}
			}
			if tt.mutate != nil {
				data, _ := msg.Attachments[0].Bytes()
				tt.mutate(data)
				msg.Attachments[0].SHA256 = sha256.Sum256(data)
			}
			snap := takeSnapshot(t, msg, dir)
			_, err := DecryptAttachments(wenv(msg.Envelope), msg, receiver(), DecryptOptions{RequireEncryption: true})
			if !tt.ok {
				wantErr(t, err, ebms.CodeFailedDecryption, CheckDecryption)
				snap.check(t, msg, dir)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n := len(spoolFiles(t, dir)); n != 0 {
				t.Errorf("%d files in the spool dir, want none", n)
			}
			for i, a := range msg.Attachments {
				rc, _ := a.Open()
				got, _ := io.ReadAll(rc)
				if !bytes.Equal(got, ps[i].data) || a.Size != int64(len(got)) || a.SHA256 != sha256.Sum256(got) || a.ContentType != ps[i].mime {
					t.Errorf("<%s>: plaintext does not match what was sent", a.ContentID)
				}
			}
			env, atts := wssec.FromSOAP(msg)
			if _, err := wssec.Verify(env, atts, wssec.VerifyOptions{Policy: wssec.DefaultPolicy(), At: fixedTime}); err != nil {
				t.Fatalf("verify after decryption: %v", err)
			}
		})
	}
}

// TestSpooledPartDecryptsOnRead: a spooled part is verified without writing
// its plaintext; reading it decrypts the file, and a file altered after the
// verification fails the read instead of yielding altered plaintext.
func TestSpooledPartDecryptsOnRead(t *testing.T) {
	ps := []payload{{cid: "a@x", mime: "application/octet-stream", data: randomData(2, 300<<10)}}
	wire, ct, _ := buildMessage(t, ps, defaultSend())
	msg, dir := readMessage(t, wire, ct)
	if _, err := DecryptAttachments(wenv(msg.Envelope), msg, receiver(), DecryptOptions{RequireEncryption: true}); err != nil {
		t.Fatal(err)
	}
	files := spoolFiles(t, dir)
	if len(files) != 1 {
		t.Fatalf("spool files %v, want only the ciphertext", files)
	}
	a := msg.Attachments[0]
	if got := contentSHA256(t, a); got != sha256.Sum256(ps[0].data) || a.SHA256 != got || a.Size != int64(len(ps[0].data)) {
		t.Fatal("plaintext read on the fly does not match")
	}
	flipFileByte(t, files[0], 1000)
	rc, err := a.Open()
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(rc)
	rc.Close()
	if !errors.Is(err, aesgcm.ErrAuthentication) {
		t.Fatalf("read of an altered file: %v, want ErrAuthentication", err)
	}
	if err := msg.Close(); err != nil {
		t.Fatal(err)
	}
	if left := spoolFiles(t, dir); len(left) != 0 {
		t.Errorf("left after Close: %v", left)
	}
}
