package xenc

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/as4gw/as4gw/as4/soap"
	"github.com/as4gw/as4gw/as4/wssec/aesgcm"
)

// decryptPart checks one attachment's tag and digests its plaintext: into
// memory when the ciphertext is in memory (returned), else without keeping
// the plaintext (the attachment decrypts again when opened).
func decryptPart(att *soap.Attachment, key []byte) (plain []byte, n int64, sum [sha256.Size]byte, err error) {
	data, inMem := att.Bytes()
	if !inMem && att.Path() == "" {
		return nil, 0, sum, fmt.Errorf("xenc: attachment <%s> has no spooled content", att.ContentID)
	}
	h := sha256.New()
	if inMem {
		plain, err = aesgcm.DecryptToMemoryHash(bytes.NewReader(data), key, h, len(data))
		n = int64(len(plain))
	} else {
		var src io.ReadCloser
		src, err = att.Open()
		if err != nil {
			return nil, 0, sum, fmt.Errorf("xenc: opening attachment <%s>: %w", att.ContentID, err)
		}
		defer src.Close()
		n, err = aesgcm.VerifyHash(bufio.NewReaderSize(src, 256<<10), key, h)
	}
	if err != nil {
		if errors.Is(err, aesgcm.ErrAuthentication) || errors.Is(err, aesgcm.ErrTooLarge) {
			return nil, 0, sum, errUndecryptable()
		}
		return nil, 0, sum, fmt.Errorf("xenc: decrypting attachment <%s>: %w", att.ContentID, err)
	}
	h.Sum(sum[:0])
	return plain, n, sum, nil
}
