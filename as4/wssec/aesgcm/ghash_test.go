package aesgcm

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"math/rand/v2"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Test cases 1-3, 7-9 and 13-15 of McGrew & Viega, "The Galois/Counter Mode of
// Operation (GCM)" (the vectors NIST references): those with a 96-bit IV and
// no additional data, the only shape XML Encryption uses.
var gcmSpecVectors = []struct {
	name, key, iv, pt, ct, tag string
}{
	{"TC1", "00000000000000000000000000000000", "000000000000000000000000", "", "", "58e2fccefa7e3061367f1d57a4e7455a"},
	{"TC2", "00000000000000000000000000000000", "000000000000000000000000",
		"00000000000000000000000000000000", "0388dace60b6a392f328c2b971b2fe78", "ab6e47d42cec13bdf53a67b21257bddf"},
	{"TC3", "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
		"d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
		"42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
		"4d5c2af327cd64a62cf35abd2ba6fab4"},
	{"TC7", "000000000000000000000000000000000000000000000000", "000000000000000000000000", "", "", "cd33b28ac773f74ba00ed1f312572435"},
	{"TC8", "000000000000000000000000000000000000000000000000", "000000000000000000000000",
		"00000000000000000000000000000000", "98e7247c07f0fe411c267e4384b0f600", "2ff58d80033927ab8ef4d4587514f0fb"},
	{"TC9", "feffe9928665731c6d6a8f9467308308feffe9928665731c", "cafebabefacedbaddecaf888",
		"d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
		"3980ca0b3c00e841eb06fac4872a2757859e1ceaa6efd984628593b40ca1e19c7d773d00c144c525ac619d18c84a3f4718e2448b2fe324d9ccda2710acade256",
		"9924a7c8587336bfb118024db8674a14"},
	{"TC13", "0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
	{"TC14", "0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000",
		"00000000000000000000000000000000", "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"},
	{"TC15", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
		"d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
		"522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
		"b094dac5d93471bdec1a502270e3cc6c"},
}

func TestGCMSpecVectors(t *testing.T) {
	for _, impl := range ghashImpls {
		for _, v := range gcmSpecVectors {
			t.Run(impl.name+"/"+v.name, func(t *testing.T) {
				impl.use(t)
				key, iv, pt := mustHex(t, v.key), mustHex(t, v.iv), mustHex(t, v.pt)
				want := append(append(iv, mustHex(t, v.ct)...), mustHex(t, v.tag)...)

				var out bytes.Buffer
				w, err := NewEncryptWriter(&out, key, iv)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := w.Write(pt); err != nil {
					t.Fatal(err)
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(out.Bytes(), want) {
					t.Fatalf("encrypt:\n got %x\nwant %x", out.Bytes(), want)
				}

				var plain bytes.Buffer
				if _, err := decryptStream(&plain, spillTo(&plain), bytes.NewReader(want), key); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(plain.Bytes(), pt) {
					t.Fatalf("decrypt: got %x want %x", plain.Bytes(), pt)
				}
			})
		}
	}
}

// ghashImpls lets tests run against both GHASH implementations.
var ghashImpls = []struct {
	name string
	use  func(testing.TB)
}{
	{"std", func(tb testing.TB) {}},
	{"soft", func(tb testing.TB) {
		forceSoftGHASH = true
		tb.Cleanup(func() { forceSoftGHASH = false })
	}},
}

// TestGHASHAgreement feeds identical chunk sequences to both implementations,
// including partial final chunks and chunk lengths that change midway.
func TestGHASHAgreement(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		key := make([]byte, 16)
		iv := make([]byte, IVSize)
		for i := range key {
			key[i] = byte(rng.Uint32())
		}
		block, _ := aes.NewCipher(key)
		var hb, mask, j0 [16]byte
		block.Encrypt(hb[:], hb[:])
		copy(j0[:], iv)
		j0[15] = 1
		block.Encrypt(mask[:], j0[:])
		h := loadElement(hb[:])
		std := newStdGHASH(block, iv, h, loadElement(mask[:]))
		if std == nil {
			t.Skip("cipher.NewGCM unavailable")
		}
		soft := newSoftGHASH(h)

		var total uint64
		chunks := rng.IntN(6)
		for c := 0; c <= chunks; c++ {
			n := blockSize * rng.IntN(300)
			if c == chunks {
				n += rng.IntN(blockSize) // only the last may be partial
			}
			p := make([]byte, n)
			for i := range p {
				p[i] = byte(rng.Uint32())
			}
			std.update(p)
			soft.update(p)
			total += uint64(n)
		}
		if a, b := std.sum(total), soft.sum(total); a != b {
			t.Fatalf("trial %d: std %x soft %x", trial, a, b)
		}
	}
}

// TestGHASHAgainstSeal checks the soft implementation against the standard
// library's tag over a single ciphertext, independently of stdGHASH.
func TestGHASHAgainstSeal(t *testing.T) {
	key := make([]byte, 32)
	iv := make([]byte, IVSize)
	block, _ := aes.NewCipher(key)
	aead, _ := cipher.NewGCM(block)
	var hb, mask, j0 [16]byte
	block.Encrypt(hb[:], hb[:])
	copy(j0[:], iv)
	j0[15] = 1
	block.Encrypt(mask[:], j0[:])
	for _, n := range []int{0, 1, 16, 33, 1000} {
		sealed := aead.Seal(nil, iv, make([]byte, n), nil)
		g := newSoftGHASH(loadElement(hb[:]))
		g.update(sealed[:n])
		s := g.sum(uint64(n))
		for i := range s {
			s[i] ^= mask[i]
		}
		if !bytes.Equal(s[:], sealed[n:]) {
			t.Fatalf("n=%d: tag %x want %x", n, s, sealed[n:])
		}
	}
}

func TestGFMulProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	one := fieldElement{1 << 63, 0}
	for range 100 {
		a := fieldElement{rng.Uint64(), rng.Uint64()}
		b := fieldElement{rng.Uint64(), rng.Uint64()}
		c := fieldElement{rng.Uint64(), rng.Uint64()}
		if gfMul(a, one) != a || gfMul(one, a) != a {
			t.Fatal("1 is not the identity")
		}
		if gfMul(a, b) != gfMul(b, a) {
			t.Fatal("not commutative")
		}
		if gfMul(a, b.xor(c)) != gfMul(a, b).xor(gfMul(a, c)) {
			t.Fatal("not distributive")
		}
		if newSoftGHASH(b).mulH(a) != gfMul(a, b) {
			t.Fatal("table multiplication disagrees with gfMul")
		}
		if gfPow(a, 5) != gfMul(gfMul(gfMul(a, a), gfMul(a, a)), a) {
			t.Fatal("gfPow(a, 5) wrong")
		}
	}
}
