package soap

import (
	"fmt"
	"strings"

	"github.com/beevik/etree"
)

// parseTree replaces etree's ReadFromBytes for inbound envelopes and
// receipts. ReadFromBytes runs encoding/xml's RawToken underneath, which
// allocates a token (and interface box, name strings, attribute slice) per
// piece of markup and reads the input a byte at a time through an
// io.ByteReader; on the small-message benchmark that was the largest
// non-crypto cost of receiving. parseTree walks the bytes once and builds
// the same etree tree directly.
//
// "The same" is strict: on every input parseTree accepts exactly what
// etree v1.8.1 (default ReadSettings but MaxDepth) on top of Go 1.26's
// encoding/xml in strict mode accepts, and builds an identical tree.
// Signature verification, c14n and the SOAP structure checks all read this
// tree, so any difference would be a place where the gateway and the
// peer's parser could disagree about what was signed. The rules below
// therefore mirror encoding/xml's code paths rather than the XML spec,
// including where encoding/xml is lax: comments, processing instructions
// and directives are not checked for UTF-8 or character ranges, elements
// need no whitespace between attributes, a declared encoding is ignored
// (etree installs a pass-through CharsetReader), several top-level
// elements and top-level text are accepted, and a character reference to
// a surrogate becomes U+FFFD. FuzzParseTreeDifferential holds parseTree to
// ReadFromBytes on arbitrary bytes.
//
// The input is copied into one string up front and every name, comment
// and unescaped text or attribute value is a substring of it, so the tree
// owns its strings (callers may reuse data's buffer) at the cost of one
// allocation instead of one per token.
func parseTree(data []byte, maxDepth int) (*etree.Document, error) {
	doc := etree.NewDocument()
	doc.ReadSettings.MaxDepth = maxDepth
	if maxDepth <= 0 {
		maxDepth = etreeDefaultMaxDepth
	}
	p := treeParser{src: string(data), maxDepth: maxDepth}
	p.stack = append(p.stackBuf[:0], level{e: &doc.Element})
	p.pending = p.pendingBuf[:0]
	if err := p.run(); err != nil {
		return nil, err
	}
	p.close()
	return doc, nil
}

// etreeDefaultMaxDepth is etree's defaultMaxDepth, used when MaxDepth <= 0.
const etreeDefaultMaxDepth = 1024

// treeError reports where parseTree gave up. The messages need not match
// encoding/xml's; callers only wrap them as "not well-formed XML".
type treeError struct {
	off int
	msg string
}

func (e *treeError) Error() string {
	return fmt.Sprintf("xml: %s at offset %d", e.msg, e.off)
}

// msgEOF marks input that ends inside markup; encoding/xml reports
// "unexpected EOF" for all of these.
const msgEOF = "unexpected EOF"

type rawAttr struct {
	space, key, value string
}

// level is an open element and where its children start in pending.
type level struct {
	e    *etree.Element
	mark int
}

type treeParser struct {
	src      string
	pos      int
	maxDepth int
	stack    []level // the document, then the open elements
	stackBuf [16]level
	// pending holds the children of every open element, in document
	// order, until the element closes: then its Child slice is allocated
	// once at the right size instead of growing child by child (about a
	// third of all allocations when each token was added on arrival).
	pending    []etree.Token
	pendingBuf [64]etree.Token
	buf        []byte    // scratch for values that need unescaping
	attrs      []rawAttr // scratch for the start tag being read
	attrBuf    [8]rawAttr
	attrIndex  map[[2]string]int // see addAttr
}

// add makes t the next child of the innermost open element.
func (p *treeParser) add(t etree.Token) {
	p.pending = append(p.pending, t)
}

// close attaches the pending children of the innermost open element and
// pops it. AddChild sets each child's parent and index as etree's
// readFrom would have on arrival.
func (p *treeParser) close() {
	top := p.stack[len(p.stack)-1]
	kids := p.pending[top.mark:]
	if len(kids) > 0 {
		top.e.Child = make([]etree.Token, 0, len(kids))
		for _, k := range kids {
			top.e.AddChild(k)
		}
		clear(kids)
	}
	p.pending = p.pending[:top.mark]
	p.stack = p.stack[:len(p.stack)-1]
}

func (p *treeParser) fail(msg string) error {
	return &treeError{off: p.pos, msg: msg}
}

func (p *treeParser) run() error {
	s := p.src
	p.attrs = p.attrBuf[:0]
	for p.pos < len(s) {
		if s[p.pos] != '<' {
			text, err := p.text(-1, false)
			if err != nil {
				return err
			}
			p.add(newText(text))
			continue
		}
		p.pos++
		if p.pos >= len(s) {
			return p.fail(msgEOF)
		}
		var err error
		switch s[p.pos] {
		case '/':
			p.pos++
			err = p.endTag()
		case '?':
			p.pos++
			err = p.procInst()
		case '!':
			p.pos++
			err = p.bang()
		default:
			err = p.startTag()
		}
		if err != nil {
			return err
		}
	}
	// etree: io.EOF with anything but the document on the stack is ErrXML.
	if len(p.stack) != 1 {
		return etree.ErrXML
	}
	return nil
}

// newText makes character data the way etree's readFrom does: a plain
// CharData whose whitespace flag SetData derives exactly as readFrom does
// (isWhitespace over space, tab, CR and LF; true for "").
func newText(text string) *etree.CharData {
	c := etree.NewText(text)
	c.SetData(text)
	return c
}

func (p *treeParser) endTag() error {
	space, local, err := p.nsname()
	if err != nil {
		return err
	}
	p.skipSpace()
	if p.pos >= len(p.src) {
		return p.fail(msgEOF)
	}
	if p.src[p.pos] != '>' {
		return p.fail("invalid characters in end tag")
	}
	p.pos++
	// The document itself has Tag "" and no name is empty, so a stray end
	// tag at the top level fails here as it does in etree.
	if top := p.stack[len(p.stack)-1].e; top.Tag != local || top.Space != space {
		return etree.ErrXML
	}
	p.close()
	return nil
}

func (p *treeParser) startTag() error {
	s := p.src
	space, local, err := p.nsname()
	if err != nil {
		return err
	}
	p.attrs = p.attrs[:0]
	empty := false
	for {
		p.skipSpace()
		if p.pos >= len(s) {
			return p.fail(msgEOF)
		}
		c := s[p.pos]
		if c == '/' {
			p.pos++
			if p.pos >= len(s) {
				return p.fail(msgEOF)
			}
			if s[p.pos] != '>' {
				return p.fail("expected /> in element")
			}
			p.pos++
			empty = true
			break
		}
		if c == '>' {
			p.pos++
			break
		}
		// encoding/xml needs no whitespace before an attribute name.
		aspace, akey, err := p.nsname()
		if err != nil {
			return err
		}
		p.skipSpace()
		if p.pos >= len(s) {
			return p.fail(msgEOF)
		}
		if s[p.pos] != '=' {
			return p.fail("attribute name without =")
		}
		p.pos++
		p.skipSpace()
		if p.pos >= len(s) {
			return p.fail(msgEOF)
		}
		q := s[p.pos]
		if q != '"' && q != '\'' {
			return p.fail("unquoted or missing attribute value")
		}
		p.pos++
		value, err := p.text(int(q), false)
		if err != nil {
			return err
		}
		p.addAttr(aspace, akey, value)
	}

	// etree checks the depth only once the start tag has been read.
	if len(p.stack) > p.maxDepth {
		return etree.ErrMaxDepth
	}
	e := etree.NewElement("")
	e.Space, e.Tag = space, local
	if n := len(p.attrs); n > 0 {
		// CreateAttr is the only public way to set an attribute's
		// element, but it searches the existing attributes with its own
		// split of the key (":a" would match "a"), quadratically. Showing
		// it an empty window onto the next free slot of a slice sized up
		// front makes it append there without searching; the key is set
		// afterwards exactly as encoding/xml split it.
		all := make([]etree.Attr, 0, n)
		for i, a := range p.attrs {
			e.Attr = all[i:i]
			at := e.CreateAttr("", a.value)
			at.Space, at.Key = a.space, a.key
		}
		e.Attr = all[:n]
	}
	p.add(e)
	if !empty {
		p.stack = append(p.stack, level{e: e, mark: len(p.pending)})
	}
	return nil
}

// addAttr records an attribute as etree's readFrom does without
// PreserveDuplicateAttrs: a repeated (Space, Key) keeps the first
// position and takes the last value.
func (p *treeParser) addAttr(space, key, value string) {
	if len(p.attrs) < attrScanMax {
		for i := range p.attrs {
			if p.attrs[i].space == space && p.attrs[i].key == key {
				p.attrs[i].value = value
				return
			}
		}
	} else {
		// Many attributes (only outside the pre-scan's limits): index
		// them, as etree does, rather than search quadratically.
		if len(p.attrs) == attrScanMax {
			clear(p.attrIndex)
			if p.attrIndex == nil {
				p.attrIndex = make(map[[2]string]int)
			}
			for i, a := range p.attrs {
				p.attrIndex[[2]string{a.space, a.key}] = i
			}
		}
		if i, ok := p.attrIndex[[2]string{space, key}]; ok {
			p.attrs[i].value = value
			return
		}
		p.attrIndex[[2]string{space, key}] = len(p.attrs)
	}
	p.attrs = append(p.attrs, rawAttr{space, key, value})
}

// attrScanMax is where addAttr switches from a linear search to a map.
const attrScanMax = 16

func (p *treeParser) procInst() error {
	target, err := p.name()
	if err != nil {
		return err
	}
	p.skipSpace()
	end := strings.Index(p.src[p.pos:], "?>")
	if end < 0 {
		p.pos = len(p.src)
		return p.fail(msgEOF)
	}
	inst := p.src[p.pos : p.pos+end]
	p.pos += end + 2
	if target == "xml" {
		// Only the version is enforced: etree's pass-through
		// CharsetReader makes encoding/xml accept any declared encoding.
		if ver := procInstParam("version=", inst); ver != "" && ver != "1.0" {
			return p.fail(fmt.Sprintf("unsupported XML version %q", ver))
		}
	}
	p.add(etree.NewProcInst(target, inst))
	return nil
}

// bang handles everything after "<!": comments, CDATA sections and
// directives.
func (p *treeParser) bang() error {
	s := p.src
	if p.pos >= len(s) {
		return p.fail(msgEOF)
	}
	switch s[p.pos] {
	case '-':
		p.pos++
		if p.pos >= len(s) {
			return p.fail(msgEOF)
		}
		if s[p.pos] != '-' {
			return p.fail("invalid sequence <!- not part of <!--")
		}
		p.pos++
		// The first "--" must close the comment.
		end := strings.Index(s[p.pos:], "--")
		if end < 0 || p.pos+end+2 >= len(s) {
			p.pos = len(s)
			return p.fail(msgEOF)
		}
		if s[p.pos+end+2] != '>' {
			p.pos += end
			return p.fail(`invalid sequence "--" in comment`)
		}
		p.add(etree.NewComment(s[p.pos : p.pos+end]))
		p.pos += end + 3
		return nil
	case '[':
		p.pos++
		for i := 0; i < len("CDATA["); i++ {
			if p.pos >= len(s) {
				return p.fail(msgEOF)
			}
			if s[p.pos] != "CDATA["[i] {
				return p.fail("invalid <![ sequence")
			}
			p.pos++
		}
		text, err := p.text(-1, true)
		if err != nil {
			return err
		}
		p.add(newText(text))
		return nil
	}
	d, err := p.directive()
	if err != nil {
		return err
	}
	p.add(etree.NewDirective(d))
	return nil
}

// directive mirrors encoding/xml's directive loop statement for statement
// (including the goto): its notion of where a directive ends, with quotes
// and nested "<...>" and comments inside, is what etree stores, and SOAP
// rejects directives before they matter, so exactness beats elegance here.
func (p *treeParser) directive() (string, error) {
	s := p.src
	buf := append(p.buf[:0], s[p.pos])
	p.pos++
	var inquote byte
	depth := 0
	for {
		if p.pos >= len(s) {
			return "", p.fail(msgEOF)
		}
		b := s[p.pos]
		p.pos++
		if inquote == 0 && b == '>' && depth == 0 {
			break
		}
	HandleB:
		buf = append(buf, b)
		switch {
		case b == inquote:
			inquote = 0
		case inquote != 0:
		case b == '\'' || b == '"':
			inquote = b
		case b == '>':
			depth--
		case b == '<':
			const open = "!--"
			for i := 0; i < len(open); i++ {
				if p.pos >= len(s) {
					return "", p.fail(msgEOF)
				}
				b = s[p.pos]
				p.pos++
				if b != open[i] {
					buf = append(buf, open[:i]...)
					depth++
					goto HandleB
				}
			}
			buf = buf[:len(buf)-1] // drop the '<'
			var b0, b1 byte
			for {
				if p.pos >= len(s) {
					return "", p.fail(msgEOF)
				}
				b = s[p.pos]
				p.pos++
				if b0 == '-' && b1 == '-' && b == '>' {
					break
				}
				b0, b1 = b1, b
			}
			buf = append(buf, ' ')
		}
	}
	p.buf = buf
	return string(buf), nil
}

func (p *treeParser) skipSpace() {
	s := p.src
	for p.pos < len(s) {
		switch s[p.pos] {
		case ' ', '\r', '\n', '\t':
			p.pos++
		default:
			return
		}
	}
}

// name reads a name the way encoding/xml's name does: the longest run of
// ASCII name bytes and non-ASCII bytes, which must then be a valid XML
// name, and must be followed by something (EOF inside a name is an error).
func (p *treeParser) name() (string, error) {
	s := p.src
	start := p.pos
	i := start
	ascii := true
	for ; i < len(s); i++ {
		if c := s[i]; c >= 0x80 {
			ascii = false
		} else if !nameByte[c] {
			break
		}
	}
	if i >= len(s) {
		p.pos = i
		return "", p.fail(msgEOF)
	}
	if i == start {
		return "", p.fail("expected name")
	}
	n := s[start:i]
	// For ASCII names only the first byte can be wrong: the ASCII part of
	// the first table is letters, '_' and ':', and of the second digits,
	// '-' and '.'.
	if ascii && !nameStartASCII[n[0]] || !ascii && !isXMLName(n) {
		return "", p.fail("invalid XML name")
	}
	p.pos = i
	return n, nil
}

// nsname splits a name as encoding/xml's nsname does: more than one colon
// is an error, and a leading or trailing colon leaves the whole name in
// the local part (":a" is Local ":a", not Space "" Local "a").
func (p *treeParser) nsname() (space, local string, err error) {
	n, err := p.name()
	if err != nil {
		return "", "", err
	}
	c := strings.IndexByte(n, ':')
	if c < 0 {
		return "", n, nil
	}
	if strings.IndexByte(n[c+1:], ':') >= 0 {
		return "", "", p.fail("more than one colon in name")
	}
	if c == 0 || c == len(n)-1 {
		return "", n, nil
	}
	return n[:c], n[c+1:], nil
}

// nameByte is encoding/xml's isNameByte as a table; nameStartASCII the
// ASCII runes of its first name table.
var nameByte, nameStartASCII = func() (nb, ns [256]bool) {
	for c := 0; c < 0x80; c++ {
		nb[c] = isNameByte(byte(c))
		ns[c] = 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '_' || c == ':'
	}
	return nb, ns
}()
