package wssec

import (
	"io"

	"github.com/as4gw/as4gw/as4/soap"
)

// FromSOAP returns the parts of an inbound message that Sign and Verify work on:
// the envelope's Root, Header and Body (the same tree, not a copy, so the ebMS
// layer later reads exactly what was verified: anti-wrapping rule 7) and one
// Attachment per MIME part. Each Attachment carries the SHA-256 that
// soap.ReadMessage computed while spooling, so a SHA-256 reference needs no
// second read; other digests reopen the spooled file.
//
// For an encrypted message the attachments must be the decrypted octets:
// call it after xenc.DecryptAttachments, which replaces each part's content,
// size, SHA-256 and Content-Type in place.
func FromSOAP(m *soap.Message) (Envelope, []Attachment) {
	if m == nil {
		return Envelope{}, nil
	}
	return EnvelopeFromSOAP(m.Envelope), AttachmentsFromSOAP(m.Attachments)
}

// EnvelopeFromSOAP returns the Root, Header and Body of a parsed envelope.
func EnvelopeFromSOAP(e *soap.Envelope) Envelope {
	if e == nil {
		return Envelope{}
	}
	return Envelope{Root: e.Root, Header: e.Header, Body: e.Body}
}

// AttachmentsFromSOAP converts spooled MIME parts. A part without a
// Content-ID is kept (with an empty ContentID) so that coverage checks see it:
// no cid: reference can name it, so a policy requiring every attachment to be
// signed rejects the message.
func AttachmentsFromSOAP(parts []*soap.Attachment) []Attachment {
	if len(parts) == 0 {
		return nil
	}
	out := make([]Attachment, 0, len(parts))
	for _, p := range parts {
		if p == nil {
			continue
		}
		sum := p.SHA256 // copy: the Attachment must not alias the part
		out = append(out, Attachment{
			ContentID:   p.ContentID,
			ContentType: p.ContentType,
			Open:        func() (io.ReadCloser, error) { return p.Open() },
			SHA256:      sum[:],
		})
	}
	return out
}
