package xenc

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/as4gw/as4gw/as4/soap"
	"github.com/as4gw/as4gw/ebms"
)

// PayloadError is a payload that cannot be delivered as its eb:PartInfo
// declares it. Code is EBMS:0303 DecompressionFailure (invalid gzip, or more
// output than the limit allows) or EBMS:0003 ValueInconsistent (a
// CompressionType AS4 does not define, or a PartInfo that does not name the
// attachment).
type PayloadError struct {
	Code      ebms.Code
	ContentID string
	Detail    string
	Err       error
}

func (e *PayloadError) Error() string {
	msg := fmt.Sprintf("%s payload <%s>: %s", e.Code, e.ContentID, e.Detail)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *PayloadError) Unwrap() error { return e.Err }

// CheckCompression validates a PartInfo's CompressionType property: absent
// or application/gzip (case-insensitive, as media types are). Anything else
// is EBMS:0003 ValueInconsistent. The MSH can call it before decrypting, so
// that such a message is refused early.
func CheckCompression(pi *ebms.PartInfo) error {
	ct := strings.TrimSpace(pi.CompressionType())
	if ct == "" || strings.EqualFold(ct, soap.CompressionTypeGzip) {
		return nil
	}
	cid, _ := pi.ContentID()
	return &PayloadError{Code: ebms.CodeValueInconsistent, ContentID: cid,
		Detail: fmt.Sprintf("CompressionType %q is not supported (AS4 defines only %s)", ct, soap.CompressionTypeGzip)}
}

// OpenPayload opens the payload an attachment carries, as the PartInfo
// describes it: gunzipped when CompressionType is application/gzip, as is
// when there is none. Call it after decryption and signature verification.
// maxDecompressed caps the gunzipped size (<= 0 means
// soap.DefaultLimits().MaxDecompressedBytes).
//
// Decompression happens while the reader is read: corrupt gzip data (also a
// truncated stream, or a CRC mismatch found at the end) and output beyond the
// limit surface as a *PayloadError with EBMS:0303 from Read, wrapping the
// *soap.DecompressionError or *soap.LimitError. Read the payload to the end
// (into the store) before accepting the message.
func OpenPayload(att *soap.Attachment, pi *ebms.PartInfo, maxDecompressed int64) (io.ReadCloser, error) {
	if att == nil || pi == nil {
		return nil, errors.New("xenc: OpenPayload needs an attachment and its PartInfo")
	}
	if cid, ok := pi.ContentID(); !ok || cid != att.ContentID {
		return nil, &PayloadError{Code: ebms.CodeValueInconsistent, ContentID: att.ContentID,
			Detail: fmt.Sprintf("PartInfo href %q does not name this attachment", pi.Href)}
	}
	if err := CheckCompression(pi); err != nil {
		return nil, err
	}
	f, err := att.Open()
	if err != nil {
		return nil, fmt.Errorf("xenc: opening payload <%s>: %w", att.ContentID, err)
	}
	if pi.CompressionType() == "" {
		return f, nil
	}
	return &payloadReader{cid: att.ContentID, file: f, zr: soap.Decompress(f, maxDecompressed)}, nil
}

// DecompressPayload gunzips the payload of part cid read from src, with the
// errors of OpenPayload. Close releases the decompressor, not src.
func DecompressPayload(src io.Reader, cid string, maxDecompressed int64) io.ReadCloser {
	return &payloadReader{cid: cid, file: io.NopCloser(src), zr: soap.Decompress(src, maxDecompressed)}
}

type payloadReader struct {
	cid  string
	file io.ReadCloser
	zr   io.ReadCloser
}

func (p *payloadReader) Read(b []byte) (int, error) {
	n, err := p.zr.Read(b)
	if err == nil || err == io.EOF {
		return n, err
	}
	var de *soap.DecompressionError
	var le *soap.LimitError
	switch {
	case errors.As(err, &de):
		err = &PayloadError{Code: ebms.CodeDecompressionFailure, ContentID: p.cid, Detail: "the payload is not valid gzip", Err: err}
	case errors.As(err, &le):
		err = &PayloadError{Code: ebms.CodeDecompressionFailure, ContentID: p.cid, Detail: "the decompressed payload exceeds the size limit", Err: err}
	}
	return n, err
}

func (p *payloadReader) Close() error {
	err := p.zr.Close()
	if cerr := p.file.Close(); err == nil {
		err = cerr
	}
	return err
}
