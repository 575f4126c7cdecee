package soap

import (
	"bytes"
	"io"
)

// multipartGuard sits between the raw body and mime/multipart and enforces
// the limits mime/multipart does not:
//
//   - MaxMessageBytes: every raw byte read is counted.
//   - MaxParts: delimiter lines are counted as they stream past, so a body
//     of 10,000 tiny parts fails at the limit, before the parts are opened.
//   - MaxPartHeaderBytes: the bytes between a delimiter line and the blank
//     line that ends the part's headers are counted. mime/multipart would
//     buffer up to 10 MiB of header per part (and 10,000 header lines)
//     before giving up; the guard fails once the limit is passed, with at
//     most one 4 KiB read-ahead buffer held by multipart.
//
// The guard follows the delimiter rules of mime/multipart (RFC 2046: a line
// "--boundary", optional transport padding, then the line end; CRLF or LF
// line ends, decided by the first delimiter line; "--boundary--" closes),
// so that both count the same parts. Where they could still disagree the
// input is malformed and multipart fails anyway.
type multipartGuard struct {
	r            io.Reader
	dashBoundary []byte // "--" + boundary
	lim          Limits

	read  int64 // raw bytes read
	parts int   // delimiter lines seen
	err   error // sticky

	state       guardState
	matched     int    // bytes of dashBoundary matched at the current line start
	lineRest    []byte // bytes after a matched dashBoundary, up to the line end
	headerBytes int64  // bytes of the current part's header block
	headerLine  int    // length of the current header line without CR and LF
	modeKnown   bool   // line-end mode fixed by the first delimiter line
	crlf        bool   // delimiters end (and are preceded) by CRLF
	lastByte    byte   // last byte of the previous read, to see a CR before an LF split across reads
}

type guardState int

const (
	guardLineStart     guardState = iota // at a line start: maybe a delimiter
	guardBody                            // inside preamble or part body
	guardDelimiterRest                   // after "--boundary", up to the line end
	guardHeader                          // inside a part's header block
	guardDone                            // after the close delimiter
)

// maxDelimiterLine mirrors multipart's 4 KiB line buffer: a longer
// "delimiter line" is an error there, so it is no delimiter for us.
const maxDelimiterLine = 4096

func newMultipartGuard(r io.Reader, boundary string, lim Limits) *multipartGuard {
	return &multipartGuard{r: r, dashBoundary: []byte("--" + boundary), lim: lim}
}

func (g *multipartGuard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	if room := g.lim.MaxMessageBytes - g.read + 1; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := g.r.Read(p)
	g.read += int64(n)
	if g.read > g.lim.MaxMessageBytes {
		g.err = limitErr("MaxMessageBytes", g.lim.MaxMessageBytes)
		return 0, g.err
	}
	if n > 0 {
		if serr := g.scan(p[:n]); serr != nil {
			g.err = serr
			return 0, serr
		}
		g.lastByte = p[n-1]
	}
	return n, err
}

// scan advances the state machine over b.
func (g *multipartGuard) scan(b []byte) error {
	for i := 0; i < len(b); {
		switch g.state {
		case guardDone:
			return nil

		case guardBody:
			j := bytes.IndexByte(b[i:], '\n')
			if j < 0 {
				return nil
			}
			lf := i + j
			prevCR := g.lastByte == '\r'
			if lf > 0 {
				prevCR = b[lf-1] == '\r'
			}
			g.startLine(prevCR)
			i = lf + 1

		case guardLineStart:
			if b[i] != g.dashBoundary[g.matched] {
				g.state = guardBody // re-examine b[i] as body: it may be the LF
				continue
			}
			g.matched++
			i++
			if g.matched == len(g.dashBoundary) {
				g.state = guardDelimiterRest
				g.lineRest = g.lineRest[:0]
			}

		case guardDelimiterRest:
			c := b[i]
			i++
			if c == '\n' {
				if err := g.endDelimiterLine(); err != nil {
					return err
				}
				continue
			}
			if len(g.lineRest) >= maxDelimiterLine {
				g.state = guardBody
				continue
			}
			g.lineRest = append(g.lineRest, c)

		case guardHeader:
			c := b[i]
			i++
			g.headerBytes++
			if g.headerBytes > g.lim.MaxPartHeaderBytes {
				return limitErr("MaxPartHeaderBytes", g.lim.MaxPartHeaderBytes)
			}
			switch c {
			case '\n':
				if g.headerLine == 0 {
					// Blank line: headers end, the body starts at a line
					// start (multipart accepts a delimiter right there).
					g.state = guardLineStart
					g.matched = 0
				}
				g.headerLine = 0
			case '\r':
			default:
				g.headerLine++
			}
		}
	}
	return nil
}

// startLine is called after an LF in a body; prevCR tells whether a CR
// preceded it. In CRLF mode multipart only recognises CRLF "--boundary".
func (g *multipartGuard) startLine(prevCR bool) {
	if g.modeKnown && g.crlf && !prevCR {
		g.state = guardBody
		return
	}
	g.state = guardLineStart
	g.matched = 0
}

// endDelimiterLine decides whether the line that began with "--boundary"
// is a delimiter, the close delimiter or just body text.
func (g *multipartGuard) endDelimiterLine() error {
	rest := g.lineRest
	final := bytes.HasPrefix(rest, []byte("--"))
	if final {
		rest = rest[2:]
	}
	hasCR := len(rest) > 0 && rest[len(rest)-1] == '\r'
	if hasCR {
		rest = rest[:len(rest)-1]
	}
	isDelimiter := len(bytes.Trim(rest, " \t")) == 0
	if isDelimiter && !final && g.modeKnown && g.crlf != hasCR {
		isDelimiter = false // multipart compares the line end exactly
	}
	if !isDelimiter {
		g.startLine(hasCR)
		return nil
	}
	if final {
		g.state = guardDone
		return nil
	}
	if !g.modeKnown {
		g.modeKnown, g.crlf = true, hasCR
	}
	g.parts++
	if g.parts > g.lim.MaxParts {
		return limitErr("MaxParts", int64(g.lim.MaxParts))
	}
	g.state = guardHeader
	g.headerBytes = 0
	g.headerLine = 0
	return nil
}

// sawCloseDelimiter reports whether the close delimiter "--boundary--" went
// past, possibly as the very last bytes without a line end. mime/multipart
// reports a clean io.EOF also when the body just stops after a delimiter
// line, so ReadMessage asks the guard to tell a complete message from a
// truncated one.
func (g *multipartGuard) sawCloseDelimiter() bool {
	if g.state == guardDone {
		return true
	}
	if g.state != guardDelimiterRest || !bytes.HasPrefix(g.lineRest, []byte("--")) {
		return false
	}
	return len(bytes.Trim(g.lineRest[2:], " \t\r")) == 0
}
