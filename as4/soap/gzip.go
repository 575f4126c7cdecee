package soap

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math"
	"runtime"
	"sync"

	kgzip "github.com/klauspost/compress/gzip"

	"github.com/as4gw/as4gw/internal/inflate"
)

// CompressionTypeGzip is the eb:PartInfo CompressionType property value for
// AS4 compression (the only one AS4 defines). The MimeType property keeps
// the payload's own type.
const CompressionTypeGzip = "application/gzip"

// Compress gzips src into dst (one standard RFC 1952 gzip member, readable
// by any gzip implementation) and returns the number of uncompressed bytes
// read from src. It does not close dst.
//
// The compressor is klauspost/compress's, and its level is chosen from the
// first 64 KiB (compressionSample): SDK payloads are end-to-end encrypted
// XHE, base64 of random bytes, where string matching finds nothing (its
// fast levels then store the data, ratio 1.0) and Huffman coding alone gives
// the ~75 % every level of compress/gzip reaches, at 2× its level 1 speed
// (BenchmarkGzipLevels: 396-581 vs 187 MB/s). Repetitive content (plain XML
// compresses to under 1 %) keeps a matching level, which is faster still.
// At compress/gzip's level 1, gzip set the pace of large transfers.
// Huffman-only input past one parallelChunk is compressed on all
// GOMAXPROCS cores, still as one member (compressParallel).
func Compress(dst io.Writer, src io.Reader) (int64, error) {
	sample := samplePool.Get().(*[]byte)
	defer samplePool.Put(sample)
	// Not io.ReadFull: its io.ErrUnexpectedEOF for a short input could not
	// be told from a reader's own.
	k := 0
	var err error
	for k < len(*sample) && err == nil {
		var m int
		m, err = src.Read((*sample)[k:])
		k += m
	}
	if err != nil && err != io.EOF {
		return 0, err
	}
	level := chooseLevel((*sample)[:k])
	if procs := runtime.GOMAXPROCS(0); level == kgzip.HuffmanOnly && err == nil && procs > 1 {
		// Huffman-only blocks do not depend on earlier data: the other
		// cores can take a share (1 GiB took 1.9 s on one core while the
		// sender's other core idled, and signing must wait for it).
		// One stream at a time: several large payloads compressed at once
		// keep the cores busy serially, and memory stays at one parallel
		// stream's (procs+1) chunks plus ~0.4 MiB per serial one, however
		// many sender workers there are.
		select {
		case parallelSlot <- struct{}{}:
			defer func() { <-parallelSlot }()
			return compressParallel(dst, io.MultiReader(bytes.NewReader((*sample)[:k]), src), parallelChunk, procs)
		default:
		}
	}
	pool := &gzipPools[0]
	if level == kgzip.HuffmanOnly {
		pool = &gzipPools[1]
	}
	// The compressor writes a few hundred bytes at a time: one system call
	// each when dst is a file (5.8 ns/B measured against 0.6 at 32 KiB).
	bw := bufWriters.Get().(*bufio.Writer)
	bw.Reset(dst)
	defer func() { bw.Reset(nil); bufWriters.Put(bw) }()
	zw, _ := pool.Get().(*kgzip.Writer)
	if zw == nil {
		zw, _ = kgzip.NewWriterLevel(bw, level)
	} else {
		zw.Reset(bw)
	}
	defer pool.Put(zw)
	if _, werr := zw.Write((*sample)[:k]); werr != nil {
		return 0, werr
	}
	n := int64(k)
	if err == nil { // the sample was full: more may follow
		var m int64
		m, err = io.Copy(zw, src)
		n += m
	} else {
		err = nil
	}
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return n, err
}

const compressionSample = 64 << 10

var (
	parallelSlot = make(chan struct{}, 1) // see Compress
	bufWriters   = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}
	samplePool   = sync.Pool{New: func() any { b := make([]byte, compressionSample); return &b }}
	// gzipPools hold writers of matchLevel and of HuffmanOnly: a writer's
	// state is ~1 MB, too much to allocate and clear for every message.
	gzipPools [2]sync.Pool
)

// matchLevel is klauspost's fastest string-matching level.
const matchLevel = kgzip.BestSpeed

// chooseLevel: Huffman-only unless matching halves the sample (it then
// does much better than that: XML, JSON, text), or the sample is
// incompressible (already compressed or encrypted data, which the matching
// level stores at once instead of Huffman-coding it for nothing).
func chooseLevel(sample []byte) int {
	if len(sample) < 4<<10 {
		return matchLevel // small: speed does not matter, and matching is never worse
	}
	var c countWriter
	zw, _ := gzipPools[0].Get().(*kgzip.Writer)
	if zw == nil {
		zw, _ = kgzip.NewWriterLevel(&c, matchLevel)
	} else {
		zw.Reset(&c)
	}
	zw.Write(sample)
	zw.Close()
	gzipPools[0].Put(zw)
	if c.n*2 <= int64(len(sample)) {
		return matchLevel
	}
	if entropyBits(sample) > 7.5 {
		return matchLevel
	}
	return kgzip.HuffmanOnly
}

// entropyBits is the order-0 entropy of b in bits per byte: what Huffman
// coding alone can reach (base64 text: 6; random bytes: 8).
func entropyBits(b []byte) float64 {
	var hist [256]int
	for _, c := range b {
		hist[c]++
	}
	n := float64(len(b))
	e := 0.0
	for _, h := range hist {
		if h > 0 {
			p := float64(h) / n
			e -= p * math.Log2(p)
		}
	}
	return e
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// DecompressionError reports a payload that is not valid gzip: bad header,
// corrupt deflate data, CRC or length mismatch, truncation, or an empty
// payload. The MSH maps it to EBMS:0303 (DecompressionFailure).
type DecompressionError struct {
	Err error
}

func (e *DecompressionError) Error() string {
	return "soap: payload is not valid gzip: " + e.Err.Error()
}

func (e *DecompressionError) Unwrap() error { return e.Err }

// Decompress returns a reader of the gunzipped src. Reads fail with a
// *LimitError{Limit: "MaxDecompressedBytes"} once the output would exceed
// maxBytes (a value <= 0 means DefaultLimits().MaxDecompressedBytes), with
// a *DecompressionError when src is not valid gzip, and pass errors from
// src itself through unchanged. Concatenated gzip members (RFC 1952 allows
// them) are read as one stream; anything else after the last member is
// corrupt input. Nothing is read from src until the first Read. Close
// releases the decompressor; it does not close src.
func Decompress(src io.Reader, maxBytes int64) io.ReadCloser {
	if maxBytes <= 0 {
		maxBytes = DefaultLimits().MaxDecompressedBytes
	}
	return &gunzipReader{src: &errorRecorder{r: src}, max: maxBytes}
}

type gunzipReader struct {
	src *errorRecorder
	zr  *inflate.Reader
	max int64
	out int64
	err error // sticky
}

func (g *gunzipReader) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if g.zr == nil {
		// Our own inflater (internal/inflate): 2.4x klauspost's speed on
		// Huffman-coded base64, which made decompression the receiver's
		// slowest stage for large SDK payloads. It reads its source 64 KiB
		// at a time and is pooled (~230 KiB each): per small message the
		// decompressor was the largest allocation of the receiver.
		g.zr = gunzipPool.Get().(*inflate.Reader)
		if err := g.zr.Reset(g.src); err != nil {
			g.err = g.classify(err)
			return 0, g.err
		}
	}
	if g.out >= g.max {
		// At the limit: the stream may end here (fine) or go on (a bomb,
		// or simply too large); one more byte tells which.
		var probe [1]byte
		n, err := io.ReadFull(g.zr, probe[:])
		switch {
		case n > 0:
			g.err = limitErr("MaxDecompressedBytes", g.max)
		case err == io.EOF:
			g.err = io.EOF
		default:
			g.err = g.classify(err)
		}
		return 0, g.err
	}
	if room := g.max - g.out; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := g.zr.Read(p)
	g.out += int64(n)
	if err != nil {
		if err != io.EOF {
			err = g.classify(err)
		}
		g.err = err
	}
	return n, err
}

// Close releases the decompressor. The gunzipReader must not be used
// afterwards.
func (g *gunzipReader) Close() error {
	var err error
	if g.zr != nil {
		err = g.zr.Close()
		g.zr.Reset(eofReader{}) // Reset restores every state and drops src
		gunzipPool.Put(g.zr)
		g.zr = nil
	}
	if g.err == nil {
		g.err = errors.New("soap: read after Close")
	}
	return err
}

var gunzipPool = sync.Pool{New: func() any { return new(inflate.Reader) }}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// classify tells src's own failures (I/O errors, an upstream *LimitError)
// from corrupt gzip data; compress/gzip returns both unwrapped.
func (g *gunzipReader) classify(err error) error {
	if g.src.err != nil && g.src.err != io.EOF && errors.Is(err, g.src.err) {
		return err
	}
	var le *LimitError
	if errors.As(err, &le) {
		return err
	}
	return &DecompressionError{Err: err}
}

// errorRecorder remembers the last error its reader returned.
type errorRecorder struct {
	r   io.Reader
	err error
}

func (e *errorRecorder) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil {
		e.err = err
	}
	return n, err
}
