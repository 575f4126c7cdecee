package wssec

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"

	"github.com/beevik/etree"

	"github.com/as4gw/as4gw/as4/wssec/c14n"
)

// The SwA profile's Attachment-Content-Signature-Transform (WSS SwA 1.1 §5.4)
// does not always digest the raw octets: content of an XML media type is
// digested in its exclusive canonical form (§5.4.2) and text/* content with
// CRLF line ends (§5.4.1). WSS4J, and so Domibus, Holodeck B2B and phase4,
// do exactly this, selected by the part's MIME type. Parts of any other type
// (AS4's compressed application/gzip or application/octet-stream parts, the
// common case) are digested as they are.

// contentMode is how an attachment's octets enter the digest.
type contentMode int

const (
	contentRaw  contentMode = iota
	contentText             // text/*: line ends as CRLF
	contentXML              // XML media types: exclusive C14N without comments
)

// attachmentContentMode classifies a Content-Type the way WSS4J does: text/xml,
// application/xml and application/* or image/* with a +xml suffix are XML;
// other text/* types are text; anything else (or an unparsable or empty
// value) is raw.
func attachmentContentMode(contentType string) contentMode {
	if contentType == "" {
		return contentRaw
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		// WSS4J matches the raw header value with prefix patterns; do the
		// same with what precedes any parameters.
		mt = strings.ToLower(strings.TrimSpace(strings.SplitN(contentType, ";", 2)[0]))
	}
	major, minor, _ := strings.Cut(mt, "/")
	switch {
	case mt == "text/xml" || mt == "application/xml":
		return contentXML
	case (major == "application" || major == "image") && strings.HasSuffix(minor, "+xml"):
		return contentXML
	case major == "text":
		return contentText
	}
	return contentRaw
}

// MaxXMLAttachmentBytes bounds an XML attachment that must be parsed to be
// canonicalized for its digest (the octets, before parsing). AS4 payloads of
// that size travel compressed, and a compressed part is not XML-typed.
const MaxXMLAttachmentBytes = 64 << 20

// maxXMLAttachmentDepth bounds the element nesting of an XML attachment.
const maxXMLAttachmentDepth = 256

// digestAttachment computes the digest the Attachment-Content-Signature-
// Transform yields for a. The precomputed SHA-256 is used only for raw
// content, where it is the digest of exactly those octets.
func digestAttachment(a Attachment, h crypto.Hash) ([]byte, error) {
	mode := attachmentContentMode(a.ContentType)
	if mode == contentRaw && h == crypto.SHA256 && len(a.SHA256) == sha256.Size {
		return a.SHA256, nil
	}
	if a.Open == nil {
		return nil, fmt.Errorf("attachment %q has no content", a.ContentID)
	}
	rc, err := a.Open()
	if err != nil {
		return nil, fmt.Errorf("opening attachment %q: %w", a.ContentID, err)
	}
	defer rc.Close()
	d := h.New()
	switch mode {
	case contentXML:
		err = canonicalXMLContent(d, rc)
	case contentText:
		err = crlfCopy(d, rc)
	default:
		_, err = io.Copy(d, rc)
	}
	if err != nil {
		return nil, fmt.Errorf("attachment %q (%s): %w", a.ContentID, a.ContentType, err)
	}
	return d.Sum(nil), nil
}

// attachmentDigestMatches reports whether a's digest under the
// Attachment-Content-Signature-Transform is want. For XML and text parts a
// digest of the untransformed octets is accepted too: some senders (AS4.NET)
// digest every part as is, and a match on the exact octets is, if anything,
// the stronger statement. A part that is not well-formed XML then still
// verifies when its raw octets match, and fails with the parse error when
// they do not.
func attachmentDigestMatches(a Attachment, h crypto.Hash, want []byte) (bool, error) {
	got, err := digestAttachment(a, h)
	if err == nil && subtle.ConstantTimeCompare(got, want) == 1 {
		return true, nil
	}
	if attachmentContentMode(a.ContentType) != contentRaw {
		raw := a
		raw.ContentType = ""
		if rawSum, rawErr := digestAttachment(raw, h); rawErr == nil && subtle.ConstantTimeCompare(rawSum, want) == 1 {
			return true, nil
		}
	}
	return false, err
}

// crlfCopy copies r to w writing every line end (CR, LF or CRLF) as CRLF, as
// WSS4J's CRLFOutputStream does.
func crlfCopy(w io.Writer, r io.Reader) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	br := bufio.NewReaderSize(r, 32<<10)
	var last byte
	for {
		b, err := br.ReadByte()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		switch {
		case b == '\r':
			bw.WriteString("\r\n")
		case b == '\n':
			if last != '\r' {
				bw.WriteString("\r\n")
			}
		default:
			bw.WriteByte(b)
		}
		last = b
	}
	return bw.Flush()
}

// errXMLAttachmentTooLarge is returned for XML content above
// MaxXMLAttachmentBytes.
var errXMLAttachmentTooLarge = fmt.Errorf("XML content larger than %d bytes cannot be canonicalized", MaxXMLAttachmentBytes)

// canonicalXMLContent writes the exclusive canonical form (without comments)
// of the XML document read from r: processing instructions outside the
// document element, each separated from it by a line feed, and the document
// element; no XML declaration, no document type declaration (refused: no
// DTDs in AS4), no comments.
func canonicalXMLContent(w io.Writer, r io.Reader) error {
	data, err := io.ReadAll(io.LimitReader(r, MaxXMLAttachmentBytes+1))
	if err != nil {
		return err
	}
	if len(data) > MaxXMLAttachmentBytes {
		return errXMLAttachmentTooLarge
	}
	doc := etree.NewDocument()
	doc.ReadSettings.MaxDepth = maxXMLAttachmentDepth
	doc.ReadSettings.CharsetReader = charsetReader
	if err := doc.ReadFromBytes(normalizeRawAttributeWhitespace(data)); err != nil {
		return fmt.Errorf("not well-formed XML: %w", err)
	}
	if doc.Root() == nil {
		return errors.New("no document element")
	}
	bw := bufio.NewWriterSize(w, 32<<10)
	seenRoot := false
	for _, tok := range doc.Child {
		switch t := tok.(type) {
		case *etree.Directive:
			return errors.New("document type declarations are not allowed")
		case *etree.ProcInst:
			if t.Target == "xml" {
				continue // the XML declaration is not a processing instruction
			}
			if seenRoot {
				bw.WriteByte('\n')
			}
			bw.WriteString("<?" + t.Target)
			if t.Inst != "" {
				bw.WriteString(" " + t.Inst)
			}
			bw.WriteString("?>")
			if !seenRoot {
				bw.WriteByte('\n')
			}
		case *etree.Element:
			if err := c14n.CanonicalizeTo(bw, t, c14n.Options{}); err != nil {
				return err
			}
			seenRoot = true
		}
	}
	return bw.Flush()
}

// normalizeRawAttributeWhitespace applies XML 1.0 §3.3.3 CDATA attribute-value
// normalisation to the raw document: a literal tab, CR, LF or CRLF inside an
// attribute value becomes one space. It runs before parsing because
// encoding/xml neither normalises nor keeps character references apart: a
// "&#9;" must survive as a tab (C14N writes "&#x9;") while a literal tab
// becomes a space, and after parsing the two look the same. Comments, CDATA
// sections, processing instructions and text are left alone.
func normalizeRawAttributeWhitespace(data []byte) []byte {
	const (
		content = iota
		tag
		value
	)
	var out []byte // allocated on the first change
	state, quote := content, byte(0)
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch state {
		case content:
			if c != '<' {
				break
			}
			rest := data[i:]
			end := ""
			switch {
			case bytes.HasPrefix(rest, []byte("<!--")):
				end = "-->"
			case bytes.HasPrefix(rest, []byte("<![CDATA[")):
				end = "]]>"
			case bytes.HasPrefix(rest, []byte("<?")):
				end = "?>"
			case bytes.HasPrefix(rest, []byte("<!")):
				end = ">" // a DOCTYPE: refused after parsing anyway
			default:
				state = tag
			}
			if end != "" {
				stop := len(data)
				if j := bytes.Index(rest, []byte(end)); j >= 0 {
					stop = i + j + len(end)
				}
				if out != nil {
					out = append(out, data[i:stop]...)
				}
				i = stop - 1
				continue
			}
		case tag:
			switch c {
			case '"', '\'':
				state, quote = value, c
			case '>':
				state = content
			}
		case value:
			switch c {
			case quote:
				state = tag
			case '\t', '\n', '\r':
				if out == nil {
					out = append(make([]byte, 0, len(data)), data[:i]...)
				}
				out = append(out, ' ')
				if c == '\r' && i+1 < len(data) && data[i+1] == '\n' {
					i++ // CRLF is one line end, one space
				}
				continue
			}
		}
		if out != nil {
			out = append(out, c)
		}
	}
	if out == nil {
		return data
	}
	return out
}

// charsetReader accepts the encodings an XML payload may declare besides
// UTF-8 that can be decoded without a dependency: US-ASCII and ISO-8859-1.
func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return input, nil
	case "iso-8859-1", "latin1", "iso_8859-1", "l1":
		return &latin1Reader{r: bufio.NewReader(input)}, nil
	}
	return nil, fmt.Errorf("unsupported XML encoding %q", charset)
}

// latin1Reader decodes ISO-8859-1 to UTF-8.
type latin1Reader struct {
	r       *bufio.Reader
	pending []byte
}

func (l *latin1Reader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(l.pending) > 0 {
			c := copy(p[n:], l.pending)
			l.pending = l.pending[c:]
			n += c
			continue
		}
		b, err := l.r.ReadByte()
		if err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		if b < 0x80 {
			p[n] = b
			n++
			continue
		}
		l.pending = []byte(string(rune(b)))
	}
	return n, nil
}

// DigestedAsIs reports whether the Attachment-Content-Signature-Transform
// digests a part of this Content-Type as its plain octets (not XML or text),
// so that a digest computed while the part streams by is the one a
// Reference must match.
func DigestedAsIs(contentType string) bool {
	return attachmentContentMode(contentType) == contentRaw
}
