package xenc

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/as4gw/as4gw/as4/soap"
)

var benchSizes = []int{10 << 10, 10 << 20}

func sizeName(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%dMB", n>>20)
	}
	return fmt.Sprintf("%dKB", n>>10)
}

// BenchmarkEncrypt: one message with one attachment of the given size, from
// a fresh envelope to the complete MIME stream (EncryptAttachments with a
// fresh key and RSA-OAEP wrap, envelope serialisation, AES-GCM while writing
// the part).
func BenchmarkEncrypt(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(sizeName(size), func(b *testing.B) {
			data := randomData(1, size)
			ps := []payload{{cid: "p@x", mime: "application/octet-stream"}}
			atts := []PlainAttachment{{ContentID: "p@x", ContentType: "application/gzip", Open: bytesOpener(data)}}
			cert := receiver().Certificate
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				env := newEnvelope(b, ps)
				res, err := EncryptAttachments(wenv(env), atts, cert, EncryptOptions{})
				if err != nil {
					b.Fatal(err)
				}
				envBytes, _ := env.Bytes()
				mw := soap.NewWriter(io.Discard)
				if err := mw.WriteEnvelope(envBytes); err != nil {
					b.Fatal(err)
				}
				if err := res.WriteAttachments(mw); err != nil {
					b.Fatal(err)
				}
				mw.Close()
				res.Destroy()
			}
		})
	}
}

// BenchmarkDecrypt: DecryptAttachments on a spooled message (RSA-OAEP
// unwrap, AES-GCM to a temp file with SHA-256, rename). Reading and spooling
// the MIME message is excluded (timer stopped).
func BenchmarkDecrypt(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(sizeName(size), func(b *testing.B) {
			ps := []payload{{cid: "p@x", mime: "application/octet-stream", data: randomData(2, size)}}
			cfg := defaultSend()
			cfg.sign = false
			wire, ct, _ := buildMessage(b, ps, cfg)
			dir := b.TempDir()
			id := receiver()
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				msg, err := soap.ReadMessage(bytes.NewReader(wire), ct, soap.Limits{}, dir)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := DecryptAttachments(wenv(msg.Envelope), msg, id, DecryptOptions{RequireEncryption: true}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				msg.Close()
				b.StartTimer()
			}
		})
	}
}
