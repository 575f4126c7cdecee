package main

import (
	crand "crypto/rand"
	"encoding/base64"
	"io"
	"math/rand/v2"
)

// payloadReader yields exactly n bytes of base64 text encoding random bytes:
// what an SDK message service hands over (an end-to-end encrypted XHE,
// base64), which gzip shrinks only to about 75%. It holds one 64 KiB chunk,
// whatever n is.
type payloadReader struct {
	left int64
	rng  *rand.ChaCha8
	raw  []byte
	buf  []byte // encoded, not yet read
	enc  []byte
}

const payloadChunk = 48 << 10 // raw bytes per chunk: 64 KiB of base64

func newPayloadReader(n int64, rng *rand.ChaCha8) *payloadReader {
	return &payloadReader{left: n, rng: rng, raw: make([]byte, payloadChunk), enc: make([]byte, base64.StdEncoding.EncodedLen(payloadChunk))}
}

func (p *payloadReader) Read(b []byte) (int, error) {
	if p.left <= 0 {
		return 0, io.EOF
	}
	if len(p.buf) == 0 {
		_, _ = p.rng.Read(p.raw)
		base64.StdEncoding.Encode(p.enc, p.raw)
		p.buf = p.enc
	}
	n := len(b)
	if n > len(p.buf) {
		n = len(p.buf)
	}
	if int64(n) > p.left {
		n = int(p.left)
	}
	copy(b, p.buf[:n])
	p.buf = p.buf[n:]
	p.left -= int64(n)
	return n, nil
}

// newRNG is a fast non-cryptographic generator seeded from crypto/rand: the
// payloads must not compress, not be secret.
func newRNG() *rand.ChaCha8 {
	var seed [32]byte
	_, _ = crand.Read(seed[:])
	return rand.NewChaCha8(seed)
}

// prefetchAbove is the payload size from which the payload is generated
// ahead of the upload.
const prefetchAbove = 8 << 20

// prefetchBlock is the unit of read-ahead: base64 of 768 KiB of random
// bytes (a multiple of 3, so blocks concatenate into one base64 text).
const prefetchBlock = 1 << 20

// prefetcher generates n bytes of payload on workers goroutines, a few
// blocks ahead of the reader, and hands them out in order. One generator
// (ChaCha8 and base64, ~370 MB/s here) paced the upload of a 1 GiB
// payload; a backend sending a file reads it much faster than that.
type prefetcher struct {
	full []chan []byte // per worker: its blocks, in order
	free []chan []byte // per worker: buffers to refill
	done chan struct{}
	next int    // the worker whose block comes next
	blk  []byte // the block being read, whole
	from int    // its worker
	cur  []byte // what is left of it
}

func newPrefetcher(n int64, workers int, rngFor func(worker int) *rand.ChaCha8) *prefetcher {
	const depth = 2
	p := &prefetcher{done: make(chan struct{})}
	blocks := (n + prefetchBlock - 1) / prefetchBlock
	for w := 0; w < workers; w++ {
		full, free := make(chan []byte, depth), make(chan []byte, depth)
		for range depth {
			free <- make([]byte, prefetchBlock)
		}
		p.full, p.free = append(p.full, full), append(p.free, free)
		go func(w int, rng *rand.ChaCha8) {
			defer close(full)
			raw := make([]byte, prefetchBlock/4*3)
			for b := int64(w); b < blocks; b += int64(workers) {
				var buf []byte
				select {
				case buf = <-free:
				case <-p.done:
					return
				}
				_, _ = rng.Read(raw)
				base64.StdEncoding.Encode(buf[:prefetchBlock], raw)
				size := min(prefetchBlock, n-b*prefetchBlock)
				select {
				case full <- buf[:size]:
				case <-p.done:
					return
				}
			}
		}(w, rngFor(w))
	}
	return p
}

func (p *prefetcher) Read(b []byte) (int, error) {
	if len(p.cur) == 0 {
		if p.blk != nil {
			p.free[p.from] <- p.blk[:cap(p.blk)]
			p.blk = nil
		}
		if len(p.full) == 0 {
			return 0, io.EOF
		}
		blk, ok := <-p.full[p.next]
		if !ok {
			return 0, io.EOF
		}
		p.blk, p.cur, p.from = blk, blk, p.next
		p.next = (p.next + 1) % len(p.full)
	}
	n := copy(b, p.cur)
	p.cur = p.cur[n:]
	return n, nil
}

// stop ends the goroutines (after an error upstream, or once read to the end).
func (p *prefetcher) stop() {
	select {
	case <-p.done:
	default:
		close(p.done)
	}
}
