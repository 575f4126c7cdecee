package soap

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"sync"

	"github.com/klauspost/compress/flate"
)

// parallelChunk is the input one worker compresses at a time. Huffman-only
// blocks cover 32 KiB each and never refer to earlier data, so cutting the
// input costs only the block header and sync marker each cut adds (ratio
// 0.75195 serial, 0.75197 in 1 MiB chunks), while a chunk takes ~1.5 ms,
// far above the cost of handing it to a goroutine. Memory per stream is bounded by
// (workers+1) × (chunk + its output + a ~300 KB compressor).
const parallelChunk = 1 << 20

// gzipHeader is byte for byte what klauspost's gzip.Writer writes at
// HuffmanOnly with no name, comment or mtime (XFL 0, OS 255 "unknown"), so
// parallel and serial output only differ inside the deflate stream.
var gzipHeader = [10]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}

// finalEmptyBlock ends a deflate stream whose last data block was not
// final: BFINAL=1, fixed Huffman codes, end-of-block only. It is what
// flate's Close writes when no data is pending, and what zlib writes for
// an empty input.
var finalEmptyBlock = [2]byte{0x03, 0x00}

// compressParallel writes src as ONE gzip member, compressing chunkSize
// pieces of it at HuffmanOnly on workers goroutines (the caller's among
// them, so at most workers cores are busy), and returns the number of bytes
// read from src. This is what pigz does: every chunk but the
// last ends with a sync flush (non-final blocks, then an empty stored block
// that pads to a byte boundary), so the pieces concatenate into one valid
// deflate stream, and the CRC-32 of the whole input is combined from the
// chunks' own. One member, not one per chunk, because some readers (.NET's
// GZipStream before .NET Core 3.0) stop after the first member and would
// silently lose the rest.
//
// The calling goroutine reads src and writes dst in order, and compresses
// queued chunks itself rather than wait for a worker: on a busy machine a
// worker can sit runnable for milliseconds before the OS gives it a core,
// and with every chunk handed off that latency, not compression, set the
// pace (64 MiB took 1.1-2.6 s instead of 0.25-0.9 s serially at load 10 on
// 2 cores). At most workers+1 chunks exist at once. On an error from src or
// dst every worker has exited before compressParallel returns.
func compressParallel(dst io.Writer, src io.Reader, chunkSize, workers int) (n int64, err error) {
	var (
		q       *chunkQueue
		wg      sync.WaitGroup
		queue   []*gzChunk // read and not yet written, in output order
		crc     uint32
		pending bool // the last chunk written was not final
	)
	defer func() {
		if q != nil {
			q.close(err != nil)
			wg.Wait() // before the chunks go back to the pool
		}
		for _, c := range queue {
			putChunk(c)
		}
	}()
	// writeHead writes out the oldest chunk, compressing others meanwhile.
	writeHead := func() error {
		c := queue[0]
	help:
		for {
			select {
			case <-c.done:
				break help
			default:
			}
			var t *gzChunk
			if q != nil { // nil: a single chunk, already done
				t = q.take(false)
			}
			if t == nil {
				<-c.done
				break
			}
			t.compress()
			close(t.done)
		}
		queue = append(queue[:0], queue[1:]...)
		defer putChunk(c)
		if c.err != nil {
			return c.err
		}
		crc = crc32Combine(crc, c.crc, int64(len(c.in)))
		if c.last {
			c.out.Write(gzipTrailer(crc, n))
		}
		pending = !c.last
		_, err := dst.Write(c.out.Bytes())
		return err
	}
	for first := true; ; first = false {
		c := getChunk(chunkSize)
		if first {
			c.out.Write(gzipHeader[:])
		}
		var rerr error
		c.in, rerr = fillChunk(c.in, chunkSize, src)
		n += int64(len(c.in))
		if rerr != nil && rerr != io.EOF {
			putChunk(c)
			return n, rerr
		}
		c.last = rerr == io.EOF
		if c.last && len(c.in) == 0 && !first {
			// The input ended on a chunk boundary: the tail below closes
			// the stream.
			putChunk(c)
			break
		}
		c.done = make(chan struct{})
		queue = append(queue, c)
		if first && c.last {
			// One chunk: no goroutine would run beside this one.
			c.compress()
			close(c.done)
			break
		}
		if q == nil {
			q = newChunkQueue(workers + 1)
			wg.Add(workers - 1)
			for range workers - 1 { // the caller is the last one
				go q.work(&wg)
			}
		}
		q.put(c)
		if c.last {
			break
		}
		if len(queue) > workers {
			if err := writeHead(); err != nil {
				return n, err
			}
		}
	}
	for len(queue) > 0 {
		if err := writeHead(); err != nil {
			return n, err
		}
	}
	if pending {
		tail := append(finalEmptyBlock[:], gzipTrailer(crc, n)...)
		if _, err := dst.Write(tail); err != nil {
			return n, err
		}
	}
	return n, nil
}

// chunkQueue holds the chunks no one compresses yet, oldest first, for the
// workers and the calling goroutine alike. Not a channel: the caller must
// be able to take a chunk back without leaving a stale entry behind.
type chunkQueue struct {
	mu      sync.Mutex
	cond    sync.Cond
	pending []*gzChunk
	closed  bool
	stop    bool // an error ended the stream: what is left needs no work
}

func newChunkQueue(capacity int) *chunkQueue {
	q := &chunkQueue{pending: make([]*gzChunk, 0, capacity)}
	q.cond.L = &q.mu
	return q
}

func (q *chunkQueue) put(c *gzChunk) {
	q.mu.Lock()
	q.pending = append(q.pending, c)
	q.mu.Unlock()
	q.cond.Signal()
}

// take returns the oldest pending chunk; with wait, it blocks for one
// until the queue is closed. It returns nil when there is none to take.
func (q *chunkQueue) take(wait bool) *gzChunk {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.pending) == 0 || q.stop {
		if !wait || q.closed {
			return nil
		}
		q.cond.Wait()
	}
	c := q.pending[0]
	q.pending = append(q.pending[:0], q.pending[1:]...)
	return c
}

func (q *chunkQueue) close(stop bool) {
	q.mu.Lock()
	q.closed, q.stop = true, stop
	q.mu.Unlock()
	q.cond.Broadcast()
}

func (q *chunkQueue) work(wg *sync.WaitGroup) {
	defer wg.Done()
	for c := q.take(true); c != nil; c = q.take(true) {
		c.compress()
		close(c.done)
	}
}

// gzipTrailer is RFC 1952's CRC32 and ISIZE (the length modulo 2^32).
func gzipTrailer(crc uint32, n int64) []byte {
	var t [8]byte
	binary.LittleEndian.PutUint32(t[0:], crc)
	binary.LittleEndian.PutUint32(t[4:], uint32(n))
	return t[:]
}

// fillChunk reads into buf until it holds size bytes or src fails. Not
// io.ReadFull: a short final chunk must be told from a reader's own
// io.ErrUnexpectedEOF.
func fillChunk(buf []byte, size int, src io.Reader) ([]byte, error) {
	for len(buf) < size {
		m, err := src.Read(buf[len(buf):size])
		buf = buf[:len(buf)+m]
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

type gzChunk struct {
	in   []byte
	out  bytes.Buffer // for the first chunk, the gzip header comes first
	zw   *flate.Writer
	crc  uint32
	last bool
	err  error
	done chan struct{} // closed when a worker is through with the chunk
}

// compress appends in's raw deflate form to out: closed with a final block
// for the last chunk, else ended by a sync flush so the next chunk's blocks
// start on a byte boundary.
func (c *gzChunk) compress() {
	c.crc = crc32.ChecksumIEEE(c.in)
	if c.zw == nil {
		c.zw, _ = flate.NewWriter(&c.out, flate.HuffmanOnly)
	} else {
		c.zw.Reset(&c.out)
	}
	if _, c.err = c.zw.Write(c.in); c.err != nil {
		return
	}
	if c.last {
		c.err = c.zw.Close()
	} else {
		c.err = c.zw.Flush()
	}
}

var chunkPool sync.Pool

func getChunk(size int) *gzChunk {
	c, _ := chunkPool.Get().(*gzChunk)
	if c == nil {
		c = &gzChunk{}
	}
	if cap(c.in) < size {
		c.in = make([]byte, 0, size)
	}
	c.in = c.in[:0]
	c.out.Reset()
	c.crc, c.last, c.err, c.done = 0, false, nil, nil
	return c
}

func putChunk(c *gzChunk) { chunkPool.Put(c) }

// crc32Combine returns the CRC-32 (IEEE) of A followed by B from crcA,
// crcB and len(B), as zlib's crc32_combine does: appending len(B) zero
// bytes to A multiplies its CRC by x^(8·len(B)) modulo the polynomial.
func crc32Combine(crcA, crcB uint32, lenB int64) uint32 {
	return multModP(xPow8n(lenB), crcA) ^ crcB
}

// multModP multiplies a and b modulo the reflected CRC-32 polynomial.
func multModP(a, b uint32) uint32 {
	if a == 0 {
		return 0 // the loop below would never end
	}
	m := uint32(1) << 31
	var p uint32
	for {
		if a&m != 0 {
			p ^= b
			if a&(m-1) == 0 {
				return p
			}
		}
		m >>= 1
		if b&1 != 0 {
			b = b>>1 ^ crc32.IEEE
		} else {
			b >>= 1
		}
	}
}

// xPow8n is x^(8n) modulo the polynomial, by squaring: x2nTable[k] is
// x^(2^k).
func xPow8n(n int64) uint32 {
	p := uint32(1) << 31 // x^0
	for k := 3; n != 0; n, k = n>>1, k+1 {
		if n&1 != 0 {
			p = multModP(x2nTable[k&31], p)
		}
	}
	return p
}

var x2nTable = func() (t [32]uint32) {
	p := uint32(1) << 30 // x^1
	for i := range t {
		t[i] = p
		p = multModP(p, p)
	}
	return t
}()
