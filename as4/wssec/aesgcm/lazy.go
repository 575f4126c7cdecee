package aesgcm

import (
	"errors"
	"hash"
	"io"
	"sync"
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
	p := newChanPipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, err := decryptStream(p, func() (io.Writer, error) { return p, nil }, src, k)
		clear(k)
		p.closeWrite(err) // nil: io.EOF for the reader
	}()
	return &decryptReader{p: p, src: src, done: done}, nil
}

type decryptReader struct {
	p    *chanPipe
	src  io.Closer
	done chan struct{}
}

func (d *decryptReader) Read(b []byte) (int, error) { return d.p.Read(b) }

// Close stops the decryption (its next write fails) and waits for it, so
// src is not closed under a running read.
func (d *decryptReader) Close() error {
	d.p.closeRead()
	<-d.done
	d.p.clearAll()
	return d.src.Close()
}

// chanPipe is an io.Pipe with room for a few blocks: decryption runs up to
// pipeBlocks × pipeBlockSize ahead of the reader (the decompressor, when a
// part is stored while it arrives) instead of waiting for it at every
// chunk, so the two stages overlap on two cores instead of taking turns.
type chanPipe struct {
	full, free chan []byte
	stop       chan struct{}
	stopOnce   sync.Once
	err        error // set before full is closed
	fill       []byte
	blk        []byte // the block being read, whole
	cur        []byte // what is left of it
	all        [][]byte
}

const (
	pipeBlocks    = 4
	pipeBlockSize = 256 << 10
)

var errReaderClosed = errors.New("aesgcm: plaintext reader closed")

func newChanPipe() *chanPipe {
	p := &chanPipe{full: make(chan []byte, pipeBlocks), free: make(chan []byte, pipeBlocks), stop: make(chan struct{})}
	for range pipeBlocks {
		b := make([]byte, 0, pipeBlockSize)
		p.all = append(p.all, b[:pipeBlockSize])
		p.free <- b
	}
	return p
}

func (p *chanPipe) Write(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		if p.fill == nil {
			select {
			case p.fill = <-p.free:
			case <-p.stop:
				return n, errReaderClosed
			}
		}
		k := copy(p.fill[len(p.fill):cap(p.fill)], b)
		p.fill = p.fill[:len(p.fill)+k]
		b, n = b[k:], n+k
		if len(p.fill) == cap(p.fill) {
			if err := p.send(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func (p *chanPipe) send() error {
	select {
	case p.full <- p.fill:
		p.fill = nil
		return nil
	case <-p.stop:
		return errReaderClosed
	}
}

// closeWrite hands over what is buffered and ends the stream with err
// (nil: io.EOF).
func (p *chanPipe) closeWrite(err error) {
	if err == nil && len(p.fill) > 0 {
		err = p.send()
	}
	p.err = err
	close(p.full)
}

func (p *chanPipe) Read(b []byte) (int, error) {
	for len(p.cur) == 0 {
		if p.blk != nil {
			p.free <- p.blk[:0]
			p.blk = nil
		}
		blk, ok := <-p.full
		if !ok {
			if p.err != nil {
				return 0, p.err
			}
			return 0, io.EOF
		}
		p.blk, p.cur = blk, blk
	}
	n := copy(b, p.cur)
	p.cur = p.cur[n:]
	return n, nil
}

func (p *chanPipe) closeRead() { p.stopOnce.Do(func() { close(p.stop) }) }

// clearAll wipes the plaintext the blocks held, once the writer is done.
func (p *chanPipe) clearAll() {
	for _, b := range p.all {
		clear(b)
	}
}
