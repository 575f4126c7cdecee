package aesgcm

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"testing"
)

func encryptBytes(t *testing.T, key, plain []byte) []byte {
	t.Helper()
	iv, err := randomIV()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := NewEncryptWriter(&buf, key, iv)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestVerifyThenDecryptReader covers the two passes over a spooled part:
// VerifyHash checks the tag and digests the plaintext without writing it,
// NewDecryptReader streams it and re-checks the tag at the end.
func TestVerifyThenDecryptReader(t *testing.T) {
	key := make([]byte, 16)
	rand.Read(key)
	for _, size := range []int{0, 1, chunkSize - 1, chunkSize, 3*chunkSize + 17} {
		plain := make([]byte, size)
		rand.Read(plain)
		ct := encryptBytes(t, key, plain)
		tests := []struct {
			name       string
			verifyWith []byte
			readWith   []byte
			wantVerify error
			wantRead   error
		}{
			{"intact", ct, ct, nil, nil},
			{"tampered before verification", flip(ct, len(ct)-1), ct, ErrAuthentication, nil},
			{"tampered between the passes", ct, flip(ct, len(ct)/2), nil, ErrAuthentication},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				h := sha256.New()
				n, err := VerifyHash(bytes.NewReader(tt.verifyWith), key, h)
				if !errors.Is(err, tt.wantVerify) {
					t.Fatalf("VerifyHash: %v, want %v", err, tt.wantVerify)
				}
				if err != nil {
					return
				}
				if n != int64(size) || !bytes.Equal(h.Sum(nil), sha256Of(plain)) {
					t.Fatalf("VerifyHash: %d bytes, digest mismatch", n)
				}
				r, err := NewDecryptReader(io.NopCloser(bytes.NewReader(tt.readWith)), key)
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(r)
				r.Close()
				if !errors.Is(err, tt.wantRead) {
					t.Fatalf("read: %v, want %v", err, tt.wantRead)
				}
				if err == nil && !bytes.Equal(got, plain) {
					t.Fatal("plaintext differs")
				}
			})
		}
	}
}

// TestDecryptReaderEarlyClose: closing before the end stops the goroutine.
func TestDecryptReaderEarlyClose(t *testing.T) {
	key := make([]byte, 32)
	plain := make([]byte, 5*chunkSize)
	ct := encryptBytes(t, key, plain)
	r, err := NewDecryptReader(io.NopCloser(bytes.NewReader(ct)), key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 1
	return c
}

func sha256Of(b []byte) []byte { s := sha256.Sum256(b); return s[:] }
