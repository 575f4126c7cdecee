package soap

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/textproto"
	"strings"
)

// Writer writes a SOAP-with-attachments message (multipart/related,
// type="application/soap+xml") as a stream: the envelope part first, then
// each attachment copied from an io.Reader, so a payload of any size passes
// through with a small buffer. Connect it to an HTTP request with io.Pipe:
//
//	pr, pw := io.Pipe()
//	mw := soap.NewWriter(pw)
//	req, _ := http.NewRequest("POST", url, pr)
//	req.Header.Set("Content-Type", mw.ContentType())
//	go func() {
//		err := mw.WriteEnvelope(envelopeBytes)
//		// ... mw.WriteAttachment(cid, "application/gzip", payload) ...
//		if err == nil {
//			err = mw.Close()
//		}
//		pw.CloseWithError(err)
//	}()
//
// All parts use Content-Transfer-Encoding binary. A Writer is not safe for
// concurrent use.
type Writer struct {
	mw          *multipart.Writer
	rootID      string
	contentIDs  map[string]bool
	wroteRoot   bool
	closed      bool
	partStarted bool
}

// NewWriter returns a Writer with a random boundary and a random root
// Content-ID.
func NewWriter(w io.Writer) *Writer {
	return &Writer{
		mw:         multipart.NewWriter(w), // random 30-byte boundary
		rootID:     "soapenv-" + randomHex(16) + "@as4gw",
		contentIDs: make(map[string]bool),
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("soap: crypto/rand failed: " + err.Error()) // never happens on supported platforms
	}
	return hex.EncodeToString(b)
}

// Boundary returns the MIME boundary.
func (w *Writer) Boundary() string { return w.mw.Boundary() }

// RootContentID returns the root part's Content-ID (without <>).
func (w *Writer) RootContentID() string { return w.rootID }

// SetRootContentID replaces the generated root Content-ID. It must be
// called before ContentType is sent and before WriteEnvelope.
func (w *Writer) SetRootContentID(cid string) error {
	if w.partStarted {
		return errors.New("soap: SetRootContentID after the first part")
	}
	if err := checkContentID(cid); err != nil {
		return err
	}
	w.rootID = cid
	return nil
}

// ContentType returns the HTTP Content-Type header value: multipart/related
// with the boundary, type="application/soap+xml" and start="<root id>".
func (w *Writer) ContentType() string {
	return mime.FormatMediaType("multipart/related", map[string]string{
		"boundary": w.mw.Boundary(),
		"type":     MediaTypeSOAP12,
		"start":    "<" + w.rootID + ">",
	})
}

// WriteEnvelope writes the root part. It must be the first part: receivers
// that ignore the start parameter take the first part as the root.
// envelope is written unchanged, so the bytes that were signed are the
// bytes that are sent.
func (w *Writer) WriteEnvelope(envelope []byte) error {
	if w.closed {
		return errors.New("soap: WriteEnvelope after Close")
	}
	if w.partStarted {
		return errors.New("soap: the envelope must be the first MIME part")
	}
	w.partStarted = true
	part, err := w.mw.CreatePart(partHeader(w.rootID, MediaTypeSOAP12+"; charset=UTF-8"))
	if err != nil {
		return err
	}
	w.contentIDs[w.rootID] = true
	w.wroteRoot = true
	_, err = part.Write(envelope)
	return err
}

// WriteAttachment writes one attachment part with the given Content-ID
// (without <>) and Content-Type, streaming its content from r. It returns
// the number of content bytes written.
func (w *Writer) WriteAttachment(contentID, contentType string, r io.Reader) (int64, error) {
	if w.closed {
		return 0, errors.New("soap: WriteAttachment after Close")
	}
	if !w.wroteRoot {
		return 0, errors.New("soap: WriteEnvelope must come before attachments")
	}
	if err := checkContentID(contentID); err != nil {
		return 0, err
	}
	if w.contentIDs[contentID] {
		return 0, fmt.Errorf("soap: duplicate Content-ID <%s>", contentID)
	}
	if _, _, err := mime.ParseMediaType(contentType); err != nil {
		return 0, fmt.Errorf("soap: attachment <%s>: bad Content-Type %q: %w", contentID, contentType, err)
	}
	w.contentIDs[contentID] = true
	part, err := w.mw.CreatePart(partHeader(contentID, contentType))
	if err != nil {
		return 0, err
	}
	return io.Copy(part, r)
}

// Close writes the closing delimiter. It does not close the underlying
// writer.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	if !w.wroteRoot {
		return errors.New("soap: Close before WriteEnvelope: a message needs an envelope")
	}
	w.closed = true
	return w.mw.Close()
}

// partHeader spells the keys the way most AS4 stacks do ("Content-ID"
// rather than Go's canonical "Content-Id"); header names are
// case-insensitive, but this keeps captures familiar to read.
// multipart.Writer writes the keys in sorted order.
func partHeader(contentID, contentType string) textproto.MIMEHeader {
	return textproto.MIMEHeader{
		"Content-ID":                {"<" + contentID + ">"},
		"Content-Transfer-Encoding": {"binary"},
		"Content-Type":              {contentType},
	}
}

// checkContentID accepts what fits in <...> as an RFC 5322 msg-id without
// quoting: printable ASCII except space, '<', '>', '"' and '\\'. This also
// rules out header injection through CR/LF.
func checkContentID(cid string) error {
	if cid == "" {
		return errors.New("soap: empty Content-ID")
	}
	for i := 0; i < len(cid); i++ {
		c := cid[i]
		if c <= ' ' || c >= 0x7f || c == '<' || c == '>' || c == '"' || c == '\\' {
			return fmt.Errorf("soap: Content-ID %q contains %q", cid, c)
		}
	}
	return nil
}

// CIDURL returns the "cid:" URL (RFC 2392) that refers to contentID, for
// eb:PartInfo/@href and ds:Reference/@URI. Only characters that may not
// appear in a URI path (RFC 3986 pchar and '/') are %-escaped: some peers
// compare hrefs with Content-IDs without decoding, so escaping more than
// necessary would break references to ordinary ids like "a@b".
func CIDURL(contentID string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.WriteString("cid:")
	for i := 0; i < len(contentID); i++ {
		c := contentID[i]
		if isURIPathChar(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

func isURIPathChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@/", c) >= 0
}
