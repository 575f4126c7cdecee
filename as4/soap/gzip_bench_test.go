package soap

import (
	"bytes"
	stdgzip "compress/gzip"
	"crypto/rand"
	"encoding/base64"
	"io"
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
