package inflate

import (
	"bytes"
	stdflate "compress/flate"
	stdgzip "compress/gzip"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"

	kflate "github.com/klauspost/compress/flate"
	kgzip "github.com/klauspost/compress/gzip"
)

// benchXML is varied, SDK-like XML: repetitive structure, changing values.
func benchXML(n int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	names := []string{"Malmö stad", "Region Skåne", "Försäkringskassan", "Skatteverket", "Lunds kommun", "Trafikverket"}
	var b bytes.Buffer
	b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Invoice xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\">\n")
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "  <cac:InvoiceLine>\n    <cbc:ID>%d</cbc:ID>\n    <cbc:InvoicedQuantity unitCode=\"EA\">%d</cbc:InvoicedQuantity>\n"+
			"    <cbc:LineExtensionAmount currencyID=\"SEK\">%d.%02d</cbc:LineExtensionAmount>\n    <cac:Item><cbc:Name>%s</cbc:Name>"+
			"<cbc:Description>%x</cbc:Description></cac:Item>\n  </cac:InvoiceLine>\n",
			i, rng.IntN(1000), rng.IntN(100000), rng.IntN(100), names[rng.IntN(len(names))], rng.Uint32())
	}
	b.WriteString("</Invoice>\n")
	return b.Bytes()
}

func base64Random(n int) []byte {
	rng := rand.New(rand.NewPCG(3, 4))
	raw := make([]byte, n*3/4)
	for i := range raw {
		raw[i] = byte(rng.Uint32())
	}
	return []byte(base64.StdEncoding.EncodeToString(raw))
}

func randomBytes(n int) []byte {
	rng := rand.New(rand.NewPCG(5, 6))
	raw := make([]byte, n)
	for i := range raw {
		raw[i] = byte(rng.Uint32())
	}
	return raw
}

func gzipStd(data []byte, level int) []byte {
	var buf bytes.Buffer
	w, err := stdgzip.NewWriterLevel(&buf, level)
	if err != nil {
		panic(err)
	}
	w.Write(data)
	w.Close()
	return buf.Bytes()
}

func gzipKP(data []byte, level int) []byte {
	var buf bytes.Buffer
	w, err := kgzip.NewWriterLevel(&buf, level)
	if err != nil {
		panic(err)
	}
	w.Write(data)
	w.Close()
	return buf.Bytes()
}

type benchInput struct {
	name string
	raw  []byte
	gz   []byte
}

var benchInputs = sync.OnceValue(func() []benchInput {
	const size = 8 << 20
	b64 := base64Random(size)
	xml := benchXML(size)
	rnd := randomBytes(size)
	return []benchInput{
		{"base64-huffman", b64, gzipKP(b64, kgzip.HuffmanOnly)},
		{"base64-kp1", b64, gzipKP(b64, 1)},
		{"xml-std6", xml, gzipStd(xml, 6)},
		{"xml-kp1", xml, gzipKP(xml, 1)},
		{"random-stored", rnd, gzipStd(rnd, stdflate.NoCompression)},
		// Small messages: per-stream and per-block costs (table builds).
		{"xml-4KiB-kp1", xml[:4<<10], gzipKP(xml[:4<<10], 1)},
		{"base64-16KiB-huffman", b64[:16<<10], gzipKP(b64[:16<<10], kgzip.HuffmanOnly)},
	}
})

// BenchmarkInflate: MB/s are of decompressed output. Readers are reused
// (Reset) as a pooled receiver would; the copy uses WriterTo where the
// reader has one (ours and klauspost's), except in ours-Read32K.
func BenchmarkInflate(b *testing.B) {
	for _, in := range benchInputs() {
		b.Run(in.name, func(b *testing.B) {
			b.Run("ours", func(b *testing.B) {
				zr, err := NewReader(bytes.NewReader(in.gz))
				if err != nil {
					b.Fatal(err)
				}
				runInflateBench(b, in, func(r io.Reader) (io.Reader, error) { return zr, zr.Reset(r) })
			})
			b.Run("ours-Read32K", func(b *testing.B) {
				// Read into the caller's buffer, as soap.Decompress does.
				zr, err := NewReader(bytes.NewReader(in.gz))
				if err != nil {
					b.Fatal(err)
				}
				runInflateBench(b, in, func(r io.Reader) (io.Reader, error) { return onlyReader{zr}, zr.Reset(r) })
			})
			b.Run("klauspost", func(b *testing.B) {
				zr, err := kgzip.NewReader(bytes.NewReader(in.gz))
				if err != nil {
					b.Fatal(err)
				}
				runInflateBench(b, in, func(r io.Reader) (io.Reader, error) { return zr, zr.Reset(r) })
			})
			b.Run("std", func(b *testing.B) {
				zr, err := stdgzip.NewReader(bytes.NewReader(in.gz))
				if err != nil {
					b.Fatal(err)
				}
				runInflateBench(b, in, func(r io.Reader) (io.Reader, error) { return zr, zr.Reset(r) })
			})
		})
	}
}

func runInflateBench(b *testing.B, in benchInput, open func(io.Reader) (io.Reader, error)) {
	b.SetBytes(int64(len(in.raw)))
	b.ReportAllocs()
	b.ReportMetric(float64(len(in.gz))/float64(len(in.raw)), "ratio")
	src := bytes.NewReader(in.gz)
	buf := make([]byte, 32<<10)
	for b.Loop() {
		src.Reset(in.gz)
		zr, err := open(src)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.CopyBuffer(onlyWriter{io.Discard}, zr, buf)
		if err != nil || n != int64(len(in.raw)) {
			b.Fatal(n, err)
		}
	}
}

// onlyReader and onlyWriter hide WriterTo and ReaderFrom, so that
// io.CopyBuffer makes plain Reads of 32 KiB.
type onlyReader struct{ io.Reader }

type onlyWriter struct{ io.Writer }

// BenchmarkEmptyDynamicBlocks: adversarial input that is all block
// headers (each builds tables, none outputs anything), so the output
// limit does not bound the work. MB/s are of compressed input.
func BenchmarkEmptyDynamicBlocks(b *testing.B) {
	var w bitWriter
	const blocks = 5000
	for i := 0; i <= blocks; i++ {
		w.dynamicHeader(i == blocks, litLens(257, map[int]uint8{'a': 1, 256: 1}), []uint8{0})
		w.code(1, 1)
	}
	raw := w.bytes()
	for _, r := range []struct {
		name string
		new  func(io.Reader) io.Reader
	}{
		{"ours", func(r io.Reader) io.Reader { return NewRawReader(r) }},
		{"klauspost", func(r io.Reader) io.Reader { return kflate.NewReader(r) }},
		{"std", func(r io.Reader) io.Reader { return stdflate.NewReader(r) }},
	} {
		b.Run(r.name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if _, err := io.Copy(io.Discard, r.new(bytes.NewReader(raw))); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
