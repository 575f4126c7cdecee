package xhe

import (
	"bufio"
	"io"
	"strconv"
	"unicode/utf8"
)

// minElideKeep is the least text a run keeps before textElider drops the rest.
const minElideKeep = 64 << 10

// textElider sits between the input and encoding/xml. encoding/xml returns a character-data
// run as one token and so buffers all of it: a 100 MB base64 CipherValue in PayloadContent
// would cost several hundred MB. The elider follows the markup well enough to tell character
// data from tags, comments, CDATA sections, processing instructions and declarations, and
// drops every character-data run after its first keep bytes (never inside an entity or
// character reference, never inside a UTF-8 sequence). Each drop is recorded with the
// decoder's offset of the text's end, so the parser can treat a cut in an envelope value as
// a limit violation (keep exceeds MaxValueBytes) and still knows whether dropped payload text
// held anything but white space. Only character data is dropped; markup passes unchanged,
// so the decoder still checks every tag, and the dropped text is checked here as the decoder
// would: UTF-8, XML characters, entity and character references.
type textElider struct {
	r    *bufio.Reader
	keep int
	out  int64 // bytes passed to the decoder
	// elisions lists the drops in order.
	elisions []elision
	err      error

	state    elideState
	run      int  // bytes of the current text run passed on
	entity   int  // bytes since an unterminated '&' (0: none)
	pending  int  // UTF-8 continuation bytes still expected
	match    int  // progress of a multi-byte opener or closer
	quote    byte // open attribute quote in a tag
	skipping bool
	dropped  bool   // skipping has dropped non-white-space bytes
	bad      string // why the dropped bytes are not well-formed character data
	ref      []byte // an entity or character reference being dropped, after '&'
	inRef    bool
	carry    []byte // an incomplete UTF-8 sequence at the end of a dropped chunk
}

type elision struct {
	at       int64  // decoder offset where the text run that lost bytes ends
	nonSpace bool   // the dropped bytes held something other than XML white space
	bad      string // non-empty: the dropped bytes were not well-formed character data
}

type elideState uint8

const (
	stText      elideState = iota
	stLT                   // after '<'
	stBang                 // after "<!"
	stBangDash             // after "<!-"
	stComment              // inside "<!--", match counts '-'
	stCDATAOpen            // matching "[CDATA[" after "<!"
	stCDATA                // inside a CDATA section, match counts ']'
	stPI                   // inside "<?", match: 1 after '?'
	stDecl                 // other "<!...", up to '>'
	stTag                  // inside a start or end tag
)

const cdataOpen = "[CDATA["

func newTextElider(r io.Reader, keep int) *textElider {
	return &textElider{r: bufio.NewReaderSize(r, 64<<10), keep: max(keep, 1)}
}

func (t *textElider) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if t.err != nil {
			break
		}
		if t.skipping {
			chunk, err := t.r.ReadSlice('<')
			body := chunk
			if err == nil {
				body = chunk[:len(chunk)-1]
			}
			t.scan(body)
			switch err {
			case nil:
				t.endSkip()
				p[n] = '<'
				n++
				t.out++
				t.state = stLT
			case bufio.ErrBufferFull:
			default:
				t.endSkip()
				t.err = err
			}
			continue
		}
		b, err := t.r.ReadByte()
		if err != nil {
			t.err = err
			break
		}
		p[n] = b
		n++
		t.out++
		t.step(b)
	}
	if n > 0 {
		return n, nil
	}
	return 0, t.err
}

func (t *textElider) endSkip() {
	switch {
	case t.bad != "":
	case t.inRef:
		t.bad = "unterminated reference &" + string(t.ref)
	case len(t.carry) > 0:
		t.bad = "invalid UTF-8"
	}
	t.elisions = append(t.elisions, elision{at: t.out, nonSpace: t.dropped, bad: t.bad})
	t.skipping, t.dropped, t.bad, t.inRef = false, false, "", false
	t.ref, t.carry = t.ref[:0], t.carry[:0]
	t.run, t.entity, t.pending = 0, 0, 0
}

// scan checks dropped character data as encoding/xml would have, notes non-white-space, and
// keeps the state a reference or UTF-8 sequence split across chunks needs.
func (t *textElider) scan(body []byte) {
	if t.bad != "" {
		return
	}
	if len(t.carry) > 0 {
		k := min(len(body), utf8.UTFMax-len(t.carry))
		buf := append(t.carry, body[:k]...)
		if !utf8.FullRune(buf) {
			t.carry = buf
			return
		}
		r, size := utf8.DecodeRune(buf)
		t.carry = t.carry[:0]
		if !t.char(r, size) {
			return
		}
		body = body[size-(len(buf)-k):]
	}
	for i := 0; i < len(body); {
		b := body[i]
		switch {
		case t.inRef:
			i++
			if b == ';' {
				t.inRef = false
				if !validReference(t.ref) {
					t.bad = "invalid reference &" + string(t.ref) + ";"
					return
				}
				t.ref = t.ref[:0]
				continue
			}
			if t.ref = append(t.ref, b); len(t.ref) > 64 {
				t.bad = "unterminated reference"
				return
			}
		case b == '&':
			t.inRef, t.dropped = true, true
			i++
		case b < utf8.RuneSelf:
			if b < 0x20 && !isXMLSpaceByte(b) {
				t.bad = "illegal character code " + strconv.Quote(string(rune(b)))
				return
			}
			t.dropped = t.dropped || !isXMLSpaceByte(b)
			i++
		default:
			if !utf8.FullRune(body[i:]) {
				t.carry = append(t.carry[:0], body[i:]...)
				return
			}
			r, size := utf8.DecodeRune(body[i:])
			if !t.char(r, size) {
				return
			}
			i += size
		}
	}
}

// char accepts one decoded non-ASCII character of dropped text.
func (t *textElider) char(r rune, size int) bool {
	switch {
	case r == utf8.RuneError && size == 1:
		t.bad = "invalid UTF-8"
	case !isInCharacterRange(r):
		t.bad = "illegal character code " + strconv.QuoteRune(r)
	default:
		t.dropped = true
		return true
	}
	return false
}

// validReference reports whether name (between '&' and ';') is a predefined entity or a
// character reference to an XML character.
func validReference(name []byte) bool {
	switch string(name) {
	case "lt", "gt", "amp", "apos", "quot":
		return true
	}
	if len(name) < 2 || name[0] != '#' {
		return false
	}
	digits, base := name[1:], 10
	if digits[0] == 'x' {
		digits, base = digits[1:], 16
	}
	n, err := strconv.ParseUint(string(digits), base, 32)
	return err == nil && len(digits) > 0 && digits[0] != '+' && digits[0] != '-' && isInCharacterRange(rune(n))
}

// isInCharacterRange is XML 1.0's Char production.
func isInCharacterRange(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// step advances the markup state past byte b, which has been passed on.
func (t *textElider) step(b byte) {
	switch t.state {
	case stText:
		if b == '<' {
			t.state, t.run, t.entity, t.pending = stLT, 0, 0, 0
			return
		}
		t.run++
		switch {
		case b == '&':
			t.entity = 1
		case b == ';':
			t.entity = 0
		case t.entity > 0:
			// Reference names and numbers are short; a longer one is an error the
			// decoder reports, and must not keep the run from being cut.
			if t.entity++; t.entity > 64 {
				t.entity = 0
			}
		}
		switch {
		case b >= 0xF0:
			t.pending = 3
		case b >= 0xE0:
			t.pending = 2
		case b >= 0xC0:
			t.pending = 1
		case b >= 0x80 && t.pending > 0:
			t.pending--
		default:
			t.pending = 0
		}
		if t.run >= t.keep && t.entity == 0 && t.pending == 0 {
			t.skipping = true
		}
	case stLT:
		switch b {
		case '!':
			t.state = stBang
		case '?':
			t.state, t.match = stPI, 0
		default:
			t.state, t.quote = stTag, 0
			t.tag(b)
		}
	case stBang:
		switch b {
		case '-':
			t.state = stBangDash
		case '[':
			t.state, t.match = stCDATAOpen, 1
		default:
			t.state = stDecl
			t.decl(b)
		}
	case stBangDash:
		if b == '-' {
			t.state, t.match = stComment, 0
		} else {
			t.state = stDecl
			t.decl(b)
		}
	case stComment:
		switch {
		case b == '-':
			t.match++
		case b == '>' && t.match >= 2:
			t.state = stText
		default:
			t.match = 0
		}
	case stCDATAOpen:
		if b != cdataOpen[t.match] {
			t.state = stDecl
			t.decl(b)
			return
		}
		if t.match++; t.match == len(cdataOpen) {
			t.state, t.match = stCDATA, 0
		}
	case stCDATA:
		switch {
		case b == ']':
			t.match++
		case b == '>' && t.match >= 2:
			t.state = stText
		default:
			t.match = 0
		}
	case stPI:
		switch {
		case b == '?':
			t.match = 1
		case b == '>' && t.match == 1:
			t.state = stText
		default:
			t.match = 0
		}
	case stDecl:
		t.decl(b)
	case stTag:
		t.tag(b)
	}
}

func (t *textElider) decl(b byte) {
	if b == '>' {
		t.state = stText
	}
}

func (t *textElider) tag(b byte) {
	switch {
	case t.quote != 0:
		if b == t.quote {
			t.quote = 0
		}
	case b == '"' || b == '\'':
		t.quote = b
	case b == '>':
		t.state = stText
	}
}

// take removes the elisions that end a text token spanning (start, end] and merges them: whether
// there were any, whether any dropped more than white space, and the first reason dropped
// text was not well-formed.
func (t *textElider) take(start, end int64) (e elision, elided bool) {
	i := 0
	for ; i < len(t.elisions) && t.elisions[i].at <= end; i++ {
		if x := t.elisions[i]; x.at > start {
			elided = true
			e.nonSpace = e.nonSpace || x.nonSpace
			if e.bad == "" {
				e.bad = x.bad
			}
		}
	}
	t.elisions = t.elisions[i:]
	return e, elided
}
