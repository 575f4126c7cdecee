package c14n

import (
	"io"
	"sync"
)

// chunkSize is the size of the output chunks. A SOAP header block or a
// SignedInfo fits in one; a 1 MB Body streams through one (CanonicalizeTo)
// or is assembled from ~64 of them (Canonicalize). 16 KB keeps the hash
// writes large enough to run at full speed.
const chunkSize = 16 << 10

// chunkPool recycles output chunks. They travel as *[]byte, and the
// pointer stays with its chunk (out.bufp, out.done), so neither Get nor Put
// allocates a slice header.
var chunkPool = sync.Pool{New: func() any {
	b := make([]byte, 0, chunkSize)
	return &b
}}

func chunkFull(b []byte) bool { return len(b) == cap(b) }

// out is the canonicalizer's output. The fixed chunks keep the allocation
// per call down to the returned slice (Canonicalize) or nothing
// (CanonicalizeTo), where a growing bytes.Buffer allocated up to ~4x its
// final size and a fresh bufio.Writer 32 KB even for a 500-byte SignedInfo;
// appending to a concrete []byte also saves an interface call per token.
//
// Stream mode (w != nil): a full chunk is written to w and reused; the first
// write error sticks and later output is dropped. Collect mode (w == nil):
// full chunks are kept in done and joined by bytes.
type out struct {
	buf  []byte  // the chunk being filled: (*bufp)[:len]
	bufp *[]byte // buf's pool entry
	w    io.Writer
	err  error
	done []*[]byte // collect mode: full chunks, each *p of full length
	n    int       // bytes in done
}

func (o *out) reset(w io.Writer) {
	if o.bufp == nil {
		o.bufp = chunkPool.Get().(*[]byte)
	}
	o.buf = (*o.bufp)[:0]
	o.w, o.err, o.n = w, nil, 0
}

// spill makes room in buf.
func (o *out) spill() {
	if o.w != nil {
		o.write()
		o.buf = o.buf[:0]
		return
	}
	*o.bufp = o.buf
	o.done = append(o.done, o.bufp)
	o.n += len(o.buf)
	o.bufp = chunkPool.Get().(*[]byte)
	o.buf = (*o.bufp)[:0]
}

// flush writes what is buffered to w (stream mode) and returns the first
// write error.
func (o *out) flush() error {
	if o.w != nil && len(o.buf) > 0 {
		o.write()
	}
	o.buf = o.buf[:0]
	return o.err
}

// write hands buf to w unless an earlier write failed; a short write
// without an error is one too (as in bufio).
func (o *out) write() {
	if o.err != nil {
		return
	}
	n, err := o.w.Write(o.buf)
	if err == nil && n < len(o.buf) {
		err = io.ErrShortWrite
	}
	o.err = err
}

// bytes joins the collected output into one slice of exactly its length.
func (o *out) bytes() []byte {
	res := make([]byte, o.n+len(o.buf))
	n := 0
	for _, p := range o.done {
		n += copy(res[n:], *p)
	}
	copy(res[n:], o.buf)
	return res
}

// maxPooledChunks bounds what one call returns to the pool: a 50 MB
// Canonicalize should not leave 50 MB of chunks behind for the next GCs.
const maxPooledChunks = 64

// release returns the extra chunks of collect mode to the pool; the first
// chunk stays with o, which is pooled itself.
func (o *out) release() {
	for i, p := range o.done {
		if i < maxPooledChunks {
			*p = (*p)[:0]
			chunkPool.Put(p)
		}
		o.done[i] = nil
	}
	o.done = o.done[:0]
	if cap(o.done) > maxPooledChunks {
		o.done = nil
	}
	o.w = nil
}

func (o *out) byte(c byte) {
	if chunkFull(o.buf) {
		o.spill()
	}
	o.buf = append(o.buf, c)
}

func (o *out) str(s string) {
	if len(s) <= cap(o.buf)-len(o.buf) {
		o.buf = append(o.buf, s...)
		return
	}
	o.strSlow(s)
}

func (o *out) strSlow(s string) {
	for len(s) > 0 {
		if chunkFull(o.buf) {
			o.spill()
		}
		n := min(len(s), cap(o.buf)-len(o.buf))
		o.buf = append(o.buf, s[:n]...)
		s = s[n:]
	}
}

func (o *out) qname(prefix, local string) {
	if prefix != "" {
		o.str(prefix)
		o.byte(':')
	}
	o.str(local)
}

// Escaping tables (C14N §2.3): in attribute values & < " TAB LF CR, in text
// & < > CR. Indexing by byte is safe for UTF-8: these ASCII bytes never
// occur inside a multi-byte sequence. A one-byte table entry per input byte
// keeps the common case, long runs of base64 or names with nothing to
// escape, a tight loop; the entry indexes refs.
var (
	escAttr, escText [256]uint8
	refs             = [...]string{1: "&amp;", 2: "&lt;", 3: "&gt;", 4: "&quot;", 5: "&#x9;", 6: "&#xA;", 7: "&#xD;"}
)

func init() {
	escAttr['&'], escText['&'] = 1, 1
	escAttr['<'], escText['<'] = 2, 2
	escText['>'] = 3
	escAttr['"'] = 4
	escAttr['\t'] = 5
	escAttr['\n'] = 6
	escAttr['\r'], escText['\r'] = 7, 7
}

// escape writes s with the character references of table.
func (o *out) escape(s string, table *[256]uint8) {
	last := 0
	for i := 0; i < len(s); i++ {
		r := table[s[i]]
		if r == 0 {
			continue
		}
		o.str(s[last:i])
		o.str(refs[r&7])
		last = i + 1
	}
	o.str(s[last:])
}
