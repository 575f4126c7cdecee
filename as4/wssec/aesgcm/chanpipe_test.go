package aesgcm

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"time"
)

// TestChanPipe: what is written comes out in order whatever the write and
// read sizes; the writer's error reaches the reader after the data; a
// reader that stops unblocks the writer.
func TestChanPipe(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 3*pipeBlocks*pipeBlockSize+12345)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	for _, tc := range []struct {
		name      string
		writeSize int
		readSize  int
		endErr    error
	}{
		{"small writes, small reads", 1000, 777, nil},
		{"chunk writes, large reads", chunkSize, 1 << 20, nil},
		{"one write, tiny reads", len(data), 13, nil},
		{"ends with an error", chunkSize, 4096, ErrAuthentication},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newChanPipe()
			go func() {
				for rest := data; len(rest) > 0; {
					k := min(tc.writeSize, len(rest))
					if _, err := p.Write(rest[:k]); err != nil {
						p.closeWrite(err)
						return
					}
					rest = rest[k:]
				}
				p.closeWrite(tc.endErr)
			}()
			var got bytes.Buffer
			buf := make([]byte, tc.readSize)
			var err error
			for {
				var n int
				n, err = p.Read(buf)
				got.Write(buf[:n])
				if err != nil {
					break
				}
			}
			want := tc.endErr
			if want == nil {
				want = io.EOF
			}
			if !errors.Is(err, want) {
				t.Fatalf("end: %v, want %v", err, want)
			}
			// After an error the block being filled is dropped: what was read
			// is a prefix (unverified data is never completed by a failure).
			if tc.endErr != nil && bytes.HasPrefix(data, got.Bytes()) {
				return
			}
			if !bytes.Equal(got.Bytes(), data) {
				t.Fatalf("%d bytes read, not the %d written", got.Len(), len(data))
			}
		})
	}
	t.Run("reader stops", func(t *testing.T) {
		p := newChanPipe()
		werr := make(chan error, 1)
		go func() {
			_, err := p.Write(data) // more than the pipe holds
			werr <- err
		}()
		buf := make([]byte, 10)
		p.Read(buf)
		p.closeRead()
		select {
		case err := <-werr:
			if !errors.Is(err, errReaderClosed) {
				t.Fatalf("writer: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the writer stayed blocked after the reader stopped")
		}
	})
}
