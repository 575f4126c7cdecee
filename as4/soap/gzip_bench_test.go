package soap

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/base64"
	"io"
	"testing"
)

func BenchmarkGzipLevels(b *testing.B) {
	raw := make([]byte, 12<<20)
	rand.Read(raw)
	data := []byte(base64.StdEncoding.EncodeToString(raw))
	xml := bytes.Repeat([]byte("<row><id>12345</id><name>Malmö stad</name><amount>100.00</amount></row>\n"), 200000)
	for _, in := range []struct {
		name string
		d    []byte
	}{{"base64", data}, {"xml", xml}} {
		for _, lvl := range []int{gzip.BestSpeed, gzip.DefaultCompression} {
			b.Run(in.name+"-"+map[int]string{1: "level1", -1: "level6"}[lvl], func(b *testing.B) {
				b.SetBytes(int64(len(in.d)))
				var out int
				for i := 0; i < b.N; i++ {
					var buf bytes.Buffer
					zw, _ := gzip.NewWriterLevel(&buf, lvl)
					io.Copy(zw, bytes.NewReader(in.d))
					zw.Close()
					out = buf.Len()
				}
				b.ReportMetric(float64(out)/float64(len(in.d)), "ratio")
			})
		}
	}
}
