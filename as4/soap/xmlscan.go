package soap

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
)

// This file holds the hardened pre-scan every inbound envelope goes through
// before etree builds a tree from it. It rejects what SOAP forbids or what
// is only useful to an attacker, counting against Limits as it goes, so
// etree never sees a DTD, an entity declaration, a processing instruction,
// an unbound prefix, a duplicate attribute or a document above the limits.
//
// The scan is a hand-written byte scanner rather than a second run of
// encoding/xml's tokenizer: that run cost as much as the etree parse itself
// (about 45% of ParseEnvelope), mostly in allocating tokens the scan then
// throws away. The scanner splits markup exactly the way encoding/xml does
// (names end at the first ASCII byte that is not a name byte, attribute
// values at the matching quote, comments at the first "--", CDATA at the
// first "]]>"), so on every document etree accepts it sees the same
// elements, attributes and text as etree. It does not re-check what etree
// checks anyway (character ranges, UTF-8, name characters, entity
// references inside elements): parseTree (xmltree.go), run on the same
// bytes, is the authority on well-formedness, and FuzzParseTreeDifferential
// holds it to etree's encoding/xml-based parse. FuzzScanDifferential holds
// the scanner to the encoding/xml-based scan it replaced (kept in
// xmlscan_ref_test.go).

const (
	namespaceXML   = "http://www.w3.org/XML/1998/namespace"
	namespaceXMLNS = "http://www.w3.org/2000/xmlns/"
)

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// trimProlog returns the part of data the XML parsers should see.
//
// Peers send a UTF-8 byte-order mark, and phase4 stored envelopes with a
// licence comment in front of the XML declaration (not well-formed: the
// declaration must come first). Both lie outside the document element, so
// no signature covers them and dropping them changes nothing that is
// verified. Whitespace and comments are only dropped when an XML
// declaration follows them; without one they are legal XML and stay.
func trimProlog(data []byte) []byte {
	data = bytes.TrimPrefix(data, utf8BOM)
	rest := data
	for {
		rest = trimLeadingXMLSpace(rest)
		if !bytes.HasPrefix(rest, []byte("<!--")) {
			break
		}
		end := bytes.Index(rest[4:], []byte("-->"))
		if end < 0 {
			return data // unterminated comment: let the scanner report it
		}
		rest = rest[4+end+3:]
	}
	if len(rest) > 5 && bytes.HasPrefix(rest, []byte("<?xml")) && isXMLSpaceByte(rest[5]) {
		return rest
	}
	return data
}

func trimLeadingXMLSpace(b []byte) []byte {
	for len(b) > 0 && isXMLSpaceByte(b[0]) {
		b = b[1:]
	}
	return b
}

func isXMLSpaceByte(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n'
}

func isXMLSpace(b []byte) bool {
	for _, c := range b {
		if !isXMLSpaceByte(c) {
			return false
		}
	}
	return true
}

// xmlStats is what the scan measured; tests and fuzzing check it against
// the limits.
type xmlStats struct {
	Elements              int
	MaxDepth              int
	NamespaceDeclarations int
}

// scanXML checks data (already passed through trimProlog and
// NormalizeAttributeWhitespace, i.e. the bytes parseTree will parse) for
// well-formedness as far as SOAP processing needs it and against lim.
// Acceptance means something only together with the strict parseTree of the
// same bytes afterwards: the scan leaves character-level checks to it.
func scanXML(data []byte, lim Limits) (xmlStats, error) {
	// Room for a real envelope (depth ~12, ~20 declarations), so the
	// slices need not grow.
	s := xmlScanner{data: data, lim: lim}
	s.open = make([][]byte, 0, 16)
	s.attrs = make([]scanAttr, 0, 16)
	s.scope.frames = make([]int, 0, 16)
	s.scope.bindings = make([]nsBinding, 0, nsLinearMax)
	err := s.run()
	return s.stats, err
}

// xmlScanner holds the state of one scan. Names and values are slices of
// data; nothing is copied unless an error message needs it.
type xmlScanner struct {
	data     []byte
	lim      Limits
	stats    xmlStats
	open     [][]byte // raw names of open elements, for end-tag matching
	attrs    []scanAttr
	scope    nsScope
	rootSeen bool
}

// scanAttr is one attribute of the start tag being scanned.
type scanAttr struct {
	raw          []byte // qualified name as written
	space, local []byte // raw split the way encoding/xml splits it
	value        []byte // as written between the quotes
}

// errMalformed marks markup the scanner could not follow. parseTree (and
// etree) would refuse it too; reporting it here just saves the second parse.
type errMalformed string

func (e errMalformed) Error() string { return "xml: " + string(e) }

func (s *xmlScanner) malformed(at int, msg string) error {
	return envelopeErr(int64(at), "not well-formed XML", errMalformed(msg))
}

func (s *xmlScanner) run() error {
	data := s.data
	for i := 0; i < len(data); {
		if data[i] != '<' {
			end := len(data)
			if j := bytes.IndexByte(data[i+1:], '<'); j >= 0 {
				end = i + 1 + j
			}
			if len(s.open) == 0 {
				if err := s.outerText(i, data[i:end]); err != nil {
					return err
				}
			}
			i = end
			continue
		}
		if i+1 >= len(data) {
			return s.malformed(i, "unexpected EOF after <")
		}
		var err error
		switch data[i+1] {
		case '/':
			i, err = s.endTag(i)
		case '?':
			i, err = s.procInst(i)
		case '!':
			i, err = s.bang(i)
		default:
			i, err = s.startTag(i)
		}
		if err != nil {
			return err
		}
	}
	if len(s.open) > 0 {
		return envelopeErr(int64(len(data)), "document ends inside <"+string(s.open[len(s.open)-1])+">", nil)
	}
	if !s.rootSeen {
		return envelopeErr(0, "no document element", nil)
	}
	return nil
}

// outerText checks text outside the document element: only whitespace,
// also when written as a character reference (encoding/xml decodes &#32;
// before the old scan looked at it).
func (s *xmlScanner) outerText(at int, text []byte) error {
	for i := 0; i < len(text); i++ {
		c := text[i]
		if isXMLSpaceByte(c) {
			continue
		}
		if c == '&' {
			r, n, ok := decodeReference(text[i:])
			if ok && r < 0x80 && isXMLSpaceByte(byte(r)) {
				i += n - 1
				continue
			}
		}
		return envelopeErr(int64(at), "text outside the document element", nil)
	}
	return nil
}

// bang handles markup that starts with "<!": comments, CDATA sections and
// declarations.
func (s *xmlScanner) bang(at int) (int, error) {
	data := s.data
	rest := data[at+2:]
	switch {
	case bytes.HasPrefix(rest, []byte("--")):
		// encoding/xml ends a comment at the first "--" after "<!--" and
		// requires '>' right after it.
		body := at + 4
		j := bytes.Index(data[body:], []byte("--"))
		if j < 0 {
			return 0, s.malformed(at, "unterminated comment")
		}
		end := body + j + 2
		if end >= len(data) || data[end] != '>' {
			return 0, s.malformed(at, `invalid sequence "--" not allowed in comments`)
		}
		return end + 1, nil
	case bytes.HasPrefix(rest, []byte("[CDATA[")):
		body := at + 9
		j := bytes.Index(data[body:], []byte("]]>"))
		if j < 0 {
			return 0, s.malformed(at, "unexpected EOF in CDATA section")
		}
		if len(s.open) == 0 && !isXMLSpace(data[body:body+j]) {
			return 0, envelopeErr(int64(at), "text outside the document element", nil)
		}
		return body + j + 3, nil
	}
	return 0, directiveErr(data, at)
}

// directiveErr reports a DOCTYPE or other markup declaration. This is the
// refusal path, so it lets encoding/xml read the declaration: the message
// then names it exactly as before, and a declaration encoding/xml cannot
// read is reported as not well-formed, as before.
func directiveErr(data []byte, at int) error {
	dec := xml.NewDecoder(bytes.NewReader(data[at:]))
	dec.Strict = true
	tok, err := dec.RawToken()
	if err != nil {
		return envelopeErr(int64(at), "not well-formed XML", err)
	}
	d, ok := tok.(xml.Directive)
	if !ok {
		return envelopeErr(int64(at), "not well-formed XML", errMalformed("invalid <! sequence"))
	}
	return envelopeErr(int64(at), "document type or markup declaration (<!"+directiveName(d)+"...>) is not allowed in a SOAP message", nil)
}

func directiveName(d xml.Directive) string {
	end := bytes.IndexAny(d, " \t\r\n[")
	if end < 0 || end > 16 {
		end = min(len(d), 16)
	}
	return string(d[:end])
}

// procInst allows the XML declaration as the very first thing in the
// document and refuses every other processing instruction.
func (s *xmlScanner) procInst(at int) (int, error) {
	data := s.data
	target, p := scanName(data, at+2)
	if len(target) == 0 {
		return 0, s.malformed(at, "expected target name after <?")
	}
	p = skipXMLSpace(data, p)
	j := bytes.Index(data[p:], []byte("?>"))
	if j < 0 {
		return 0, s.malformed(at, "unterminated processing instruction")
	}
	if string(target) == "xml" {
		// encoding/xml checks these on every <?xml?>; etree parses with a
		// pass-through charset reader, so refusing a non-UTF-8 encoding
		// is up to us.
		content := string(data[p : p+j])
		if ver := procInstParam("version=", content); ver != "" && ver != "1.0" {
			return 0, envelopeErr(int64(at), "not well-formed XML", fmt.Errorf("xml: unsupported version %q; only version 1.0 is supported", ver))
		}
		if enc := procInstParam("encoding=", content); enc != "" && !strings.EqualFold(enc, "utf-8") {
			return 0, envelopeErr(int64(at), "not well-formed XML", fmt.Errorf("xml: encoding %q declared but Decoder.CharsetReader is nil", enc))
		}
		if at == 0 {
			return p + j + 2, nil
		}
	}
	return 0, envelopeErr(int64(at), fmt.Sprintf("processing instruction <?%s?> is not allowed in a SOAP message", target), nil)
}

// procInstParam is encoding/xml's procInst: the value of param (given
// with its "=") in a processing instruction's content, found the same
// (inexact) way so that we refuse exactly the declarations encoding/xml
// refuses.
func procInstParam(param, s string) string {
	lenp := len(param)
	i := 0
	var sep byte
	for i < len(s) {
		sub := s[i:]
		k := strings.Index(sub, param)
		if k < 0 || lenp+k >= len(sub) {
			return ""
		}
		i += lenp + k + 1
		if c := sub[lenp+k]; c == '\'' || c == '"' {
			sep = c
			break
		}
	}
	if sep == 0 {
		return ""
	}
	j := strings.IndexByte(s[i:], sep)
	if j < 0 {
		return ""
	}
	return s[i : i+j]
}

func (s *xmlScanner) endTag(at int) (int, error) {
	data := s.data
	name, p := scanName(data, at+2)
	if len(name) == 0 {
		return 0, s.malformed(at, "expected element name after </")
	}
	if _, _, ok := splitName(name); !ok {
		return 0, s.malformed(at, "invalid XML name: "+string(name))
	}
	p = skipXMLSpace(data, p)
	if p >= len(data) || data[p] != '>' {
		return 0, s.malformed(at, "invalid characters between </"+string(name)+" and >")
	}
	if len(s.open) == 0 || !bytes.Equal(s.open[len(s.open)-1], name) {
		return 0, envelopeErr(int64(at), "end tag </"+string(name)+"> does not match the open element", nil)
	}
	s.open = s.open[:len(s.open)-1]
	s.scope.leave()
	return p + 1, nil
}

// startTag runs the checks in the order the old scan ran them, so that a
// document breaking several rules is refused for the same one.
func (s *xmlScanner) startTag(at int) (int, error) {
	data, lim := s.data, s.lim
	name, p := scanName(data, at+1)
	if len(name) == 0 {
		return 0, s.malformed(at, "expected element name after <")
	}
	space, local, ok := splitName(name)
	if !ok {
		return 0, s.malformed(at, "invalid XML name: "+string(name))
	}
	if len(s.open) == 0 && s.rootSeen {
		return 0, envelopeErr(int64(at), "more than one document element", nil)
	}
	s.rootSeen = true
	s.stats.Elements++
	if s.stats.Elements > lim.MaxElements {
		return 0, limitErr("MaxElements", int64(lim.MaxElements))
	}
	depth := len(s.open) + 1
	if depth > lim.MaxXMLDepth {
		return 0, limitErr("MaxXMLDepth", int64(lim.MaxXMLDepth))
	}
	s.stats.MaxDepth = max(s.stats.MaxDepth, depth)

	p, empty, err := s.scanAttrs(at, p)
	if err != nil {
		return 0, err
	}
	decls, err := s.scope.enter(s.attrs)
	if err != nil {
		return 0, envelopeErr(int64(at), err.Error(), nil)
	}
	s.stats.NamespaceDeclarations += decls
	if s.stats.NamespaceDeclarations > lim.MaxNamespaceDeclarations {
		return 0, limitErr("MaxNamespaceDeclarations", int64(lim.MaxNamespaceDeclarations))
	}
	if err := s.checkNames(name, space, local); err != nil {
		return 0, envelopeErr(int64(at), err.Error(), nil)
	}
	if empty {
		s.scope.leave()
	} else {
		s.open = append(s.open, name)
	}
	return p, nil
}

// scanAttrs reads the attributes of the start tag at 'at' from p on into
// s.attrs and returns the offset after the tag. Like encoding/xml it needs
// no whitespace between a value and the next name.
func (s *xmlScanner) scanAttrs(at, p int) (next int, empty bool, err error) {
	data := s.data
	s.attrs = s.attrs[:0]
	for {
		p = skipXMLSpace(data, p)
		if p >= len(data) {
			return 0, false, s.malformed(at, "unexpected EOF in start tag")
		}
		switch data[p] {
		case '>':
			return p + 1, false, nil
		case '/':
			if p+1 < len(data) && data[p+1] == '>' {
				return p + 2, true, nil
			}
			return 0, false, s.malformed(at, "expected /> in element")
		}
		name, q := scanName(data, p)
		if len(name) == 0 {
			return 0, false, s.malformed(at, "expected attribute name in element")
		}
		space, local, ok := splitName(name)
		if !ok {
			return 0, false, s.malformed(at, "invalid XML name: "+string(name))
		}
		q = skipXMLSpace(data, q)
		if q >= len(data) || data[q] != '=' {
			return 0, false, s.malformed(at, "attribute name without = in element")
		}
		q = skipXMLSpace(data, q+1)
		if q >= len(data) || (data[q] != '"' && data[q] != '\'') {
			return 0, false, s.malformed(at, "unquoted or missing attribute value in element")
		}
		end := bytes.IndexByte(data[q+1:], data[q])
		if end < 0 {
			return 0, false, s.malformed(at, "unexpected EOF in attribute value")
		}
		if len(s.attrs) == s.lim.MaxAttributesPerElement {
			return 0, false, limitErr("MaxAttributesPerElement", int64(s.lim.MaxAttributesPerElement))
		}
		s.attrs = append(s.attrs, scanAttr{raw: name, space: space, local: local, value: data[q+1 : q+1+end]})
		p = q + 1 + end + 1
	}
}

// checkNames resolves the element's and its attributes' prefixes and
// rejects duplicate attributes, by qualified name and by expanded name.
func (s *xmlScanner) checkNames(name, space, local []byte) error {
	if err := checkLocalName(name, local); err != nil {
		return err
	}
	if _, ok := s.scope.lookup(space); !ok {
		return fmt.Errorf("element <%s> uses the undeclared namespace prefix %q", name, space)
	}
	attrs := s.attrs
	for i := range attrs {
		a := &attrs[i]
		if err := checkLocalName(a.raw, a.local); err != nil {
			return err
		}
		for j := range attrs[:i] {
			if bytes.Equal(a.raw, attrs[j].raw) {
				return fmt.Errorf("element <%s> has the attribute %s twice", name, a.raw)
			}
		}
		if a.isNamespaceDecl() {
			continue
		}
		var uri []byte
		if len(a.space) > 0 {
			var ok bool
			if uri, ok = s.scope.lookup(a.space); !ok {
				return fmt.Errorf("attribute %s on <%s> uses an undeclared namespace prefix", a.raw, name)
			}
		}
		// Only attributes before this one need comparing, and only the
		// ones that are not declarations; resolving them again is cheaper
		// than keeping their URIs, as prefixed attributes are few.
		for j := range attrs[:i] {
			b := &attrs[j]
			if b.isNamespaceDecl() || !bytes.Equal(a.local, b.local) {
				continue
			}
			var buri []byte
			if len(b.space) > 0 {
				buri, _ = s.scope.lookup(b.space)
			}
			if bytes.Equal(uri, buri) {
				return fmt.Errorf("element <%s> has the attribute {%s}%s twice (under different prefixes)", name, uri, a.local)
			}
		}
	}
	return nil
}

// checkLocalName refuses names encoding/xml leaves unsplit although they
// hold a colon (":a", "a:"): not namespace-well-formed.
func checkLocalName(raw, local []byte) error {
	if len(local) == 0 || bytes.IndexByte(local, ':') >= 0 {
		return fmt.Errorf("%q is not a namespace-well-formed name", raw)
	}
	return nil
}

// scanName returns the name starting at p, delimited as encoding/xml's
// readName delimits it: by the first ASCII byte that is not a name byte
// (bytes of multi-byte characters all count as name bytes; etree checks
// them).
func scanName(data []byte, p int) ([]byte, int) {
	start := p
	for p < len(data) && (data[p] >= 0x80 || isNameByte(data[p])) {
		p++
	}
	return data[start:p], p
}

func isNameByte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '_' || c == ':' || c == '.' || c == '-'
}

// splitName splits a qualified name as encoding/xml's nsname does: at the
// one colon when both sides are non-empty, otherwise not at all; more than
// one colon is an error.
func splitName(name []byte) (space, local []byte, ok bool) {
	i := bytes.IndexByte(name, ':')
	if i < 0 {
		return nil, name, true
	}
	if bytes.IndexByte(name[i+1:], ':') >= 0 {
		return nil, nil, false
	}
	if i == 0 || i == len(name)-1 {
		return nil, name, true
	}
	return name[:i], name[i+1:], true
}

func skipXMLSpace(data []byte, p int) int {
	for p < len(data) && isXMLSpaceByte(data[p]) {
		p++
	}
	return p
}

var errBadReference = errors.New("invalid character entity")
