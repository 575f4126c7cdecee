package as4

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"os"
	"testing"
)

// TestSpillWriter: content stays in memory up to the limit and moves to one
// spool file, whole and in order, once a write would pass it.
func TestSpillWriter(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		toFile bool
	}{
		{"nothing", nil, false},
		{"under the limit", []string{"abc", "def"}, false},
		{"exactly the limit", []string{"abcde", "fghij"}, false},
		{"one byte over", []string{"abcde", "fghijk"}, true},
		{"first write over", []string{"abcdefghijklmnop"}, true},
		{"writes after spilling", []string{"abcdefgh", "ijklm", "nop"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			sp := &spillWriter{dir: dir, limit: 10}
			var want bytes.Buffer
			for _, w := range tt.writes {
				if n, err := sp.Write([]byte(w)); err != nil || n != len(w) {
					t.Fatalf("Write = %d, %v", n, err)
				}
				want.WriteString(w)
			}
			if (sp.f != nil) != tt.toFile {
				t.Fatalf("spilled to a file: %v, want %v", sp.f != nil, tt.toFile)
			}
			got := sp.buf.Bytes()
			if sp.f != nil {
				sp.f.Close()
				var err error
				if got, err = os.ReadFile(sp.f.Name()); err != nil {
					t.Fatal(err)
				}
				if sp.buf.Len() != 0 {
					t.Error("memory buffer kept after spilling")
				}
			}
			if !bytes.Equal(got, want.Bytes()) {
				t.Fatalf("content %q, want %q", got, want.Bytes())
			}
		})
	}
}

// TestCompressInMemoryAndSpooled: BuildUserMessage keeps a small
// compressed payload in memory (no spool file) and spools a large one,
// removing it on Close.
func TestCompressInMemoryAndSpooled(t *testing.T) {
	for _, size := range []int{10 << 10, 3 << 20} {
		dir := t.TempDir()
		raw := make([]byte, size*3/4)
		rand.Read(raw)
		data := []byte(base64.StdEncoding.EncodeToString(raw)) // compresses to ~75 %
		wm := &WireMessage{}
		open, sum, err := wm.compress(OutboundPayload{ContentID: "p", Open: func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(data)), nil
		}}, dir)
		if err != nil {
			t.Fatal(err)
		}
		files, _ := os.ReadDir(dir)
		if wantFiles := map[bool]int{false: 0, true: 1}[size > memoryPayloadBytes]; len(files) != wantFiles {
			t.Errorf("%d bytes: %d spool files, want %d", size, len(files), wantFiles)
		}
		rc, err := open()
		if err != nil {
			t.Fatal(err)
		}
		gz, _ := io.ReadAll(rc)
		rc.Close()
		if len(gz) == 0 || gz[0] != 0x1f {
			t.Fatalf("%d bytes: not gzip", size)
		}
		if want := sha256.Sum256(gz); !bytes.Equal(sum, want[:]) {
			t.Errorf("%d bytes: the SHA-256 taken while compressing is not that of the compressed octets", size)
		}
		wm.Close()
		if files, _ := os.ReadDir(dir); len(files) != 0 {
			t.Errorf("%d bytes: %d spool files left after Close", size, len(files))
		}
	}
}

// TestCompressMemoryBudget: once a message's payloads fill the memory
// budget, further payloads are spooled however small.
func TestCompressMemoryBudget(t *testing.T) {
	dir := t.TempDir()
	wm := &WireMessage{}
	defer wm.Close()
	raw := make([]byte, 900<<10)
	rand.Read(raw) // incompressible: stays ~900 KiB compressed
	for i := 0; i < 6; i++ {
		if _, _, err := wm.compress(OutboundPayload{ContentID: "p", Open: func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(raw)), nil
		}}, dir); err != nil {
			t.Fatal(err)
		}
	}
	if wm.inMemory > memoryMessageBytes {
		t.Errorf("%d bytes held in memory, budget %d", wm.inMemory, memoryMessageBytes)
	}
	if files, _ := os.ReadDir(dir); len(files) != 6-memoryMessageBytes/(900<<10) {
		t.Errorf("%d payloads spooled, want %d", len(files), 6-memoryMessageBytes/(900<<10))
	}
}
