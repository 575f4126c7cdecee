package c14n

import (
	"crypto/sha256"
	"fmt"
	"os"
	"testing"

	"github.com/beevik/etree"
)

// benchBody returns the S12:Body of a generated envelope whose canonical
// form is about size bytes.
func benchBody(b *testing.B, size int) (*etree.Element, int) {
	b.Helper()
	n := size / 200 // bigBody yields ~140 canonical bytes per element
	for {
		body := pick(b, mustParse(b, bigBody(n)), "S12:Body")
		out, err := Canonicalize(body, nil)
		if err != nil {
			b.Fatal(err)
		}
		if len(out) >= size {
			return body, len(out)
		}
		n = n * 21 / 20
	}
}

func BenchmarkCanonicalize(b *testing.B) {
	for _, size := range []int{10 << 10, 1 << 20} {
		body, n := benchBody(b, size)
		b.Logf("%d canonical bytes", n)
		b.Run(fmt.Sprintf("%dKB/bytes", size>>10), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Canonicalize(body, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("%dKB/sha256-stream", size>>10), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			h := sha256.New()
			for b.Loop() {
				h.Reset()
				if err := CanonicalizeTo(h, body, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchHeaders returns the eb:Messaging and ds:SignedInfo of the sample
// UserMessage: what a WS-Security sign or verify canonicalizes most often,
// a few hundred bytes to 1.5 KB each, where fixed per-call costs dominate.
func benchHeaders(b *testing.B) []*etree.Element {
	b.Helper()
	raw, err := os.ReadFile("testdata/soap12-usermessage.xml")
	if err != nil {
		b.Fatal(err)
	}
	root := parseDoc(b, raw).Root()
	return []*etree.Element{pick(b, root, "eb:Messaging"), pick(b, root, "ds:SignedInfo")}
}

func BenchmarkCanonicalizeHeaders(b *testing.B) {
	els := benchHeaders(b)
	b.Run("bytes", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, el := range els {
				if _, err := Canonicalize(el, nil); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("sha256-stream", func(b *testing.B) {
		b.ReportAllocs()
		h := sha256.New()
		for b.Loop() {
			for _, el := range els {
				h.Reset()
				if err := CanonicalizeTo(h, el, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
