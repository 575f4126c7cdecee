package soap

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"
)

func gzipBytes(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := Compress(&buf, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestCompressDecompressRoundTrip(t *testing.T) {
	data := bytes.Repeat([]byte("<Invoice>räksmörgås</Invoice>\n"), 1000)
	var buf bytes.Buffer
	n, err := Compress(&buf, bytes.NewReader(data))
	if err != nil || n != int64(len(data)) {
		t.Fatalf("Compress: %d, %v", n, err)
	}
	if buf.Len() >= len(data) || !bytes.HasPrefix(buf.Bytes(), []byte{0x1f, 0x8b}) {
		t.Fatalf("output is not gzip or not smaller: %d bytes", buf.Len())
	}
	rc := Decompress(&buf, int64(len(data)))
	got, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Decompress: %d bytes, %v", len(got), err)
	}
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestDecompressCases(t *testing.T) {
	hello := gzipBytes(t, []byte("hello "))
	world := gzipBytes(t, []byte("world"))
	tests := []struct {
		name    string
		in      []byte
		max     int64
		want    string
		errKind string // "", "limit", "corrupt"
	}{
		{"exactly at limit", hello, 6, "hello ", ""},
		{"one over limit", hello, 5, "hello", "limit"},
		{"multi-member", append(append([]byte{}, hello...), world...), 100, "hello world", ""},
		{"multi-member over limit", append(append([]byte{}, hello...), world...), 8, "hello wo", "limit"},
		{"empty input", nil, 100, "", "corrupt"},
		{"not gzip", []byte("PK\x03\x04 a zip file"), 100, "", "corrupt"},
		{"truncated", hello[:len(hello)-6], 100, "", "corrupt"},
		{"bad crc", corruptCRC(hello), 100, "", "corrupt"},
		{"trailing garbage", append(append([]byte{}, hello...), "garbage"...), 100, "", "corrupt"},
		{"empty gzip member", gzipBytes(t, nil), 100, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc := Decompress(bytes.NewReader(tc.in), tc.max)
			defer rc.Close()
			got, err := io.ReadAll(rc)
			if int64(len(got)) > tc.max {
				t.Fatalf("returned %d bytes past the %d-byte limit", len(got), tc.max)
			}
			switch tc.errKind {
			case "":
				if err != nil || string(got) != tc.want {
					t.Fatalf("got %q, %v; want %q", got, err, tc.want)
				}
			case "limit":
				wantLimit(t, err, "MaxDecompressedBytes")
				if string(got) != tc.want {
					t.Fatalf("got %q before the limit, want %q", got, tc.want)
				}
			case "corrupt":
				var de *DecompressionError
				if !errors.As(err, &de) {
					t.Fatalf("got %v (%T), want *DecompressionError", err, err)
				}
			}
		})
	}
}

func corruptCRC(gz []byte) []byte {
	c := append([]byte{}, gz...)
	c[len(c)-8] ^= 0xff
	return c
}

// TestDecompressBomb: 1 GiB of zeros compresses to about 1 MiB; the reader
// must stop at the limit without producing (or buffering) the rest.
func TestDecompressBomb(t *testing.T) {
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	zeros := make([]byte, 1<<20)
	for i := 0; i < 64; i++ { // 64 MiB is enough to show the limit works
		zw.Write(zeros)
	}
	zw.Close()
	const max = 1 << 20
	n, err := io.Copy(io.Discard, Decompress(&bomb, max))
	wantLimit(t, err, "MaxDecompressedBytes")
	if n != max {
		t.Fatalf("produced %d bytes, want exactly the limit %d", n, max)
	}
}

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

func TestDecompressPassesSourceErrorsThrough(t *testing.T) {
	ioErr := errors.New("disk on fire")
	_, err := io.ReadAll(Decompress(failingReader{ioErr}, 100))
	if err != ioErr {
		t.Fatalf("got %v, want the source's own error", err)
	}
	// An upstream limit (e.g. MaxAttachmentBytes) stays a *LimitError.
	gz := gzipBytes(t, bytes.Repeat([]byte("x"), 10000))
	_, err = io.ReadAll(Decompress(newCapReader(bytes.NewReader(gz), 10, "MaxAttachmentBytes"), 1<<20))
	wantLimit(t, err, "MaxAttachmentBytes")
}

func TestDecompressDefaultLimit(t *testing.T) {
	got, err := io.ReadAll(Decompress(bytes.NewReader(gzipBytes(t, []byte("abc"))), 0))
	if err != nil || string(got) != "abc" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestDecompressIsLazy(t *testing.T) {
	src := &countingReader{r: strings.NewReader("not gzip")}
	rc := Decompress(src, 10)
	if src.n != 0 {
		t.Fatal("Decompress read before the first Read")
	}
	rc.Close()
}
