package inflate

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

// litLens returns literal/length code lengths: the given symbols get the
// given lengths, all others 0; n is the table size (257..286).
func litLens(n int, set map[int]uint8) []uint8 {
	l := make([]uint8, n)
	for s, v := range set {
		l[s] = v
	}
	return l
}

func TestRawCases(t *testing.T) {
	big := make([]byte, 32768)
	for i := range big {
		big[i] = byte(i*7 + i>>8)
	}
	cases := []struct {
		name  string
		build func(w *bitWriter)
		ok    bool
		want  []byte // checked when ok and non-nil
	}{
		{"empty input", func(w *bitWriter) {}, false, nil},
		{"empty stored final", func(w *bitWriter) {
			w.blockType(true, 0)
			w.align()
			w.bits(0, 16)
			w.bits(0xffff, 16)
		}, true, []byte{}},
		{"stored abc", func(w *bitWriter) {
			w.blockType(true, 0)
			w.align()
			w.bits(3, 16)
			w.bits(0xfffc, 16)
			w.buf = append(w.buf, "abc"...)
		}, true, []byte("abc")},
		{"stored bad nlen", func(w *bitWriter) {
			w.blockType(true, 0)
			w.align()
			w.bits(3, 16)
			w.bits(0xfffd, 16)
			w.buf = append(w.buf, "abc"...)
		}, false, nil},
		{"stored short data", func(w *bitWriter) {
			w.blockType(true, 0)
			w.align()
			w.bits(5, 16)
			w.bits(0xfffa, 16)
			w.buf = append(w.buf, "abc"...)
		}, false, nil},
		{"non-final then nothing", func(w *bitWriter) {
			w.blockType(false, 1)
			w.fixedSym('x')
			w.fixedSym(256)
		}, false, nil},
		{"fixed literals", func(w *bitWriter) {
			w.blockType(true, 1)
			for _, c := range []byte("héllo\x00\xff") {
				w.fixedSym(int(c))
			}
			w.fixedSym(256)
		}, true, []byte("héllo\x00\xff")},
		{"fixed length 258 dist 1", func(w *bitWriter) {
			w.blockType(true, 1)
			w.fixedSym('z')
			w.fixedMatch(258, 1)
			w.fixedSym(256)
		}, true, bytes.Repeat([]byte("z"), 259)},
		{"fixed all lengths", func(w *bitWriter) {
			w.blockType(true, 1)
			for c := 0; c < 16; c++ {
				w.fixedSym(c + 'a')
			}
			for l := 3; l <= 258; l++ {
				w.fixedMatch(l, 16)
			}
			w.fixedSym(256)
		}, true, nil},
		{"fixed all distances", func(w *bitWriter) {
			w.blockType(false, 0)
			w.align()
			w.bits(32768&0xffff, 16)
			w.bits(^uint64(32768)&0xffff, 16)
			w.buf = append(w.buf, big...)
			w.blockType(true, 1)
			for _, d := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 33, 100, 1000, 4097, 24577, 32767, 32768} {
				w.fixedMatch(258, d)
				w.fixedMatch(3, d)
			}
			w.fixedSym(256)
		}, true, nil},
		{"max distance 32768 across blocks", func(w *bitWriter) {
			w.blockType(false, 0)
			w.align()
			w.bits(32768&0xffff, 16)
			w.bits(^uint64(32768)&0xffff, 16)
			w.buf = append(w.buf, big...)
			w.blockType(true, 1)
			w.fixedMatch(258, 32768)
			w.fixedSym(256)
		}, true, append(append([]byte{}, big...), big[:258]...)},
		{"distance beyond output", func(w *bitWriter) {
			w.blockType(true, 1)
			w.fixedSym('a')
			w.fixedSym('b')
			w.fixedMatch(3, 3)
			w.fixedSym(256)
		}, false, nil},
		{"distance at start", func(w *bitWriter) {
			w.blockType(true, 1)
			w.fixedMatch(3, 1)
			w.fixedSym(256)
		}, false, nil},
		{"fixed symbol 286", func(w *bitWriter) {
			w.blockType(true, 1)
			w.fixedSym('a')
			w.fixedSym(286)
			w.fixedSym(256)
		}, false, nil},
		{"fixed symbol 287", func(w *bitWriter) {
			w.blockType(true, 1)
			w.fixedSym('a')
			w.fixedSym(287)
		}, false, nil},
		{"fixed distance 30", func(w *bitWriter) {
			w.blockType(true, 1)
			w.fixedSym('a')
			w.fixedSym(257)
			w.code(30, 5)
			w.fixedSym(256)
		}, false, nil},
		{"fixed distance 31", func(w *bitWriter) {
			w.blockType(true, 1)
			w.fixedSym('a')
			w.fixedSym(257)
			w.code(31, 5)
			w.fixedSym(256)
		}, false, nil},
		{"block type 3", func(w *bitWriter) { w.blockType(true, 3) }, false, nil},
		{"dynamic: literals only, no distance codes", func(w *bitWriter) {
			w.dynamicHeader(true, litLens(257, map[int]uint8{'a': 1, 256: 1}), []uint8{0})
			w.code(0, 1)
			w.code(0, 1)
			w.code(1, 1)
		}, true, []byte("aa")},
		{"dynamic: match with no distance codes", func(w *bitWriter) {
			w.dynamicHeader(true, litLens(258, map[int]uint8{'a': 1, 256: 2, 257: 2}), []uint8{0})
			w.code(0, 1)
			w.code(3, 2)
			w.code(0, 0)
			w.code(2, 2)
		}, false, nil},
		{"dynamic: single distance code of length 1", func(w *bitWriter) {
			w.dynamicHeader(true, litLens(258, map[int]uint8{'a': 1, 256: 2, 257: 2}), []uint8{1})
			w.code(0, 1)
			w.code(3, 2) // length 3
			w.code(0, 1) // distance 1
			w.code(2, 2)
		}, true, []byte("aaaa")},
		{"dynamic: unused half of a single distance code", func(w *bitWriter) {
			w.dynamicHeader(true, litLens(258, map[int]uint8{'a': 1, 256: 2, 257: 2}), []uint8{1})
			w.code(0, 1)
			w.code(3, 2)
			w.code(1, 1)
			w.code(2, 2)
		}, false, nil},
		{"dynamic: single literal/length code (EOB only)", func(w *bitWriter) {
			w.dynamicHeader(true, litLens(257, map[int]uint8{256: 1}), []uint8{0})
			w.code(0, 1)
		}, true, []byte{}},
		{"dynamic: single code of length 2 refused", func(w *bitWriter) {
			w.dynamicHeader(true, litLens(257, map[int]uint8{256: 2}), []uint8{0})
			w.code(0, 2)
		}, false, nil},
		{"dynamic: incomplete literal code", func(w *bitWriter) {
			w.dynamicHeader(true, litLens(257, map[int]uint8{'a': 1, 256: 2}), []uint8{0})
			w.code(0, 1)
			w.code(2, 2)
		}, false, nil},
		{"dynamic: over-subscribed literal code", func(w *bitWriter) {
			w.dynamicHeader(true, litLens(257, map[int]uint8{'a': 1, 'b': 1, 256: 1}), []uint8{0})
			w.code(0, 1)
		}, false, nil},
		{"dynamic: incomplete distance code (two of length 2)", func(w *bitWriter) {
			w.dynamicHeader(true, litLens(257, map[int]uint8{'a': 1, 256: 1}), []uint8{2, 2})
			w.code(1, 1)
		}, false, nil},
		{"dynamic: no end-of-block code", func(w *bitWriter) {
			w.dynamicHeader(true, litLens(257, map[int]uint8{'a': 1, 'b': 1}), []uint8{0})
			w.code(0, 1)
		}, false, nil},
		{"dynamic: HLIT 287", func(w *bitWriter) {
			w.blockType(true, 2)
			w.bits(30, 5)
			w.bits(0, 5)
			w.bits(15, 4)
		}, false, nil},
		{"dynamic: HDIST 31", func(w *bitWriter) {
			w.blockType(true, 2)
			w.bits(0, 5)
			w.bits(30, 5)
			w.bits(15, 4)
		}, false, nil},
		{"dynamic: long codes use subtables", func(w *bitWriter) {
			// Lengths 1..14 then two of 15: complete, with codes far
			// past the 12-bit primary table, literals and lengths.
			set := map[int]uint8{}
			syms := []int{'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 256, 257}
			for i, s := range syms {
				l := uint8(i + 1)
				if i == len(syms)-1 {
					l = 15
				}
				set[s] = l
			}
			lit := litLens(258, set)
			dist := []uint8{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 15}
			w.dynamicHeader(true, lit, dist)
			lc, dc := canonical(lit), canonical(dist)
			for _, s := range syms[:14] {
				w.code(lc[s], lit[s])
			}
			w.code(lc[257], lit[257]) // length 3
			w.code(dc[15], 15)        // distance symbol 15: 193 + 6 extra bits
			w.bits(0, 6)
			w.code(lc[257], lit[257])
			w.code(dc[0], 1) // distance 1
			w.code(lc[256], lit[256])
		}, false, nil}, // distance 193 > 14 bytes: corrupt, but only after the subtables decode
		{"dynamic: repeat 16 first", func(w *bitWriter) {
			w.blockType(true, 2)
			w.bits(0, 5)
			w.bits(0, 5)
			w.bits(19-4, 4)
			var cl [19]uint8
			cl[16], cl[17], cl[18], cl[0] = 2, 2, 2, 2
			for _, s := range codeOrder {
				w.bits(uint64(cl[s]), 3)
			}
			c := canonical(cl[:])
			w.code(c[16], 2)
			w.bits(0, 2)
		}, false, nil},
		{"dynamic: repeat past the end", func(w *bitWriter) {
			w.blockType(true, 2)
			w.bits(0, 5)
			w.bits(0, 5)
			w.bits(19-4, 4)
			var cl [19]uint8
			cl[16], cl[17], cl[18], cl[1] = 2, 2, 2, 2
			for _, s := range codeOrder {
				w.bits(uint64(cl[s]), 3)
			}
			c := canonical(cl[:])
			for range 2 {
				w.code(c[18], 2)
				w.bits(127, 7) // 138 zeros, twice: 276 of 258
			}
		}, false, nil},
		{"dynamic: repeats (16 of zero, 17, 18)", func(w *bitWriter) {
			w.blockType(true, 2)
			w.bits(1, 5) // 258 literal/length lengths
			w.bits(0, 5) // 1 distance length
			w.bits(19-4, 4)
			var cl [19]uint8
			cl[18], cl[2], cl[0], cl[3], cl[16], cl[17] = 2, 2, 3, 3, 3, 3
			for _, s := range codeOrder {
				w.bits(uint64(cl[s]), 3)
			}
			c := canonical(cl[:])
			sym := func(s int) { w.code(c[s], cl[s]) }
			sym(18)
			w.bits(97-11, 7) // 0-96: 0
			sym(2)
			sym(2)
			sym(2) // 'a', 'b', 'c': 2
			sym(17)
			w.bits(10-3, 3) // 100-109: 0
			sym(0)          // 110
			sym(16)
			w.bits(3, 2) // 111-116: previous (0) six times
			sym(18)
			w.bits(138-11, 7) // 117-254
			sym(0)            // 255
			sym(3)            // EOB: 3
			sym(3)            // 257: 3
			sym(0)            // the one distance length
			lit := litLens(258, map[int]uint8{'a': 2, 'b': 2, 'c': 2, 256: 3, 257: 3})
			lc := canonical(lit)
			for _, s := range []int{'c', 'a', 'b', 256} {
				w.code(lc[s], lit[s])
			}
		}, true, []byte("cab")},
		{"dynamic: repeat overruns the lengths", func(w *bitWriter) {
			w.blockType(true, 2)
			w.bits(0, 5)
			w.bits(0, 5)
			w.bits(19-4, 4)
			var cl [19]uint8
			cl[16], cl[17], cl[18], cl[1] = 2, 2, 2, 2
			for _, s := range codeOrder {
				w.bits(uint64(cl[s]), 3)
			}
			c := canonical(cl[:])
			w.code(c[18], 2)
			w.bits(97-11, 7)
			w.code(c[1], 2) // 'a'
			w.code(c[18], 2)
			w.bits(138-11, 7)
			w.code(c[18], 2)
			w.bits(20-11, 7) // up to 255
			w.code(c[1], 2)  // EOB
			w.code(c[17], 2)
			w.bits(0, 3) // 3 zeros where 1 is left
		}, false, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var w bitWriter
			tc.build(&w)
			raw := w.bytes()
			if ok := agreeRaw(t, raw); ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			got, err := ourInflate(raw)
			if tc.ok && tc.want != nil && !bytes.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", truncHex(got), truncHex(tc.want))
			}
			if !tc.ok && err == nil {
				t.Fatal("no error")
			}
			// Every proper prefix of a valid stream is truncated.
			if tc.ok {
				for i := range raw {
					if i < len(raw)-1000 && i%97 != 0 {
						continue // long streams: the tail and a sample
					}
					if _, err := ourInflate(raw[:i]); err == nil {
						t.Fatalf("prefix of %d/%d bytes: no error", i, len(raw))
					}
				}
			}
		})
	}
}

func TestCorruptOffsetAndKinds(t *testing.T) {
	var w bitWriter
	w.blockType(true, 3)
	_, err := ourInflate(w.bytes())
	if !isCorrupt(err) {
		t.Fatalf("block type 3: %v, want CorruptInputError", err)
	}
	_, err = ourInflate([]byte{0x01, 0x05, 0x00})
	if err != io.ErrUnexpectedEOF {
		t.Fatalf("truncated stored header: %v, want io.ErrUnexpectedEOF", err)
	}
}

// A source error passes through unchanged and is sticky.
func TestSourceError(t *testing.T) {
	gz := gzipStd(bytes.Repeat([]byte("abcdefgh"), 100000), 6)
	boom := io.ErrClosedPipe
	r := io.MultiReader(bytes.NewReader(gz[:len(gz)/2]), iotest.ErrReader(boom))
	zr, err := NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(zr)
	if err != boom {
		t.Fatalf("err %v, want %v", err, boom)
	}
	if _, err := zr.Read(make([]byte, 10)); err != boom {
		t.Fatalf("second read: %v", err)
	}
}

func TestBuildTableRules(t *testing.T) {
	var tab [litTableSize]uint32
	cases := []struct {
		lens []uint8
		ok   bool
	}{
		{[]uint8{}, true},
		{[]uint8{0, 0, 0}, true},
		{[]uint8{1}, true},
		{[]uint8{1, 1}, true},
		{[]uint8{1, 1, 1}, false},
		{[]uint8{2}, false},
		{[]uint8{1, 2}, false},
		{[]uint8{1, 2, 2}, true},
		{[]uint8{15, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, true},
		{[]uint8{15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, false},
	}
	for _, tc := range cases {
		if got := buildTable(tab[:], tc.lens, litBits, kindLit, nil); got != tc.ok {
			t.Errorf("lengths %v: %v, want %v", tc.lens, got, tc.ok)
		}
	}
}

// pairLiterals must give exactly the entries a plain scan would: every
// primary entry whose bits hold two whole literal codes becomes a pair.
func TestPairLiteralsMatchesScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	pairs := 0
	for iter := range 300 {
		// Random complete code: split a node until enough leaves.
		lens := randomCompleteLengths(rng, 2+rng.IntN(285), 15)
		var got, want [litTableSize]uint32
		var pl pairList
		if !buildTable(got[:], lens, litBits, kindLit, &pl) {
			t.Fatalf("iteration %d: valid code refused: %v", iter, lens)
		}
		pairLiterals(got[:1<<litBits], litBits, &pl)
		buildTableNoPairs(want[:], lens)
		scanPairs(want[:1<<litBits], litBits)
		if got != want {
			t.Fatalf("iteration %d: tables differ for %v", iter, lens)
		}
		for _, e := range got[:1<<litBits] {
			if e&flagPair != 0 {
				pairs++
			}
		}
	}
	if pairs == 0 {
		t.Fatal("no pairs in any table: the test tests nothing")
	}
}

// buildTableNoPairs builds the table, then rewrites the primary entries of
// codes that fit it as single symbols (undoing the pairs).
func buildTableNoPairs(table []uint32, lens []uint8) {
	buildTable(table, lens, litBits, kindLit, nil)
	// Rebuild the primary's single entries from scratch.
	codes := canonical(lens)
	for s, l := range lens {
		if l == 0 || uint(l) > litBits {
			continue
		}
		e := symbolEntry(kindLit, s, uint32(l))
		for k := reverse(codes[s], uint(l)); k < 1<<litBits; k += 1 << l {
			table[k] = e
		}
	}
}

func scanPairs(table []uint32, primary uint) {
	for i := len(table) - 1; i >= 0; i-- {
		e := table[i]
		if e&(flagLit|flagPair) != flagLit {
			continue
		}
		l1 := uint(e & 0xff)
		if l1 >= primary {
			continue
		}
		e2 := table[i>>l1]
		if e2&(flagLit|flagPair) != flagLit || uint(e2&0xff) > primary-l1 {
			continue
		}
		table[i] = flagLit | flagPair | (e>>16&0xff|(e2>>16&0xff)<<8)<<16 | uint32(l1)<<8 | (uint32(l1) + e2&0xff)
	}
}

// randomCompleteLengths returns code lengths (max maxLen) of a complete
// code over n of 288 symbols, with an end-of-block code.
func randomCompleteLengths(rng *rand.Rand, n int, maxLen uint8) []uint8 {
	leaves := []uint8{0}
	for len(leaves) < n {
		i := rng.IntN(len(leaves))
		if leaves[i] >= maxLen {
			continue
		}
		l := leaves[i] + 1
		leaves[i] = l
		leaves = append(leaves, l)
	}
	lens := make([]uint8, 288)
	perm := rng.Perm(286)
	for i, l := range leaves {
		lens[perm[i]] = l
	}
	if lens[256] == 0 { // swap an end-of-block code in
		lens[256], lens[perm[0]] = lens[perm[0]], 0
	}
	return lens[:286]
}
