package inflate

import (
	"bytes"
	stdgzip "compress/gzip"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"strings"
	"testing"
	"time"

	kgzip "github.com/klauspost/compress/gzip"
)

// member builds one gzip member by hand so that every header field can
// be set, including ones compress/gzip's writer never writes (FHCRC).
type member struct {
	flags   byte // extra flag bits to set (reserved bits, FTEXT)
	extra   []byte
	name    string
	comment string
	hcrc    bool
	badHCRC bool
	data    []byte
	badCRC  bool
	badSize bool
	mtime   uint32
}

func (m member) bytes() []byte {
	flg := m.flags
	if m.extra != nil {
		flg |= flagExtra
	}
	if m.name != "" {
		flg |= flagName
	}
	if m.comment != "" {
		flg |= flagComment
	}
	if m.hcrc {
		flg |= flagHdrCrc
	}
	h := []byte{gzipID1, gzipID2, gzipDeflate, flg, 0, 0, 0, 0, 0, 3}
	binary.LittleEndian.PutUint32(h[4:], m.mtime)
	if m.extra != nil {
		h = binary.LittleEndian.AppendUint16(h, uint16(len(m.extra)))
		h = append(h, m.extra...)
	}
	if m.name != "" {
		h = append(append(h, m.name...), 0)
	}
	if m.comment != "" {
		h = append(append(h, m.comment...), 0)
	}
	if m.hcrc {
		c := uint16(crc32.ChecksumIEEE(h))
		if m.badHCRC {
			c++
		}
		h = binary.LittleEndian.AppendUint16(h, c)
	}
	// Raw deflate from compress/gzip's output, minus its header/trailer.
	gz := gzipStd(m.data, 6)
	h = append(h, gz[10:len(gz)-8]...)
	crc := crc32.ChecksumIEEE(m.data)
	if m.badCRC {
		crc ^= 1
	}
	size := uint32(len(m.data))
	if m.badSize {
		size++
	}
	h = binary.LittleEndian.AppendUint32(h, crc)
	return binary.LittleEndian.AppendUint32(h, size)
}

func concat(ms ...member) []byte {
	var b []byte
	for _, m := range ms {
		b = append(b, m.bytes()...)
	}
	return b
}

func TestGzipCases(t *testing.T) {
	text := []byte(strings.Repeat("The quick brown fox jumps over the lazy dog. ", 200))
	cases := []struct {
		name string
		in   []byte
		want []byte
		err  error // nil: success; else errors.Is target
	}{
		{"empty input", nil, nil, io.EOF},
		{"one member", concat(member{data: text}), text, nil},
		{"empty member", concat(member{}), []byte{}, nil},
		{"empty members around data", concat(member{}, member{data: text}, member{}), text, nil},
		{"three members", concat(member{data: []byte("a")}, member{data: text}, member{data: []byte("z")}),
			append(append([]byte("a"), text...), 'z'), nil},
		{"all header fields", concat(member{extra: []byte("XYZ\x00\x01"), name: "f\xe5n.xml", comment: "c", hcrc: true, flags: 1, mtime: 1700000000, data: text}), text, nil},
		{"empty FEXTRA", concat(member{extra: []byte{}, data: text}), text, nil},
		{"max FEXTRA", concat(member{extra: make([]byte, 65535), data: text}), text, nil},
		{"bad header CRC", concat(member{name: "x", hcrc: true, badHCRC: true, data: text}), nil, ErrHeader},
		{"reserved flag", concat(member{flags: 0x20, data: text}), nil, ErrHeader},
		{"name of 511 bytes", concat(member{name: strings.Repeat("n", 511), data: text}), text, nil},
		{"name of 512 bytes", concat(member{name: strings.Repeat("n", 512), data: text}), nil, ErrHeader},
		{"comment of 512 bytes", concat(member{comment: strings.Repeat("n", 512), data: text}), nil, ErrHeader},
		{"bad CRC", concat(member{data: text, badCRC: true}), nil, ErrChecksum},
		{"bad ISIZE", concat(member{data: text, badSize: true}), nil, ErrChecksum},
		{"bad CRC in second member", concat(member{data: text}, member{data: text, badCRC: true}), nil, ErrChecksum},
		{"bad magic", append([]byte{0x1f, 0x8c}, concat(member{data: text})[2:]...), nil, ErrHeader},
		{"bad method", append([]byte{0x1f, 0x8b, 7}, concat(member{data: text})[3:]...), nil, ErrHeader},
		{"trailing zeros", append(concat(member{data: text}), make([]byte, 16)...), nil, ErrHeader},
		{"trailing garbage", append(concat(member{data: text}), "garbage after the member"...), nil, ErrHeader},
		{"trailing short garbage", append(concat(member{data: text}), "gar"...), nil, io.ErrUnexpectedEOF},
		{"trailing magic only", append(concat(member{data: text}), 0x1f, 0x8b), nil, io.ErrUnexpectedEOF},
		{"trailing header only", append(concat(member{data: text}), concat(member{})[:10]...), nil, io.ErrUnexpectedEOF},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ourGunzip(tc.in)
			if tc.err == nil {
				if err != nil || !bytes.Equal(got, tc.want) {
					t.Fatalf("err %v, %d bytes; want %d bytes", err, len(got), len(tc.want))
				}
			} else if !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			// compress/gzip and klauspost agree on success or failure.
			agreeGzip(t, tc.in)
			_, kerr := kgunzip(tc.in)
			if (kerr == nil) != (err == nil) {
				t.Fatalf("klauspost err %v, ours %v", kerr, err)
			}
		})
	}
}

func TestGzipHeaderFields(t *testing.T) {
	in := concat(member{extra: []byte("ex"), name: "f\xe5n.xml", comment: "hi", mtime: 1700000000, data: []byte("x")},
		member{name: "second", data: []byte("y")})
	zr, err := NewReader(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "fån.xml" || zr.Comment != "hi" || string(zr.Extra) != "ex" || zr.OS != 3 ||
		!zr.ModTime.Equal(time.Unix(1700000000, 0)) {
		t.Fatalf("header %+v", zr.Header)
	}
	got, err := io.ReadAll(zr)
	if err != nil || string(got) != "xy" {
		t.Fatalf("%q %v", got, err)
	}
	if zr.Name != "fån.xml" {
		t.Fatalf("later members must not replace the first header: %q", zr.Name)
	}
	if err := zr.Close(); err != nil {
		t.Fatal(err)
	}
}

// Every proper prefix of a valid stream fails (never a silent short
// result), and no prefix panics.
func TestGzipTruncation(t *testing.T) {
	data := append(bytes.Repeat([]byte("truncate me "), 300), randomBytes(300)...)
	first := concat(member{data: []byte("a")})
	for _, in := range [][]byte{
		concat(member{name: "n", comment: "c", extra: []byte("e"), hcrc: true, data: data}),
		append(append([]byte{}, first...), concat(member{data: data})...),
		gzipStd(data, 0),
		gzipStd(data, 1),
		gzipKP(data, kgzip.HuffmanOnly),
	} {
		for i := 1; i < len(in); i++ {
			got, err := ourGunzip(in[:i])
			if err == nil && !(i == len(first) && bytes.Equal(in[:i], first)) {
				t.Fatalf("prefix %d/%d: no error (%d bytes)", i, len(in), len(got))
			}
			if !bytes.HasPrefix(data, got) && !bytes.HasPrefix(append([]byte("a"), data...), got) {
				t.Fatalf("prefix %d/%d: wrong data before the error", i, len(in))
			}
		}
		if _, err := ourGunzip(in); err != nil {
			t.Fatal(err)
		}
	}
}

// Reset reuses a Reader across streams, including after an error.
func TestGzipReset(t *testing.T) {
	a := bytes.Repeat([]byte("alpha "), 50000)
	b := randomBytes(100000)
	zr, err := NewReader(bytes.NewReader(gzipStd(a, 9)))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(zr); err != nil || !bytes.Equal(got, a) {
		t.Fatal(err)
	}
	bad := gzipStd(a, 1)
	bad[len(bad)/2] ^= 0x55
	if err := zr.Reset(bytes.NewReader(bad)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(zr); err == nil {
		t.Fatal("corrupt stream: no error")
	}
	if zr.Close() == nil {
		t.Fatal("Close after a failure: no error")
	}
	if err := zr.Reset(bytes.NewReader(gzipKP(b, 5))); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if n, err := zr.WriteTo(&out); err != nil || n != int64(len(b)) || !bytes.Equal(out.Bytes(), b) {
		t.Fatal(n, err)
	}
	if err := zr.Reset(bytes.NewReader(nil)); err != io.EOF {
		t.Fatalf("empty: %v", err)
	}
}

// Reads of every size, and WriteTo, give the same stream; so do sources
// that return one byte or half of what was asked at a time.
func TestGzipReadSizes(t *testing.T) {
	data := append(benchXML(300<<10), base64Random(200<<10)...)
	gz := append(gzipKP(data, 1), gzipStd(data[:1000], 9)...)
	want := append(append([]byte{}, data...), data[:1000]...)
	for _, size := range []int{1, 7, 4 << 10, 1 << 20} {
		zr, err := NewReader(bytes.NewReader(gz))
		if err != nil {
			t.Fatal(err)
		}
		got, err := readPattern(zr, size)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("read size %d: %v", size, err)
		}
	}
	for name, src := range map[string]io.Reader{
		"one byte": oneByteReader{bytes.NewReader(gz)},
		"half":     halfReader{bytes.NewReader(gz)},
	} {
		zr, err := NewReader(src)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s source: %v", name, err)
		}
	}
	if _, err := stdgzip.NewReader(bytes.NewReader(gz)); err != nil {
		t.Fatal(err)
	}
}

type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}

type halfReader struct{ r io.Reader }

func (h halfReader) Read(p []byte) (int, error) {
	return h.r.Read(p[:(len(p)+1)/2])
}

// A member's matches may not reach into the previous member's output.
func TestGzipMemberHistoryIsolated(t *testing.T) {
	var w bitWriter
	w.blockType(true, 1)
	w.fixedMatch(3, 3)
	w.fixedSym(256)
	second := append([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}, w.bytes()...)
	second = appendTrailer(second, []byte("abc"))
	in := append(concat(member{data: []byte("abc")}), second...)
	if _, err := ourGunzip(in); !isCorrupt(err) {
		t.Fatalf("err %v, want CorruptInputError", err)
	}
	agreeGzip(t, in)
}

func TestZeroReaders(t *testing.T) {
	var z Reader
	if _, err := z.Read(make([]byte, 8)); err != errNotReset {
		t.Fatalf("Reader: %v", err)
	}
	if _, err := z.WriteTo(io.Discard); err != errNotReset {
		t.Fatalf("WriteTo: %v", err)
	}
	var f RawReader
	if _, err := f.Read(make([]byte, 8)); err != errNotReset {
		t.Fatalf("RawReader: %v", err)
	}
}
