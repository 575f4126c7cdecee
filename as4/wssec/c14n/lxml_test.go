package c14n

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// The reference implementation is libxml2's exclusive C14N, reached through
// lxml. Debian's python3-lxml is used explicitly: the python3 on PATH may be
// a pyenv build without lxml.
const pythonPath = "/usr/bin/python3"

// lxmlScript canonicalizes, for each job, the element reached from the root
// of a document by a path of element-child indexes. lxml detaches the
// subtree into a fake document with the ancestors' namespace declarations
// copied onto it, which is what a same-document reference needs.
//
// lxml quirk: it drops any inclusive prefix that is not already a string in
// the parsed document's dictionary, so "#default" is silently ignored; ""
// reaches libxml2, which treats "" and "#default" alike (c14n.c).
const lxmlScript = `
import base64, json, sys
from lxml import etree
req = json.load(sys.stdin)
parser = etree.XMLParser(resolve_entities=False, huge_tree=True, no_network=True)
roots = []
for p in req["docs"]:
    try:
        roots.append(etree.parse(p, parser).getroot())
    except Exception as e:
        roots.append(e)
out = []
for j in req["jobs"]:
    el = roots[j["doc"]]
    if isinstance(el, Exception):
        out.append({"error": "parse: " + str(el)})
        continue
    for i in j["path"]:
        el = [c for c in el if isinstance(c.tag, str)][i]
    incl = ["" if p == "#default" else p for p in (j["incl"] or [])] or None
    try:
        c = etree.tostring(el, method="c14n", exclusive=True, with_comments=False, inclusive_ns_prefixes=incl)
        out.append({"c14n": base64.b64encode(c).decode()})
    except Exception as e:
        out.append({"error": str(e)})
json.dump(out, sys.stdout)
`

type lxmlJob struct {
	Doc  int      `json:"doc"`
	Path []int    `json:"path"`
	Incl []string `json:"incl"`
}

type lxmlResult struct {
	C14N  string `json:"c14n"`
	Error string `json:"error"`
}

func requireLxml(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(pythonPath); err != nil {
		t.Skip("python3-lxml not installed; apt-get install python3-lxml")
	}
	if err := exec.Command(pythonPath, "-c", "import lxml.etree").Run(); err != nil {
		t.Skip("python3-lxml not installed; apt-get install python3-lxml")
	}
}

// target is one element to canonicalize with one PrefixList.
type target struct {
	el   *etree.Element
	incl []string
}

// crossDoc is one document: raw bytes for libxml2 (which normalises
// attribute values itself), the tree parsed by Go, and the targets.
type crossDoc struct {
	label   string
	raw     []byte
	root    *etree.Element
	targets []target
}

// elementPath is the list of element-child indexes from the root to el.
func elementPath(root, el *etree.Element) []int {
	path := []int{}
	for e := el; e != root; e = e.Parent() {
		i := slices.Index(e.Parent().ChildElements(), e)
		path = append([]int{i}, path...)
	}
	return path
}

// crossCheck canonicalizes every target with this package and with libxml2
// and reports any difference; it returns the number of comparisons.
func crossCheck(t *testing.T, docs []crossDoc) int {
	t.Helper()
	requireLxml(t)
	dir := t.TempDir()
	req := struct {
		Docs []string  `json:"docs"`
		Jobs []lxmlJob `json:"jobs"`
	}{Jobs: []lxmlJob{}}
	type ref struct {
		doc int
		tg  target
	}
	var refs []ref
	for i, d := range docs {
		p := filepath.Join(dir, fmt.Sprintf("doc%d.xml", i))
		if err := os.WriteFile(p, d.raw, 0o600); err != nil {
			t.Fatal(err)
		}
		req.Docs = append(req.Docs, p)
		for _, tg := range d.targets {
			req.Jobs = append(req.Jobs, lxmlJob{Doc: i, Path: elementPath(d.root, tg.el), Incl: tg.incl})
			refs = append(refs, ref{i, tg})
		}
	}
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(pythonPath, "-c", lxmlScript)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("lxml: %v\n%s", err, stderr.String())
	}
	var results []lxmlResult
	if err := json.Unmarshal(out, &results); err != nil || len(results) != len(refs) {
		t.Fatalf("lxml output: %v (%d results for %d jobs)", err, len(results), len(refs))
	}
	for i, r := range refs {
		d := docs[r.doc]
		name := fmt.Sprintf("%s <%s> %v incl=%q", d.label, r.tg.el.FullTag(), elementPath(d.root, r.tg.el), r.tg.incl)
		if results[i].Error != "" {
			t.Errorf("%s: lxml: %s", name, results[i].Error)
			continue
		}
		want, _ := base64.StdEncoding.DecodeString(results[i].C14N)
		got, err := Canonicalize(r.tg.el, r.tg.incl)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: differs from libxml2 at byte %d\n got: %s\nwant: %s", name, firstDiff(got, want), clip(got), clip(want))
		}
	}
	return len(refs)
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func clip(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}

// declaredPrefixes lists every prefix declared in the tree plus "#default":
// as a PrefixList it makes every namespace inclusive.
func declaredPrefixes(root *etree.Element) []string {
	set := []string{"#default"}
	walk(root, func(e *etree.Element) {
		for _, a := range e.Attr {
			if a.Space == "xmlns" && !slices.Contains(set, a.Key) {
				set = append(set, a.Key)
			}
		}
	})
	return set
}

// signatureTargets adds what a WS-Security verifier canonicalizes: every
// ds:SignedInfo with the PrefixList of its CanonicalizationMethod, and every
// element carrying an Id with each PrefixList used by a Transform.
func signatureTargets(root *etree.Element) []target {
	var tgs []target
	var lists [][]string
	walk(root, func(e *etree.Element) {
		if e.NamespaceURI() != dsigNS {
			return
		}
		switch e.Tag {
		case "SignedInfo":
			tgs = append(tgs, target{e, inclusivePrefixesOf(childNS(e, dsigNS, "CanonicalizationMethod"))})
		case "Transform":
			if l := inclusivePrefixesOf(e); l != nil {
				lists = append(lists, l)
			}
		}
	})
	walk(root, func(e *etree.Element) {
		if !hasAnyID(e) {
			return
		}
		tgs = append(tgs, target{e, nil})
		for _, l := range lists {
			tgs = append(tgs, target{e, l})
		}
	})
	return tgs
}

func TestUnitCasesAgainstLxml(t *testing.T) {
	var docs []crossDoc
	for _, tc := range cases {
		root := mustParse(t, tc.in)
		docs = append(docs, crossDoc{label: tc.name, raw: []byte(tc.in), root: root,
			targets: []target{{pick(t, root, tc.sel), tc.incl}}})
	}
	n := crossCheck(t, docs)
	t.Logf("%d unit cases compared with libxml2", n)
}

// TestCorpusAgainstLxml compares every element of every testdata document
// under three PrefixLists (none, "#default", every declared prefix), plus
// SignedInfo/Id targets, and a generated 5,000-element invoice body.
func TestCorpusAgainstLxml(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.xml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	var docs []crossDoc
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		root := parseDoc(t, raw).Root()
		all := declaredPrefixes(root)
		d := crossDoc{label: filepath.Base(f), raw: raw, root: root}
		walk(root, func(e *etree.Element) {
			d.targets = append(d.targets, target{e, nil}, target{e, []string{"#default"}}, target{e, all})
		})
		d.targets = append(d.targets, signatureTargets(root)...)
		docs = append(docs, d)
	}
	big := []byte(bigBody(5000))
	root := parseDoc(t, big).Root()
	d := crossDoc{label: "generated 5000-element body", raw: big, root: root}
	i := 0
	walk(root, func(e *etree.Element) {
		if i%97 == 0 || e.Tag == "Body" || e.Tag == "Invoice" {
			d.targets = append(d.targets, target{e, nil}, target{e, []string{"#default", "cbc"}})
		}
		i++
	})
	docs = append(docs, d)
	n := crossCheck(t, docs)
	t.Logf("%d corpus canonicalizations (%d files) compared with libxml2", n, len(files)+1)
}

// TestVectorsAgainstLxml does the same for the real interop messages in
// ../shared/vectors: every element without a PrefixList, and the signature
// targets with theirs.
func TestVectorsAgainstLxml(t *testing.T) {
	files := vectorFiles(t)
	requireLxml(t)
	var docs []crossDoc
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		raw, ok := extractXML(data)
		if !ok {
			continue
		}
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(normalizeAttrWS(raw)); err != nil {
			// Two Domibus PModes have a raw '<' in an attribute; libxml2
			// rejects them too.
			t.Logf("%s: not well-formed, skipped: %v", f, err)
			continue
		}
		root := doc.Root()
		d := crossDoc{label: strings.TrimPrefix(f, filepath.Dir(filepath.Dir(f))+"/"), raw: raw, root: root}
		walk(root, func(e *etree.Element) { d.targets = append(d.targets, target{e, nil}) })
		d.targets = append(d.targets, signatureTargets(root)...)
		docs = append(docs, d)
	}
	n := crossCheck(t, docs)
	t.Logf("%d canonicalizations over %d vector documents compared with libxml2", n, len(docs))
}
