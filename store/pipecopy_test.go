package store

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// TestPipeCopy: every byte arrives in order, writes are whole 256 KiB buffers but the last,
// and a reader's own error (even io.ErrUnexpectedEOF from a truncated upload) is passed
// on, never taken for the end of the data; a write error stops the copy.
func TestPipeCopy(t *testing.T) {
	const bufSize = 256 << 10
	data := make([]byte, 3*bufSize+12345)
	for i := range data {
		data[i] = byte(i * 7)
	}
	small := data[:5000]
	tests := []struct {
		name    string
		src     io.Reader
		dst     *recordingWriter
		want    []byte
		wantErr string
	}{
		{"large, one byte per read", iotest.OneByteReader(bytes.NewReader(data)), &recordingWriter{}, data, ""},
		{"large, data with EOF", iotest.DataErrReader(bytes.NewReader(data)), &recordingWriter{}, data, ""},
		{"exactly one buffer", bytes.NewReader(data[:bufSize]), &recordingWriter{}, data[:bufSize], ""},
		{"small", bytes.NewReader(small), &recordingWriter{}, small, ""},
		{"empty", bytes.NewReader(nil), &recordingWriter{}, nil, ""},
		{"small truncated upload", io.MultiReader(bytes.NewReader(small), iotest.ErrReader(io.ErrUnexpectedEOF)), &recordingWriter{}, small, io.ErrUnexpectedEOF.Error()},
		{"large truncated upload", io.MultiReader(bytes.NewReader(data), iotest.ErrReader(io.ErrUnexpectedEOF)), &recordingWriter{}, data, io.ErrUnexpectedEOF.Error()},
		{"write error", bytes.NewReader(data), &recordingWriter{failAfter: 2}, data[:2*bufSize], "disk full"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := pipeCopy(tt.dst, tt.src)
			if got := errString(err); got != tt.wantErr {
				t.Fatalf("err = %q, want %q", got, tt.wantErr)
			}
			if !bytes.Equal(tt.dst.buf.Bytes(), tt.want) {
				t.Fatalf("wrote %d bytes, want %d", tt.dst.buf.Len(), len(tt.want))
			}
			if tt.wantErr == "" && n != int64(len(tt.want)) {
				t.Fatalf("n = %d, want %d", n, len(tt.want))
			}
			for i, s := range tt.dst.sizes {
				if i < len(tt.dst.sizes)-1 && s != bufSize {
					t.Errorf("write %d of %d bytes: want full buffers", i, s)
				}
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

type recordingWriter struct {
	buf       bytes.Buffer
	sizes     []int
	failAfter int // writes that succeed before "disk full"; 0 = never fail
}

func (r *recordingWriter) Write(p []byte) (int, error) {
	if r.failAfter > 0 && len(r.sizes) == r.failAfter {
		return 0, errors.New("disk full")
	}
	r.sizes = append(r.sizes, len(p))
	return r.buf.Write(p)
}
