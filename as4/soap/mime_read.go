package soap

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"net/url"
	"os"
	"strings"
	"sync"
)

// Message is an inbound SOAP message: the envelope, its exact bytes, and
// the attachments spooled to disk. Close removes the spooled files.
type Message struct {
	// ContentType is the Content-Type the message was read with.
	ContentType string
	// Envelope is the parsed envelope.
	Envelope *Envelope
	// EnvelopeBytes is the root part exactly as received, after transfer
	// decoding (BOM and prolog included). Signature verification and
	// non-repudiation receipts need these bytes, not a re-serialisation.
	EnvelopeBytes []byte
	// RootContentID is the root part's Content-ID without <>; empty for a
	// plain SOAP message or a root part without one.
	RootContentID string
	// RootHeader is the root part's MIME header; nil for a plain message.
	RootHeader textproto.MIMEHeader
	// Attachments are the other MIME parts in the order received.
	Attachments []*Attachment
}

// Attachment is one non-root MIME part, held in memory when it is small
// (MemoryPartBytes) and spooled to a temporary file otherwise.
type Attachment struct {
	// ContentID is the part's Content-ID without the angle brackets; empty
	// when the part had none.
	ContentID string
	// ContentType is the part's Content-Type header value as sent.
	ContentType string
	// Header is the part's MIME header (keys canonicalised, so Content-ID
	// is found under "Content-Id"; use Header.Get).
	Header textproto.MIMEHeader
	// Size and SHA256 are over the decoded octets, the ones the
	// Attachment-Content-Signature-Transform digests.
	Size   int64
	SHA256 [32]byte

	path     string
	data     []byte
	inMemory bool
	// streamed: a ReadOptions.Stream handler consumed the content while it
	// arrived; nothing is held and Open fails.
	streamed bool
	// transform, when set, turns the spooled file into the content
	// (decryption on the fly); release runs on Message.Close.
	transform func(io.ReadCloser) (io.ReadCloser, error)
	release   func()
}

// Open opens the content (decoded octets) for reading.
func (a *Attachment) Open() (io.ReadCloser, error) {
	if a.streamed {
		return nil, fmt.Errorf("soap: attachment <%s> was consumed while it was received", a.ContentID)
	}
	if a.inMemory {
		return io.NopCloser(bytes.NewReader(a.data)), nil
	}
	f, err := os.Open(a.path)
	if err != nil || a.transform == nil {
		return f, err
	}
	r, err := a.transform(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

// Path is the spooled file holding the content; "" when the content is
// held in memory or derived from the file on the fly (SetTransform). A
// caller may move the file away (for example into the message store)
// instead of copying it; Message.Close then has nothing to remove for it.
func (a *Attachment) Path() string {
	if a.transform != nil {
		return ""
	}
	return a.path
}

// SetTransform makes the content what transform derives from the spooled
// file each time the attachment is opened, with the given size and SHA-256
// (decryption: the plaintext of a large part is then never written to
// disk). release, if not nil, runs when the message is closed (to forget a
// key). The attachment must be spooled to a file.
func (a *Attachment) SetTransform(transform func(io.ReadCloser) (io.ReadCloser, error), size int64, sum [32]byte, release func()) error {
	if a.inMemory || a.path == "" {
		return errors.New("soap: SetTransform needs an attachment spooled to a file")
	}
	if a.release != nil {
		a.release()
	}
	a.transform, a.release = transform, release
	a.Size, a.SHA256 = size, sum
	return nil
}

// Streamed reports whether a ReadOptions.Stream handler consumed the
// content while it arrived. Size, SHA256 and ContentType are then what the
// handler set.
func (a *Attachment) Streamed() bool { return a.streamed }

// Bytes returns the content when it is held in memory.
func (a *Attachment) Bytes() ([]byte, bool) {
	return a.data, a.inMemory
}

// SetBytes replaces the content by data, held in memory from now on (the
// spool file, if any, is removed), with its size and SHA-256. Decryption
// uses it to put the plaintext in place of the ciphertext.
func (a *Attachment) SetBytes(data []byte, sum [32]byte) error {
	if a.release != nil {
		a.release()
		a.transform, a.release = nil, nil
	}
	if a.path != "" {
		if err := os.Remove(a.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		a.path = ""
	}
	a.data, a.inMemory = data, true
	a.Size, a.SHA256 = int64(len(data)), sum
	return nil
}

// Spool moves content held in memory to a new file in dir ("" =
// os.TempDir()), for a caller that needs a file (to rename it into a store,
// or to work on it in place). Content already in a file stays where it is.
func (a *Attachment) Spool(dir string) error {
	if !a.inMemory || a.transform != nil {
		return nil
	}
	f, err := os.CreateTemp(dir, "as4gw-part-*")
	if err != nil {
		return &SpoolError{Err: err}
	}
	_, err = f.Write(a.data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return &SpoolError{Err: err}
	}
	a.path, a.data, a.inMemory = f.Name(), nil, false
	return nil
}

// MemoryPartBytes is the largest attachment ReadMessage keeps in memory,
// and MemoryMessageBytes the most it keeps in memory for one message; the
// rest is spooled to files. Small messages then cost no file creates (a
// file create costs ~0.75 ms of system CPU on the VMs measured), and
// memory stays bounded by the number of requests in flight.
const (
	MemoryPartBytes    = 1 << 20
	MemoryMessageBytes = 4 << 20
)

// Tests lower these to exercise the spool files with small inputs.
var memoryPartBytes, memoryMessageBytes int64 = MemoryPartBytes, MemoryMessageBytes

// Close removes the spooled attachment files. It ignores files that are
// already gone and can be called more than once.
func (m *Message) Close() error {
	var errs []error
	for _, a := range m.Attachments {
		a.data = nil
		if a.release != nil {
			a.release()
			a.release = nil
		}
		if a.path == "" {
			continue
		}
		if err := os.Remove(a.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// AttachmentByCID resolves an href such as an eb:PartInfo href or a
// ds:Reference URI ("cid:" URL, RFC 2392) to its attachment. The scheme is
// case-insensitive and %hh escapes are decoded as RFC 2392 requires. A
// Content-ID that itself contains '%' and was referenced without escaping
// is matched too. No match, or more than one, is an error: a reference
// must name exactly one part.
func (m *Message) AttachmentByCID(href string) (*Attachment, error) {
	const scheme = "cid:"
	if len(href) < len(scheme) || !strings.EqualFold(href[:len(scheme)], scheme) {
		return nil, fmt.Errorf("soap: %q is not a cid: reference", href)
	}
	raw := href[len(scheme):]
	decoded, err := url.PathUnescape(raw)
	if err != nil {
		return nil, fmt.Errorf("soap: %q: bad %%-escape: %w", href, err)
	}
	var found []*Attachment
	for _, a := range m.Attachments {
		if a.ContentID != "" && (a.ContentID == decoded || a.ContentID == raw) {
			found = append(found, a)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("soap: no MIME part with Content-ID <%s>", decoded)
	case 1:
		return found[0], nil
	}
	return nil, fmt.Errorf("soap: %d MIME parts match %q", len(found), href)
}

// NamedBy reports whether href (a cid: URL, as AttachmentByCID takes it)
// names this attachment: for deciding about one part before the others
// have arrived.
func (a *Attachment) NamedBy(href string) bool {
	one := Message{Attachments: []*Attachment{a}}
	got, err := one.AttachmentByCID(href)
	return err == nil && got == a
}

// MIMEError reports a malformed or unsupported MIME message. Part is the
// 1-based part number, 0 when the message as a whole is at fault.
type MIMEError struct {
	Part      int
	ContentID string
	Reason    string
	Err       error
}

func (e *MIMEError) Error() string {
	msg := "soap: MIME"
	if e.Part > 0 {
		msg += fmt.Sprintf(" part %d", e.Part)
		if e.ContentID != "" {
			msg += " <" + e.ContentID + ">"
		}
	}
	msg += ": " + e.Reason
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *MIMEError) Unwrap() error { return e.Err }

// ReadMessage reads an inbound SOAP message with the given Content-Type:
// a bare envelope (application/soap+xml or text/xml) or SOAP with
// attachments (multipart/related). Attachments are streamed to temporary
// files in spoolDir ("" = os.TempDir()) while their size and SHA-256 are
// computed; only the envelope is held in memory. On error nothing is left
// in spoolDir; on success the caller must Close the message.
//
// The root part is the part named by the start parameter, else the first
// part. The Content-Transfer-Encodings binary, 8bit, 7bit, base64 and
// quoted-printable are decoded here (mime/multipart's NextPart would decode
// quoted-printable silently and leave base64 alone, so NextRawPart is used).
func ReadMessage(r io.Reader, contentType string, lim Limits, spoolDir string) (*Message, error) {
	return ReadMessageWith(r, contentType, lim, spoolDir, ReadOptions{})
}

// ReadOptions let a caller act on a message while it arrives.
type ReadOptions struct {
	// AfterRoot, when set, runs once the root part (or a plain message's
	// envelope) is parsed and before any attachment is read: an error stops
	// the read and is returned as is. The StreamFunc it returns (nil for
	// none) is offered every attachment too large to be held in memory,
	// instead of spooling it.
	AfterRoot func(*Message) (StreamFunc, error)
}

// StreamFunc may consume a large attachment while it arrives (decrypt,
// decompress and store it in one pass instead of spooling it first).
// content is the part's decoded octets from the start. A handler that
// declines returns false without reading; the part is then spooled. One that
// accepts must read content to io.EOF and set att's Size, SHA256 and
// ContentType to what the signature covers; the attachment is then marked
// Streamed. An error stops the read: a failure of content itself (a limit, a
// truncated body) should be returned unchanged, any other error wrapped in a
// *HandlerError, which ReadMessageWith returns as is.
type StreamFunc func(att *Attachment, content io.Reader) (handled bool, err error)

// HandlerError is a StreamFunc's own failure, passed through unchanged.
type HandlerError struct{ Err error }

func (e *HandlerError) Error() string { return e.Err.Error() }

func (e *HandlerError) Unwrap() error { return e.Err }

// ReadMessageWith is ReadMessage with options.
func ReadMessageWith(r io.Reader, contentType string, lim Limits, spoolDir string, opts ReadOptions) (*Message, error) {
	lim, err := lim.effective()
	if err != nil {
		return nil, err
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, &MIMEError{Reason: fmt.Sprintf("bad Content-Type %q", contentType), Err: err}
	}
	switch mediaType {
	case MediaTypeSOAP12, MediaTypeSOAP11:
		msg, err := readPlainMessage(r, contentType, lim)
		if err == nil && opts.AfterRoot != nil {
			_, err = opts.AfterRoot(msg)
		}
		if err != nil {
			return nil, err
		}
		return msg, nil
	case "multipart/related":
		return readMultipartMessage(r, contentType, params, lim, spoolDir, opts)
	}
	return nil, &MIMEError{Reason: fmt.Sprintf("unsupported Content-Type %q (want application/soap+xml, text/xml or multipart/related)", mediaType)}
}

func readPlainMessage(r io.Reader, contentType string, lim Limits) (*Message, error) {
	// The body is the envelope: the tighter of the two limits applies,
	// and the error names that one.
	max, name := lim.MaxEnvelopeBytes, "MaxEnvelopeBytes"
	if lim.MaxMessageBytes < max {
		max, name = lim.MaxMessageBytes, "MaxMessageBytes"
	}
	data, err := io.ReadAll(newCapReader(r, max, name))
	if err != nil {
		return nil, err
	}
	env, err := parseEnvelopeBytes(data, lim)
	if err != nil {
		return nil, err
	}
	return &Message{ContentType: contentType, Envelope: env, EnvelopeBytes: data}, nil
}

// maxBoundaryLength is generous (RFC 2046 allows 70) because a peer's
// boundary is not ours to choose; it only guards against absurd values.
const maxBoundaryLength = 256

func readMultipartMessage(r io.Reader, contentType string, params map[string]string, lim Limits, spoolDir string, opts ReadOptions) (msg *Message, err error) {
	boundary := params["boundary"]
	if boundary == "" || len(boundary) > maxBoundaryLength || strings.ContainsAny(boundary, "\r\n") {
		return nil, &MIMEError{Reason: fmt.Sprintf("multipart/related needs a boundary parameter of 1 to %d characters", maxBoundaryLength)}
	}
	if t := params["type"]; t != "" && !isSOAPMediaType(t) {
		return nil, &MIMEError{Reason: fmt.Sprintf("multipart/related type %q is not supported (want %s)", t, MediaTypeSOAP12)}
	}
	start := trimAngles(params["start"])

	msg = &Message{ContentType: contentType}
	defer func() {
		if err != nil {
			msg.Close()
			msg = nil
		}
	}()

	// mime/multipart reads 4 KiB at a time: from the connection, each such
	// read was a system call (~0.5 s of CPU per GiB received). A pooled
	// 64 KiB buffer below the guard turns them into memory copies.
	br := bodyBuffers.Get().(*bufio.Reader)
	br.Reset(r)
	defer func() { br.Reset(nil); bodyBuffers.Put(br) }()
	guard := newMultipartGuard(br, boundary, lim)
	mr := multipart.NewReader(guard, boundary)
	seen := make(map[string]bool)
	rootFound := false
	memory := memoryMessageBytes
	var stream StreamFunc
	for index := 1; ; index++ {
		part, perr := mr.NextRawPart()
		if perr == io.EOF {
			break
		}
		if perr != nil {
			return msg, guardOr(guard, &MIMEError{Part: index, Reason: "cannot read part", Err: perr})
		}
		if index > lim.MaxParts {
			return msg, limitErr("MaxParts", int64(lim.MaxParts))
		}
		cid, cte, perr := partHeaderFields(part.Header)
		if perr != nil {
			return msg, &MIMEError{Part: index, ContentID: cid, Reason: perr.Error()}
		}
		if cid != "" {
			if seen[cid] {
				return msg, &MIMEError{Part: index, ContentID: cid, Reason: "duplicate Content-ID"}
			}
			seen[cid] = true
		}
		body, perr := transferDecoder(cte, part)
		if perr != nil {
			return msg, &MIMEError{Part: index, ContentID: cid, Reason: perr.Error()}
		}
		isRoot := !rootFound && ((start == "" && index == 1) || (start != "" && cid == start))
		if isRoot {
			rootFound = true
			if perr := msg.readRoot(body, part.Header, cid, lim); perr != nil {
				return msg, guardOr(guard, partErr(index, cid, perr))
			}
			if opts.AfterRoot != nil {
				if stream, perr = opts.AfterRoot(msg); perr != nil {
					return msg, perr
				}
			}
			continue
		}
		att, perr := spoolAttachment(body, part.Header, cid, lim.MaxAttachmentBytes, spoolDir, &memory, stream)
		if att != nil {
			msg.Attachments = append(msg.Attachments, att)
		}
		if perr != nil {
			return msg, guardOr(guard, partErr(index, cid, perr))
		}
	}
	if !guard.sawCloseDelimiter() {
		return msg, &MIMEError{Reason: "multipart body ends without the closing boundary (truncated message)"}
	}
	if !rootFound {
		if start != "" {
			return msg, &MIMEError{Reason: fmt.Sprintf("no part has the Content-ID <%s> named by the start parameter", start)}
		}
		return msg, &MIMEError{Reason: "multipart body has no parts"}
	}
	return msg, nil
}

var bodyBuffers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 64<<10) }}

// readRoot reads the root part into memory and parses it right away, so a
// bad envelope is refused before any large attachment is spooled.
func (m *Message) readRoot(body io.Reader, header textproto.MIMEHeader, cid string, lim Limits) error {
	data, err := io.ReadAll(newCapReader(body, lim.MaxEnvelopeBytes, "MaxEnvelopeBytes"))
	if err != nil {
		return err
	}
	env, err := parseEnvelopeBytes(data, lim)
	if err != nil {
		return err
	}
	m.Envelope, m.EnvelopeBytes, m.RootHeader, m.RootContentID = env, data, header, cid
	return nil
}

// SpoolError reports that an attachment could not be written to the spool
// directory (disk full, permissions). It is our failure, not the peer's:
// the MSH answers it like any internal error, not with a MIME or ebMS
// format error.
type SpoolError struct {
	Err error
}

func (e *SpoolError) Error() string { return "soap: cannot spool attachment: " + e.Err.Error() }

func (e *SpoolError) Unwrap() error { return e.Err }

// spoolAttachment reads body into memory when it fits both MemoryPartBytes
// and what is left of the message's memory budget, else into a new
// temporary file, hashing it as it goes. On error the file is removed and
// the returned attachment (if any) has no path left to remove.
func spoolAttachment(body io.Reader, header textproto.MIMEHeader, cid string, max int64, dir string, memory *int64, stream StreamFunc) (*Attachment, error) {
	att := &Attachment{ContentID: cid, ContentType: strings.TrimSpace(header.Get("Content-Type")), Header: header}
	src := newCapReader(body, max, "MaxAttachmentBytes")
	h := sha256.New()
	inMem := min(memoryPartBytes, *memory)
	var buf bytes.Buffer
	if inMem > 0 {
		// One byte more than fits tells whether the part is larger.
		n, err := buf.ReadFrom(io.LimitReader(src, inMem+1))
		if err != nil {
			return att, err
		}
		if n <= inMem {
			*memory -= n
			att.data, att.inMemory, att.Size = buf.Bytes(), true, n
			h.Write(att.data)
			h.Sum(att.SHA256[:0])
			return att, nil
		}
	}
	if stream != nil {
		handled, err := streamAttachment(att, io.MultiReader(bytes.NewReader(buf.Bytes()), src), stream)
		if handled || err != nil {
			return att, err
		}
	}
	f, err := os.CreateTemp(dir, "as4gw-part-*")
	if err != nil {
		return nil, &SpoolError{Err: err}
	}
	att.path = f.Name()
	// mime/multipart hands out at most 4 KiB per Read; buffered, the file
	// gets 256 KiB per write system call.
	file := &writeErrorRecorder{w: f}
	bw := bufio.NewWriterSize(file, 256<<10)
	w := io.MultiWriter(bw, h)
	n, err := w.Write(buf.Bytes())
	if err == nil {
		var m int64
		m, err = io.Copy(w, src)
		n += int(m)
	}
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if file.err != nil {
		err = &SpoolError{Err: file.err}
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = &SpoolError{Err: cerr}
	}
	if err != nil {
		os.Remove(att.path)
		att.path = ""
		return att, err
	}
	att.Size = int64(n)
	h.Sum(att.SHA256[:0])
	return att, nil
}

// streamAttachment offers a part to a StreamFunc and makes sure a handler
// that took it read it to the end: a part left half read would leave the
// multipart reader in the middle of a body.
func streamAttachment(att *Attachment, content io.Reader, stream StreamFunc) (bool, error) {
	rec := &eofRecorder{r: content}
	handled, err := stream(att, rec)
	if err != nil || !handled {
		if !handled && err == nil && rec.read > 0 {
			return false, &HandlerError{Err: fmt.Errorf("soap: stream handler declined part <%s> after reading from it", att.ContentID)}
		}
		return handled, err
	}
	if !rec.eof {
		var probe [1]byte
		if n, _ := io.ReadFull(rec, probe[:]); n > 0 {
			return true, &HandlerError{Err: fmt.Errorf("soap: stream handler did not read part <%s> to the end", att.ContentID)}
		}
	}
	att.streamed = true
	return true, nil
}

type eofRecorder struct {
	r    io.Reader
	read int64
	eof  bool
}

func (e *eofRecorder) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	e.read += int64(n)
	if err == io.EOF {
		e.eof = true
	}
	return n, err
}

// writeErrorRecorder tells spool (write) failures from read failures, which
// io.Copy returns alike.
type writeErrorRecorder struct {
	w   io.Writer
	err error
}

func (r *writeErrorRecorder) Write(p []byte) (int, error) {
	n, err := r.w.Write(p)
	if err != nil {
		r.err = err
	}
	return n, err
}

// partHeaderFields extracts the Content-ID (without <>) and the transfer
// encoding, refusing repeated headers whose meaning would be ambiguous.
func partHeaderFields(h textproto.MIMEHeader) (cid, cte string, err error) {
	ids := h.Values("Content-ID") // canonicalised: also finds Content-Id
	if len(ids) > 1 {
		return "", "", errors.New("more than one Content-ID header")
	}
	if len(ids) == 1 {
		cid = trimAngles(ids[0])
	}
	ctes := h.Values("Content-Transfer-Encoding")
	if len(ctes) > 1 {
		return cid, "", errors.New("more than one Content-Transfer-Encoding header")
	}
	if len(ctes) == 1 {
		cte = ctes[0]
	}
	return cid, cte, nil
}

// transferDecoder undoes the part's Content-Transfer-Encoding.
func transferDecoder(cte string, r io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "", "binary", "8bit", "7bit":
		return r, nil
	case "base64":
		// encoding/base64 skips CR and LF but not the spaces and tabs some
		// encoders put at line ends.
		return base64.NewDecoder(base64.StdEncoding, &dropWhitespaceReader{r: r}), nil
	case "quoted-printable":
		return quotedprintable.NewReader(r), nil
	}
	return nil, fmt.Errorf("unsupported Content-Transfer-Encoding %q", cte)
}

type dropWhitespaceReader struct{ r io.Reader }

func (d *dropWhitespaceReader) Read(p []byte) (int, error) {
	for {
		n, err := d.r.Read(p)
		kept := 0
		for _, c := range p[:n] {
			if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
				p[kept] = c
				kept++
			}
		}
		if kept > 0 || err != nil || n == 0 {
			return kept, err
		}
	}
}

// trimAngles strips whitespace and one pair of angle brackets:
// "<a@b>" and "a@b" both give "a@b".
func trimAngles(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '<' && s[len(s)-1] == '>' {
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	return s
}

func isSOAPMediaType(t string) bool {
	mt, _, err := mime.ParseMediaType(t)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(t))
	}
	return mt == MediaTypeSOAP12 || mt == MediaTypeSOAP11
}

// guardOr prefers the guard's limit error: mime/multipart wraps or
// replaces errors from its reader, and the operator needs the limit name.
func guardOr(g *multipartGuard, err error) error {
	if g.err != nil {
		return g.err
	}
	return err
}

// partErr keeps *LimitError, *EnvelopeError and *SpoolError unwrapped
// (callers switch on them) and wraps everything else, which is a fault in
// the peer's MIME, with the part's identity.
func partErr(index int, cid string, err error) error {
	var le *LimitError
	var ee *EnvelopeError
	var se *SpoolError
	var he *HandlerError
	if errors.As(err, &le) || errors.As(err, &ee) || errors.As(err, &se) || errors.As(err, &he) {
		return err
	}
	return &MIMEError{Part: index, ContentID: cid, Reason: "cannot read part body", Err: err}
}
