package as4

import (
	"bytes"
	"crypto/rand"
	"errors"
	"sync"
	"testing"

	"github.com/as4gw/as4gw/as4/wssec"
	"github.com/as4gw/as4gw/ebms"
)

// FuzzOpenInbound feeds altered wire messages (one with a part large enough
// to be streamed into the store, one small) through the whole inbound path:
// MIME, header, policy, decryption, streaming, verification. It must never
// panic, must refuse with a *Failure carrying an HTTP status the endpoint
// uses, and must leave nothing stored or spooled unless the message is
// accepted.
func FuzzOpenInbound(f *testing.F) {
	blue, red := testIdentity(f, "blue", 1), testIdentity(f, "red", 2)
	opts := WireOptions{Identity: blue, Sign: true, Encrypt: true, Recipient: red.Certificate, SpoolDir: f.TempDir()}
	large := make([]byte, 1100<<10) // random: gzip stores it, so the part stays above 1 MiB
	rand.Read(large)
	var cts sync.Map
	for i, payload := range [][]byte{large, []byte("<doc>small</doc>")} {
		wm, err := BuildUserMessage(testUserMessage(), []OutboundPayload{memPayload("p@blue", "application/octet-stream", payload, true)}, opts)
		if err != nil {
			f.Fatal(err)
		}
		ct, body := wm.Body()
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(body); err != nil {
			f.Fatal(err)
		}
		body.Close()
		wm.Close()
		cts.Store(uint8(i), ct)
		f.Add(uint8(i), buf.Bytes())
	}
	policy := InboundPolicy{Signature: wssec.DefaultPolicy(), RequireEncryption: true}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		v, ok := cts.Load(which % 2)
		if !ok {
			t.Skip()
		}
		ps := &memPayloads{}
		in, err := OpenInbound(bytes.NewReader(data), v.(string), InboundConfig{Identity: red, SpoolDir: t.TempDir(), Payloads: ps},
			func(*ebms.Messaging) (InboundPolicy, error) { return policy, nil })
		if err != nil {
			var fl *Failure
			if !errors.As(err, &fl) {
				t.Fatalf("refusal is %T, not *Failure: %v", err, err)
			}
			switch fl.Status {
			case 200, 400, 413, 503:
			default:
				t.Fatalf("HTTP status %d for %v", fl.Status, err)
			}
			if ps.count() != 0 {
				t.Fatalf("%d payloads left stored after a refusal", ps.count())
			}
			return
		}
		in.Close()
		if ps.count() != 0 {
			t.Fatalf("%d payloads left stored after Close without Keep", ps.count())
		}
	})
}
