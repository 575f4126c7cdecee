package aesgcm

import (
	"bytes"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
)

// DecryptToTempHash is DecryptToTemp that also feeds the plaintext to h as it
// is written, so a caller that needs the plaintext's digest (the SwA
// Attachment-Content-Signature-Transform digests the decrypted octets) saves
// a second pass over the file. h sees plaintext before the tag is checked:
// its state means something only when err is nil, and it must not be used
// for anything but digesting. h is not reset first.
func DecryptToTempHash(src io.Reader, key []byte, dir string, h hash.Hash) (path string, n int64, err error) {
	if h == nil {
		return "", 0, errors.New("aesgcm: nil hash")
	}
	if err := checkKey(key); err != nil {
		return "", 0, err
	}
	f, err := os.CreateTemp(dir, "as4gw-aesgcm-*")
	if err != nil {
		return "", 0, fmt.Errorf("aesgcm: creating temp file: %w", err)
	}
	hw := &hashingWriter{w: f, h: h}
	n, err = decryptStream(hw, func() (io.Writer, error) { return hw, nil }, src, key)
	if err == nil {
		// A failed close can mean lost data (NFS, full disk): not verified.
		if cerr := f.Close(); cerr != nil {
			err = fmt.Errorf("aesgcm: closing %s: %w", f.Name(), cerr)
		}
	}
	if err != nil {
		removeFile(f)
		return "", 0, err
	}
	return f.Name(), n, nil
}

// hashingWriter writes to w and hashes what w accepted.
type hashingWriter struct {
	w io.Writer
	h hash.Hash
}

func (hw *hashingWriter) Write(p []byte) (int, error) {
	n, err := hw.w.Write(p)
	hw.h.Write(p[:n]) // hash.Hash.Write never fails
	return n, err
}

// DecryptToMemoryHash is DecryptToTempHash for a small message: the
// plaintext goes to memory instead of a file (sizeHint, the ciphertext's
// length if known, sizes the buffer). The plaintext is returned only if
// the tag verified; on any error the buffer is cleared.
func DecryptToMemoryHash(src io.Reader, key []byte, h hash.Hash, sizeHint int) ([]byte, error) {
	if h == nil {
		return nil, errors.New("aesgcm: nil hash")
	}
	if err := checkKey(key); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.Grow(max(0, sizeHint-IVSize-TagSize))
	hw := &hashingWriter{w: &buf, h: h}
	if _, err := decryptStream(hw, func() (io.Writer, error) { return hw, nil }, src, key); err != nil {
		clear(buf.Bytes())
		return nil, err
	}
	return buf.Bytes(), nil
}
