package main

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	// A command name with spaces and parentheses: fields are counted after the last ')'.
	stat := "4242 (as4gw (serve) x) S 1 4242 4242 0 -1 4194560 1234 0 0 0 1523 217 0 0 20 0 9 0 100 1000000 2000 18446744073709551615\n"
	c, err := parseProcStat([]byte(stat))
	if err != nil {
		t.Fatal(err)
	}
	if c.User != 15.23 || c.System != 2.17 || c.total() != 17.4 {
		t.Errorf("parseProcStat = %+v (total %v), want user 15.23 system 2.17", c, c.total())
	}
	for _, bad := range []string{"", "12 (x S 1", "12 (x) S 1 2 3", "12 (x) S 1 2 3 4 5 6 7 8 9 10 abc 5"} {
		if _, err := parseProcStat([]byte(bad)); err == nil {
			t.Errorf("parseProcStat(%q): no error", bad)
		}
	}
}

func TestReadProcSelf(t *testing.T) {
	c, err := readProcCPU(os.Getpid())
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	if c.total() < 0 {
		t.Errorf("own CPU %+v", c)
	}
	p, err := peakRSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if p < 1<<20 {
		t.Errorf("own peak RSS %d bytes, implausibly small", p)
	}
}

func TestParseStatusKB(t *testing.T) {
	status := "Name:\tas4gw\nVmPeak:\t 1300000 kB\nVmHWM:\t   45312 kB\nVmRSS:\t   40000 kB\nThreads:\t9\n"
	n, err := parseStatusKB(strings.NewReader(status), "VmHWM")
	if err != nil || n != 45312*1024 {
		t.Errorf("VmHWM = %d, %v; want %d", n, err, 45312*1024)
	}
	n, err = parseStatusKB(strings.NewReader(status), "Threads")
	if err != nil || n != 9 {
		t.Errorf("Threads = %d, %v; want 9 (no unit)", n, err)
	}
	if _, err := parseStatusKB(strings.NewReader(status), "VmSwap"); err == nil {
		t.Error("missing key: no error")
	}
	if _, err := parseStatusKB(strings.NewReader("VmHWM:\tlots kB\n"), "VmHWM"); err == nil {
		t.Error("bad number: no error")
	}
}

func TestParseProcNetTCP(t *testing.T) {
	data := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:4E21 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0000000000000000 100 0 0 10 0
   1: 0100007F:4E21 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 222 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:4E22 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 333 1 0000000000000000 100 0 0 10 0
`
	got := parseProcNetTCP([]byte(data), 0x4E21)
	if len(got) != 1 || got[0] != "111" {
		t.Errorf("listeners on 20001 = %v, want [111] (the established socket is not one)", got)
	}
	if got := parseProcNetTCP([]byte(data), 1); len(got) != 0 {
		t.Errorf("port 1: %v", got)
	}
}

func TestPidListeningOn(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	pid, err := pidListeningOn(l.Addr().(*net.TCPAddr).Port)
	if err != nil {
		t.Skipf("cannot map sockets to processes here: %v", err)
	}
	if pid != os.Getpid() {
		t.Errorf("pidListeningOn = %d, want %d", pid, os.Getpid())
	}
}

func TestDiskUsage(t *testing.T) {
	dir := t.TempDir()
	before, err := diskUsage(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a", "b", "f"), bytes.Repeat([]byte{1}, 100000), 0o644); err != nil {
		t.Fatal(err)
	}
	after, err := diskUsage(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d := after - before; d < 100000 || d > 200000 {
		t.Errorf("du grew by %d for a 100000-byte file and two directories", d)
	}
	if n, err := diskUsage(filepath.Join(dir, "missing")); err != nil || n != 0 {
		t.Errorf("missing dir: %d, %v", n, err)
	}
}

func TestPayloadReader(t *testing.T) {
	for _, n := range []int64{1, 3, 10000, 65536, 65537, 300001} {
		data, err := io.ReadAll(newPayloadReader(n, newRNG()))
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(data)) != n {
			t.Fatalf("payload of %d: got %d bytes", n, len(data))
		}
		if n >= 4 {
			if _, err := base64.StdEncoding.DecodeString(string(data[:len(data)/4*4])); err != nil {
				t.Errorf("payload of %d is not base64: %v", n, err)
			}
		}
	}
	// Like an encrypted XHE in base64: gzip saves about a quarter, never more
	// than a third (zeros or repeated text would shrink to almost nothing).
	data, _ := io.ReadAll(newPayloadReader(1<<20, newRNG()))
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(data)
	zw.Close()
	if r := float64(z.Len()) / float64(len(data)); r < 0.7 || r > 0.8 {
		t.Errorf("gzip ratio %.3f, want about 0.75", r)
	}
	a, _ := io.ReadAll(newPayloadReader(1000, newRNG()))
	b, _ := io.ReadAll(newPayloadReader(1000, newRNG()))
	if bytes.Equal(a, b) {
		t.Error("two generators produced the same payload")
	}
}

// TestPrefetcher: the read-ahead yields exactly n bytes in block order
// (with one worker, the same bytes as one generator with that seed; with
// several, each worker's blocks in turn), whatever the read sizes.
func TestPrefetcher(t *testing.T) {
	seeded := func(w int) *rand.ChaCha8 { return rand.NewChaCha8([32]byte{byte(w + 1)}) }
	read := func(r io.Reader) []byte {
		var got []byte
		buf := make([]byte, 7777)
		for {
			k, err := r.Read(buf)
			got = append(got, buf[:k]...)
			if err == io.EOF {
				return got
			}
		}
	}
	for _, workers := range []int{1, 2, 3} {
		for _, n := range []int64{0, 1, prefetchBlock, prefetchBlock + 1, 5*prefetchBlock + 123} {
			pf := newPrefetcher(n, workers, seeded)
			got := read(pf)
			pf.stop()
			if int64(len(got)) != n {
				t.Fatalf("workers=%d n=%d: %d bytes", workers, n, len(got))
			}
			// Block b comes from worker b%workers, its (b/workers)-th block.
			gens := make([]*payloadReader, workers)
			for w := range gens {
				gens[w] = newPayloadReader(1<<40, seeded(w))
			}
			for b := int64(0); b*prefetchBlock < n; b++ {
				want := make([]byte, prefetchBlock)
				io.ReadFull(gens[b%int64(workers)], want)
				size := min(prefetchBlock, n-b*prefetchBlock)
				if !bytes.Equal(got[b*prefetchBlock:b*prefetchBlock+size], want[:size]) {
					t.Fatalf("workers=%d n=%d: block %d differs", workers, n, b)
				}
			}
		}
	}
	// Stopped early: every generator ends (closes its channel) instead of
	// waiting for a reader that is gone.
	pf := newPrefetcher(100*prefetchBlock, 2, seeded)
	buf := make([]byte, 10)
	pf.Read(buf)
	pf.stop()
	for w, full := range pf.full {
		deadline := time.After(10 * time.Second)
	drain:
		for {
			select {
			case _, ok := <-full:
				if !ok {
					break drain
				}
			case <-deadline:
				t.Fatalf("generator %d still running after stop", w)
			}
		}
	}
}
