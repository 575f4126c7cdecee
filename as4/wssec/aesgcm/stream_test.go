package aesgcm

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"
)

func randBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}).Read(b)
	return b
}

func stdSeal(t testing.TB, key, iv, pt []byte) []byte {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return aead.Seal(append([]byte(nil), iv...), iv, pt, nil)
}

// encryptWith writes pt to a fresh encrypt writer in pieces of the given
// sizes (cycled; nil means one Write).
func encryptWith(t testing.TB, key, iv, pt []byte, pattern []int) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := NewEncryptWriter(&out, key, iv)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; len(pt) > 0; i++ {
		n := len(pt)
		if pattern != nil {
			n = min(n, pattern[i%len(pattern)])
		}
		m, err := w.Write(pt[:n])
		if err != nil || m != n {
			t.Fatalf("Write = %d, %v", m, err)
		}
		pt = pt[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

var testSizes = []int{0, 1, 15, 16, 17, 4095, 4096, chunkSize - 1, chunkSize, chunkSize + 1, 2*chunkSize + 16, 1<<20 + 3}

var writePatterns = []struct {
	name    string
	pattern []int
	maxSize int // skip larger inputs, to keep byte-at-a-time writes fast
}{
	{"whole", nil, 1 << 30},
	{"bytes", []int{1}, 1 << 17},
	{"odd", []int{7, 1, 13, 4097, 65537, 3, 100003}, 1 << 30},
	{"blocks", []int{16, 48, chunkSize - 16}, 1 << 30},
}

func TestEncryptMatchesSeal(t *testing.T) {
	for _, impl := range ghashImpls {
		for _, keyLen := range []int{16, 24, 32} {
			key := randBytes(uint64(keyLen), keyLen)
			for _, size := range testSizes {
				pt := randBytes(uint64(size), size)
				iv := randBytes(uint64(size)+99, IVSize)
				want := stdSeal(t, key, iv, pt)
				for _, wp := range writePatterns {
					if size > wp.maxSize {
						continue
					}
					name := fmt.Sprintf("%s/AES-%d/%d/%s", impl.name, keyLen*8, size, wp.name)
					t.Run(name, func(t *testing.T) {
						impl.use(t)
						got := encryptWith(t, key, iv, pt, wp.pattern)
						if !bytes.Equal(got, want) {
							t.Fatalf("output differs from Seal (len %d vs %d)", len(got), len(want))
						}
					})
				}
			}
		}
	}
}

func TestDecryptMatchesOpen(t *testing.T) {
	readers := []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"plain", func(r io.Reader) io.Reader { return r }},
		{"onebyte", iotest.OneByteReader},
		{"half", iotest.HalfReader},
		{"dataerr", iotest.DataErrReader},
	}
	for _, impl := range ghashImpls {
		for _, keyLen := range []int{16, 32} {
			key := randBytes(uint64(keyLen)+7, keyLen)
			for _, size := range testSizes {
				pt := randBytes(uint64(size)+1, size)
				sealed := stdSeal(t, key, randBytes(uint64(size)+2, IVSize), pt)
				for _, rd := range readers {
					if rd.name == "onebyte" && size > 1<<17 {
						continue
					}
					t.Run(fmt.Sprintf("%s/AES-%d/%d/%s", impl.name, keyLen*8, size, rd.name), func(t *testing.T) {
						impl.use(t)
						var out bytes.Buffer
						n, err := Decrypt(&out, rd.wrap(bytes.NewReader(sealed)), key, tempSpool(t, nil))
						if err != nil {
							t.Fatal(err)
						}
						if n != int64(size) || !bytes.Equal(out.Bytes(), pt) {
							t.Fatalf("plaintext differs (n=%d)", n)
						}
					})
				}
			}
		}
	}
}

func TestDecryptToTemp(t *testing.T) {
	key := randBytes(5, 16)
	for _, size := range []int{0, 100, chunkSize + 5} {
		pt := randBytes(uint64(size), size)
		dir := t.TempDir()
		path, n, err := DecryptToTemp(bytes.NewReader(stdSeal(t, key, randBytes(6, IVSize), pt)), key, dir)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Dir(path) != dir || n != int64(size) {
			t.Fatalf("path %s n %d", path, n)
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("file content differs: %v", err)
		}
		fi, _ := os.Stat(path)
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("plaintext file mode %v is readable by others", fi.Mode())
		}
	}
}

func TestRandomIV(t *testing.T) {
	key := randBytes(8, 16)
	pt := []byte("payload")
	a := encryptWith(t, key, nil, pt, nil)
	b := encryptWith(t, key, nil, pt, nil)
	if bytes.Equal(a[:IVSize], b[:IVSize]) {
		t.Fatal("two random IVs are equal")
	}
	if !bytes.Equal(a, stdSeal(t, key, a[:IVSize], pt)) {
		t.Fatal("random-IV output differs from Seal")
	}
}

// tempSpool returns a spool func creating files in a test directory and
// recording their paths in *paths (if non-nil).
func tempSpool(t testing.TB, paths *[]string) func() (*os.File, error) {
	dir := t.TempDir()
	return func() (*os.File, error) {
		f, err := os.CreateTemp(dir, "spool-*")
		if err == nil && paths != nil {
			*paths = append(*paths, f.Name())
		}
		return f, err
	}
}

func TestTamper(t *testing.T) {
	key := randBytes(9, 16)
	for _, impl := range ghashImpls {
		for _, size := range []int{0, 1, 100, chunkSize, 3*chunkSize + 5} {
			sealed := stdSeal(t, key, randBytes(10, IVSize), randBytes(11, size))
			flip := func(i int) []byte {
				b := bytes.Clone(sealed)
				b[i] ^= 0x01
				return b
			}
			cases := map[string][]byte{
				"iv":          flip(0),
				"iv-last":     flip(IVSize - 1),
				"tag-first":   flip(len(sealed) - TagSize),
				"tag-last":    flip(len(sealed) - 1),
				"drop-1":      sealed[:len(sealed)-1],
				"drop-tag":    sealed[:len(sealed)-TagSize],
				"extra-byte":  append(bytes.Clone(sealed), 0),
				"wrong-key":   sealed,
				"only-iv+tag": append(bytes.Clone(sealed[:IVSize]), sealed[len(sealed)-TagSize:]...),
			}
			if size > 0 {
				cases["ct-first"] = flip(IVSize)
				cases["ct-last"] = flip(len(sealed) - TagSize - 1)
				cases["ct-middle"] = flip(IVSize + size/2)
			}
			for name, input := range cases {
				t.Run(fmt.Sprintf("%s/%d/%s", impl.name, size, name), func(t *testing.T) {
					impl.use(t)
					k := key
					if name == "wrong-key" {
						k = randBytes(12, 16)
					}
					if name == "only-iv+tag" && size == 0 {
						t.Skip("identical to the original")
					}
					expectRejected(t, input, k, ErrAuthentication)
				})
			}
		}
	}
}

func TestTooShort(t *testing.T) {
	key := randBytes(13, 16)
	for _, n := range []int{0, 1, IVSize - 1, IVSize, IVSize + 1, Overhead - 1} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			err := expectRejected(t, make([]byte, n), key, ErrTruncated)
			if !errors.Is(err, ErrAuthentication) {
				t.Errorf("ErrTruncated does not match ErrAuthentication: %v", err)
			}
		})
	}
}

// expectRejected checks that Decrypt and DecryptToTemp fail with want, write
// nothing to dst and leave no file behind. It returns Decrypt's error.
func expectRejected(t *testing.T, input, key []byte, want error) error {
	t.Helper()
	var spooled []string
	var out bytes.Buffer
	n, err := Decrypt(&out, bytes.NewReader(input), key, tempSpool(t, &spooled))
	if !errors.Is(err, want) {
		t.Fatalf("Decrypt error = %v, want %v", err, want)
	}
	if n != 0 || out.Len() != 0 {
		t.Fatalf("plaintext released: n=%d, %d bytes in dst", n, out.Len())
	}
	for _, p := range spooled {
		if _, serr := os.Stat(p); !errors.Is(serr, os.ErrNotExist) {
			t.Fatalf("spool file %s not removed (%v)", p, serr)
		}
	}
	dir := t.TempDir()
	path, _, err2 := DecryptToTemp(bytes.NewReader(input), key, dir)
	if !errors.Is(err2, want) || path != "" {
		t.Fatalf("DecryptToTemp = %q, %v", path, err2)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("DecryptToTemp left %d files", len(left))
	}
	return err
}

func TestReadError(t *testing.T) {
	key := randBytes(14, 16)
	sealed := stdSeal(t, key, randBytes(15, IVSize), randBytes(16, 3*chunkSize))
	boom := errors.New("connection reset")
	for _, at := range []int{5, IVSize + 10, 2*chunkSize + 7} {
		src := io.MultiReader(bytes.NewReader(sealed[:at]), iotest.ErrReader(boom))
		var spooled []string
		var out bytes.Buffer
		_, err := Decrypt(&out, src, key, tempSpool(t, &spooled))
		if !errors.Is(err, boom) || errors.Is(err, ErrAuthentication) {
			t.Fatalf("at %d: err = %v", at, err)
		}
		if out.Len() != 0 {
			t.Fatal("plaintext released")
		}
		for _, p := range spooled {
			if _, serr := os.Stat(p); !errors.Is(serr, os.ErrNotExist) {
				t.Fatalf("spool file %s not removed", p)
			}
		}
	}
}

type failWriter struct {
	after int // bytes accepted before failing
	err   error
}

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.after {
		n := w.after
		w.after = 0
		return n, w.err
	}
	w.after -= len(p)
	return len(p), nil
}

func TestEncryptWriterErrors(t *testing.T) {
	key := randBytes(17, 16)
	if _, err := NewEncryptWriter(io.Discard, key[:15], nil); err == nil {
		t.Error("15-byte key accepted")
	}
	if _, err := NewEncryptWriter(io.Discard, key, make([]byte, 16)); err == nil {
		t.Error("16-byte IV accepted")
	}

	boom := errors.New("disk full")
	w, _ := NewEncryptWriter(&failWriter{after: 100, err: boom}, key, nil)
	if _, err := w.Write(make([]byte, chunkSize)); !errors.Is(err, boom) {
		t.Fatalf("Write error = %v", err)
	}
	if _, err := w.Write([]byte{1}); !errors.Is(err, boom) {
		t.Fatalf("error not sticky: %v", err)
	}
	if err := w.Close(); !errors.Is(err, boom) {
		t.Fatalf("Close error = %v", err)
	}

	w, _ = NewEncryptWriter(&failWriter{after: 10, err: boom}, key, nil)
	w.Write([]byte("small"))
	if err := w.Close(); !errors.Is(err, boom) {
		t.Fatalf("Close error = %v", err)
	}
	if err := w.Close(); !errors.Is(err, boom) {
		t.Fatalf("second Close error = %v", err)
	}

	w, _ = NewEncryptWriter(io.Discard, key, nil)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if _, err := w.Write([]byte{1}); err == nil {
		t.Fatal("Write after Close succeeded")
	}
}

// spillTo is a decryptStream spill func that writes straight to w.
func spillTo(w io.Writer) func() (io.Writer, error) {
	return func() (io.Writer, error) { return w, nil }
}

func TestDecryptBadArgs(t *testing.T) {
	if _, err := Decrypt(io.Discard, bytes.NewReader(make([]byte, 64)), make([]byte, 20), nil); err == nil || errors.Is(err, ErrAuthentication) {
		t.Errorf("bad key: %v", err)
	}
	spoolErr := errors.New("no space")
	_, err := Decrypt(io.Discard, bytes.NewReader(make([]byte, 2*chunkSize)), make([]byte, 16), func() (*os.File, error) { return nil, spoolErr })
	if !errors.Is(err, spoolErr) {
		t.Errorf("spool error: %v", err)
	}
}

// TestSpoolOnlyWhenNeeded checks that a ciphertext shorter than a chunk is
// verified in memory and a longer one is spooled, and the spool removed.
func TestSpoolOnlyWhenNeeded(t *testing.T) {
	key := randBytes(19, 16)
	for _, c := range []struct {
		size    int
		spooled bool
	}{{0, false}, {chunkSize - 1, false}, {chunkSize, true}, {5 * chunkSize, true}} {
		pt := randBytes(20, c.size)
		var spooled []string
		var out bytes.Buffer
		if _, err := Decrypt(&out, bytes.NewReader(stdSeal(t, key, randBytes(21, IVSize), pt)), key, tempSpool(t, &spooled)); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), pt) || (len(spooled) == 1) != c.spooled || len(spooled) > 1 {
			t.Fatalf("size %d: spool files %v", c.size, spooled)
		}
		for _, p := range spooled {
			if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("spool file %s not removed", p)
			}
		}
	}
}

func TestGCMLimit(t *testing.T) {
	s, err := newStream(make([]byte, 16), make([]byte, IVSize))
	if err != nil {
		t.Fatal(err)
	}
	s.n = MaxPlaintext - 10
	if err := s.reserve(10); err != nil {
		t.Fatalf("reserve up to the limit: %v", err)
	}
	if err := s.reserve(1); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("reserve past the limit: %v", err)
	}
}

func TestKeySize(t *testing.T) {
	for alg, want := range map[string]int{AES128GCM: 16, AES192GCM: 24, AES256GCM: 32} {
		if n, err := KeySize(alg); n != want || err != nil {
			t.Errorf("KeySize(%s) = %d, %v", alg, n, err)
		}
	}
	if _, err := KeySize("http://www.w3.org/2001/04/xmlenc#aes128-cbc"); err == nil {
		t.Error("aes128-cbc accepted")
	}
}
