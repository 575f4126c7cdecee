package soap

import (
	"bytes"
	stdgzip "compress/gzip"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	kgzip "github.com/klauspost/compress/gzip"
)

// base64Random is what SDK payloads look like: Compress picks HuffmanOnly.
func base64Random(t testing.TB, n int) []byte {
	t.Helper()
	raw := make([]byte, n*3/4+3)
	rand.Read(raw)
	return []byte(base64.StdEncoding.EncodeToString(raw))[:n]
}

func TestCRC32Combine(t *testing.T) {
	data := make([]byte, 300000)
	rand.Read(data)
	for _, split := range []int{0, 1, 7, 4096, 150000, len(data) - 1, len(data)} {
		a, b := data[:split], data[split:]
		got := crc32Combine(crc32.ChecksumIEEE(a), crc32.ChecksumIEEE(b), int64(len(b)))
		if want := crc32.ChecksumIEEE(data); got != want {
			t.Errorf("split %d: %08x, want %08x", split, got, want)
		}
	}
	// A long B exercises the high entries of x2nTable.
	zeros := make([]byte, 1<<20)
	want := crc32.ChecksumIEEE(data[:5])
	for range 9 {
		want = crc32.Update(want, crc32.IEEETable, zeros)
	}
	if got := crc32Combine(crc32.ChecksumIEEE(data[:5]), crc32.Update(0, crc32.IEEETable, bytes.Repeat(zeros, 9)), 9<<20); got != want {
		t.Errorf("9 MiB of zeros: %08x, want %08x", got, want)
	}
}

// checkGzip reads gz with every decoder at hand. The standard library's
// reader is held to ONE member: a reader that stops after the first (old
// .NET GZipStream) must still see everything.
func checkGzip(t *testing.T, gz, want []byte) {
	t.Helper()
	if !bytes.HasPrefix(gz, gzipHeader[:3]) {
		t.Fatalf("header % x", gz[:min(len(gz), 10)])
	}
	br := bytes.NewReader(gz)
	zr, err := stdgzip.NewReader(br)
	if err != nil {
		t.Fatal(err)
	}
	zr.Multistream(false)
	got, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("compress/gzip, first member: %d of %d bytes, %v", len(got), len(want), err)
	}
	if br.Len() != 0 {
		t.Fatalf("%d bytes after the first member", br.Len())
	}
	kr, err := kgzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	if got, err = io.ReadAll(kr); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("klauspost gzip: %d of %d bytes, %v", len(got), len(want), err)
	}
	if got, err = io.ReadAll(Decompress(bytes.NewReader(gz), 1<<40)); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Decompress: %d of %d bytes, %v", len(got), len(want), err)
	}
}

// TestCompressParallelSizes runs the pipeline on small chunks (many of
// them, every boundary case) and Compress itself at the real chunk size.
func TestCompressParallelSizes(t *testing.T) {
	const chunk = 4096
	data := base64Random(t, 3*parallelChunk+5)
	for _, workers := range []int{1, 2, 3} {
		for _, size := range []int{0, 1, chunk - 1, chunk, chunk + 1, 2 * chunk, 37*chunk + 11} {
			var buf bytes.Buffer
			n, err := compressParallel(&buf, bytes.NewReader(data[:size]), chunk, workers)
			if err != nil || n != int64(size) {
				t.Fatalf("workers %d size %d: %d, %v", workers, size, n, err)
			}
			checkGzip(t, buf.Bytes(), data[:size])
			if !bytes.HasPrefix(buf.Bytes(), gzipHeader[:]) {
				t.Fatalf("header % x, want klauspost's % x", buf.Bytes()[:10], gzipHeader)
			}
		}
	}
	for _, size := range []int{0, 1, compressionSample, parallelChunk - 1, parallelChunk, parallelChunk + 1, len(data)} {
		var buf bytes.Buffer
		n, err := Compress(&buf, bytes.NewReader(data[:size]))
		if err != nil || n != int64(size) {
			t.Fatalf("Compress size %d: %d, %v", size, n, err)
		}
		if size > 0 {
			checkGzip(t, buf.Bytes(), data[:size])
		}
	}
}

// TestCompressParallelRatio: cutting the input into chunks must not cost
// compression (each cut adds a block header and a 5-byte sync marker).
func TestCompressParallelRatio(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("GOMAXPROCS 1: Compress stays serial")
	}
	data := base64Random(t, 6*parallelChunk)
	var serial, parallel countWriter
	zw, _ := kgzip.NewWriterLevel(&serial, kgzip.HuffmanOnly)
	zw.Write(data)
	zw.Close()
	if _, err := Compress(&parallel, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if parallel.n > serial.n+serial.n/1000 {
		t.Fatalf("parallel %d bytes, serial %d: more than 0.1 %% larger", parallel.n, serial.n)
	}
	t.Logf("ratio serial %.5f parallel %.5f", float64(serial.n)/float64(len(data)), float64(parallel.n)/float64(len(data)))
}

// TestCompressParallelMixedContent: the level is chosen from the first
// 64 KiB; what follows may be anything.
func TestCompressParallelMixedContent(t *testing.T) {
	random := make([]byte, parallelChunk+100)
	rand.Read(random)
	var mixed []byte
	mixed = append(mixed, base64Random(t, parallelChunk/2)...)
	mixed = append(mixed, bytes.Repeat([]byte("<row><id>1</id><name>Malmö</name></row>\n"), 40000)...)
	mixed = append(mixed, random...)
	mixed = append(mixed, make([]byte, 100000)...)
	mixed = append(mixed, base64Random(t, parallelChunk)...)
	if chooseLevel(mixed[:compressionSample]) != kgzip.HuffmanOnly {
		t.Fatal("the sample should choose HuffmanOnly")
	}
	var buf bytes.Buffer
	if n, err := Compress(&buf, bytes.NewReader(mixed)); err != nil || n != int64(len(mixed)) {
		t.Fatalf("Compress: %d, %v", n, err)
	}
	checkGzip(t, buf.Bytes(), mixed)
	if buf.Len() > len(mixed) {
		t.Fatalf("output %d bytes for %d in", buf.Len(), len(mixed))
	}
}

// TestCompressParallelTools: what the outside world runs. Tools that are
// missing are skipped, by name.
func TestCompressParallelTools(t *testing.T) {
	data := base64Random(t, 2*parallelChunk)
	cases := map[string][]byte{}
	for name, size := range map[string]int{"many-chunks": 37*4096 + 11, "boundary": 8 * 4096} {
		var buf bytes.Buffer
		if _, err := compressParallel(&buf, bytes.NewReader(data[:size]), 4096, 2); err != nil {
			t.Fatal(err)
		}
		cases[name] = buf.Bytes()
	}
	var buf bytes.Buffer
	if _, err := Compress(&buf, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	cases["Compress"] = buf.Bytes()
	want := map[string][]byte{"many-chunks": data[:37*4096+11], "boundary": data[:8*4096], "Compress": data}

	dir := t.TempDir()
	for name, gz := range cases {
		path := filepath.Join(dir, name+".gz")
		if err := os.WriteFile(path, gz, 0o600); err != nil {
			t.Fatal(err)
		}
		t.Run(name+"/gzip", func(t *testing.T) {
			if _, err := exec.LookPath("gzip"); err != nil {
				t.Skip("gzip CLI not installed")
			}
			if out, err := exec.Command("gzip", "-t", path).CombinedOutput(); err != nil {
				t.Fatalf("gzip -t: %v: %s", err, out)
			}
			got, err := exec.Command("gzip", "-dc", path).Output()
			if err != nil || !bytes.Equal(got, want[name]) {
				t.Fatalf("gzip -dc: %d of %d bytes, %v", len(got), len(want[name]), err)
			}
		})
		t.Run(name+"/python", func(t *testing.T) {
			py, err := exec.LookPath("python3")
			if err != nil || exec.Command(py, "-c", "import zlib, gzip").Run() != nil {
				t.Skip("python3 with zlib not available")
			}
			// zlib at wbits 31 reads exactly one gzip member, as .NET's
			// old GZipStream does; the gzip module reads all of them.
			const script = `import sys, zlib, gzip
gz = open(sys.argv[1], 'rb').read()
want = open(sys.argv[2], 'rb').read()
d = zlib.decompressobj(31)
out = d.decompress(gz) + d.flush()
assert d.eof and d.unused_data == b'' and out == want, ('zlib', len(out), len(want), d.eof, len(d.unused_data))
assert gzip.decompress(gz) == want, 'gzip module'
`
			wantPath := filepath.Join(dir, name+".want")
			if err := os.WriteFile(wantPath, want[name], 0o600); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(py, "-c", script, path, wantPath).CombinedOutput(); err != nil {
				t.Fatalf("python3: %v: %s", err, out)
			}
		})
	}
}

func TestFinalEmptyBlockIsWhatFlateWrites(t *testing.T) {
	c := getChunk(16)
	c.last = true
	c.compress()
	if !bytes.Equal(c.out.Bytes(), finalEmptyBlock[:]) {
		t.Fatalf("flate closes an empty stream with % x, we write % x", c.out.Bytes(), finalEmptyBlock)
	}
	putChunk(c)
}

var errSrc = errors.New("source broke")
var errDst = errors.New("destination full")

// failAfter reads from r, then fails with err after n bytes.
type failAfter struct {
	r   io.Reader
	n   int64
	err error
}

func (f *failAfter) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	if int64(len(p)) > f.n {
		p = p[:f.n]
	}
	m, err := f.r.Read(p)
	f.n -= int64(m)
	return m, err
}

// failWriter accepts n bytes, then fails.
type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		m := f.n
		f.n = 0
		return m, errDst
	}
	f.n -= len(p)
	return len(p), nil
}

// TestCompressParallelErrors: an error from either side comes back as is,
// and no worker outlives the call.
func TestCompressParallelErrors(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("GOMAXPROCS 1: Compress stays serial")
	}
	data := base64Random(t, 6*parallelChunk)
	var whole countWriter
	if _, err := Compress(&whole, bytes.NewReader(data[:4*parallelChunk])); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		src     io.Reader
		dst     io.Writer
		want    error
		wantMax int64 // most bytes Compress may report as read
	}{
		{"src after sample", &failAfter{bytes.NewReader(data), compressionSample + 10, errSrc}, io.Discard, errSrc, compressionSample + 10},
		{"src in third chunk", &failAfter{bytes.NewReader(data), 2*parallelChunk + 100, errSrc}, io.Discard, errSrc, 2*parallelChunk + 100},
		{"src unexpected EOF", &failAfter{bytes.NewReader(data), 3 * parallelChunk, io.ErrUnexpectedEOF}, io.Discard, io.ErrUnexpectedEOF, 3 * parallelChunk},
		{"dst at once", bytes.NewReader(data), &failWriter{0}, errDst, int64(len(data))},
		{"dst mid-way", bytes.NewReader(data), &failWriter{parallelChunk}, errDst, int64(len(data))},
		{"dst at the trailer", bytes.NewReader(data[:4*parallelChunk]), &failWriter{int(whole.n) - 4}, errDst, 4 * parallelChunk},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			n, err := Compress(tc.dst, tc.src)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if n > tc.wantMax {
				t.Fatalf("reported %d bytes read, at most %d were", n, tc.wantMax)
			}
			waitGoroutines(t, before)
		})
	}
}

// waitGoroutines: workers have called wg.Done when Compress returns, but
// may not have quite exited; give them a moment (this bounds no speed).
func waitGoroutines(t *testing.T, want int) {
	t.Helper()
	for range 500 {
		if runtime.NumGoroutine() <= want {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("%d goroutines, %d before: workers leaked", runtime.NumGoroutine(), want)
}

// countingSrc counts bytes read, for the memory bound.
type countingSrc struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingSrc) Read(p []byte) (int, error) {
	m, err := c.r.Read(p)
	c.n.Add(int64(m))
	return m, err
}

// gateWriter blocks its first Write until released.
type gateWriter struct {
	entered, release chan struct{}
	w                io.Writer
	once             bool
}

func (g *gateWriter) Write(p []byte) (int, error) {
	if !g.once {
		g.once = true
		close(g.entered)
		<-g.release
	}
	return g.w.Write(p)
}

// TestCompressParallelBoundedMemory: with dst stalled, the pipeline stops
// reading once workers+1 chunks are in flight.
func TestCompressParallelBoundedMemory(t *testing.T) {
	const chunk, workers = 4096, 3
	data := base64Random(t, 40*chunk)
	src := &countingSrc{r: bytes.NewReader(data)}
	var out bytes.Buffer
	dst := &gateWriter{entered: make(chan struct{}), release: make(chan struct{}), w: &out}
	done := make(chan error, 1)
	go func() { _, err := compressParallel(dst, src, chunk, workers); done <- err }()
	<-dst.entered
	if got := src.n.Load(); got > (workers+1)*chunk {
		t.Errorf("read %d bytes while the first write stalled; at most %d may be in flight", got, (workers+1)*chunk)
	}
	close(dst.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	checkGzip(t, out.Bytes(), data)
}

func FuzzCompressParallel(f *testing.F) {
	f.Add([]byte("hello, world"), uint16(3), uint8(2))
	f.Add(bytes.Repeat([]byte("abc"), 1000), uint16(1024), uint8(3))
	f.Add([]byte{}, uint16(0), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint16, workers uint8) {
		var buf bytes.Buffer
		n, err := compressParallel(&buf, bytes.NewReader(data), 1+int(chunk%8192), 1+int(workers%4))
		if err != nil || n != int64(len(data)) {
			t.Fatalf("compressParallel: %d, %v", n, err)
		}
		zr, err := stdgzip.NewReader(&buf)
		if err != nil {
			t.Fatal(err)
		}
		zr.Multistream(false)
		got, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(got, data) || buf.Len() != 0 {
			t.Fatalf("round trip: %d of %d bytes, %v, %d bytes left", len(got), len(data), err, buf.Len())
		}
	})
}

// TestCompressOneParallelStream: while another stream compresses in parallel, Compress
// compresses serially (it must neither wait for the slot nor add a second parallel
// stream's memory), and a parallel Compress frees the slot when it ends.
func TestCompressOneParallelStream(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("GOMAXPROCS 1: Compress stays serial")
	}
	data := base64Random(t, 3*parallelChunk)
	check := func(out []byte) {
		t.Helper()
		zr, err := stdgzip.NewReader(bytes.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		zr.Multistream(false)
		got, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("round trip: %v, %d of %d bytes", err, len(got), len(data))
		}
	}
	parallelSlot <- struct{}{} // another stream is compressing in parallel
	var serial bytes.Buffer
	if _, err := Compress(&serial, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	<-parallelSlot
	check(serial.Bytes())

	var parallel bytes.Buffer
	if _, err := Compress(&parallel, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	check(parallel.Bytes())
	select {
	case parallelSlot <- struct{}{}:
		<-parallelSlot
	default:
		t.Fatal("the parallel slot is still taken after Compress returned")
	}
}
