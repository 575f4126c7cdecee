package ebms

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"
)

// timestampLayout is how Encode writes eb:Timestamp: UTC, milliseconds, 'Z'.
const timestampLayout = "2006-01-02T15:04:05.000Z"

// FormatTimestamp formats t the way Encode writes eb:Timestamp.
func FormatTimestamp(t time.Time) string {
	return t.UTC().Format(timestampLayout)
}

// ParseTimestamp parses an eb:Timestamp as xsd:dateTime: YYYY-MM-DDThh:mm:ss, optional
// fractional seconds of any length (digits beyond nanoseconds are dropped), and an optional
// zone 'Z' or ±hh:mm. A value without zone is UTC (ebMS 3.0 Core says the value is UTC and the
// 'Z' is optional). The result is in UTC.
func ParseTimestamp(s string) (time.Time, error) {
	bad := func(why string) (time.Time, error) {
		return time.Time{}, fmt.Errorf("%q is not an xsd:dateTime: %s", s, why)
	}
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return bad("want YYYY-MM-DDThh:mm:ss")
	}
	num := func(from, to int) (int, bool) {
		n := 0
		for i := from; i < to; i++ {
			if s[i] < '0' || s[i] > '9' {
				return 0, false
			}
			n = n*10 + int(s[i]-'0')
		}
		return n, true
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 7)
	day, ok3 := num(8, 10)
	hour, ok4 := num(11, 13)
	minute, ok5 := num(14, 16)
	sec, ok6 := num(17, 19)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return bad("non-digit in date or time")
	}
	rest := s[19:]
	nanos := 0
	if strings.HasPrefix(rest, ".") {
		i := 1
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			if i <= 9 {
				nanos = nanos*10 + int(rest[i]-'0')
			}
			i++
		}
		if i == 1 {
			return bad("empty fraction")
		}
		for d := i - 1; d < 9; d++ {
			nanos *= 10
		}
		rest = rest[i:]
	}
	loc := time.UTC
	switch {
	case rest == "" || rest == "Z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		zh, okh := atoi2(rest[1:3])
		zm, okm := atoi2(rest[4:6])
		if !okh || !okm || zh > 14 || zm > 59 || (zh == 14 && zm != 0) {
			return bad("invalid zone offset")
		}
		offset := zh*3600 + zm*60
		if rest[0] == '-' {
			offset = -offset
		}
		loc = time.FixedZone("", offset)
	default:
		return bad("invalid zone")
	}
	if year == 0 || month < 1 || month > 12 || hour > 23 || minute > 59 || sec > 59 {
		return bad("field out of range")
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nanos, loc)
	if t.Day() != day { // time.Date normalises Feb 30 to Mar 2
		return bad("no such day")
	}
	// An offset can push the instant out of the four-digit years Encode can write back.
	if y := t.UTC().Year(); y < 1 || y > 9999 {
		return bad("outside years 0001-9999 in UTC")
	}
	return t.UTC(), nil
}

func atoi2(s string) (int, bool) {
	if len(s) != 2 || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' {
		return 0, false
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), true
}

// checkMessageIDLenient applies the rule Decode uses for MessageId and RefToMessageId by
// default: visible US-ASCII only, no angle brackets. See the package documentation for why the
// full RFC 2822 syntax is not required from peers.
func checkMessageIDLenient(id string) error {
	if id == "" {
		return errors.New("empty message id")
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c < 0x21 || c > 0x7e:
			return fmt.Errorf("message id %q contains a character that is not visible US-ASCII at offset %d", id, i)
		case c == '<' || c == '>':
			return fmt.Errorf("message id %q must not contain angle brackets", id)
		}
	}
	return nil
}

// ValidateMessageID checks id against the RFC 2822 msg-id syntax without the angle brackets,
// as ebMS 3.0 Core asks for eb:MessageId: id-left "@" id-right, where id-left is a
// dot-atom-text or a quoted string and id-right a dot-atom-text or a domain literal ("[...]"),
// all without folding whitespace. Message ids this gateway generates should pass it; Decode applies it only with
// DecodeOptions.StrictMessageIDs.
func ValidateMessageID(id string) error {
	if id == "" {
		return errors.New("empty message id")
	}
	var right string
	if id[0] == '"' {
		end := quotedEnd(id, '"', '"', isQText)
		if end < 0 || end+1 >= len(id) || id[end+1] != '@' {
			return fmt.Errorf("message id %q: malformed quoted id-left", id)
		}
		right = id[end+2:]
	} else {
		at := strings.IndexByte(id, '@')
		if at < 0 {
			return fmt.Errorf("message id %q has no '@' between id-left and id-right", id)
		}
		left := id[:at]
		right = id[at+1:]
		if !isDotAtomText(left) {
			return fmt.Errorf("message id %q: id-left %q is not a dot-atom-text", id, left)
		}
	}
	switch {
	case right == "":
		return fmt.Errorf("message id %q has an empty id-right", id)
	case right[0] == '[':
		if quotedEnd(right, '[', ']', isDText) != len(right)-1 {
			return fmt.Errorf("message id %q: malformed domain literal %q", id, right)
		}
	case !isDotAtomText(right):
		return fmt.Errorf("message id %q: id-right %q is not a dot-atom-text", id, right)
	}
	return nil
}

// quotedEnd returns the index of the closing delimiter of s, which starts with open, allowing
// quoted-pairs; -1 when s is not well-formed.
func quotedEnd(s string, open, closing byte, allowed func(byte) bool) int {
	if s == "" || s[0] != open {
		return -1
	}
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == closing:
			return i
		case c == '\\':
			if i+1 >= len(s) || s[i+1] == '\r' || s[i+1] == '\n' || s[i+1] == 0 || s[i+1] > 127 {
				return -1
			}
			i++
		case !allowed(c):
			return -1
		}
	}
	return -1
}

// isAText reports whether c is an RFC 2822 atext character.
func isAText(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// isQText: printable US-ASCII except '"' and '\'.
func isQText(c byte) bool { return c >= 33 && c <= 126 && c != '"' && c != '\\' }

// isDText: printable US-ASCII except '[', ']' and '\'.
func isDText(c byte) bool { return c >= 33 && c <= 126 && c != '[' && c != ']' && c != '\\' }

func isDotAtomText(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			if s[i-1] == '.' {
				return false
			}
			continue
		}
		if !isAText(s[i]) {
			return false
		}
	}
	return true
}

// checkURIReference checks that s is an RFC 3986 URI-reference: only URI characters, valid
// percent-encodings, and if a ':' comes before any '/', '?' or '#', a valid scheme before it
// (RFC 3986 §4.2 forbids a colon in the first segment of a relative reference, which is exactly
// what catches "0088:123" sent without a PartyId type).
func checkURIReference(s string) error {
	if s == "" {
		return errors.New("empty URI")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return fmt.Errorf("%q has an invalid percent-encoding", s)
			}
			i += 2
		case !isURIChar(c):
			return fmt.Errorf("%q contains %q, which a URI cannot hold", s, c)
		}
	}
	if strings.Count(s, "#") > 1 {
		return fmt.Errorf("%q has more than one '#'", s)
	}
	end := strings.IndexAny(s, "/?#")
	if end < 0 {
		end = len(s)
	}
	if colon := strings.IndexByte(s[:end], ':'); colon >= 0 && !isScheme(s[:colon]) {
		return fmt.Errorf("%q: %q before ':' is not a URI scheme", s, s[:colon])
	}
	return nil
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func isURIChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("-._~:/?#[]@!$&'()*+,;=", c) >= 0
}

func isScheme(s string) bool {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// NewMessageID returns a fresh RFC 2822 msg-id without brackets: a random
// (version 4) UUID, "@", and domain (default "as4gw"). Peers that check
// MessageId syntax strictly accept it.
func NewMessageID(domain string) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("ebms: crypto/rand failed: " + err.Error())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	if domain == "" {
		domain = "as4gw"
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x@%s", b[0:4], b[4:6], b[6:8], b[8:10], b[10:], domain)
}
