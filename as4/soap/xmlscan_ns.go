package soap

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// Namespace bookkeeping for the pre-scan: prefix bindings in scope, so that
// unbound prefixes and duplicate expanded attribute names are caught
// (encoding/xml checks neither, and a later C14N would fail or, worse,
// different parsers would disagree about which duplicate attribute counts).

func (a *scanAttr) isNamespaceDecl() bool {
	return string(a.space) == "xmlns" || (len(a.space) == 0 && string(a.local) == "xmlns")
}

// nsScope is a stack of bindings. Real envelopes have a few dozen in scope,
// where searching the stack from the top beats hashing; a document that
// piles up more gets a prefix index, so that lookups stay O(1) however
// many declarations MaxNamespaceDeclarations lets through.
type nsScope struct {
	bindings []nsBinding
	frames   []int // len(bindings) when each open element was entered
	index    map[string]int
}

type nsBinding struct {
	prefix []byte // empty for the default namespace
	uri    []byte // with character references decoded
	prev   int    // the binding of the same prefix this one shadows, or -1
}

// nsLinearMax is how many bindings the stack holds before it gets an index.
const nsLinearMax = 32

var namespaceXMLBytes = []byte(namespaceXML)

// enter binds the namespace declarations among attrs and returns how many
// there were.
func (s *nsScope) enter(attrs []scanAttr) (int, error) {
	s.frames = append(s.frames, len(s.bindings))
	decls := 0
	for i := range attrs {
		a := &attrs[i]
		if !a.isNamespaceDecl() {
			continue
		}
		var prefix []byte
		if len(a.space) > 0 {
			prefix = a.local
		}
		uri, err := decodeAttrValue(a.value)
		if err != nil {
			return decls, err
		}
		if err := checkNamespaceDecl(prefix, uri); err != nil {
			return decls, err
		}
		s.bind(prefix, uri)
		decls++
	}
	return decls, nil
}

func (s *nsScope) bind(prefix, uri []byte) {
	n := len(s.bindings)
	s.bindings = append(s.bindings, nsBinding{prefix: prefix, uri: uri, prev: s.find(prefix)})
	switch {
	case s.index != nil:
		s.index[string(prefix)] = n
	case len(s.bindings) > nsLinearMax:
		s.index = make(map[string]int, 2*len(s.bindings))
		for i, b := range s.bindings {
			s.index[string(b.prefix)] = i
		}
	}
}

func (s *nsScope) leave() {
	start := s.frames[len(s.frames)-1]
	s.frames = s.frames[:len(s.frames)-1]
	if s.index != nil {
		for i := len(s.bindings) - 1; i >= start; i-- {
			b := s.bindings[i]
			if b.prev < 0 {
				delete(s.index, string(b.prefix))
			} else {
				s.index[string(b.prefix)] = b.prev
			}
		}
	}
	s.bindings = s.bindings[:start]
}

// find returns the index of the binding in scope for prefix, or -1.
func (s *nsScope) find(prefix []byte) int {
	if s.index != nil {
		if i, ok := s.index[string(prefix)]; ok {
			return i
		}
		return -1
	}
	for i := len(s.bindings) - 1; i >= 0; i-- {
		if bytes.Equal(s.bindings[i].prefix, prefix) {
			return i
		}
	}
	return -1
}

func (s *nsScope) lookup(prefix []byte) ([]byte, bool) {
	if string(prefix) == "xml" {
		return namespaceXMLBytes, true
	}
	i := s.find(prefix)
	if i < 0 {
		return nil, len(prefix) == 0 // no default namespace is fine, an unbound prefix is not
	}
	return s.bindings[i].uri, true
}

func checkNamespaceDecl(prefix, uri []byte) error {
	// string(b) == constant does not allocate; the messages may.
	isXML, xmlURI := string(prefix) == "xml", string(uri) == namespaceXML
	switch {
	case string(prefix) == "xmlns":
		return fmt.Errorf("the xmlns prefix must not be declared")
	case isXML && !xmlURI:
		return fmt.Errorf("the xml prefix must not be bound to %q", uri)
	case !isXML && xmlURI:
		return fmt.Errorf("prefix %q must not be bound to the XML namespace", prefix)
	case string(uri) == namespaceXMLNS:
		return fmt.Errorf("prefix %q must not be bound to the xmlns namespace", prefix)
	case len(prefix) > 0 && len(uri) == 0:
		return fmt.Errorf("prefix %q must not be undeclared (xmlns:%s=\"\" is not allowed in XML 1.0 namespaces)", prefix, prefix)
	}
	return nil
}

// decodeAttrValue returns an attribute value as encoding/xml reports it:
// references replaced, a literal CR or CRLF turned into LF. Values without
// either (all of them, in practice) are returned as they are.
func decodeAttrValue(v []byte) ([]byte, error) {
	if bytes.IndexByte(v, '&') < 0 && bytes.IndexByte(v, '\r') < 0 {
		return v, nil
	}
	out := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '&':
			r, n, ok := decodeReference(v[i:])
			if !ok {
				return nil, errBadReference
			}
			out = utf8.AppendRune(out, r)
			i += n - 1
		case '\r':
			out = append(out, '\n')
			if i+1 < len(v) && v[i+1] == '\n' {
				i++
			}
		default:
			out = append(out, c)
		}
	}
	return out, nil
}

// decodeReference decodes the character or predefined entity reference at
// the start of b (b[0] is '&') the way a strict encoding/xml decoder does,
// and returns the rune and the reference's length. A reference to a
// surrogate decodes to U+FFFD, as there.
func decodeReference(b []byte) (r rune, n int, ok bool) {
	if len(b) > 1 && b[1] == '#' {
		i, base := 2, rune(10)
		if i < len(b) && b[i] == 'x' {
			i, base = 3, 16
		}
		start := i
		for ; i < len(b); i++ {
			d := digitValue(b[i], base)
			if d < 0 {
				break
			}
			r = r*base + d
			if r > utf8.MaxRune {
				return 0, 0, false
			}
		}
		if i == start || i >= len(b) || b[i] != ';' {
			return 0, 0, false
		}
		return r, i + 1, true
	}
	name, end := scanName(b, 1)
	if end >= len(b) || b[end] != ';' {
		return 0, 0, false
	}
	switch string(name) {
	case "lt":
		r = '<'
	case "gt":
		r = '>'
	case "amp":
		r = '&'
	case "apos":
		r = '\''
	case "quot":
		r = '"'
	default:
		return 0, 0, false
	}
	return r, end + 1, true
}

func digitValue(c byte, base rune) rune {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0')
	case base == 16 && 'a' <= c && c <= 'f':
		return rune(c-'a') + 10
	case base == 16 && 'A' <= c && c <= 'F':
		return rune(c-'A') + 10
	}
	return -1
}
