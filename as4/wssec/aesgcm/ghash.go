package aesgcm

import (
	"crypto/cipher"
	"encoding/binary"
)

// GHASH (NIST SP 800-38D, section 6.4) is the only part of GCM the standard
// library does not expose in a streamable form. Two implementations follow:
//
//   - stdGHASH derives GHASH of each chunk from cipher.NewGCM: sealing an empty
//     plaintext with the chunk as additional data yields a tag that is GHASH of
//     that chunk (plus a known length block and mask). The chunks are chained
//     with one GF(2^128) multiplication each. The bulk work therefore runs in
//     the standard library's assembly (PCLMULQDQ on amd64, PMULL on arm64),
//     which is an order of magnitude faster than any table method in Go, and
//     it is constant time where the standard library's is.
//   - softGHASH is a pure Go 8-bit table (Shoup) implementation. It is used
//     when cipher.NewGCM refuses to run (GODEBUG=fips140=only forbids GCM with
//     caller-chosen IVs) and, in tests, as an independent check of stdGHASH.
//     Like the standard library's generic code it indexes tables with secret
//     dependent values, so it is not constant time.
//
// Both only ever hash ciphertext with no additional data, which is all that
// XML Encryption's AES-GCM uses.

// ghasher absorbs ciphertext and produces GHASH_H(C ‖ len block).
type ghasher interface {
	// update absorbs p. Every call except the last must pass a multiple of
	// 16 bytes: GCM pads only the final partial block with zeros.
	update(p []byte)
	// sum returns GHASH over everything absorbed followed by the lengths
	// block [0]64 ‖ [8n]64, where n is the total number of bytes absorbed.
	// It does not change the state.
	sum(n uint64) [blockSize]byte
}

const blockSize = 16

// fieldElement is an element of GF(2^128) in GCM's bit order: hi holds bytes
// 0..7 of the block big-endian, so the most significant bit of hi is the
// coefficient of x^0 and the least significant bit of lo that of x^127.
type fieldElement struct{ hi, lo uint64 }

func loadElement(b []byte) fieldElement {
	return fieldElement{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:16])}
}

func (e fieldElement) bytes() (b [blockSize]byte) {
	binary.BigEndian.PutUint64(b[:8], e.hi)
	binary.BigEndian.PutUint64(b[8:], e.lo)
	return b
}

func (e fieldElement) xor(f fieldElement) fieldElement {
	return fieldElement{e.hi ^ f.hi, e.lo ^ f.lo}
}

// gcmPoly is the reduction constant R = 11100001 ‖ 0^120 of SP 800-38D.
const gcmPoly = 0xe1 << 56

// mulX returns e·x: a right shift in GCM's reflected bit order, folding the
// bit shifted out (the coefficient of x^127) back in with R. Constant time.
func mulX(e fieldElement) fieldElement {
	carry := -(e.lo & 1)
	return fieldElement{e.hi>>1 ^ gcmPoly&carry, e.lo>>1 | e.hi<<63}
}

// gfMul returns x·y with SP 800-38D Algorithm 1, bit by bit and without
// branches or table lookups on secret data. It costs a few hundred
// nanoseconds and is used only once or twice per chunk or per key.
func gfMul(x, y fieldElement) fieldElement {
	var z fieldElement
	v := y
	for _, word := range [2]uint64{x.hi, x.lo} {
		for i := 63; i >= 0; i-- {
			m := -(word >> uint(i) & 1)
			z.hi ^= v.hi & m
			z.lo ^= v.lo & m
			v = mulX(v)
		}
	}
	return z
}

// gfPow returns h^n for n ≥ 1 by left-to-right square and multiply. n is a
// block count and therefore public.
func gfPow(h fieldElement, n uint64) fieldElement {
	r := h
	top := 63
	for n>>uint(top)&1 == 0 {
		top--
	}
	for i := top - 1; i >= 0; i-- {
		r = gfMul(r, r)
		if n>>uint(i)&1 == 1 {
			r = gfMul(r, h)
		}
	}
	return r
}

// lengthBlock is the final GHASH input block: bit lengths of the additional
// data (hi) and of the ciphertext (lo).
func lengthBlock(aadBytes, ctBytes uint64) fieldElement {
	return fieldElement{aadBytes * 8, ctBytes * 8}
}

// stdGHASH computes GHASH of a ciphertext stream with the standard library's
// GCM. For a chunk P of s blocks, Seal(nonce, plaintext=nil, aad=P) returns
//
//	T = H·(Y(P) ⊕ L) ⊕ M
//
// where Y(P) = Σ P_i·H^(s-i+1) is GHASH's running value over P, L the lengths
// block [8·len(P)]64 ‖ [0]64 and M = E_K(nonce ‖ 1). So H·Y(P) = T ⊕ M ⊕ L·H.
// The running value of the whole stream satisfies Y(A ‖ P) = Y(A)·H^s ⊕ Y(P)
// (A a whole number of blocks), so z = H·Y is chained as z = z·H^s ⊕ H·Y(P),
// and the final GHASH is (Y ⊕ L_total)·H = z ⊕ L_total·H.
type stdGHASH struct {
	aead  cipher.AEAD
	nonce []byte
	mask  fieldElement // E_K(nonce ‖ 1), added by Seal to every tag
	h     fieldElement
	z     fieldElement // H·Y over the chunks absorbed so far
	any   bool         // whether z is non-trivial, to skip the first chain step

	// Chunk sizes repeat (every full chunk has the same length), so the two
	// per-chunk constants are cached for the last length seen.
	lastLen  int
	lastLenH fieldElement // L(lastLen)·H
	lastPow  fieldElement // H^blocks(lastLen), computed on first use
	powValid bool

	tag [blockSize]byte // Seal's output buffer, kept to avoid an allocation
}

// newStdGHASH returns nil if the standard library's GCM is unavailable.
// nonce must be 12 bytes and mask E_K(nonce ‖ 00000001).
func newStdGHASH(block cipher.Block, nonce []byte, h, mask fieldElement) *stdGHASH {
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil
	}
	return &stdGHASH{aead: aead, nonce: nonce, h: h, mask: mask}
}

func (g *stdGHASH) update(p []byte) {
	if len(p) == 0 {
		return
	}
	if len(p) != g.lastLen {
		g.lastLen = len(p)
		g.lastLenH = gfMul(lengthBlock(uint64(len(p)), 0), g.h)
		g.powValid = false
	}
	t := g.aead.Seal(g.tag[:0], g.nonce, nil, p)
	hy := loadElement(t).xor(g.mask).xor(g.lastLenH)
	if !g.any {
		// The first chunk needs no chaining, so a message of one chunk
		// costs two field multiplications in all.
		g.z = hy
		g.any = true
		return
	}
	if !g.powValid {
		g.lastPow = gfPow(g.h, uint64(len(p)+blockSize-1)/blockSize)
		g.powValid = true
	}
	g.z = gfMul(g.z, g.lastPow).xor(hy)
}

func (g *stdGHASH) sum(n uint64) [blockSize]byte {
	return g.z.xor(gfMul(lengthBlock(0, n), g.h)).bytes()
}

// reduce8[d] is what multiplying by x^8 folds back into the top 16 bits of hi
// when the byte d is shifted out of lo.
var reduce8 = func() (t [256]uint16) {
	for d := range t {
		e := fieldElement{0, uint64(d)}
		for range 8 {
			e = mulX(e)
		}
		t[d] = uint16(e.hi >> 48)
	}
	return t
}()

// softGHASH is GHASH with Shoup's 8-bit tables: m[b] = b·H where the byte b
// stands for the element whose first eight coefficients are its bits. A block
// W = Σ w_i·x^(8i) is multiplied by H with Horner's rule from the last byte,
// which needs one lookup in m and one in reduce8 per byte. 4 KiB per key.
type softGHASH struct {
	y fieldElement
	m [256]fieldElement
}

func newSoftGHASH(h fieldElement) *softGHASH {
	g := new(softGHASH)
	g.m[0x80] = h // 0x80 is the element 1
	for i := 0x40; i > 0; i >>= 1 {
		g.m[i] = mulX(g.m[i<<1])
	}
	for i := 2; i < 256; i <<= 1 {
		for j := 1; j < i; j++ {
			g.m[i|j] = g.m[i].xor(g.m[j])
		}
	}
	return g
}

// mulH returns w·H.
func (g *softGHASH) mulH(w fieldElement) fieldElement {
	z := g.m[w.lo&0xff]
	for s := 8; s < 64; s += 8 {
		z = shift8(z)
		z = z.xor(g.m[w.lo>>uint(s)&0xff])
	}
	for s := 0; s < 64; s += 8 {
		z = shift8(z)
		z = z.xor(g.m[w.hi>>uint(s)&0xff])
	}
	return z
}

// shift8 returns z·x^8.
func shift8(z fieldElement) fieldElement {
	d := z.lo & 0xff
	return fieldElement{z.hi>>8 ^ uint64(reduce8[d])<<48, z.lo>>8 | z.hi<<56}
}

func (g *softGHASH) update(p []byte) {
	for len(p) >= blockSize {
		g.y = g.mulH(g.y.xor(loadElement(p)))
		p = p[blockSize:]
	}
	if len(p) > 0 {
		var last [blockSize]byte
		copy(last[:], p)
		g.y = g.mulH(g.y.xor(loadElement(last[:])))
	}
}

func (g *softGHASH) sum(n uint64) [blockSize]byte {
	return g.mulH(g.y.xor(lengthBlock(0, n))).bytes()
}
