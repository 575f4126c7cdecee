package soap

import (
	"bytes"
	stdgzip "compress/gzip"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"runtime"
	"testing"

	kgzip "github.com/klauspost/compress/gzip"
)

// BenchmarkGzipLevels compares the standard library's gzip with klauspost's
// (which writes the same standard gzip format) on what SDK payloads are
// (base64 of random bytes) and on repetitive XML.
func BenchmarkGzipLevels(b *testing.B) {
	raw := make([]byte, 12<<20)
	rand.Read(raw)
	data := []byte(base64.StdEncoding.EncodeToString(raw))
	xml := bytes.Repeat([]byte("<row><id>12345</id><name>Malmö stad</name><amount>100.00</amount></row>\n"), 200000)
	type codec struct {
		name string
		new  func(io.Writer) io.WriteCloser
	}
	codecs := []codec{
		{"std-1", func(w io.Writer) io.WriteCloser { z, _ := stdgzip.NewWriterLevel(w, 1); return z }},
		{"std-6", func(w io.Writer) io.WriteCloser { z, _ := stdgzip.NewWriterLevel(w, 6); return z }},
		{"kp-huffman", func(w io.Writer) io.WriteCloser { z, _ := kgzip.NewWriterLevel(w, kgzip.HuffmanOnly); return z }},
		{"kp-1", func(w io.Writer) io.WriteCloser { z, _ := kgzip.NewWriterLevel(w, 1); return z }},
		{"kp-2", func(w io.Writer) io.WriteCloser { z, _ := kgzip.NewWriterLevel(w, 2); return z }},
		{"kp-3", func(w io.Writer) io.WriteCloser { z, _ := kgzip.NewWriterLevel(w, 3); return z }},
		{"kp-5", func(w io.Writer) io.WriteCloser { z, _ := kgzip.NewWriterLevel(w, 5); return z }},
		{"kp-stateless", func(w io.Writer) io.WriteCloser {
			z, _ := kgzip.NewWriterLevel(w, kgzip.StatelessCompression)
			return z
		}},
	}
	for _, in := range []struct {
		name string
		d    []byte
	}{{"base64", data}, {"xml", xml}} {
		for _, c := range codecs {
			b.Run(in.name+"-"+c.name, func(b *testing.B) {
				b.SetBytes(int64(len(in.d)))
				var out int
				for i := 0; i < b.N; i++ {
					var buf bytes.Buffer
					zw := c.new(&buf)
					io.Copy(zw, bytes.NewReader(in.d))
					zw.Close()
					out = buf.Len()
				}
				b.ReportMetric(float64(out)/float64(len(in.d)), "ratio")
			})
		}
	}
}

// BenchmarkGunzip compares the decompressors on what Compress writes for
// SDK payloads (Huffman-only blocks of base64 text); MB/s are of output.
func BenchmarkGunzip(b *testing.B) {
	raw := make([]byte, 12<<20)
	rand.Read(raw)
	data := []byte(base64.StdEncoding.EncodeToString(raw))
	var gz bytes.Buffer
	if _, err := Compress(&gz, bytes.NewReader(data)); err != nil {
		b.Fatal(err)
	}
	readers := []struct {
		name string
		open func(io.Reader) (io.Reader, error)
	}{
		{"std", func(r io.Reader) (io.Reader, error) { return stdgzip.NewReader(r) }},
		{"kp", func(r io.Reader) (io.Reader, error) { return kgzip.NewReader(r) }},
		{"Decompress", func(r io.Reader) (io.Reader, error) { return Decompress(r, 0), nil }},
	}
	for _, rd := range readers {
		b.Run(rd.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				zr, err := rd.open(bytes.NewReader(gz.Bytes()))
				if err != nil {
					b.Fatal(err)
				}
				if n, err := io.Copy(io.Discard, zr); err != nil || n != int64(len(data)) {
					b.Fatal(n, err)
				}
			}
		})
	}
}

// BenchmarkCompress: an SDK-like payload (base64 of random bytes, so
// HuffmanOnly) through the single-threaded writer Compress used before,
// Compress pinned to one core (the same serial path), and Compress on all
// cores (compressParallel). MB/s are of input; ratio is output/input.
func BenchmarkCompress(b *testing.B) {
	data := base64Random(b, 64<<20)
	run := func(b *testing.B, compress func(io.Writer, io.Reader) error) {
		b.SetBytes(int64(len(data)))
		var out countWriter
		for i := 0; i < b.N; i++ {
			out = countWriter{}
			if err := compress(&out, bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(out.n)/float64(len(data)), "ratio")
	}
	b.Run("kgzip-serial", func(b *testing.B) {
		run(b, func(w io.Writer, r io.Reader) error {
			zw, _ := kgzip.NewWriterLevel(w, kgzip.HuffmanOnly)
			if _, err := io.Copy(zw, r); err != nil {
				return err
			}
			return zw.Close()
		})
	})
	b.Run("Compress-1proc", func(b *testing.B) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
		run(b, func(w io.Writer, r io.Reader) error { _, err := Compress(w, r); return err })
	})
	b.Run("Compress", func(b *testing.B) {
		b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "procs")
		run(b, func(w io.Writer, r io.Reader) error { _, err := Compress(w, r); return err })
	})
}

// BenchmarkParallelChunk sizes parallelChunk.
func BenchmarkParallelChunk(b *testing.B) {
	data := base64Random(b, 64<<20)
	for _, chunk := range []int{256 << 10, 1 << 20, 4 << 20} {
		b.Run(fmt.Sprintf("%dKiB", chunk>>10), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				if _, err := compressParallel(io.Discard, bytes.NewReader(data), chunk, runtime.GOMAXPROCS(0)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
