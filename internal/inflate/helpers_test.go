package inflate

import (
	"bytes"
	stdflate "compress/flate"
	stdgzip "compress/gzip"
	"errors"
	"io"
	"math/bits"
	"testing"

	kgzip "github.com/klauspost/compress/gzip"
)

// bitWriter builds DEFLATE streams bit by bit for hand-made test cases.
type bitWriter struct {
	buf []byte
	acc uint64
	n   uint
}

// bits writes v's low n bits, least significant first (header fields,
// extra bits).
func (w *bitWriter) bits(v uint64, n uint) {
	w.acc |= v << w.n
	w.n += n
	for w.n >= 8 {
		w.buf = append(w.buf, byte(w.acc))
		w.acc >>= 8
		w.n -= 8
	}
}

// code writes a Huffman code, most significant bit first.
func (w *bitWriter) code(c uint16, l uint8) {
	w.bits(uint64(bits.Reverse16(c)>>(16-l)), uint(l))
}

func (w *bitWriter) align() {
	if w.n > 0 {
		w.bits(0, 8-w.n)
	}
}

func (w *bitWriter) bytes() []byte {
	w.align()
	return w.buf
}

// canonical returns the canonical codes for lengths (RFC 1951 3.2.2).
func canonical(lengths []uint8) []uint16 {
	var count [16]int
	for _, l := range lengths {
		count[l]++
	}
	count[0] = 0
	var next [16]int
	code := 0
	for l := 1; l < 16; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
	}
	codes := make([]uint16, len(lengths))
	for s, l := range lengths {
		if l != 0 {
			codes[s] = uint16(next[l])
			next[l]++
		}
	}
	return codes
}

// dynamicHeader writes a dynamic block header for the given code lengths,
// each sent literally with a 16-symbol, 4-bit code-length code.
func (w *bitWriter) dynamicHeader(final bool, lit, dist []uint8) {
	w.blockType(final, 2)
	w.bits(uint64(len(lit)-257), 5)
	w.bits(uint64(len(dist)-1), 5)
	var cl [19]uint8
	for s := 0; s < 16; s++ {
		cl[s] = 4
	}
	w.bits(19-4, 4)
	for _, s := range codeOrder {
		w.bits(uint64(cl[s]), 3)
	}
	clCodes := canonical(cl[:])
	for _, l := range append(append([]uint8{}, lit...), dist...) {
		w.code(clCodes[l], 4)
	}
}

func (w *bitWriter) blockType(final bool, t uint64) {
	f := uint64(0)
	if final {
		f = 1
	}
	w.bits(f|t<<1, 3)
}

// fixedLitCode returns the fixed code of a literal/length symbol.
func fixedLitCode(s int) (uint16, uint8) {
	switch {
	case s < 144:
		return uint16(0x30 + s), 8
	case s < 256:
		return uint16(0x190 + s - 144), 9
	case s < 280:
		return uint16(s - 256), 7
	default:
		return uint16(0xc0 + s - 280), 8
	}
}

func (w *bitWriter) fixedSym(s int) {
	c, l := fixedLitCode(s)
	w.code(c, l)
}

// fixedMatch writes a length/distance pair with the fixed code.
func (w *bitWriter) fixedMatch(length, dist int) {
	ls, lextra, lbits := lengthSymbol(length)
	w.fixedSym(ls)
	w.bits(uint64(lextra), lbits)
	ds, dextra, dbits := distSymbol(dist)
	w.code(uint16(ds), 5)
	w.bits(uint64(dextra), dbits)
}

func lengthSymbol(length int) (sym int, extra int, nb uint) {
	for i := len(lengthBase) - 1; i >= 0; i-- {
		if int(lengthBase[i]) <= length {
			return 257 + i, length - int(lengthBase[i]), uint(lengthExtra[i])
		}
	}
	panic("length")
}

func distSymbol(dist int) (sym int, extra int, nb uint) {
	for i := len(distBase) - 1; i >= 0; i-- {
		if int(distBase[i]) <= dist {
			return i, dist - int(distBase[i]), uint(distExtra[i])
		}
	}
	panic("dist")
}

func stdInflate(raw []byte) ([]byte, error) {
	return io.ReadAll(stdflate.NewReader(bytes.NewReader(raw)))
}

func ourInflate(raw []byte) ([]byte, error) {
	return io.ReadAll(NewRawReader(bytes.NewReader(raw)))
}

func stdGunzip(gz []byte) ([]byte, error) {
	zr, err := stdgzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

func ourGunzip(gz []byte) ([]byte, error) {
	zr, err := NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

// readPattern reads all of r with reads of the given size.
func readPattern(r io.Reader, size int) ([]byte, error) {
	var out []byte
	buf := make([]byte, size)
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// agree checks that ours and compress/flate agree on a raw stream: both
// fail, or both succeed with the same output.
func agreeRaw(t testing.TB, raw []byte) (ok bool) {
	t.Helper()
	want, werr := stdInflate(raw)
	got, gerr := ourInflate(raw)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("compress/flate err %v, ours %v (input %x)", werr, gerr, truncHex(raw))
	}
	if werr == nil && !bytes.Equal(got, want) {
		t.Fatalf("output differs: %d bytes vs compress/flate's %d", len(got), len(want))
	}
	return werr == nil
}

// agreeGzip checks ours against compress/gzip, or klauspost's where the
// two differ: compress/gzip ignores reserved header flag bits, which RFC
// 1952 (and klauspost, and we) refuse.
func agreeGzip(t testing.TB, gz []byte) (ok bool) {
	t.Helper()
	got, gerr := ourGunzip(gz)
	want, werr := stdGunzip(gz)
	if (werr == nil) != (gerr == nil) {
		kwant, kerr := kgunzip(gz)
		if (kerr == nil) != (gerr == nil) {
			t.Fatalf("compress/gzip err %v, klauspost err %v, ours %v (input %x)", werr, kerr, gerr, truncHex(gz))
		}
		want, werr = kwant, kerr
	}
	if werr == nil && !bytes.Equal(got, want) {
		t.Fatalf("output differs: %d bytes vs %d", len(got), len(want))
	}
	return werr == nil
}

func kgunzip(gz []byte) ([]byte, error) {
	zr, err := kgzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

func truncHex(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

func isCorrupt(err error) bool {
	var ce CorruptInputError
	return errors.As(err, &ce)
}
