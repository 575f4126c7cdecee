package aesgcm

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestDecryptToTempHash(t *testing.T) {
	key := randBytes(21, 16)
	for _, size := range []int{0, 1, 100, chunkSize, 2*chunkSize + 7} {
		pt := randBytes(uint64(size)+1, size)
		dir := t.TempDir()
		h := sha256.New()
		path, n, err := DecryptToTempHash(bytes.NewReader(stdSeal(t, key, randBytes(22, IVSize), pt)), key, dir, h)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Dir(path) != dir || n != int64(size) {
			t.Fatalf("path %s n %d", path, n)
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("size %d: file content differs: %v", size, err)
		}
		want := sha256.Sum256(pt)
		if !bytes.Equal(h.Sum(nil), want[:]) {
			t.Fatalf("size %d: hash differs", size)
		}
	}
}

func TestDecryptToTempHashTamper(t *testing.T) {
	key := randBytes(23, 16)
	sealed := stdSeal(t, key, randBytes(24, IVSize), randBytes(25, chunkSize+100))
	sealed[IVSize+10] ^= 1
	dir := t.TempDir()
	_, _, err := DecryptToTempHash(bytes.NewReader(sealed), key, dir, sha256.New())
	if !errors.Is(err, ErrAuthentication) {
		t.Fatalf("err = %v, want ErrAuthentication", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("%d files left after a failed decryption", len(left))
	}
	if _, _, err := DecryptToTempHash(bytes.NewReader(sealed), key, dir, nil); err == nil {
		t.Fatal("nil hash accepted")
	}
}
