package soap

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/textproto"
	"regexp"
	"strings"
)

// CaptureFormat is the shape of a captured message, as recognised by
// ReadCaptured.
type CaptureFormat int

const (
	// CaptureHTTP: an HTTP request or response dump: optional start line
	// ("HTTP/1.1 200 OK" or "POST /as4 HTTP/1.1"), HTTP headers, a blank
	// line, the body (phase4 *.as4in).
	CaptureHTTP CaptureFormat = iota + 1
	// CaptureMIMEHeaders: MIME entity headers (with MIME-Version) and the
	// body (phase4 dump-raw.as4out, WrongCompression.mime).
	CaptureMIMEHeaders
	// CaptureBareMultipart: a multipart body without any headers, starting
	// at "--boundary" (AS4.NET *.as4); the boundary is taken from the first
	// delimiter line and the root is the first part.
	CaptureBareMultipart
	// CaptureXML: a bare envelope, possibly with a BOM or comments first.
	CaptureXML
)

func (f CaptureFormat) String() string {
	switch f {
	case CaptureHTTP:
		return "http"
	case CaptureMIMEHeaders:
		return "mime-headers"
	case CaptureBareMultipart:
		return "bare-multipart"
	case CaptureXML:
		return "xml"
	}
	return fmt.Sprintf("soap.CaptureFormat(%d)", int(f))
}

// CaptureInfo describes how ReadCapturedInfo read a capture.
type CaptureInfo struct {
	Format CaptureFormat
	// StartLine is the HTTP request or status line, if there was one.
	StartLine string
	// Header holds the captured HTTP or MIME headers, if there were any.
	Header textproto.MIMEHeader
	// ContentType is the Content-Type the body was read with.
	ContentType string
}

// ReadCaptured reads a message captured by another tool or written to disk
// for inspection. See ReadCapturedInfo.
func ReadCaptured(r io.Reader, contentTypeHint string, lim Limits, spoolDir string) (*Message, error) {
	m, _, err := ReadCapturedInfo(r, contentTypeHint, lim, spoolDir)
	return m, err
}

// ReadCapturedInfo detects the capture format (see CaptureFormat), finds
// the Content-Type (captured headers first, then contentTypeHint, then
// sniffing the body) and reads the body with ReadMessage.
//
// An HTTP dump's body must already be de-chunked even when the headers list
// Transfer-Encoding: chunked (as in phase4 dumps); a body that still looks
// chunked is refused rather than misread. Content-Encoding is not undone.
// The header block counts against MaxPartHeaderBytes.
func ReadCapturedInfo(r io.Reader, contentTypeHint string, lim Limits, spoolDir string) (*Message, *CaptureInfo, error) {
	lim, err := lim.effective()
	if err != nil {
		return nil, nil, err
	}
	br := bufio.NewReaderSize(r, 4096)
	lead, err := peekContent(br)
	if err != nil {
		return nil, nil, err
	}
	info := &CaptureInfo{}
	switch {
	case lead[0] == '<':
		info.Format = CaptureXML
		info.ContentType = soapContentType(contentTypeHint)
	case bytes.HasPrefix(lead, []byte("--")):
		info.Format = CaptureBareMultipart
		if info.ContentType, err = bareMultipartContentType(lead, contentTypeHint); err != nil {
			return nil, info, err
		}
	default:
		if err := readCaptureHeaders(br, info, lim); err != nil {
			return nil, info, err
		}
		if err := captureBodyContentType(br, info, contentTypeHint); err != nil {
			return nil, info, err
		}
	}
	m, err := ReadMessage(br, info.ContentType, lim, spoolDir)
	return m, info, err
}

// peekContent returns the buffered start of the capture with a BOM and
// leading whitespace skipped (they stay in the stream: XML parsing and the
// multipart preamble both cope with them).
func peekContent(br *bufio.Reader) ([]byte, error) {
	peek, err := br.Peek(br.Size())
	if len(peek) == 0 {
		if err == nil || err == io.EOF {
			err = errors.New("soap: empty capture")
		}
		return nil, err
	}
	lead := trimLeadingXMLSpace(bytes.TrimPrefix(peek, utf8BOM))
	if len(lead) == 0 {
		return nil, errors.New("soap: capture holds only whitespace in its first 4 KiB")
	}
	return lead, nil
}

// soapContentType returns hint when it is a bare SOAP type, else SOAP 1.2's.
// The SOAP version itself is taken from the envelope namespace.
func soapContentType(hint string) string {
	if hint != "" && isSOAPMediaType(hint) {
		return hint
	}
	return MediaTypeSOAP12
}

// bareMultipartContentType builds multipart/related with the boundary from
// the first delimiter line; the hint's other parameters (start, type) are
// kept when the hint is multipart/related.
func bareMultipartContentType(lead []byte, hint string) (string, error) {
	line, _, found := bytes.Cut(lead[2:], []byte("\n"))
	if !found {
		return "", errors.New("soap: capture starts with -- but the first line does not end within 4 KiB")
	}
	boundary := string(bytes.TrimRight(line, " \t\r"))
	if boundary == "" {
		return "", errors.New("soap: capture starts with an empty MIME boundary")
	}
	params := map[string]string{"type": MediaTypeSOAP12}
	if mt, hp, err := mime.ParseMediaType(hint); err == nil && mt == "multipart/related" {
		params = hp
	}
	params["boundary"] = boundary
	ct := mime.FormatMediaType("multipart/related", params)
	if ct == "" {
		return "", fmt.Errorf("soap: cannot express MIME boundary %q in a Content-Type", boundary)
	}
	return ct, nil
}

var (
	statusLine  = regexp.MustCompile(`^HTTP/\d(\.\d)? \d{3}( .*)?$`)
	requestLine = regexp.MustCompile(`^[A-Z]+ \S+ HTTP/\d(\.\d)?$`)
	headerLine  = regexp.MustCompile(`^[!#$%&'*+\-.^_|~0-9A-Za-z]+:`)
)

// readCaptureHeaders consumes an optional HTTP start line and a header
// block ending in a blank line.
func readCaptureHeaders(br *bufio.Reader, info *CaptureInfo, lim Limits) error {
	peek, _ := br.Peek(br.Size())
	first, _, complete := bytes.Cut(peek, []byte("\n"))
	firstLine := strings.TrimRight(string(first), "\r")
	if statusLine.MatchString(firstLine) || requestLine.MatchString(firstLine) {
		if !complete {
			return errors.New("soap: capture ends after its HTTP start line")
		}
		info.StartLine = firstLine
		if _, err := br.Discard(len(first) + 1); err != nil {
			return err
		}
	} else if !headerLine.MatchString(firstLine) {
		return errors.New("soap: unrecognised capture: not XML, not a multipart body, not HTTP or MIME headers")
	}
	block, err := readHeaderBlock(br, lim.MaxPartHeaderBytes)
	if err != nil {
		return err
	}
	hdr, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(block))).ReadMIMEHeader()
	if err != nil {
		return fmt.Errorf("soap: capture headers: %w", err)
	}
	info.Header = hdr
	switch {
	case info.StartLine != "":
		info.Format = CaptureHTTP
	case hdr.Get("MIME-Version") != "":
		info.Format = CaptureMIMEHeaders
	default:
		info.Format = CaptureHTTP // response headers stored without the status line
	}
	return nil
}

// readHeaderBlock returns the bytes up to and including the first empty
// line, at most max bytes.
func readHeaderBlock(br *bufio.Reader, max int64) ([]byte, error) {
	var block []byte
	lineStart := 0
	for {
		chunk, err := br.ReadSlice('\n')
		block = append(block, chunk...)
		if int64(len(block)) > max {
			return nil, limitErr("MaxPartHeaderBytes", max)
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue // a long line: keep reading it
		case err == io.EOF:
			return nil, errors.New("soap: capture ends inside its header block")
		case err != nil:
			return nil, err
		}
		line := bytes.TrimRight(block[lineStart:], "\r\n")
		if len(line) == 0 {
			return block, nil
		}
		lineStart = len(block)
	}
}

var chunkSizeLine = regexp.MustCompile(`^[0-9A-Fa-f]+( *;[^\r\n]*)?\r?$`)

// captureBodyContentType picks the body's Content-Type after captured
// headers and refuses bodies this reader would misinterpret.
func captureBodyContentType(br *bufio.Reader, info *CaptureInfo, hint string) error {
	if ce := strings.TrimSpace(info.Header.Get("Content-Encoding")); ce != "" && !strings.EqualFold(ce, "identity") {
		return fmt.Errorf("soap: captured body has Content-Encoding %q, which is not supported", ce)
	}
	lead, err := peekContent(br)
	if err != nil {
		return err
	}
	if strings.Contains(strings.ToLower(info.Header.Get("Transfer-Encoding")), "chunked") {
		first, _, _ := bytes.Cut(lead, []byte("\n"))
		if chunkSizeLine.Match(first) {
			return errors.New("soap: captured body is still chunked; store it de-chunked")
		}
	}
	switch {
	case info.Header.Get("Content-Type") != "":
		info.ContentType = info.Header.Get("Content-Type")
	case hint != "":
		info.ContentType = hint
	case bytes.HasPrefix(lead, []byte("--")):
		info.ContentType, err = bareMultipartContentType(lead, "")
	default:
		info.ContentType = MediaTypeSOAP12
	}
	return err
}
