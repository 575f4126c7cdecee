// Package aesgcm implements streaming AES-GCM for AS4 attachment encryption
// (XML Encryption 1.1 aes128-gcm, aes192-gcm, aes256-gcm with the SwA
// Attachment-Ciphertext-Transform) and the RSA-OAEP key transport that wraps
// the content encryption key.
//
// On the wire an encrypted MIME part body is IV (12 bytes) ‖ ciphertext ‖ tag
// (16 bytes), exactly cipher.NewGCM(aes).Seal(nil, iv, plaintext, nil) with the
// IV in front. The standard library needs the whole message in memory; this
// package encrypts and decrypts in constant memory, so multi-gigabyte payloads
// are fine. Decryption releases plaintext only after the tag has verified,
// spooling it to a file when the message is longer than one 64 KiB chunk.
//
// The CTR and GHASH work runs in the standard library's assembly (see
// ghash.go for how GHASH is obtained from cipher.NewGCM); a pure Go GHASH
// takes over when cipher.NewGCM refuses (GODEBUG=fips140=only).
//
// Errors that the MSH must report as EBMS:0102 FailedDecryption match
// ErrAuthentication (bad tag, truncated input) or ErrKeyUnwrap (bad
// EncryptedKey) with errors.Is.
package aesgcm

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"sync"
)

// XML Encryption 1.1 block encryption algorithm URIs.
const (
	AES128GCM = "http://www.w3.org/2009/xmlenc11#aes128-gcm"
	AES192GCM = "http://www.w3.org/2009/xmlenc11#aes192-gcm"
	AES256GCM = "http://www.w3.org/2009/xmlenc11#aes256-gcm"
)

const (
	// IVSize is the IV length XML Encryption 1.1 prescribes for AES-GCM.
	IVSize = 12
	// TagSize is the authentication tag length (128 bits).
	TagSize = 16
	// Overhead is the number of bytes the wire format adds to a plaintext.
	Overhead = IVSize + TagSize
	// MaxPlaintext is GCM's limit for one IV: 2^32-2 blocks (about 64 GiB).
	// Beyond it the 32-bit block counter would wrap and reuse key stream.
	MaxPlaintext = (1<<32 - 2) * blockSize
)

var (
	// ErrAuthentication means the ciphertext, IV or tag was altered, the key
	// is wrong, or the input was cut short. No plaintext has been released.
	ErrAuthentication = errors.New("aesgcm: message authentication failed")
	// ErrTruncated is returned for input shorter than IV plus tag. It
	// matches ErrAuthentication as well, so one check maps both to EBMS:0102.
	ErrTruncated = fmt.Errorf("%w: input shorter than IV and tag (%d bytes)", ErrAuthentication, Overhead)
	// ErrTooLarge is returned when a plaintext or ciphertext would exceed
	// MaxPlaintext.
	ErrTooLarge = errors.New("aesgcm: message exceeds the AES-GCM limit of 2^36-32 bytes per IV")
)

// KeySize returns the content encryption key length in bytes for an AES-GCM
// algorithm URI, for checking keys obtained from an EncryptedKey.
func KeySize(algorithm string) (int, error) {
	switch algorithm {
	case AES128GCM:
		return 16, nil
	case AES192GCM:
		return 24, nil
	case AES256GCM:
		return 32, nil
	}
	return 0, fmt.Errorf("aesgcm: unsupported data encryption algorithm %q", algorithm)
}

func checkKey(key []byte) error {
	switch len(key) {
	case 16, 24, 32:
		return nil
	}
	return fmt.Errorf("aesgcm: invalid AES key length %d", len(key))
}

// forceSoftGHASH makes every stream use the pure Go GHASH; tests flip it.
var forceSoftGHASH = false

// stream holds the per-message GCM state shared by encryption and decryption.
type stream struct {
	ctr  cipher.Stream // AES-CTR from J0+1 = IV ‖ 00000002
	gh   ghasher
	mask [blockSize]byte // E_K(J0), added to GHASH to form the tag
	n    uint64          // bytes of plaintext/ciphertext processed
}

func newStream(key, iv []byte) (*stream, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	if len(iv) != IVSize {
		return nil, fmt.Errorf("aesgcm: IV must be %d bytes, got %d", IVSize, len(iv))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	s := new(stream)
	var zero, hb, j0 [blockSize]byte
	block.Encrypt(hb[:], zero[:])
	h := loadElement(hb[:])

	copy(j0[:], iv)
	j0[blockSize-1] = 1
	block.Encrypt(s.mask[:], j0[:])

	// cipher.NewCTR increments all 128 bits while GCM increments only the
	// low 32; they agree because MaxPlaintext keeps the low word from
	// wrapping (2 + 2^32-3 blocks at most).
	j0[blockSize-1] = 2
	s.ctr = cipher.NewCTR(block, j0[:])

	if !forceSoftGHASH {
		if g := newStdGHASH(block, append([]byte(nil), iv...), h, loadElement(s.mask[:])); g != nil {
			s.gh = g
		}
	}
	if s.gh == nil {
		s.gh = newSoftGHASH(h)
	}
	return s, nil
}

// tag returns the authentication tag over the ciphertext absorbed so far.
func (s *stream) tag() [TagSize]byte {
	t := s.gh.sum(s.n)
	for i := range t {
		t[i] ^= s.mask[i]
	}
	return t
}

// reserve accounts for n more bytes, refusing to pass GCM's limit.
func (s *stream) reserve(n int) error {
	if uint64(n) > MaxPlaintext-s.n {
		return ErrTooLarge
	}
	s.n += uint64(n)
	return nil
}

// chunkSize is how much ciphertext is hashed per GHASH call. Large enough to
// amortise the per-chunk field multiplication, small enough to stay in L2 so
// the CTR output is still cached when GHASH reads it. Multiple of blockSize.
const chunkSize = 64 << 10

// bufPool recycles the per-stream chunk buffer: for small messages, zeroing a
// fresh 64 KiB buffer would cost more than the cryptography.
var bufPool = sync.Pool{New: func() any { return new(chunkBuf) }}

// chunkBuf fits the encrypt writer's IV ‖ chunk ‖ tag and the decrypter's
// chunk ‖ held-back tag.
type chunkBuf [IVSize + chunkSize + TagSize]byte

// randomIV returns a fresh 96-bit IV. With random IVs a key must not encrypt
// more than 2^32 messages; AS4 uses a fresh content key per message.
func randomIV() ([]byte, error) {
	iv := make([]byte, IVSize)
	if _, err := rand.Read(iv); err != nil {
		return nil, err
	}
	return iv, nil
}

// removeFile closes and deletes a spool file, ignoring a file that is already
// gone (a spool callback may hand out unlinked files).
func removeFile(f *os.File) {
	// Errors are ignored: the caller already reports the real failure, and
	// a file that cannot be removed holds at most unverified plaintext in a
	// 0600 file.
	_ = f.Close()
	_ = os.Remove(f.Name())
}
