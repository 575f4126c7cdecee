package aesgcm

import (
	"errors"
	"io"
)

var errClosed = errors.New("aesgcm: write to closed encrypt writer")

// NewEncryptWriter returns a writer that encrypts what is written to it with
// AES-GCM under key (16, 24 or 32 bytes) and writes IV ‖ ciphertext ‖ tag to
// dst: byte for byte what cipher.NewGCM(aes).Seal(nil, iv, plaintext, nil)
// returns, with the IV in front. iv must be 12 bytes, or nil for a random one.
//
// Output is produced in chunks of 64 KiB as data arrives; the tag and the last
// partial chunk are written by Close, which must be called and its error
// checked. Close does not close dst. A message of up to one chunk reaches dst
// in a single Write. Memory use is constant whatever the message size.
func NewEncryptWriter(dst io.Writer, key []byte, iv []byte) (io.WriteCloser, error) {
	if iv == nil {
		var err error
		if iv, err = randomIV(); err != nil {
			return nil, err
		}
	}
	s, err := newStream(key, iv)
	if err != nil {
		return nil, err
	}
	w := &encryptWriter{dst: dst, s: s, pooled: bufPool.Get().(*chunkBuf)}
	w.buf = w.pooled[:]
	copy(w.buf, iv)
	return w, nil
}

type encryptWriter struct {
	dst io.Writer
	s   *stream
	// buf is IV ‖ chunk ‖ room for the tag. The IV slot is sent with the
	// first chunk only, so small messages go out in one Write.
	buf    []byte
	pooled *chunkBuf // buf's array, returned to bufPool by Close
	fill   int       // ciphertext bytes in buf[IVSize:]
	ivSent bool
	closed bool
	err    error // sticky: after a failed write the output is unusable
}

func (w *encryptWriter) Write(p []byte) (int, error) {
	if w.closed {
		return 0, errClosed
	}
	if w.err != nil {
		return 0, w.err
	}
	if err := w.s.reserve(len(p)); err != nil {
		w.err = err
		return 0, err
	}
	written := 0
	for len(p) > 0 {
		data := w.buf[IVSize : IVSize+chunkSize]
		k := min(len(p), chunkSize-w.fill)
		w.s.ctr.XORKeyStream(data[w.fill:w.fill+k], p[:k])
		w.fill += k
		p = p[k:]
		if w.fill == chunkSize {
			w.s.gh.update(data)
			if err := w.emit(chunkSize); err != nil {
				return written, err
			}
			w.fill = 0
		}
		written += k
	}
	return written, nil
}

// emit writes n bytes of buf's data area, preceded by the IV the first time.
func (w *encryptWriter) emit(n int) error {
	start := IVSize
	if !w.ivSent {
		start = 0
	}
	out := w.buf[start : IVSize+n]
	m, err := w.dst.Write(out)
	if err == nil && m != len(out) {
		err = io.ErrShortWrite
	}
	if err != nil {
		w.err = err
		return err
	}
	w.ivSent = true
	return nil
}

// Close writes the remaining ciphertext and the tag. Calling it again returns
// the first call's result.
func (w *encryptWriter) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	if w.err != nil {
		return w.err
	}
	data := w.buf[IVSize : IVSize+w.fill]
	w.s.gh.update(data)
	tag := w.s.tag()
	copy(w.buf[IVSize+w.fill:], tag[:])
	err := w.emit(w.fill + TagSize)
	// buf holds only IV and ciphertext, so it is recycled without clearing.
	bufPool.Put(w.pooled)
	w.buf, w.pooled = nil, nil
	return err
}
