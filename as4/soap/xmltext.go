package soap

import (
	"encoding/xml"
	"strings"
	"unicode"
	"unicode/utf8"
)

// text reads character data as encoding/xml's Decoder.text does: ordinary
// text up to '<' or EOF (quote < 0, !cdata), a quoted attribute value up
// to the quote byte, or a CDATA section up to "]]>". It returns a
// substring of the input when nothing had to be rewritten, so the common
// case allocates nothing.
//
// The rewrites are encoding/xml's: "\r\n" and lone "\r" become "\n" (but
// a "\r" produced by "&#13;" stays), and outside CDATA the five predefined
// entities and character references are replaced; anything else after
// '&' is an error, as in strict mode without an Entity map. encoding/xml
// checks its result for UTF-8 and the XML Char range; checking the raw
// bytes and each reference's rune instead is the same check, because a
// token always ends at an ASCII byte and a reference's expansion is
// whole runes, so no rune straddles a boundary either way.
func (p *treeParser) text(quote int, cdata bool) (string, error) {
	s := p.src
	start := p.pos
	i := start
	seg := start // start of the raw run not yet copied into p.buf
	// encoding/xml remembers the last two raw bytes to find "]]>" and
	// forgets them after a reference; reset is where that memory starts.
	reset := start
	built := false
	p.buf = p.buf[:0]
	end := 0
scan:
	for {
		for i < len(s) && textPlain[s[i]] {
			i++
		}
		if i >= len(s) {
			if cdata || quote >= 0 {
				// encoding/xml ends a quoted value at EOF silently but then
				// fails on the next byte it needs; the outcome is the same.
				p.pos = i
				return "", p.fail(msgEOF)
			}
			end = i
			break
		}
		switch c := s[i]; {
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 || !isInXMLCharRange(r) {
				p.pos = i
				return "", p.fail("invalid UTF-8 or character outside the XML Char range")
			}
			i += size
		case c == '>':
			if quote < 0 && i-2 >= reset && s[i-1] == ']' && s[i-2] == ']' {
				if !cdata {
					p.pos = i
					return "", p.fail("unescaped ]]> not in CDATA section")
				}
				end = i - 2
				i++
				break scan
			}
			i++
		case c == '<':
			if cdata {
				i++
				continue
			}
			if quote >= 0 {
				p.pos = i
				return "", p.fail("unescaped < inside quoted string")
			}
			end = i
			break scan
		case c == '"' || c == '\'':
			if int(c) == quote {
				end = i
				i++
				break scan
			}
			i++
		case c == '&':
			if cdata {
				i++
				continue
			}
			p.buf = append(p.buf, s[seg:i]...)
			n, err := p.reference(i)
			if err != nil {
				return "", err
			}
			i += n
			seg, reset = i, i
			built = true
		case c == '\r':
			// "\r\n" and a lone "\r" both become "\n".
			p.buf = append(p.buf, s[seg:i]...)
			p.buf = append(p.buf, '\n')
			i++
			if i < len(s) && s[i] == '\n' {
				i++
			}
			seg = i
			built = true
		default: // a control character
			p.pos = i
			return "", p.fail("character outside the XML Char range")
		}
	}
	p.pos = i
	if !built {
		return s[start:end], nil
	}
	// seg <= end: a CDATA section's closing "]]" is raw, never part of a
	// rewrite.
	p.buf = append(p.buf, s[seg:end]...)
	return string(p.buf), nil
}

// textPlain marks the bytes text copies without a second look: printable
// ASCII, tab and LF, except those that end, escape or rewrite text.
var textPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = true
	}
	t['\t'], t['\n'] = true, true
	for _, c := range []byte{'<', '>', '&', '"', '\''} {
		t[c] = false
	}
	return t
}()

// predefinedEntities are the only named references encoding/xml expands
// without an Entity map; the trailing ';' is part of the match because the
// name it reads is the longest run of name bytes and must end at ';'.
var predefinedEntities = [...]struct {
	ref string
	val byte
}{{"lt;", '<'}, {"gt;", '>'}, {"amp;", '&'}, {"apos;", '\''}, {"quot;", '"'}}

// reference expands the reference starting with the '&' at i into p.buf
// and returns its length in the input.
func (p *treeParser) reference(i int) (int, error) {
	s := p.src
	j := i + 1
	if j >= len(s) {
		p.pos = j
		return 0, p.fail(msgEOF)
	}
	if s[j] != '#' {
		rest := s[j:]
		for _, e := range predefinedEntities {
			if strings.HasPrefix(rest, e.ref) {
				p.buf = append(p.buf, e.val)
				return 1 + len(e.ref), nil
			}
		}
		p.pos = i
		return 0, p.fail("invalid character entity")
	}
	j++
	if j >= len(s) {
		p.pos = j
		return 0, p.fail(msgEOF)
	}
	base := rune(10)
	if s[j] == 'x' {
		base = 16
		j++
	}
	digits := j
	var n rune
	for ; j < len(s); j++ {
		d := digitValue(s[j], base)
		if d < 0 {
			break
		}
		// strconv.ParseUint fails on overflow; anything past MaxRune
		// fails anyway, so saturate there.
		if n <= unicode.MaxRune {
			n = n*base + d
		}
	}
	if j >= len(s) {
		p.pos = j
		return 0, p.fail(msgEOF)
	}
	if s[j] != ';' || j == digits || n > unicode.MaxRune {
		p.pos = i
		return 0, p.fail("invalid character reference")
	}
	// string(rune(n)) in encoding/xml turns a surrogate into U+FFFD, a
	// valid Char; AppendRune does the same.
	if !isInXMLCharRange(n) && !(n >= 0xD800 && n <= 0xDFFF) {
		p.pos = i
		return 0, p.fail("character reference outside the XML Char range")
	}
	p.buf = utf8.AppendRune(p.buf, n)
	return j + 1 - i, nil
}

// isInXMLCharRange is encoding/xml's isInCharacterRange (the Char production).
func isInXMLCharRange(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// isXMLName is encoding/xml's isName. name() calls it only for names with
// non-ASCII bytes (ASCII names take the nameStartASCII shortcut), which no
// AS4 peer sends, so rather than carry a copy of encoding/xml's Unicode name
// tables it asks encoding/xml itself: a processing instruction's target is
// checked by exactly that function. Everything else about the probe is
// fixed: the name holds only name bytes and non-ASCII bytes, and never
// equals "xml" (ASCII).
func isXMLName(s string) bool {
	if s == "" {
		return false
	}
	_, err := xml.NewDecoder(strings.NewReader("<?" + s + "?>")).RawToken()
	return err == nil
}
