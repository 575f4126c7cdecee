package as4

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/as4gw/as4gw/as4/soap"
	"github.com/as4gw/as4gw/as4/wssec"
	"github.com/as4gw/as4gw/as4/wssec/xenc"
	"github.com/as4gw/as4gw/ebms"
	"github.com/as4gw/as4gw/store"
)

// PayloadStore keeps payloads that are stored while they arrive.
type PayloadStore interface {
	PutPayload(ctx context.Context, r io.Reader) (store.Blob, error)
	DiscardPayload(ctx context.Context, ref store.BlobRef) error
}

// Streaming a large payload.
//
// A part too large to hold in memory used to be spooled (ciphertext to a
// file), then read again to check its GCM tag and digest, then read a third
// time to decrypt, decompress and store it. Streamed, it is decrypted,
// digested, decompressed and stored in one pass while it arrives (each stage
// in its own goroutine, so the two cores share the work), which for 1 GiB
// saves the spool file and two passes, and overlaps the slowest stage
// (decompression) with the transfer.
//
// Nothing is trusted earlier than before: the signature over the header
// (SignedInfo, eb:Messaging, Body, trust and revocation of the signer) is
// checked before the first byte of the part is processed, the GCM tag and the
// part's digest once it has been read to the end, and the whole message again
// by the usual Verify afterwards. Until then the stored blob is only staged:
// a message refused for any reason discards it, and no receipt is sent before
// the metadata commit that references it.

// streamer decides per attachment whether to consume it while it arrives.
type streamer struct {
	ctx     context.Context
	cfg     InboundConfig
	in      *Inbound
	msg     *soap.Message
	m       *ebms.Messaging
	pol     InboundPolicy
	ref     string
	dec     *xenc.Decryption
	header  *wssec.Result // the pre-verified signature, nil when unsigned
	checked bool          // header verified and decryption prepared
}

// prepare verifies the signature over everything but the attachments and
// unwraps the keys, once, on the first large part.
func (s *streamer) prepare() error {
	if s.checked {
		return nil
	}
	s.checked = true
	env := wssec.EnvelopeFromSOAP(s.msg.Envelope)
	res, err := wssec.Verify(env, nil, wssec.VerifyOptions{
		Policy: s.pol.Signature, At: s.cfg.now(), Validator: s.pol.Validator, Lookup: s.pol.Lookup,
		SkipAttachmentDigests: true,
	})
	switch {
	case err == nil:
		s.header = res
	case wssec.IsUnsigned(err) && !s.pol.Signature.RequireSignature:
	default:
		return failure(err, s.ref)
	}
	if s.cfg.Identity != nil {
		dec, err := xenc.PrepareDecryption(env, s.cfg.Identity, xenc.DecryptOptions{
			RequireEncryption: s.pol.RequireEncryption, Lookup: s.pol.Lookup,
		})
		if err != nil {
			return failure(err, s.ref)
		}
		s.dec = dec
	}
	return nil
}

// stream is the soap.StreamFunc.
func (s *streamer) stream(att *soap.Attachment, content io.Reader) (bool, error) {
	pi := partInfoFor(s.m.UserMessage, att)
	if pi == nil || xenc.CheckCompression(pi) != nil {
		return false, nil // refused after the read, with the usual error
	}
	if err := s.prepare(); err != nil {
		return false, &soap.HandlerError{Err: err}
	}
	contentType, encrypted := att.ContentType, false
	if s.dec != nil {
		if mt, ok := s.dec.Covers(att); ok {
			contentType, encrypted = mt, true
		}
	}
	if !encrypted && s.pol.RequireEncryption {
		return false, nil // refused by the decryption check
	}
	if !s.digestCheckable(att, contentType) {
		return false, nil
	}

	src := &sourceReader{r: content}
	var plain io.Reader = src
	var counter *hashingReader
	if encrypted {
		dr, _, _, err := s.dec.DecryptStream(att, src)
		if err != nil {
			return false, &soap.HandlerError{Err: failure(err, s.ref)}
		}
		defer dr.Close()
		plain = dr
	} else {
		counter = &hashingReader{r: src, h: sha256.New()}
		plain = counter
	}
	payload := plain
	if pi.CompressionType() != "" {
		zr := xenc.DecompressPayload(plain, att.ContentID, s.cfg.Limits.WithDefaults().MaxDecompressedBytes)
		defer zr.Close()
		payload = zr
	}
	blob, err := s.cfg.Payloads.PutPayload(s.ctx, payload)
	if err == nil {
		// The decompressor stops at the end of the gzip data; the GCM tag
		// is checked only at the end of the ciphertext.
		var extra int64
		if extra, err = io.Copy(io.Discard, plain); err == nil && extra > 0 {
			err = &xenc.PayloadError{Code: ebms.CodeDecompressionFailure, ContentID: att.ContentID, Detail: fmt.Sprintf("%d bytes follow the gzip data", extra)}
		}
		if err != nil {
			s.cfg.Payloads.DiscardPayload(context.WithoutCancel(s.ctx), blob.Ref)
		}
	}
	if err != nil {
		if src.err != nil {
			return true, src.err // the body itself: a limit, a broken MIME part
		}
		var we *wssec.Error
		var pe *xenc.PayloadError
		if errors.As(err, &we) || errors.As(err, &pe) {
			return true, &soap.HandlerError{Err: failure(err, s.ref)}
		}
		return true, &soap.HandlerError{Err: storageFailure(err, s.ref)}
	}
	if s.in.streamed == nil {
		s.in.streamed = map[string]store.Blob{}
	}
	s.in.streamed[att.ContentID] = blob
	if counter != nil {
		att.Size = counter.n
		counter.h.Sum(att.SHA256[:0])
	}
	return true, nil
}

// digestCheckable: the part's digest can be computed while it streams by:
// plain octets, and every attachment Reference SHA-256 (so that whichever
// names this part, however its URI is written, the digest taken on the way
// is the one Verify compares; a part no Reference names is left to the
// coverage check).
func (s *streamer) digestCheckable(att *soap.Attachment, contentType string) bool {
	if !wssec.DigestedAsIs(contentType) {
		return false
	}
	if s.header == nil {
		return true
	}
	for _, r := range s.header.References {
		if r.Target == wssec.TargetAttachmentUnchecked && r.DigestAlgorithm != wssec.AlgSHA256 {
			return false
		}
	}
	return true
}

// partInfoFor finds the PartInfo naming att.
func partInfoFor(u *ebms.UserMessage, att *soap.Attachment) *ebms.PartInfo {
	if u == nil {
		return nil
	}
	for i := range u.PayloadInfo {
		if pi := &u.PayloadInfo[i]; !pi.IsBodyPayload() && att.NamedBy(pi.Href) {
			return pi
		}
	}
	return nil
}

// sourceReader remembers a failure of the MIME body itself.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

type hashingReader struct {
	r io.Reader
	h hash.Hash
	n int64
}

func (c *hashingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}
