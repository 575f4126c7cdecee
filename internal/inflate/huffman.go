package inflate

import "math/bits"

// A decode table entry is one uint32, so that the hot loop does a single
// load per lookup and finds everything it needs in registers:
//
//	bits  0-7   bits to consume: code length + extra bits (a literal pair:
//	            both code lengths)
//	bits  8-11  code length alone (extra bits start after it); for a
//	            subtable pointer: the subtable's index bits
//	bit   12    special: end of block (value 0) or invalid code (value 1)
//	bit   13    subtable pointer (value: subtable offset)
//	bit   14    two literals (value: first | second<<8)
//	bit   15    literal (value: the byte)
//	bits 16-31  value: literal(s), base length, base distance
const (
	flagSpecial = 1 << 12
	flagSub     = 1 << 13
	flagPair    = 1 << 14
	flagLit     = 1 << 15

	entryEOB     = flagSpecial
	entryInvalid = flagSpecial | 1<<16
)

// Primary table sizes. 12 bits for literal/length codes lets most pairs of
// 6-bit literals (base64 text, what SDK payloads are) share one entry;
// subtables hold the longer codes. A complete code with codes longer than
// the primary bits needs at most two subtable entries per such code (a
// subtable of 2^d entries holds at least d+1 codes), hence the sizes below,
// rounded up to a power of two so that masking the index removes bounds
// checks from the hot loop.
const (
	litBits       = 12
	litMask       = 1<<litBits - 1
	litTableSize  = 8192 // >= 1<<12 + 2*288
	distBits      = 9
	distMask      = 1<<distBits - 1
	distTableSize = 1024 // >= 1<<9 + 30*64/7
	clenBits      = 7
	clenTableSize = 1 << clenBits

	maxCodeLen  = 15
	numLitCodes = 288 // fixed code defines 286 and 287; they are invalid
	numDistSyms = 32  // likewise 30 and 31
	maxNumLit   = 286 // HLIT limit, as compress/flate and zlib enforce
	maxNumDist  = 30
)

// Length and distance bases and extra bits (RFC 1951 section 3.2.5).
var (
	lengthBase = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
		35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
		3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193,
		257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6,
		7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
)

type tableKind uint8

const (
	kindLit tableKind = iota
	kindDist
	kindClen
)

// symbolEntry is the entry for symbol s whose code is codeLen bits long.
func symbolEntry(kind tableKind, s int, codeLen uint32) uint32 {
	switch kind {
	case kindLit:
		switch {
		case s < 256:
			return flagLit | uint32(s)<<16 | codeLen<<8 | codeLen
		case s == 256:
			return entryEOB | codeLen<<8 | codeLen
		case s < maxNumLit:
			i := s - 257
			return uint32(lengthBase[i])<<16 | codeLen<<8 | (codeLen + uint32(lengthExtra[i]))
		}
	case kindDist:
		if s < maxNumDist {
			return uint32(distBase[s])<<16 | codeLen<<8 | (codeLen + uint32(distExtra[s]))
		}
	case kindClen:
		return uint32(s)<<16 | codeLen<<8 | codeLen
	}
	// Symbols the format reserves (286-287, 30-31): decoding one is an
	// error, as in compress/flate. Their code length is known, so a
	// truncated stream is still told apart from a corrupt one.
	return entryInvalid | codeLen<<8 | codeLen
}

// buildTable fills table (primary of 1<<primary entries, subtables after
// it) for the canonical code given by lengths. It accepts exactly what
// compress/flate accepts: a complete code, a code with no symbols at all
// (unusable: any lookup fails) or a single code of length 1 (zlib's
// degenerate case). It reports false for any other incomplete or for an
// over-subscribed code.
//
// For a literal/length table, pl (if not nil) receives the short literal
// codes for pairLiterals, which the caller runs when the block proves
// long enough to repay it.
func buildTable(table []uint32, lengths []uint8, primary uint, kind tableKind, pl *pairList) bool {
	var count [maxCodeLen + 1]uint16
	for _, l := range lengths {
		count[l&15]++
	}
	count[0] = 0
	maxLen := uint(0)
	for l := uint(maxCodeLen); l > 0; l-- {
		if count[l] != 0 {
			maxLen = l
			break
		}
	}
	size := 1 << primary
	if maxLen == 0 {
		for i := range table[:size] {
			table[i] = entryInvalid
		}
		return true
	}
	code := 0
	var next [maxCodeLen + 2]int
	for l := uint(1); l <= maxLen; l++ {
		code = (code + int(count[l-1])) << 1
		next[l] = code
	}
	total := 0
	for l := uint(1); l <= maxLen; l++ {
		total = total<<1 + int(count[l])
	}
	if total != 1<<maxLen {
		if !(total == 1 && maxLen == 1) {
			return false
		}
		// One code of length 1: the other half of the table stays invalid.
		table[0], table[1] = entryInvalid, entryInvalid
	}
	// With no code longer than the primary bits, the table repeats with
	// period 1<<maxLen: fill one period, then copy it (memmove instead of
	// thousands of strided stores; small blocks' codes are short).
	fillSize := size
	if maxLen < primary {
		fillSize = 1 << maxLen
	}

	// Symbols sorted by (length, symbol), with their canonical codes.
	var offs [maxCodeLen + 2]uint16
	for l := 1; l <= maxCodeLen; l++ {
		offs[l+1] = offs[l] + count[l]
	}
	var sorted [numLitCodes]uint16
	var codes [numLitCodes]uint16
	for s, l := range lengths {
		if l != 0 {
			sorted[offs[l]] = uint16(s)
			codes[offs[l]] = uint16(next[l])
			next[l]++
			offs[l]++
		}
	}
	n := int(offs[maxLen]) // number of symbols with a code

	subNext := size
	if pl != nil {
		pl.n = 0
	}
	i := 0
	for ; i < n; i++ {
		s := int(sorted[i])
		l := uint(lengths[s])
		if l > primary {
			break
		}
		e := symbolEntry(kind, s, uint32(l))
		r := reverse(codes[i], l)
		for k := r; k < fillSize; k += 1 << l {
			table[k] = e
		}
		if pl != nil && s < 256 && l < primary {
			pl.sym[pl.n], pl.len[pl.n], pl.rev[pl.n] = uint8(s), uint8(l), uint16(r)
			pl.n++
		}
	}
	for p := fillSize; p < size; p *= 2 {
		copy(table[p:2*p], table[:p])
	}
	// Codes longer than the primary bits, grouped by their first
	// primary bits (contiguous in canonical order).
	for i < n {
		prefix := int(codes[i]) >> (uint(lengths[sorted[i]]) - primary)
		j := i
		for j < n && int(codes[j])>>(uint(lengths[sorted[j]])-primary) == prefix {
			j++
		}
		subBits := uint(lengths[sorted[j-1]]) - primary
		if subNext+1<<subBits > len(table) {
			return false // cannot happen for a complete code; never overrun
		}
		table[reverse(uint16(prefix), primary)] = flagSub | uint32(subNext)<<16 | uint32(subBits)<<8 | uint32(primary)
		for ; i < j; i++ {
			s := int(sorted[i])
			rem := uint(lengths[s]) - primary
			e := symbolEntry(kind, s, uint32(rem))
			for k := reverse(codes[i]&(1<<rem-1), rem); k < 1<<subBits; k += 1 << rem {
				table[subNext+k] = e
			}
		}
		subNext += 1 << subBits
	}

	return true
}

// pairList: literal codes shorter than the primary bits, by length.
type pairList struct {
	n   int
	sym [256]uint8
	len [256]uint8
	rev [256]uint16
}

// pairLiterals gives the entries whose bits hold two whole literal codes
// both literals: one lookup then yields two bytes. It enumerates the pairs
// of short literal codes (l1+l2 <= primary) rather than scanning the
// table: the same entries, written once each, without a data-dependent
// branch per entry (the scan made table building dominate small messages).
func pairLiterals(table []uint32, primary uint, pl *pairList) {
	size := 1 << primary
	for a := 0; a < pl.n; a++ {
		l1 := uint(pl.len[a])
		if l1+uint(pl.len[0]) > primary {
			break // sorted by length: pairs with nothing, nor do the rest
		}
		base := flagLit | flagPair | uint32(pl.sym[a])<<16 | uint32(l1)<<8
		r1 := int(pl.rev[a])
		for b := 0; b < pl.n; b++ {
			l2 := uint(pl.len[b])
			if l1+l2 > primary {
				break
			}
			e := base | uint32(pl.sym[b])<<24 | uint32(l1+l2)
			step := 1 << (l1 + l2)
			for k := r1 | int(pl.rev[b])<<l1; k < size; k += step {
				table[k] = e
			}
		}
	}
}

func reverse(code uint16, length uint) int {
	return int(bits.Reverse16(code) >> (16 - length))
}

// Fixed Huffman code tables (RFC 1951 section 3.2.6), built once.
var fixedLit, fixedDist = buildFixed()

func buildFixed() (*[litTableSize]uint32, *[distTableSize]uint32) {
	var l [numLitCodes]uint8
	for i := range l {
		switch {
		case i < 144:
			l[i] = 8
		case i < 256:
			l[i] = 9
		case i < 280:
			l[i] = 7
		default:
			l[i] = 8
		}
	}
	lit := new([litTableSize]uint32)
	if !buildTable(lit[:], l[:], litBits, kindLit, nil) {
		panic("inflate: fixed literal table")
	}
	var d [numDistSyms]uint8
	for i := range d {
		d[i] = 5
	}
	dist := new([distTableSize]uint32)
	if !buildTable(dist[:], d[:], distBits, kindDist, nil) {
		panic("inflate: fixed distance table")
	}
	return lit, dist
}
