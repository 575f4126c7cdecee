package aesgcm

import (
	"errors"
	"hash"
	"io"
)

// VerifyHash reads IV ‖ ciphertext ‖ tag from src, checks the tag and feeds
// the plaintext to h, writing it nowhere: with NewDecryptReader it replaces
// DecryptToTempHash for a large part, whose plaintext then need not be
// written to disk (and read back) before it is consumed. h's state means
// something only when err is nil. It returns the plaintext length.
func VerifyHash(src io.Reader, key []byte, h hash.Hash) (int64, error) {
	if h == nil {
		return 0, errors.New("aesgcm: nil hash")
	}
	if err := checkKey(key); err != nil {
		return 0, err
	}
	hw := &hashingWriter{w: io.Discard, h: h}
	return decryptStream(hw, func() (io.Writer, error) { return hw, nil }, src, key)
}

// NewDecryptReader returns a reader of the plaintext of IV ‖ ciphertext ‖
// tag read from src, for a message whose tag VerifyHash has already checked.
// The tag is checked again at the end: if src changed in between, the last
// Read fails with ErrAuthentication instead of returning io.EOF, so a
// consumer that reads to the end (into a store) never accepts altered data.
// Plaintext reaches the reader before that final check, chunk by chunk.
// Close closes src. key is copied.
func NewDecryptReader(src io.ReadCloser, key []byte) (io.ReadCloser, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	k := append([]byte(nil), key...)
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, err := decryptStream(pw, func() (io.Writer, error) { return pw, nil }, src, k)
		clear(k)
		pw.CloseWithError(err) // nil: io.EOF for the reader
	}()
	return &decryptReader{pr: pr, src: src, done: done}, nil
}

type decryptReader struct {
	pr   *io.PipeReader
	src  io.Closer
	done chan struct{}
}

func (d *decryptReader) Read(p []byte) (int, error) { return d.pr.Read(p) }

// Close stops the decryption (its next write fails) and waits for it, so
// src is not closed under a running read.
func (d *decryptReader) Close() error {
	d.pr.Close()
	<-d.done
	return d.src.Close()
}
