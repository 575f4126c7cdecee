package inflate

import (
	"bytes"
	stdflate "compress/flate"
	"encoding/binary"
	"hash/crc32"
	"io"
	"sync"
	"testing"

	kflate "github.com/klauspost/compress/flate"
	kgzip "github.com/klauspost/compress/gzip"
)

func fuzzSeeds(f *testing.F) {
	for _, s := range [][]byte{
		nil,
		[]byte("a"),
		[]byte("hello hello hello hello"),
		bytes.Repeat([]byte{0}, 300),
		benchXML(2000),
		base64Random(1500),
		randomBytes(200),
	} {
		for _, l := range []int{stdflate.HuffmanOnly, 0, 1, 6, 9} {
			var b bytes.Buffer
			w, _ := stdflate.NewWriter(&b, l)
			w.Write(s)
			w.Close()
			f.Add(b.Bytes())
			f.Add(gzipStd(s, l))
		}
		f.Add(gzipKP(s, kgzip.HuffmanOnly))
		f.Add(gzipKP(s, 1))
	}
}

// chunkReader returns at most n bytes per Read, so that the decoder's
// buffer-edge paths run on small inputs too.
type chunkReader struct {
	r io.Reader
	n int
}

func (c chunkReader) Read(p []byte) (int, error) {
	if len(p) > c.n {
		p = p[:c.n]
	}
	return c.r.Read(p)
}

// FuzzInflateDifferential: arbitrary bytes as a raw DEFLATE stream, as a
// gzip stream, and behind a valid gzip header. Ours must succeed exactly
// when compress/flate (compress/gzip, or klauspost for the header rules
// where those two differ) does, with the same output.
func FuzzInflateDifferential(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data)%3 == 0 { // small inputs rarely reach pairAfter
			defer func(v int) { pairAfter = v }(pairAfter)
			pairAfter = 0
		}
		want, werr := stdInflate(data)
		chunk := 1 + len(data)%17
		if len(data)%2 == 0 {
			chunk = 1 << 20
		}
		got, gerr := io.ReadAll(NewRawReader(chunkReader{bytes.NewReader(data), chunk}))
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("raw: compress/flate err %v, ours %v", werr, gerr)
		}
		if werr == nil && !bytes.Equal(got, want) {
			t.Fatalf("raw: output differs: %d vs %d bytes", len(got), len(want))
		}
		agreeGzip(t, data)
		hdr := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}
		agreeGzip(t, append(hdr, data...))
	})
}

var (
	fuzzWriters sync.Map // [level, kp] -> writer; the fuzz function runs serially
	fuzzRaw     = NewRawReader(nil)
	fuzzGzip    = new(Reader)
)

// FuzzRoundTrip compresses the input with an encoder and level chosen by
// its first byte and checks that it decompresses to itself.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{0})
	f.Add(append([]byte{3}, benchXML(3000)...))
	f.Add(append([]byte{7}, base64Random(3000)...))
	f.Add(append([]byte{12}, bytes.Repeat([]byte("ab"), 2000)...))
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		if len(in)%3 == 0 {
			defer func(v int) { pairAfter = v }(pairAfter)
			pairAfter = 0
		}
		sel, data := in[0], in[1:]
		var comp bytes.Buffer
		raw := sel&0x80 != 0
		levels := []int{-2, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
		level := levels[int(sel&0x7f)%len(levels)]
		kp := int(sel&0x7f)/len(levels)%2 == 1
		// Writers are ~1 MB each: reused, or the fuzzer runs at 25/s.
		key := [2]int{level, 0}
		if kp {
			key[1] = 1
		}
		w, _ := fuzzWriters.Load(key)
		switch {
		case w == nil && kp:
			w, _ = kflate.NewWriter(&comp, level)
		case w == nil:
			w, _ = stdflate.NewWriter(&comp, level)
		case kp:
			w.(*kflate.Writer).Reset(&comp)
		default:
			w.(*stdflate.Writer).Reset(&comp)
		}
		fuzzWriters.Store(key, w)
		wc := w.(io.WriteCloser)
		wc.Write(data)
		wc.Close()
		var got []byte
		var err error
		if raw {
			fuzzRaw.Reset(chunkReader{&comp, 1 + int(sel)%13})
			got, err = io.ReadAll(fuzzRaw)
		} else {
			// Wrap the raw stream in a gzip member by hand.
			gz := append([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}, comp.Bytes()...)
			gz = appendTrailer(gz, data)
			if err = fuzzGzip.Reset(bytes.NewReader(gz)); err == nil {
				got, err = io.ReadAll(fuzzGzip)
			}
		}
		if err != nil {
			t.Fatalf("level %d raw %v: %v", level, raw, err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("level %d raw %v: output differs", level, raw)
		}
	})
}

func appendTrailer(gz, data []byte) []byte {
	var t [8]byte
	binary.LittleEndian.PutUint32(t[:4], crc32.ChecksumIEEE(data))
	binary.LittleEndian.PutUint32(t[4:], uint32(len(data)))
	return append(gz, t[:]...)
}
