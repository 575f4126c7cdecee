package as4

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/as4gw/as4gw/as4/soap"
	"github.com/as4gw/as4gw/as4/wssec"
	"github.com/as4gw/as4gw/ebms"
	"github.com/as4gw/as4gw/store"
)

// memPayloads is a PayloadStore in memory that counts what it was asked.
type memPayloads struct {
	mu    sync.Mutex
	blobs map[store.BlobRef][]byte
	puts  int
}

func (m *memPayloads) PutPayload(_ context.Context, r io.Reader) (store.Blob, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return store.Blob{}, err
	}
	var rnd [16]byte
	rand.Read(rnd[:])
	ref := store.BlobRef(hex.EncodeToString(rnd[:]))
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.blobs == nil {
		m.blobs = map[store.BlobRef][]byte{}
	}
	m.blobs[ref] = data
	m.puts++
	return store.Blob{Ref: ref, Size: int64(len(data)), SHA256: sha256.Sum256(data)}, nil
}

func (m *memPayloads) DiscardPayload(_ context.Context, ref store.BlobRef) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.blobs, ref)
	return nil
}

func (m *memPayloads) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.blobs)
}

func base64Random(n int) []byte {
	raw := make([]byte, n*3/4)
	rand.Read(raw)
	return []byte(base64.StdEncoding.EncodeToString(raw))
}

// streamFixture builds one message with a small XML part and a large last
// part, and returns its wire bytes.
func streamFixture(t *testing.T, opts WireOptions, large []byte, compress bool) (string, []byte) {
	t.Helper()
	opts.SpoolDir = t.TempDir()
	payloads := []OutboundPayload{
		memPayload("message@blue", "text/xml", []byte("<doc>hello</doc>"), true),
		memPayload("large@blue", "application/octet-stream", large, compress),
	}
	wm, err := BuildUserMessage(testUserMessage(), payloads, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(wm.Close)
	ct, body := wm.Body()
	defer body.Close()
	data, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return ct, data
}

// TestStreamedPayload: a part too large for memory is decrypted, checked,
// decompressed and stored while it arrives; the blob is staged until Keep.
func TestStreamedPayload(t *testing.T) {
	blue, red := testIdentity(t, "blue", 1), testIdentity(t, "red", 2)
	large := base64Random(3 << 20)
	ct, data := streamFixture(t, WireOptions{Identity: blue, Sign: true, Encrypt: true, Recipient: red.Certificate}, large, true)
	policy := InboundPolicy{Signature: wssec.DefaultPolicy(), RequireEncryption: true,
		Validator: wssec.ValidatorFunc(func(c *x509.Certificate, _ []*x509.Certificate, _ time.Time) error {
			if !c.Equal(blue.Certificate) {
				return errors.New("unknown signer")
			}
			return nil
		})}
	for _, keep := range []bool{false, true} {
		ps := &memPayloads{}
		spool := t.TempDir()
		in, err := OpenInbound(bytes.NewReader(data), ct, InboundConfig{Identity: red, SpoolDir: spool, Payloads: ps},
			func(*ebms.Messaging) (InboundPolicy, error) { return policy, nil })
		if err != nil {
			t.Fatalf("OpenInbound: %v", err)
		}
		if in.Verified == nil || len(in.Verified.AttachmentsSigned) != 2 {
			t.Fatalf("verified = %+v", in.Verified)
		}
		blob, ok := in.Streamed("large@blue")
		if !ok {
			t.Fatal("the large part was not streamed")
		}
		if _, ok := in.Streamed("message@blue"); ok {
			t.Error("the small part was streamed")
		}
		if !bytes.Equal(ps.blobs[blob.Ref], large) || blob.SHA256 != sha256.Sum256(large) {
			t.Fatal("the stored payload differs from what was sent")
		}
		att, _ := in.Message.AttachmentByCID("cid:large@blue")
		if !att.Streamed() || att.ContentType != "application/gzip" {
			t.Errorf("attachment streamed=%v type %q", att.Streamed(), att.ContentType)
		}
		if files, _ := os.ReadDir(spool); len(files) != 0 {
			t.Errorf("%d spool files while streaming", len(files))
		}
		if keep {
			in.Keep()
		}
		in.Close()
		if want := map[bool]int{false: 0, true: 1}[keep]; ps.count() != want {
			t.Errorf("keep=%v: %d blobs after Close, want %d", keep, ps.count(), want)
		}
	}
}

// TestStreamedPayloadRefusals: whatever fails while or after a part
// streams, the message is refused with the right code and nothing stays
// stored or spooled.
func TestStreamedPayloadRefusals(t *testing.T) {
	blue, red := testIdentity(t, "blue", 1), testIdentity(t, "red", 2)
	large := base64Random(3 << 20)
	full := WireOptions{Identity: blue, Sign: true, Encrypt: true, Recipient: red.Certificate}
	strict := InboundPolicy{Signature: wssec.DefaultPolicy(), RequireEncryption: true}
	signedOnly := InboundPolicy{Signature: wssec.DefaultPolicy()}
	flipNearEnd := func(d []byte) []byte {
		d = bytes.Clone(d)
		d[len(d)-100_000] ^= 0x01
		return d
	}
	tests := []struct {
		name      string
		opts      WireOptions
		compress  bool
		policy    InboundPolicy
		limits    soap.Limits
		tamper    func([]byte) []byte
		wantCode  ebms.Code
		status    int
		wantPuts  int // PutPayload calls: 0 = refused before streaming
		truncated bool
	}{
		{"ciphertext altered", full, true, strict, soap.Limits{}, flipNearEnd, ebms.CodeFailedDecryption, 200, 1, false},
		{"plain part altered (digest)", WireOptions{Identity: blue, Sign: true}, false, signedOnly, soap.Limits{}, flipNearEnd, ebms.CodeFailedAuthentication, 200, 1, false},
		{"decompressed size over the limit", full, true, strict, soap.Limits{MaxDecompressedBytes: 1 << 20}, nil, ebms.CodeDecompressionFailure, 200, 1, false},
		{"unsigned where required", WireOptions{Encrypt: true, Recipient: red.Certificate}, true, strict, soap.Limits{}, nil, ebms.CodePolicyNoncompliance, 200, 0, false},
		{"body truncated in the part", full, true, strict, soap.Limits{}, func(d []byte) []byte { return d[:len(d)-200_000] }, ebms.CodeMimeInconsistency, 400, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct, data := streamFixture(t, tt.opts, large, tt.compress)
			if tt.tamper != nil {
				data = tt.tamper(data)
			}
			ps := &memPayloads{}
			spool := t.TempDir()
			in, err := OpenInbound(bytes.NewReader(data), ct, InboundConfig{Identity: red, SpoolDir: spool, Payloads: ps, Limits: tt.limits},
				func(*ebms.Messaging) (InboundPolicy, error) { return tt.policy, nil })
			if err == nil {
				in.Close()
				t.Fatal("accepted")
			}
			var f *Failure
			if !errors.As(err, &f) || f.Signal.ErrorCode != tt.wantCode || f.Status != tt.status {
				t.Fatalf("err = %v (%T), want %s with HTTP %d", err, err, tt.wantCode, tt.status)
			}
			if f.RefToMessageID == "" {
				t.Error("the refusal does not name the message")
			}
			if ps.count() != 0 {
				t.Errorf("%d blobs left stored", ps.count())
			}
			if tt.wantPuts == 0 && ps.puts != 0 {
				t.Errorf("%d payloads stored before the refusal", ps.puts)
			}
			if files, _ := os.ReadDir(spool); len(files) != 0 {
				t.Errorf("%d spool files left", len(files))
			}
		})
	}
}

// TestStreamDeclined: a part whose digest cannot be taken on the way (a
// SHA-512 Reference) is spooled as before, and the message still verifies.
func TestStreamDeclined(t *testing.T) {
	blue, red := testIdentity(t, "blue", 1), testIdentity(t, "red", 2)
	large := base64Random(3 << 20)
	ct, data := streamFixture(t, WireOptions{Identity: blue, Sign: true, Encrypt: true, Recipient: red.Certificate, DigestMethod: wssec.AlgSHA512}, large, true)
	ps := &memPayloads{}
	in, err := OpenInbound(bytes.NewReader(data), ct, InboundConfig{Identity: red, SpoolDir: t.TempDir(), Payloads: ps},
		func(*ebms.Messaging) (InboundPolicy, error) {
			return InboundPolicy{Signature: wssec.DefaultPolicy(), RequireEncryption: true}, nil
		})
	if err != nil {
		t.Fatalf("OpenInbound: %v", err)
	}
	defer in.Close()
	if _, ok := in.Streamed("large@blue"); ok || ps.puts != 0 {
		t.Fatal("streamed although the digest is SHA-512")
	}
	if in.Verified == nil || len(in.Verified.AttachmentsSigned) != 2 {
		t.Fatalf("verified = %+v", in.Verified)
	}
}
