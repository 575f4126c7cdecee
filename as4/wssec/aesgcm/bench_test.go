package aesgcm

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"io"
	"os"
	"testing"
)

var benchSizes = []struct {
	name string
	n    int
}{
	{"10KB", 10 << 10},
	{"10MB", 10 << 20},
}

// Run with: go test -run '^$' -bench . -benchmem ./as4/wssec/aesgcm/
// The Stdlib* benchmarks are the in-memory baseline (cipher.NewGCM per
// message, as a real caller would do).

func BenchmarkEncrypt(b *testing.B) {
	for _, impl := range ghashImpls {
		for _, s := range benchSizes {
			b.Run(impl.name+"/"+s.name, func(b *testing.B) {
				impl.use(b)
				key, pt := randBytes(1, 16), randBytes(2, s.n)
				iv := make([]byte, IVSize)
				b.SetBytes(int64(s.n))
				b.ReportAllocs()
				for b.Loop() {
					w, err := NewEncryptWriter(io.Discard, key, iv)
					if err != nil {
						b.Fatal(err)
					}
					w.Write(pt)
					if err := w.Close(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkStdlibSeal(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			key, pt := randBytes(1, 16), randBytes(2, s.n)
			iv := make([]byte, IVSize)
			out := make([]byte, 0, s.n+TagSize)
			b.SetBytes(int64(s.n))
			b.ReportAllocs()
			for b.Loop() {
				block, _ := aes.NewCipher(key)
				aead, _ := cipher.NewGCM(block)
				out = aead.Seal(out[:0], iv, pt, nil)
			}
		})
	}
}

// BenchmarkDecrypt is the full path: spool file, tag check, copy to dst.
func BenchmarkDecrypt(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			key := randBytes(1, 16)
			sealed := stdSeal(b, key, make([]byte, IVSize), randBytes(2, s.n))
			dir := b.TempDir()
			spool := func() (*os.File, error) { return os.CreateTemp(dir, "spool-*") }
			b.SetBytes(int64(s.n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decrypt(io.Discard, bytes.NewReader(sealed), key, spool); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecryptCrypto isolates the cryptography of Decrypt (no spool).
func BenchmarkDecryptCrypto(b *testing.B) {
	for _, impl := range ghashImpls {
		for _, s := range benchSizes {
			b.Run(impl.name+"/"+s.name, func(b *testing.B) {
				impl.use(b)
				key := randBytes(1, 16)
				sealed := stdSeal(b, key, make([]byte, IVSize), randBytes(2, s.n))
				b.SetBytes(int64(s.n))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := decryptStream(io.Discard, spillTo(io.Discard), bytes.NewReader(sealed), key); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkStdlibOpen(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			key := randBytes(1, 16)
			iv := make([]byte, IVSize)
			sealed := stdSeal(b, key, iv, randBytes(2, s.n))[IVSize:]
			out := make([]byte, 0, s.n)
			b.SetBytes(int64(s.n))
			b.ReportAllocs()
			for b.Loop() {
				block, _ := aes.NewCipher(key)
				aead, _ := cipher.NewGCM(block)
				var err error
				if out, err = aead.Open(out[:0], iv, sealed, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGHASH compares the two GHASH implementations alone over 10 MB.
func BenchmarkGHASH(b *testing.B) {
	const n = 10 << 20
	data := randBytes(3, n)
	block, _ := aes.NewCipher(randBytes(4, 16))
	var hb, mask [blockSize]byte
	block.Encrypt(hb[:], hb[:])
	h := loadElement(hb[:])
	iv := make([]byte, IVSize)
	impls := map[string]func() ghasher{
		"std":  func() ghasher { return newStdGHASH(block, iv, h, loadElement(mask[:])) },
		"soft": func() ghasher { return newSoftGHASH(h) },
	}
	for _, name := range []string{"std", "soft"} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(n)
			for b.Loop() {
				g := impls[name]()
				for p := data; len(p) > 0; p = p[min(len(p), chunkSize):] {
					g.update(p[:min(len(p), chunkSize)])
				}
				g.sum(n)
			}
		})
	}
}
