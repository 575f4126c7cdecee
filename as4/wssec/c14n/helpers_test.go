package c14n

import (
	"bytes"
	"errors"
	"github.com/as4gw/as4gw/internal/testutil"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/as4gw/as4gw/as4/soap"
)

// normalizeAttrWS is the inbound parser's attribute-value normalisation, so
// the corpus is read exactly as the gateway reads a message.
var normalizeAttrWS = soap.NormalizeAttributeWhitespace

// parseDoc parses XML the way the inbound path does (attribute values
// normalised first).
func parseDoc(t testing.TB, data []byte) *etree.Document {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(normalizeAttrWS(data)); err != nil {
		t.Fatalf("parse: %v", err)
	}
	return doc
}

func mustParse(t testing.TB, s string) *etree.Element {
	t.Helper()
	return parseDoc(t, []byte(s)).Root()
}

// extractXML turns a stored vector into the XML envelope bytes: it strips a
// UTF-8 BOM, HTTP or MIME headers (.as4in, .as4out, .mime), takes the root
// (first) part of a multipart body and drops comments before the XML
// declaration. ok is false for files that are not XML at all.
func extractXML(data []byte) (xml []byte, ok bool) {
	bom := []byte("\xef\xbb\xbf")
	trim := func(b []byte) []byte { return bytes.TrimLeft(bytes.TrimPrefix(b, bom), " \t\r\n") }
	data = trim(data)
	if len(data) > 0 && data[0] != '<' && !bytes.HasPrefix(data, []byte("--")) {
		// A header block first (HTTP response or MIME message headers).
		if data, ok = afterHeaders(data); !ok {
			return nil, false
		}
		data = trim(data)
	}
	if bytes.HasPrefix(data, []byte("--")) {
		line, rest, found := bytes.Cut(data, []byte("\n"))
		if !found {
			return nil, false
		}
		delimiter := bytes.TrimSpace(line)
		body, ok := afterHeaders(rest)
		if !ok {
			return nil, false
		}
		if k := bytes.Index(body, delimiter); k >= 0 {
			body = body[:k]
		}
		data = trim(body)
	}
	for bytes.HasPrefix(data, []byte("<!--")) {
		k := bytes.Index(data, []byte("-->"))
		if k < 0 {
			return nil, false
		}
		data = trim(data[k+3:])
	}
	return data, bytes.HasPrefix(data, []byte("<"))
}

// afterHeaders returns what follows the first empty line (CRLF or LF).
func afterHeaders(b []byte) ([]byte, bool) {
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return nil, false
		}
		line := bytes.TrimSuffix(b[i:i+j], []byte("\r"))
		i += j + 1
		if len(line) == 0 {
			return b[i:], true
		}
	}
	return nil, false
}

// vectorsDir is ../shared/vectors, read in place (see internal/testutil: it
// skips where the folder is absent, and fails in CI).
func vectorsDir(t testing.TB) string {
	t.Helper()
	return testutil.VectorsDir(t)
}

// vectorFiles lists the stored messages under the vectors folder.
func vectorFiles(t testing.TB) []string {
	t.Helper()
	root := vectorsDir(t)
	var files []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "derived" {
				return filepath.SkipDir
			}
			return nil
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".xml", ".as4", ".as4in", ".as4out", ".mime", ".txt":
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// hasID reports whether el carries id in an Id-like attribute (wsu:Id, Id,
// ID, id); Domibus puts both id and wsu:Id on eb:Messaging.
func hasID(el *etree.Element, id string) bool {
	for _, a := range el.Attr {
		if (a.Key == "Id" || a.Key == "ID" || a.Key == "id") && a.Value == id &&
			(a.Space == "" || a.NamespaceURI() == wsuNS) {
			return true
		}
	}
	return false
}

// hasAnyID reports whether el carries an Id-like attribute at all.
func hasAnyID(el *etree.Element) bool {
	for _, a := range el.Attr {
		if (a.Key == "Id" || a.Key == "ID" || a.Key == "id") && (a.Space == "" || a.NamespaceURI() == wsuNS) {
			return true
		}
	}
	return false
}

const (
	wsuNS   = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
	dsigNS  = "http://www.w3.org/2000/09/xmldsig#"
	excC14N = Algorithm
)

// walk visits el and its descendant elements in document order.
func walk(el *etree.Element, f func(*etree.Element)) {
	f(el)
	for _, c := range el.ChildElements() {
		walk(c, f)
	}
}

// findByID returns the one element carrying id; an id that occurs twice is
// an error (the anti-wrapping rule; here it keeps the digest test honest).
func findByID(root *etree.Element, id string) (*etree.Element, error) {
	var found []*etree.Element
	walk(root, func(e *etree.Element) {
		if hasID(e, id) {
			found = append(found, e)
		}
	})
	switch len(found) {
	case 0:
		return nil, errors.New("no element with Id " + id)
	case 1:
		return found[0], nil
	}
	return nil, errors.New("Id " + id + " occurs more than once")
}

// inclusivePrefixesOf returns the PrefixList of the ec:InclusiveNamespaces
// child of a ds:CanonicalizationMethod or ds:Transform.
func inclusivePrefixesOf(method *etree.Element) []string {
	if method == nil {
		return nil
	}
	for _, c := range method.ChildElements() {
		if c.Tag == "InclusiveNamespaces" && c.NamespaceURI() == excC14N {
			return ParsePrefixList(c.SelectAttrValue("PrefixList", ""))
		}
	}
	return nil
}

// childNS returns the first child element with the given namespace and local
// name.
func childNS(el *etree.Element, ns, local string) *etree.Element {
	for _, c := range el.ChildElements() {
		if c.Tag == local && c.NamespaceURI() == ns {
			return c
		}
	}
	return nil
}
