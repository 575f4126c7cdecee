package soap

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/base64"
	"io"
	"testing"

	kgzip "github.com/klauspost/compress/gzip"
)

// TestCompressLevelsInteroperable checks the level chosen per kind of
// content and that every output is plain gzip for the standard library's
// reader (what peers run is not ours to choose).
func TestCompressLevelsInteroperable(t *testing.T) {
	random := make([]byte, 300<<10)
	rand.Read(random)
	b64 := []byte(base64.StdEncoding.EncodeToString(random))
	xml := bytes.Repeat([]byte("<row><id>12345</id><name>Malmö stad</name></row>\n"), 6000)
	tests := []struct {
		name      string
		data      []byte
		level     int
		maxRatio  float64
		sampleLen int
	}{
		{"base64 of random bytes", b64, kgzip.HuffmanOnly, 0.77, compressionSample},
		{"xml", xml, matchLevel, 0.05, compressionSample},
		{"random bytes", random, matchLevel, 1.01, compressionSample},
		{"small", []byte("hello"), matchLevel, 10, compressionSample},
		{"empty", nil, matchLevel, 100, compressionSample},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sample := tt.data[:min(len(tt.data), tt.sampleLen)]
			if got := chooseLevel(sample); got != tt.level {
				t.Errorf("chooseLevel = %d, want %d", got, tt.level)
			}
			var buf bytes.Buffer
			n, err := Compress(&buf, bytes.NewReader(tt.data))
			if err != nil || n != int64(len(tt.data)) {
				t.Fatalf("Compress = %d, %v", n, err)
			}
			if len(tt.data) > 0 {
				if r := float64(buf.Len()) / float64(len(tt.data)); r > tt.maxRatio {
					t.Errorf("ratio %.3f > %.3f", r, tt.maxRatio)
				}
			}
			zr, err := gzip.NewReader(&buf)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(zr)
			if err != nil || !bytes.Equal(got, tt.data) {
				t.Fatalf("compress/gzip read %d bytes, %v", len(got), err)
			}
		})
	}
}

// TestCompressReusesWritersSafely interleaves contents of both kinds so a
// pooled writer's state from one stream cannot leak into the next.
func TestCompressReusesWritersSafely(t *testing.T) {
	random := make([]byte, 100<<10)
	rand.Read(random)
	inputs := [][]byte{[]byte(base64.StdEncoding.EncodeToString(random)), bytes.Repeat([]byte("abc"), 50000), []byte("x")}
	for i := 0; i < 9; i++ {
		in := inputs[i%len(inputs)]
		var buf bytes.Buffer
		if _, err := Compress(&buf, bytes.NewReader(in)); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(Decompress(&buf, 1<<30))
		if err != nil || !bytes.Equal(got, in) {
			t.Fatalf("round %d: %d bytes, %v", i, len(got), err)
		}
	}
}

// TestDecompressPooledReaders: decompressors go back to a pool on Close;
// one that saw corrupt input, or was closed half-way, must not spoil the
// next stream.
func TestDecompressPooledReaders(t *testing.T) {
	good := gzipBytes(t, bytes.Repeat([]byte("pooled "), 20000))
	corrupt := append([]byte(nil), good...)
	corrupt[len(corrupt)/2] ^= 0xff
	for i, in := range [][]byte{good, corrupt, good, good[:len(good)/2], good, good} {
		rc := Decompress(bytes.NewReader(in), 1<<20)
		if i == 4 {
			rc.Read(make([]byte, 10)) // closed half-way
			rc.Close()
			continue
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		wantOK := i != 1 && i != 3
		if wantOK != (err == nil) || (wantOK && len(got) != 7*20000) {
			t.Fatalf("stream %d: %d bytes, %v", i, len(got), err)
		}
		if _, err := rc.Read(make([]byte, 1)); err == nil {
			t.Fatalf("stream %d: read after Close succeeded", i)
		}
	}
}
