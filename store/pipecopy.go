package store

import (
	"io"
	"sync/atomic"
)

// pipeCopy copies src to dst in 256 KiB writes, like fillCopy. Once the data is larger
// than one buffer it reads and writes in two goroutines: for a large payload, producing
// the bytes (network read and MIME parsing, or decryption and gunzip) and consuming them
// (SHA-256 and the file write) then run on two cores instead of taking turns on one,
// which took a 1 GiB payload's store step from one stage's time to the sum of both's.
// A small payload is copied inline, without a goroutine. A write error stops the reading
// and is returned in preference to a read error.
func pipeCopy(dst io.Writer, src io.Reader) (int64, error) {
	first := copyBufs.Get().(*[]byte)
	m, rerr := fill(src, *first)
	if rerr != nil {
		defer copyBufs.Put(first)
		if m > 0 {
			if _, err := dst.Write((*first)[:m]); err != nil {
				return 0, err
			}
		}
		if rerr == io.EOF {
			rerr = nil
		}
		return int64(m), rerr
	}

	type chunk struct {
		b *[]byte
		n int
	}
	const buffers = 3
	full := make(chan chunk, buffers)
	free := make(chan *[]byte, buffers)
	for i := 1; i < buffers; i++ {
		free <- copyBufs.Get().(*[]byte)
	}
	var werr error
	var failed atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for c := range full {
			if werr == nil {
				if _, werr = dst.Write((*c.b)[:c.n]); werr != nil {
					failed.Store(true)
				}
			}
			free <- c.b
		}
	}()
	full <- chunk{first, m}
	n := int64(m)
	for rerr == nil && !failed.Load() {
		b := <-free
		k, err := fill(src, *b)
		rerr = err
		if k == 0 {
			free <- b
			continue
		}
		n += int64(k)
		full <- chunk{b, k}
	}
	close(full)
	<-done // werr is the writer's last word from here on
	for i := 0; i < buffers; i++ {
		copyBufs.Put(<-free)
	}
	if werr != nil {
		return n, werr
	}
	if rerr == io.EOF {
		rerr = nil
	}
	return n, rerr
}

// fill reads into buf until it is full or src fails; io.EOF marks the end of the data.
// Not io.ReadFull: it turns an early EOF into io.ErrUnexpectedEOF, which could not be
// told from a reader's own (a truncated upload).
func fill(src io.Reader, buf []byte) (int, error) {
	m := 0
	var err error
	for m < len(buf) && err == nil {
		var k int
		k, err = src.Read(buf[m:])
		m += k
	}
	if m == len(buf) && err == io.EOF {
		err = nil // reported by the next fill, with no data
	}
	return m, err
}
