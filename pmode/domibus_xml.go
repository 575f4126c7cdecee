package pmode

import (
	"bytes"
	"strings"

	"github.com/beevik/etree"
)

// repairAttributeValues escapes the characters XML forbids unescaped inside
// attribute values: '<', and '&' that does not start a character or entity
// reference. Domibus ships its sample P-Modes as templates with
// endpoint="http://<red_hostname>:8080/...", which no XML parser accepts;
// operators copy such files. Only quoted values inside tags are touched, never
// text, comments, CDATA, processing instructions or the DOCTYPE. It returns the
// repaired input and the 1-based line of every repair.
func repairAttributeValues(data []byte) ([]byte, []int) {
	var out bytes.Buffer
	var lines []int
	line := 1
	i := 0
	// skipTo copies input up to and including the terminator (or to the end).
	skipTo := func(term string) {
		end := bytes.Index(data[i:], []byte(term))
		if end < 0 {
			end = len(data) - i
		} else {
			end += len(term)
		}
		line += bytes.Count(data[i:i+end], []byte{'\n'})
		out.Write(data[i : i+end])
		i += end
	}
	for i < len(data) {
		c := data[i]
		if c != '<' {
			if c == '\n' {
				line++
			}
			out.WriteByte(c)
			i++
			continue
		}
		rest := data[i:]
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			skipTo("-->")
			continue
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			skipTo("]]>")
			continue
		case bytes.HasPrefix(rest, []byte("<?")):
			skipTo("?>")
			continue
		case bytes.HasPrefix(rest, []byte("<!")):
			skipTo(">")
			continue
		}
		// A tag: copy it, repairing quoted values, up to its '>'.
		out.WriteByte('<')
		i++
		var quote byte
	tag:
		for i < len(data) {
			c := data[i]
			if c == '\n' {
				line++
			}
			switch {
			case quote == 0 && (c == '"' || c == '\''):
				quote = c
			case quote == 0 && c == '>':
				out.WriteByte(c)
				i++
				break tag
			case quote != 0 && c == quote:
				quote = 0
			case quote != 0 && c == '<':
				out.WriteString("&lt;")
				lines = append(lines, line)
				i++
				continue
			case quote != 0 && c == '&' && !isReference(data[i:]):
				out.WriteString("&amp;")
				lines = append(lines, line)
				i++
				continue
			}
			out.WriteByte(c)
			i++
		}
	}
	return out.Bytes(), lines
}

// isReference reports whether s starts with a character or entity reference.
func isReference(s []byte) bool {
	end := bytes.IndexByte(s, ';')
	if end < 2 || end > 32 {
		return false
	}
	ref := s[1:end]
	if ref[0] == '#' {
		digits := ref[1:]
		if len(digits) > 0 && (digits[0] == 'x' || digits[0] == 'X') {
			digits = digits[1:]
			return len(digits) > 0 && bytes.IndexFunc(digits, func(r rune) bool { return !strings.ContainsRune("0123456789abcdefABCDEF", r) }) < 0
		}
		return len(digits) > 0 && bytes.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' }) < 0
	}
	return bytes.IndexFunc(ref, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.')
	}) < 0
}

// children returns the child elements with the given local name, in any
// namespace: Domibus's schema leaves child elements unqualified, but files
// written with a default namespace put them in the configuration namespace.
func children(el *etree.Element, local string) []*etree.Element {
	if el == nil {
		return nil
	}
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if c.Tag == local {
			out = append(out, c)
		}
	}
	return out
}

func child(el *etree.Element, local string) *etree.Element {
	if cs := children(el, local); len(cs) > 0 {
		return cs[0]
	}
	return nil
}

// attr returns an attribute value by local name (unqualified in Domibus files), trimmed.
func attr(el *etree.Element, key string) string {
	if el == nil {
		return ""
	}
	for _, a := range el.Attr {
		if a.Key == key && a.Space != "xmlns" {
			return strings.TrimSpace(a.Value)
		}
	}
	return ""
}

// boolAttr reads xsd:boolean ("true"/"1"); dflt when absent.
func boolAttr(el *etree.Element, key string, dflt bool) bool {
	switch strings.ToLower(attr(el, key)) {
	case "true", "1":
		return true
	case "false", "0":
		return false
	}
	return dflt
}
