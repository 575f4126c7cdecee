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

// prefetchAbove is the payload size from which the generator runs ahead of
// the upload.
const prefetchAbove = 8 << 20

// prefetcher reads r ahead in its own goroutine, a few 1 MiB blocks at a
// time.
type prefetcher struct {
	blocks chan []byte
	free   chan []byte
	done   chan struct{}
	blk    []byte // the block being read, whole
	cur    []byte // what is left of it
}

func newPrefetcher(r io.Reader) *prefetcher {
	const depth = 4
	p := &prefetcher{blocks: make(chan []byte, depth), free: make(chan []byte, depth), done: make(chan struct{})}
	for range depth {
		p.free <- make([]byte, 1<<20)
	}
	go func() {
		defer close(p.blocks)
		for {
			var b []byte
			select {
			case b = <-p.free:
			case <-p.done:
				return
			}
			n, err := io.ReadFull(r, b[:cap(b)])
			if n > 0 {
				select {
				case p.blocks <- b[:n]:
				case <-p.done:
					return
				}
			}
			if err != nil {
				return // io.EOF or io.ErrUnexpectedEOF: the payload reader only ends
			}
		}
	}()
	return p
}

func (p *prefetcher) Read(b []byte) (int, error) {
	if len(p.cur) == 0 {
		if p.blk != nil {
			p.free <- p.blk[:cap(p.blk)]
			p.blk = nil
		}
		blk, ok := <-p.blocks
		if !ok {
			return 0, io.EOF
		}
		p.blk, p.cur = blk, blk
	}
	n := copy(b, p.cur)
	p.cur = p.cur[n:]
	return n, nil
}

// stop ends the goroutine (after an error upstream, or once read to the end).
func (p *prefetcher) stop() {
	select {
	case <-p.done:
	default:
		close(p.done)
	}
}
