package inflate

import "encoding/binary"

// fastLoop decodes a Huffman block while at least fastInSlack input bytes
// and fastOutSlack bytes of output room are left, so that neither refills
// nor copies need bounds care. State lives in locals (registers) and is
// written back on exit.
//
// bitsleft is only meaningful in its low 8 bits: whole entries are
// subtracted from it (their low byte is the bit count), saving a mask per
// symbol; the refill and the write-back look at the low bits only.
//
// Bit budget: a refill leaves 56-63 bits. A primary lookup consumes at
// most 12 (literal or pair), so four literal lookups fit (48); a length
// symbol, its extra bits, a distance code and its extra bits take at most
// 15+5+15+13 = 48, which is why a refill precedes them.
func (d *decoder) fastLoop() error {
	// Few locals, so that bitbuf stays in a register on the literal
	// path (with more, the compiler spilled it: a store and reload in
	// the critical dependency chain of every lookup). The input array and
	// limit are read from d at each refill instead.
	ob := d.oba
	lt := d.lt
	pos, op := d.pos, d.op
	bitbuf, bitsleft := d.bitbuf, d.bitsleft
	var err error
	for pos <= len(d.in)-fastInSlack && op <= d.outLimit {
		bitbuf |= load64in(d.iba, pos) << (bitsleft & 63)
		pos += int(7 - bitsleft>>3&7)
		bitsleft |= 56
		e := lt[bitbuf&litMask]
		if e&flagLit != 0 {
			bitbuf >>= e & 63
			bitsleft -= uint(e)
			store16(ob, op, uint16(e>>16))
			op += 1 + int(e>>14&1)
			e = lt[bitbuf&litMask]
			if e&flagLit != 0 {
				bitbuf >>= e & 63
				bitsleft -= uint(e)
				store16(ob, op, uint16(e>>16))
				op += 1 + int(e>>14&1)
				e = lt[bitbuf&litMask]
				if e&flagLit != 0 {
					bitbuf >>= e & 63
					bitsleft -= uint(e)
					store16(ob, op, uint16(e>>16))
					op += 1 + int(e>>14&1)
					e = lt[bitbuf&litMask]
					if e&flagLit != 0 {
						bitbuf >>= e & 63
						bitsleft -= uint(e)
						store16(ob, op, uint16(e>>16))
						op += 1 + int(e>>14&1)
						continue
					}
				}
			}
			// e was looked up from valid bits; a refill only adds bits
			// above them.
			bitbuf |= load64in(d.iba, pos) << (bitsleft & 63)
			pos += int(7 - bitsleft>>3&7)
			bitsleft |= 56
		}
		if e&flagSub != 0 {
			bitbuf >>= litBits
			bitsleft -= litBits
			e = lt[(e>>16+uint32(bitbuf)&(1<<(e>>8&15)-1))&(litTableSize-1)]
			if e&flagLit != 0 {
				bitbuf >>= e & 63
				bitsleft -= uint(e)
				store16(ob, op, uint16(e>>16))
				op++
				continue
			}
		}
		if e&flagSpecial != 0 {
			if e>>16 != 0 {
				err = d.corruptAt(pos, bitsleft&0xff)
				break
			}
			bitbuf >>= e & 63
			bitsleft -= uint(e)
			d.endBlock()
			break
		}
		length := int(e>>16) + int((bitbuf&(1<<(e&63)-1))>>(e>>8&15))
		bitbuf >>= e & 63
		bitsleft -= uint(e)

		dt := d.dt // not held across the loop: registers go to the literal path
		e = dt[bitbuf&distMask]
		if e&flagSub != 0 {
			bitbuf >>= distBits
			bitsleft -= distBits
			e = dt[(e>>16+uint32(bitbuf)&(1<<(e>>8&15)-1))&(distTableSize-1)]
		}
		if e&flagSpecial != 0 {
			err = d.corruptAt(pos, bitsleft&0xff)
			break
		}
		dist := int(e>>16) + int((bitbuf&(1<<(e&63)-1))>>(e>>8&15))
		bitbuf >>= e & 63
		bitsleft -= uint(e)
		if dist > op-d.base {
			err = d.corruptAt(pos, bitsleft&0xff)
			break
		}

		src := op - dist
		end := op + length
		switch {
		case dist >= 16:
			// Copies in 16-byte steps may run past end into room that
			// later output overwrites; each step reads only bytes
			// already written (src+16 <= op).
			for op < end {
				store64(ob, op, load64(ob, src))
				store64(ob, op+8, load64(ob, src+8))
				op += 16
				src += 16
			}
		case dist >= 8:
			for op < end {
				store64(ob, op, load64(ob, src))
				op += 8
				src += 8
			}
		case dist == 1:
			v := uint64(ob[src&obMask]) * 0x0101010101010101
			for op < end {
				store64(ob, op, v)
				op += 8
			}
		default:
			// Short period: bytes one at a time.
			for op < end {
				ob[op&obMask] = ob[src&obMask]
				op++
				src++
			}
		}
		op = end
	}
	d.pos, d.op = pos, op
	d.bitbuf, d.bitsleft = bitbuf, bitsleft&0xff
	return err
}

func (d *decoder) corruptAt(pos int, bitsleft uint) error {
	return CorruptInputError(d.inBase + int64(pos) - int64(bitsleft>>3))
}

// Accessors at masked indexes: the mask never changes an index the fast
// loop uses, but lets the compiler prove the access in bounds.

func load64in(b *[inBufSize + 8]byte, i int) uint64 {
	i &= ibMask
	return binary.LittleEndian.Uint64(b[i : i+8])
}

func load64(b *[outBufSize + 16]byte, i int) uint64 {
	i &= obMask
	return binary.LittleEndian.Uint64(b[i : i+8])
}

func store64(b *[outBufSize + 16]byte, i int, v uint64) {
	i &= obMask
	binary.LittleEndian.PutUint64(b[i:i+8], v)
}

func store16(b *[outBufSize + 16]byte, i int, v uint16) {
	i &= obMask
	binary.LittleEndian.PutUint16(b[i:i+2], v)
}
