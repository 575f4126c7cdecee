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
