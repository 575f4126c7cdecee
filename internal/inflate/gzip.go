package inflate

import (
	"compress/gzip"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"time"
)

var (
	// ErrHeader: bad magic, method, flags or header CRC, or anything but
	// a gzip member after the last one. The same value as compress/gzip's
	// (and klauspost's), so errors.Is works across the three.
	ErrHeader = gzip.ErrHeader
	// ErrChecksum: the CRC-32 or ISIZE of a member does not match its data.
	ErrChecksum = gzip.ErrChecksum
)

const (
	gzipID1     = 0x1f
	gzipID2     = 0x8b
	gzipDeflate = 8
	flagHdrCrc  = 1 << 1
	flagExtra   = 1 << 2
	flagName    = 1 << 3
	flagComment = 1 << 4

	// maxHeaderString bounds FNAME and FCOMMENT as compress/gzip does
	// (its 512-byte buffer, NUL included): longer is ErrHeader there too.
	maxHeaderString = 512
)

// Header is the first member's gzip header (RFC 1952 section 2.3.1).
type Header struct {
	Comment string
	Extra   []byte // FEXTRA: at most 65535 bytes by the format
	ModTime time.Time
	Name    string
	OS      byte
}

// Reader decompresses a gzip stream: concatenated members read as one
// stream, as RFC 1952 and compress/gzip have it; after the last member
// only the end of input is accepted (other bytes are ErrHeader, or
// io.ErrUnexpectedEOF when fewer than a header's ten). Output is
// tentative until Read returns io.EOF: a bad CRC surfaces at the end of
// its member. Memory is fixed per Reader (~240 KiB of buffers and tables),
// reused by Reset.
type Reader struct {
	Header
	d      decoder
	digest uint32
	size   uint32
	err    error
	hbuf   [maxHeaderString]byte
}

// NewReader reads the first gzip header from r and returns a Reader of
// the decompressed stream. Empty input gives io.EOF. The Reader reads
// ahead from r in large blocks.
func NewReader(r io.Reader) (*Reader, error) {
	z := new(Reader)
	if err := z.Reset(r); err != nil {
		return nil, err
	}
	return z, nil
}

// Reset discards z's state and starts reading a new gzip stream from r,
// reusing z's buffers.
func (z *Reader) Reset(r io.Reader) error {
	z.d.reset(r)
	z.Header = Header{}
	z.digest, z.size, z.err = 0, 0, nil
	z.Header, z.err = z.readHeader(true)
	return z.err
}

// errNotReset: a zero Reader must be Reset before use.
var errNotReset = errors.New("inflate: Reader used before NewReader or Reset")

// Read implements io.Reader.
func (z *Reader) Read(p []byte) (int, error) {
	return z.d.read(p, &z.err, z.step)
}

// read hands out decoded bytes, calling step for more until there are some
// or *err is set (sticky: io.EOF at the end).
func (d *decoder) read(p []byte, err *error, step func() error) (int, error) {
	if d.ob == nil {
		return 0, errNotReset
	}
	for {
		if d.rpos < d.op {
			n := copy(p, d.ob[d.rpos:d.op])
			d.rpos += n
			return n, nil
		}
		if *err != nil {
			return 0, *err
		}
		if len(p) == 0 {
			return 0, nil
		}
		*err = step()
	}
}

// WriteTo writes the decompressed stream to w straight from the output
// buffer (io.Copy uses it), saving the copy into a caller's buffer.
func (z *Reader) WriteTo(w io.Writer) (int64, error) {
	d := &z.d
	if d.ob == nil {
		return 0, errNotReset
	}
	var total int64
	for {
		if d.rpos < d.op {
			n, err := w.Write(d.ob[d.rpos:d.op])
			d.rpos += n
			total += int64(n)
			if err != nil {
				return total, err
			}
			if n == 0 {
				return total, io.ErrShortWrite
			}
			continue
		}
		if z.err != nil {
			if z.err == io.EOF {
				return total, nil
			}
			return total, z.err
		}
		z.err = z.step()
	}
}

// Close releases nothing (Reset reuses everything) and reports a
// decompression error, as klauspost's Reader does. It does not close the
// underlying reader.
func (z *Reader) Close() error {
	if z.err == io.EOF {
		return nil
	}
	return z.err
}

// step decodes more of the current member, or at its end checks the
// trailer and starts the next member. Decoded bytes are added to the
// member's CRC at once, so a trailer is checked as soon as it is read.
func (z *Reader) step() error {
	d := &z.d
	if d.state == stateDone {
		return z.nextMember()
	}
	d.makeRoom()
	start := d.op
	err := d.decode()
	z.digest = crc32.Update(z.digest, crc32.IEEETable, d.ob[start:d.op])
	z.size += uint32(d.op - start)
	return noEOF(err)
}

func (z *Reader) nextMember() error {
	d := &z.d
	d.align()
	var t [8]byte
	if err := d.readFull(t[:]); err != nil {
		return noEOF(err)
	}
	if binary.LittleEndian.Uint32(t[:4]) != z.digest || binary.LittleEndian.Uint32(t[4:]) != z.size {
		return ErrChecksum
	}
	z.digest, z.size = 0, 0
	_, err := z.readHeader(false)
	return err
}

// readHeader reads a member header (RFC 1952 section 2.3.1) and prepares
// the decoder for the member's DEFLATE data. io.EOF means no member at all.
// Only the first member's header is kept (as compress/gzip does).
func (z *Reader) readHeader(keep bool) (Header, error) {
	var hdr Header
	d := &z.d
	var h [10]byte
	if err := d.readFull(h[:]); err != nil {
		return hdr, err
	}
	if h[0] != gzipID1 || h[1] != gzipID2 || h[2] != gzipDeflate {
		return hdr, ErrHeader
	}
	flg := h[3]
	if t := int64(binary.LittleEndian.Uint32(h[4:8])); t > 0 {
		hdr.ModTime = time.Unix(t, 0)
	}
	hdr.OS = h[9]
	digest := crc32.ChecksumIEEE(h[:])

	if flg&flagExtra != 0 {
		var l [2]byte
		if err := d.readFull(l[:]); err != nil {
			return hdr, noEOF(err)
		}
		digest = crc32.Update(digest, crc32.IEEETable, l[:])
		n := int(binary.LittleEndian.Uint16(l[:]))
		if keep {
			hdr.Extra = make([]byte, n)
		}
		// Later members' headers are checked but not kept: no allocation.
		for done := 0; done < n; {
			chunk := z.hbuf[:min(n-done, len(z.hbuf))]
			if keep {
				chunk = hdr.Extra[done : done+len(chunk)]
			}
			if err := d.readFull(chunk); err != nil {
				return hdr, noEOF(err)
			}
			digest = crc32.Update(digest, crc32.IEEETable, chunk)
			done += len(chunk)
		}
	}
	var err error
	if flg&flagName != 0 {
		if hdr.Name, digest, err = z.readString(digest, keep); err != nil {
			return hdr, err
		}
	}
	if flg&flagComment != 0 {
		if hdr.Comment, digest, err = z.readString(digest, keep); err != nil {
			return hdr, err
		}
	}
	if flg&flagHdrCrc != 0 {
		var c [2]byte
		if err := d.readFull(c[:]); err != nil {
			return hdr, noEOF(err)
		}
		if binary.LittleEndian.Uint16(c[:]) != uint16(digest) {
			return hdr, ErrHeader
		}
	}
	if flg>>5 != 0 { // reserved flag bits
		return hdr, ErrHeader
	}
	d.startStream()
	return hdr, nil
}

// readString reads a NUL-terminated ISO 8859-1 string into UTF-8.
func (z *Reader) readString(digest uint32, keep bool) (string, uint32, error) {
	buf := z.hbuf[:]
	for i := 0; i < len(buf); i++ {
		b, err := z.d.readByte()
		if err != nil {
			return "", digest, noEOF(err)
		}
		buf[i] = b
		if b != 0 {
			continue
		}
		digest = crc32.Update(digest, crc32.IEEETable, buf[:i+1])
		if !keep {
			return "", digest, nil
		}
		s := buf[:i]
		for _, c := range s {
			if c > 0x7f {
				r := make([]rune, len(s))
				for j, c := range s {
					r[j] = rune(c)
				}
				return string(r), digest, nil
			}
		}
		return string(s), digest, nil
	}
	return "", digest, ErrHeader
}

// RawReader decompresses a raw DEFLATE stream (RFC 1951). It stops at
// the end of the final block; bytes after it are not examined (though
// they may have been read from the source).
type RawReader struct {
	d   decoder
	err error
}

// NewRawReader returns a RawReader of r.
func NewRawReader(r io.Reader) *RawReader {
	f := new(RawReader)
	f.Reset(r)
	return f
}

// Reset starts reading a new stream from r, reusing f's buffers.
func (f *RawReader) Reset(r io.Reader) {
	f.d.reset(r)
	f.err = nil
}

// Read implements io.Reader.
func (f *RawReader) Read(p []byte) (int, error) {
	return f.d.read(p, &f.err, f.step)
}

func (f *RawReader) step() error {
	if f.d.state == stateDone {
		return io.EOF
	}
	f.d.makeRoom()
	return noEOF(f.d.decode())
}

// Close reports a decompression error, if any.
func (f *RawReader) Close() error {
	if f.err == io.EOF {
		return nil
	}
	return f.err
}
