package c14n

import (
	"crypto/sha256"
	"fmt"
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
