package aesgcm

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"os"
)

// Decrypt reads IV ‖ ciphertext ‖ tag from src, decrypts it with key and, only
// once the tag has verified, writes the plaintext to dst. It returns the
// plaintext length.
//
// A message whose ciphertext is shorter than 64 KiB is verified in memory.
// A longer one is staged in a file from spool (nil means os.CreateTemp("",
// ...)), which must return a new, empty, seekable file; Decrypt closes and
// removes it in every case. On ErrAuthentication, a read error or any other
// failure before verification nothing has been written to dst. Memory use is
// constant whatever the message size.
//
// An error writing to dst after verification is returned as is; dst may then
// hold part of the (authentic) plaintext.
func Decrypt(dst io.Writer, src io.Reader, key []byte, spool func() (*os.File, error)) (int64, error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	if spool == nil {
		spool = func() (*os.File, error) { return os.CreateTemp("", "as4gw-aesgcm-*") }
	}
	var f *os.File
	defer func() {
		if f != nil {
			removeFile(f)
		}
	}()
	spill := func() (io.Writer, error) {
		var err error
		if f, err = spool(); err != nil {
			f = nil
			return nil, fmt.Errorf("aesgcm: creating spool file: %w", err)
		}
		return f, nil
	}

	n, err := decryptStream(dst, spill, src, key)
	if err != nil || f == nil {
		return n, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, fmt.Errorf("aesgcm: rewinding spool file: %w", err)
	}
	// LimitReader guards against a spool file that was not empty.
	copied, err := io.Copy(dst, io.LimitReader(f, n))
	if err == nil && copied != n {
		err = fmt.Errorf("aesgcm: spool file returned %d of %d bytes", copied, n)
	}
	return copied, err
}

// DecryptToTemp decrypts IV ‖ ciphertext ‖ tag from src into a new file in dir
// (os.TempDir() if empty) and returns its path and the plaintext length. The
// file exists only if the tag verified; the caller owns it and must remove it.
// This saves Decrypt's second copy when the plaintext goes to disk anyway.
func DecryptToTemp(src io.Reader, key []byte, dir string) (path string, n int64, err error) {
	if err := checkKey(key); err != nil {
		return "", 0, err
	}
	f, err := os.CreateTemp(dir, "as4gw-aesgcm-*")
	if err != nil {
		return "", 0, fmt.Errorf("aesgcm: creating temp file: %w", err)
	}
	n, err = decryptStream(f, func() (io.Writer, error) { return f, nil }, src, key)
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

// decryptStream decrypts IV ‖ ciphertext ‖ tag read from src. The last TagSize
// bytes are held back as the candidate tag, so the end of the ciphertext is
// known only at EOF.
//
// If the ciphertext is shorter than a chunk, the plaintext goes to final
// after the tag verified. Otherwise spill is called once, and every chunk's plaintext
// goes to the writer it returns, unverified; the caller must then discard
// that writer's content on error and move it to its destination on success.
// If spill returns final itself (DecryptToTemp) the two cases coincide.
func decryptStream(final io.Writer, spill func() (io.Writer, error), src io.Reader, key []byte) (int64, error) {
	var iv [IVSize]byte
	if _, err := io.ReadFull(src, iv[:]); err != nil {
		return 0, readError(err)
	}
	s, err := newStream(key, iv[:])
	if err != nil {
		return 0, err
	}
	pooled := bufPool.Get().(*chunkBuf)
	buf := pooled[:chunkSize+TagSize]
	dirty := 0 // how much of buf has held data
	defer func() {
		// buf held plaintext: clear it before another stream gets it.
		clear(buf[:dirty])
		bufPool.Put(pooled)
	}()

	var unverified io.Writer
	have := 0
	for {
		m, err := io.ReadFull(src, buf[have:])
		have += m
		dirty = max(dirty, have)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				break
			}
			return 0, fmt.Errorf("aesgcm: reading ciphertext: %w", err)
		}
		// The buffer is full, so at least TagSize bytes follow the first
		// chunkSize: those are certainly ciphertext.
		if unverified == nil {
			if unverified, err = spill(); err != nil {
				return 0, err
			}
		}
		if err := s.process(unverified, buf[:chunkSize]); err != nil {
			return 0, err
		}
		have = copy(buf, buf[chunkSize:])
	}
	if have < TagSize {
		// Only reachable when the whole input is shorter than IV+tag: after
		// a full chunk TagSize bytes are always kept.
		return 0, ErrTruncated
	}
	ct, tag := buf[:have-TagSize], buf[have-TagSize:have]
	if err := s.reserve(len(ct)); err != nil {
		return 0, err
	}
	s.gh.update(ct)
	want := s.tag()
	if subtle.ConstantTimeCompare(want[:], tag) != 1 {
		return 0, ErrAuthentication
	}
	s.ctr.XORKeyStream(ct, ct)
	out := final
	if unverified != nil {
		out = unverified
	}
	if err := writeAll(out, ct); err != nil {
		return 0, err
	}
	return int64(s.n), nil
}

// process hashes and decrypts one full chunk in place and writes it to w.
func (s *stream) process(w io.Writer, chunk []byte) error {
	if err := s.reserve(len(chunk)); err != nil {
		return err
	}
	s.gh.update(chunk)
	s.ctr.XORKeyStream(chunk, chunk)
	return writeAll(w, chunk)
}

func writeAll(w io.Writer, p []byte) error {
	n, err := w.Write(p)
	if err == nil && n != len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		return fmt.Errorf("aesgcm: writing plaintext: %w", err)
	}
	return nil
}

// readError maps a failure to read the IV: running out of input is a
// truncated message, anything else an I/O error.
func readError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrTruncated
	}
	return fmt.Errorf("aesgcm: reading IV: %w", err)
}
