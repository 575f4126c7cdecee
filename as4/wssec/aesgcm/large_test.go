package aesgcm

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// checkWriter compares what is written to it with a regenerated copy of the
// deterministic plaintext, so a large stream can be verified without
// holding it.
type checkWriter struct {
	want    *rand.ChaCha8
	scratch []byte
	n       int64
	err     error
}

func (c *checkWriter) Write(p []byte) (int, error) {
	if cap(c.scratch) < len(p) {
		c.scratch = make([]byte, len(p))
	}
	s := c.scratch[:len(p)]
	c.want.Read(s)
	if c.err == nil && !bytes.Equal(s, p) {
		c.err = fmt.Errorf("plaintext differs in the %d bytes after offset %d", len(p), c.n)
	}
	c.n += int64(len(p))
	return len(p), nil
}

// TestLargeStream pushes 512 MiB through the encrypt writer and Decrypt (with
// a real spool file) via a pipe, and checks that the allocation total stays
// far below the message size: streaming must not buffer the message.
func TestLargeStream(t *testing.T) {
	if testing.Short() {
		t.Skip("512 MiB stream; skipped with -short")
	}
	const size = 512 << 20
	seed := [32]byte{42}
	key := randBytes(18, 32)

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()

	pr, pw := io.Pipe()
	go func() {
		w, err := NewEncryptWriter(pw, key, nil)
		if err != nil {
			pw.CloseWithError(err)
			return
		}
		// io.CopyN's buffer is 32 KiB, so chunks straddle write boundaries.
		if _, err := io.CopyN(w, rand.NewChaCha8(seed), size); err != nil {
			pw.CloseWithError(err)
			return
		}
		pw.CloseWithError(w.Close())
	}()

	check := &checkWriter{want: rand.NewChaCha8(seed)}
	n, err := Decrypt(check, pr, key, tempSpool(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	if check.err != nil {
		t.Fatal(check.err)
	}
	if n != size || check.n != size {
		t.Fatalf("decrypted %d bytes, checked %d, want %d", n, check.n, size)
	}

	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("512 MiB encrypt+decrypt via spool in %v; %d KiB allocated in total, heap in use %d -> %d KiB",
		time.Since(start).Round(time.Millisecond), allocated>>10, before.HeapInuse>>10, after.HeapInuse>>10)
	// TotalAlloc bounds the peak heap growth from above.
	if allocated > 16<<20 {
		t.Fatalf("allocated %d MiB for a 512 MiB stream", allocated>>20)
	}
}
