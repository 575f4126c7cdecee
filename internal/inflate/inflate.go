// Package inflate is a fast RFC 1951 (DEFLATE) decompressor and RFC 1952
// gzip reader in pure Go, for the receiver's gunzip of every compressed
// payload before it acknowledges.
//
// It decodes with a 64-bit bit buffer refilled eight bytes at a time from
// its own input window, a 12-bit primary table whose entries may hold two
// literals, and an output buffer that is also the 32 KiB history window,
// so matches are copied within one slice, eight bytes at a time. Near the
// ends of either buffer a careful symbol-at-a-time path takes over. It
// accepts and refuses exactly the streams compress/flate does, and
// produces the same output (the tests check this differentially).
package inflate

import (
	"errors"
	"io"
	"strconv"
)

// CorruptInputError reports invalid DEFLATE data at (roughly) the given
// offset of the compressed input.
type CorruptInputError int64

func (e CorruptInputError) Error() string {
	return "inflate: corrupt input before offset " + strconv.FormatInt(int64(e), 10)
}

const (
	windowSize = 32 << 10
	// outBufSize: the window plus the span decoded per refill of the
	// caller. Moving the window to the front costs 32 KiB per 128 KiB
	// decoded, a memmove negligible next to decoding.
	// A power of two, so that masking an index with obMask (a no-op: the
	// fast loop keeps op far below the end) proves it in bounds and the
	// compiler drops the bounds checks from the hot loop. The backing
	// arrays have spare bytes so that 8- and 16-byte accesses at a masked
	// index are provably in bounds too.
	outBufSize = 128 << 10
	obMask     = outBufSize - 1
	inBufSize  = 64 << 10
	ibMask     = inBufSize - 1

	// The fast loop runs while this much output room is left: a longest
	// match (258) plus the 8-byte overrun of its copies, and up to eight
	// literals of one refill.
	fastOutSlack = 320
	// ... and while this much input is left: two 8-byte refills, each
	// advancing at most 7 bytes.
	fastInSlack = 16
)

// pairAfter: building pairs costs about what they save over 2 KiB of
// literals; 4 KiB spares small XML blocks the cost (measured: 4 KiB XML
// 415 -> 556 MB/s; 16 KiB base64 503 -> 442, 2 KiB gave 470/429). A
// variable only so that the fuzz test can make every block pair at once.
var pairAfter = 4 << 10

const (
	stateHeader = iota // at a block header
	stateStored        // inside a stored block
	stateHuff          // inside a Huffman block
	stateDone          // after the final block
)

// decoder holds one DEFLATE stream's state, its input window and its
// output buffer. It is reused across Resets and gzip members.
type decoder struct {
	src    io.Reader
	iba    *[inBufSize + 8]byte
	ibuf   []byte // iba[:inBufSize:inBufSize]
	in     []byte // ibuf[:valid]
	pos    int    // next unread byte of in
	inBase int64  // offset of in[0] in the source
	srcEOF bool
	srcErr error

	// Bits at or above bitsleft are either zero or the low bits of
	// in[pos] (the fast refill loads them early); refills OR identical
	// bits over them.
	bitbuf   uint64
	bitsleft uint

	oba  *[outBufSize + 16]byte
	ob   []byte // oba[:outBufSize:outBufSize], the output and history window
	op   int    // next output position
	rpos int    // next byte to hand to the caller
	base int    // start of this stream's output: distances may not reach before it

	state  int
	final  bool
	stored int // bytes left in the current stored block

	lt   *[litTableSize]uint32
	dt   *[distTableSize]uint32
	lit  [litTableSize]uint32
	dist [distTableSize]uint32
	clen [clenTableSize]uint32
	lens [maxNumLit + maxNumDist]uint8

	// Literal pairs are added to a dynamic table only after pairAfter
	// bytes of its block: for a short block, building them costs more
	// than they save.
	pl          pairList
	pairPending bool
	pairLeft    int
	outLimit    int // the fast loop's bound on op
}

func (d *decoder) reset(r io.Reader) {
	if d.iba == nil {
		d.iba = new([inBufSize + 8]byte)
		d.ibuf = d.iba[:inBufSize:inBufSize]
		d.oba = new([outBufSize + 16]byte)
		d.ob = d.oba[:outBufSize:outBufSize]
	}
	d.src = r
	d.in = d.ibuf[:0]
	d.pos, d.inBase = 0, 0
	d.srcEOF, d.srcErr = false, nil
	d.bitbuf, d.bitsleft = 0, 0
	d.op, d.rpos, d.base = 0, 0, 0
	d.startStream()
}

// startStream begins a new DEFLATE stream at the current input position;
// earlier output is not part of its history.
func (d *decoder) startStream() {
	d.state, d.final, d.stored = stateHeader, false, 0
	d.base = d.op
}

func (d *decoder) corrupt() error {
	return CorruptInputError(d.inBase + int64(d.pos) - int64(d.bitsleft>>3))
}

// fill reads more input after compacting the unread bytes to the front.
// Whole bytes still in the bit buffer are given back to the input first,
// so a compaction never loses them. It returns io.EOF when the source has
// no more data, and the source's own error unchanged.
func (d *decoder) fill() error {
	if d.srcErr != nil {
		return d.srcErr
	}
	d.pos -= int(d.bitsleft >> 3)
	d.bitsleft &= 7
	d.bitbuf &= 1<<d.bitsleft - 1
	if d.pos > 0 {
		n := copy(d.ibuf, d.in[d.pos:])
		d.inBase += int64(d.pos)
		d.in, d.pos = d.ibuf[:n], 0
	}
	if d.srcEOF {
		return io.EOF
	}
	for range 100 {
		n, err := d.src.Read(d.ibuf[len(d.in):cap(d.ibuf)])
		if n < 0 || n > cap(d.ibuf)-len(d.in) {
			d.srcErr = errors.New("inflate: source returned an invalid count")
			return d.srcErr
		}
		d.in = d.ibuf[:len(d.in)+n]
		if err == io.EOF {
			d.srcEOF = true
		} else if err != nil {
			d.srcErr = err
		}
		if n > 0 {
			return nil
		}
		if err != nil {
			if err == io.EOF {
				return io.EOF
			}
			return err
		}
	}
	d.srcErr = io.ErrNoProgress
	return d.srcErr
}

// more pulls one byte into the bit buffer (bitsleft must be <= 56).
func (d *decoder) more() error {
	if d.pos >= len(d.in) {
		if err := d.fill(); err != nil {
			return noEOF(err)
		}
	}
	d.bitbuf |= uint64(d.in[d.pos]) << (d.bitsleft & 63)
	d.pos++
	d.bitsleft += 8
	return nil
}

func (d *decoder) need(n uint) error {
	for d.bitsleft < n {
		if err := d.more(); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) take(n uint) uint32 {
	v := uint32(d.bitbuf & (1<<(n&63) - 1))
	d.bitbuf >>= n & 63
	d.bitsleft -= n
	return v
}

// align drops the bits of a partial byte and gives whole buffered bytes
// back to the input, so byte-oriented reading can follow.
func (d *decoder) align() {
	d.pos -= int(d.bitsleft >> 3)
	d.bitbuf, d.bitsleft = 0, 0
}

// readByte reads one byte of aligned input; io.EOF at the end of input.
func (d *decoder) readByte() (byte, error) {
	if d.pos >= len(d.in) {
		if err := d.fill(); err != nil {
			return 0, err
		}
	}
	b := d.in[d.pos]
	d.pos++
	return b, nil
}

// readFull reads len(p) bytes of aligned input. It returns io.EOF only
// when no byte at all was available, io.ErrUnexpectedEOF for a part.
func (d *decoder) readFull(p []byte) error {
	for i := range p {
		b, err := d.readByte()
		if err != nil {
			if err == io.EOF && i > 0 {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		p[i] = b
	}
	return nil
}

// makeRoom moves the history window to the front of the output buffer
// when too little room is left; the caller must have taken all output.
func (d *decoder) makeRoom() {
	if len(d.ob)-d.op >= fastOutSlack || d.rpos < d.op || d.op <= windowSize {
		return
	}
	shift := d.op - windowSize
	copy(d.ob, d.ob[shift:d.op])
	d.op -= shift
	d.rpos -= shift
	d.base = max(d.base-shift, 0)
}

// decode decodes until the output buffer is (nearly) full or the stream
// ends. Errors are final.
func (d *decoder) decode() error {
	for len(d.ob)-d.op >= fastOutSlack {
		switch d.state {
		case stateHeader:
			if err := d.blockHeader(); err != nil {
				return err
			}
		case stateStored:
			if err := d.copyStored(); err != nil {
				return err
			}
		case stateHuff:
			if err := d.huffStep(); err != nil {
				return err
			}
		default:
			return nil
		}
	}
	return nil
}

// huffStep decodes part of a Huffman block: fast while the buffers
// allow, else one symbol.
func (d *decoder) huffStep() error {
	if len(d.in)-d.pos < fastInSlack {
		return d.slowSymbol()
	}
	d.outLimit = outBufSize - fastOutSlack
	if !d.pairPending {
		return d.fastLoop()
	}
	d.outLimit = min(d.outLimit, d.op+d.pairLeft)
	start := d.op
	err := d.fastLoop()
	if d.pairLeft -= d.op - start; d.pairLeft <= 0 {
		pairLiterals(d.lit[:1<<litBits], litBits, &d.pl)
		d.pairPending = false
	}
	return err
}

func (d *decoder) endBlock() {
	if d.final {
		d.state = stateDone
	} else {
		d.state = stateHeader
	}
}

var codeOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

func (d *decoder) blockHeader() error {
	if err := d.need(3); err != nil {
		return err
	}
	h := d.take(3)
	d.final = h&1 != 0
	switch h >> 1 {
	case 0:
		d.take(d.bitsleft & 7)
		if err := d.need(32); err != nil {
			return err
		}
		n := d.take(16)
		nn := d.take(16)
		if uint16(nn) != ^uint16(n) {
			return d.corrupt()
		}
		d.align()
		d.stored = int(n)
		d.state = stateStored
		return nil
	case 1:
		d.lt, d.dt = fixedLit, fixedDist
		d.pairPending = false
		d.state = stateHuff
		return nil
	case 2:
		if err := d.dynamicTables(); err != nil {
			return err
		}
		d.lt, d.dt = &d.lit, &d.dist
		d.state = stateHuff
		return nil
	}
	return d.corrupt()
}

func (d *decoder) dynamicTables() error {
	if err := d.need(14); err != nil {
		return err
	}
	nlit := int(d.take(5)) + 257
	ndist := int(d.take(5)) + 1
	nclen := int(d.take(4)) + 4
	if nlit > maxNumLit || ndist > maxNumDist {
		return d.corrupt()
	}
	var cl [19]uint8
	for i := range nclen {
		if err := d.need(3); err != nil {
			return err
		}
		cl[codeOrder[i]] = uint8(d.take(3))
	}
	if !buildTable(d.clen[:], cl[:], clenBits, kindClen, nil) {
		return d.corrupt()
	}
	n := nlit + ndist
	lens := d.lens[:n]
	for i := 0; i < n; {
		e, err := d.slowLookup(d.clen[:], clenBits)
		if err != nil {
			return err
		}
		if e&flagSpecial != 0 {
			return d.corrupt()
		}
		d.take(uint(e & 0xff))
		sym := e >> 16
		if sym < 16 {
			lens[i] = uint8(sym)
			i++
			continue
		}
		var rep int
		var nb uint
		var v uint8
		switch sym {
		case 16:
			if i == 0 {
				return d.corrupt()
			}
			rep, nb, v = 3, 2, lens[i-1]
		case 17:
			rep, nb = 3, 3
		default:
			rep, nb = 11, 7
		}
		if err := d.need(nb); err != nil {
			return err
		}
		rep += int(d.take(nb))
		if i+rep > n {
			return d.corrupt()
		}
		for range rep {
			lens[i] = v
			i++
		}
	}
	// Without an end-of-block code the block could never end.
	if lens[256] == 0 ||
		!buildTable(d.lit[:], lens[:nlit], litBits, kindLit, &d.pl) ||
		!buildTable(d.dist[:], lens[nlit:], distBits, kindDist, nil) {
		return d.corrupt()
	}
	d.pairLeft = pairAfter
	d.pairPending = d.pl.n > 0
	return nil
}

func (d *decoder) copyStored() error {
	for d.stored > 0 {
		room := len(d.ob) - d.op
		if room == 0 {
			return nil
		}
		if d.pos >= len(d.in) {
			if d.stored >= 4<<10 && d.srcErr == nil && !d.srcEOF {
				// Large stored data (incompressible payloads): read
				// straight into the output, skipping the input buffer.
				if err := d.readDirect(min(d.stored, room)); err != nil {
					return err
				}
				continue
			}
			if err := d.fill(); err != nil {
				return noEOF(err)
			}
		}
		n := min(d.stored, len(d.in)-d.pos, room)
		copy(d.ob[d.op:], d.in[d.pos:d.pos+n])
		d.op += n
		d.pos += n
		d.stored -= n
	}
	d.endBlock()
	return nil
}

// readDirect reads up to n bytes of stored data from the source into the
// output. The input buffer must be empty (and the bit buffer too).
func (d *decoder) readDirect(n int) error {
	d.inBase += int64(len(d.in))
	d.in, d.pos = d.ibuf[:0], 0
	for range 100 {
		m, err := d.src.Read(d.ob[d.op : d.op+n])
		if m < 0 || m > n {
			d.srcErr = errors.New("inflate: source returned an invalid count")
			return d.srcErr
		}
		d.op += m
		d.stored -= m
		d.inBase += int64(m)
		if err == io.EOF {
			d.srcEOF = true
		} else if err != nil {
			d.srcErr = err
		}
		if m > 0 {
			return nil
		}
		if err != nil {
			return noEOF(err)
		}
	}
	d.srcErr = io.ErrNoProgress
	return d.srcErr
}

// slowLookup decodes one code with table, reading input only as far as
// the code needs (never blocking on a source for bits the stream does not
// need). The returned entry's code bits are consumed, except for an entry
// of a primary table (its own code length field says how many bits).
func (d *decoder) slowLookup(table []uint32, primary uint) (uint32, error) {
	mask := uint64(1)<<primary - 1
	for {
		e := table[d.bitbuf&mask]
		if e&flagSub == 0 {
			if uint(e>>8&15) <= d.bitsleft {
				return e, nil
			}
		} else if d.bitsleft >= primary {
			e2 := table[e>>16+uint32(d.bitbuf>>primary)&(1<<(e>>8&15)-1)]
			if primary+uint(e2>>8&15) <= d.bitsleft {
				d.take(primary)
				return e2, nil
			}
		}
		if err := d.more(); err != nil {
			return 0, err
		}
	}
}

// slowSymbol decodes one literal/length symbol (and its distance) near
// the end of the input buffer.
func (d *decoder) slowSymbol() error {
	e, err := d.slowLookup(d.lt[:], litBits)
	if err != nil {
		return err
	}
	switch {
	case e&flagLit != 0:
		// A pair's second literal may lie beyond the input: take one.
		d.take(uint(e >> 8 & 15))
		d.ob[d.op] = byte(e >> 16)
		d.op++
		return nil
	case e&flagSpecial != 0:
		if e != entryEOB|e&0xfff {
			return d.corrupt()
		}
		d.take(uint(e & 0xff))
		d.endBlock()
		return nil
	}
	total := uint(e & 0xff)
	if err := d.need(total); err != nil {
		return err
	}
	length := int(e>>16) + int(d.take(total)>>(e>>8&15))
	de, err := d.slowLookup(d.dt[:], distBits)
	if err != nil {
		return err
	}
	if de&flagSpecial != 0 {
		return d.corrupt()
	}
	total = uint(de & 0xff)
	if err := d.need(total); err != nil {
		return err
	}
	dist := int(de>>16) + int(d.take(total)>>(de>>8&15))
	if dist > d.op-d.base {
		return d.corrupt()
	}
	ob := d.ob[:d.op+length]
	for i := d.op; i < len(ob); i++ {
		ob[i] = ob[i-dist]
	}
	d.op += length
	return nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
