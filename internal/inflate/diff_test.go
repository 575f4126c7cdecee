package inflate

import (
	"bytes"
	stdflate "compress/flate"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	kflate "github.com/klauspost/compress/flate"
	kgzip "github.com/klauspost/compress/gzip"
)

// corpus: the kinds of data a receiver sees, and some that stress the
// decoder's edges (long runs: distance 1 and length 258; sizes around the
// buffer sizes).
func corpus() map[string][]byte {
	rng := rand.New(rand.NewPCG(7, 8))
	mix := func(n int) []byte {
		var b []byte
		for len(b) < n {
			switch rng.IntN(5) {
			case 0:
				b = append(b, randomBytes(rng.IntN(3000))...)
			case 1:
				b = append(b, bytes.Repeat([]byte{byte(rng.Uint32())}, rng.IntN(2000))...)
			case 2:
				b = append(b, benchXML(rng.IntN(5000))...)
			case 3:
				b = append(b, base64Random(rng.IntN(4000)+4)...)
			default:
				if len(b) > 0 { // a far repeat of earlier data
					s := rng.IntN(len(b))
					b = append(b, b[s:min(len(b), s+rng.IntN(400))]...)
				}
			}
		}
		return b[:n]
	}
	text := []byte(strings.Repeat("It was the best of times, it was the worst of times, it was the age of wisdom. ", 3000))
	return map[string][]byte{
		"empty":          {},
		"one byte":       {'x'},
		"random 100":     randomBytes(100),
		"random 300K":    randomBytes(300 << 10),
		"base64 1M":      base64Random(1 << 20),
		"text":           text,
		"xml 700K":       benchXML(700 << 10),
		"zeros 1M":       make([]byte, 1<<20),
		"run of 70000":   bytes.Repeat([]byte("a"), 70000),
		"period 3":       bytes.Repeat([]byte("abc"), 50000),
		"period 7":       bytes.Repeat([]byte("abcdefg"), 30000),
		"mix 1M":         mix(1 << 20),
		"mix 196609":     mix(196609), // outBufSize+1
		"window+1 bytes": mix(windowSize + 1),
	}
}

type encoder struct {
	name string
	raw  bool // raw DEFLATE (else gzip)
	enc  func([]byte) []byte
}

func encoders() []encoder {
	var es []encoder
	for _, l := range []int{stdflate.HuffmanOnly, 0, 1, 6, 9} {
		es = append(es, encoder{fmt.Sprintf("std-flate-%d", l), true, func(d []byte) []byte {
			var b bytes.Buffer
			w, _ := stdflate.NewWriter(&b, l)
			w.Write(d)
			w.Close()
			return b.Bytes()
		}})
		es = append(es, encoder{fmt.Sprintf("std-gzip-%d", l), false, func(d []byte) []byte { return gzipStd(d, l) }})
	}
	for _, l := range []int{kgzip.HuffmanOnly, 1, 5, 9} {
		es = append(es, encoder{fmt.Sprintf("kp-gzip-%d", l), false, func(d []byte) []byte { return gzipKP(d, l) }})
	}
	es = append(es, encoder{"kp-flate-stateless", true, func(d []byte) []byte {
		var b bytes.Buffer
		kflate.StatelessDeflate(&b, d, true, nil)
		return b.Bytes()
	}})
	return es
}

func TestDifferentialRoundTrip(t *testing.T) {
	for name, data := range corpus() {
		for _, e := range encoders() {
			comp := e.enc(data)
			t.Run(name+"/"+e.name, func(t *testing.T) {
				checkDecode(t, comp, e.raw, data)
			})
		}
	}
}

// checkDecode decodes comp with every read size, compares with want, and
// (for small inputs) checks that compress/flate agrees on every prefix.
func checkDecode(t *testing.T, comp []byte, raw bool, want []byte) {
	t.Helper()
	for _, size := range []int{1, 7, 4 << 10, 1 << 20} {
		if size == 1 && len(want) > 64<<10 || size == 7 && len(want) > 512<<10 {
			continue // many more tiny reads add nothing
		}
		var got []byte
		var err error
		if raw {
			got, err = readPattern(NewRawReader(bytes.NewReader(comp)), size)
		} else {
			zr, zerr := NewReader(bytes.NewReader(comp))
			if zerr != nil {
				t.Fatal(zerr)
			}
			got, err = readPattern(zr, size)
		}
		if err != nil {
			t.Fatalf("read size %d: %v", size, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("read size %d: output differs (%d bytes, want %d)", size, len(got), len(want))
		}
	}
	if len(comp) < 2048 && len(want) < 64<<10 {
		for i := range comp {
			if raw {
				agreeRaw(t, comp[:i])
			} else {
				agreeGzip(t, comp[:i])
			}
		}
	}
}

// Other encoders: python's zlib (zlib itself, several strategies) and the
// gzip command.
func TestDifferentialExternal(t *testing.T) {
	dir := t.TempDir()
	inputs := corpus()
	for _, big := range []string{"zeros 1M", "random 300K", "base64 1M", "xml 700K"} {
		delete(inputs, big) // mix 1M has all of these
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Log("python3 not found: skipping the zlib encoder")
	}
	gz, err := exec.LookPath("gzip")
	if err != nil {
		t.Log("gzip command not found: skipping it")
	}
	if py == "" && gz == "" {
		t.Skip("neither python3 nor gzip available")
	}
	const script = `
import sys, zlib
data = open(sys.argv[1], 'rb').read()
out = sys.argv[2]
strategies = {'default': zlib.Z_DEFAULT_STRATEGY, 'huffman': zlib.Z_HUFFMAN_ONLY, 'rle': zlib.Z_RLE, 'fixed': zlib.Z_FIXED, 'filtered': zlib.Z_FILTERED}
for level in (0, 1, 6, 9):
    for sname, s in strategies.items():
        if level == 0 and sname != 'default':
            continue
        for wbits, kind in ((-15, 'raw'), (31, 'gzip'), (-9, 'raw9')):
            c = zlib.compressobj(level, zlib.DEFLATED, wbits, 9 if level else 8, s)
            # several flushes: empty stored blocks and block boundaries
            half = len(data) // 2
            b = c.compress(data[:half]) + c.flush(zlib.Z_SYNC_FLUSH) + c.compress(data[half:]) + c.flush(zlib.Z_FULL_FLUSH) + c.flush()
            open('%s.%s.%d.%s' % (out, kind, level, sname), 'wb').write(b)
`
	sp := filepath.Join(dir, "enc.py")
	if err := os.WriteFile(sp, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	i := 0
	for name, data := range inputs {
		i++
		in := filepath.Join(dir, fmt.Sprint(i))
		if err := os.WriteFile(in, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if py != "" {
			if out, err := exec.Command(py, sp, in, in+".z").CombinedOutput(); err != nil {
				t.Fatalf("python3: %v: %s", err, out)
			}
			files, _ := filepath.Glob(in + ".z.*")
			if len(files) == 0 {
				t.Fatal("python3 wrote nothing")
			}
			for _, f := range files {
				comp, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				t.Run(name+"/zlib"+strings.TrimPrefix(f, in+".z"), func(t *testing.T) {
					checkDecode(t, comp, !strings.Contains(f, ".gzip."), data)
				})
			}
		}
		if gz != "" {
			for _, lvl := range []string{"-1", "-6", "-9"} {
				comp, err := exec.Command(gz, "-c", "-n", lvl, in).Output()
				if err != nil {
					t.Fatalf("gzip: %v", err)
				}
				t.Run(name+"/gzip"+lvl, func(t *testing.T) { checkDecode(t, comp, false, data) })
			}
		}
	}
}
