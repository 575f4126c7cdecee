package c14n

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// The differential tests hold the pooled, chunked canonicalizer to the
// previous implementation (reference_test.go) byte for byte and error for
// error, over every element of the corpus, the vectors, documents whose
// output straddles chunk boundaries, and fuzzed input.

// compareAll canonicalizes el every way the package offers and reports any
// difference from the reference. It returns false after the first one.
func compareAll(t testing.TB, label string, el *etree.Element, prefixes []string) bool {
	t.Helper()
	opts := Options{InclusivePrefixes: prefixes}
	want, wantErr := refCanonicalizeBytes(el, opts)
	got, err := CanonicalizeWithOptions(el, opts)
	if !sameResult(t, label+" Canonicalize", got, err, want, wantErr) {
		return false
	}
	var sink chunkedWriter
	err = CanonicalizeTo(&sink, el, opts)
	if wantErr == nil && !sameResult(t, label+" CanonicalizeTo", sink.buf.Bytes(), err, want, wantErr) {
		return false
	}
	if wantErr != nil && errString(err) != errString(wantErr) {
		t.Errorf("%s CanonicalizeTo: error %v, reference %v", label, err, wantErr)
		return false
	}

	for _, exclude := range []*etree.Element{nil, firstChildElement(el)} {
		iopts := InclusiveOptions{Exclude: exclude}
		want, wantErr := refCanonicalizeInclusiveBytes(el, iopts)
		got, err := CanonicalizeInclusive(el, iopts)
		if !sameResult(t, fmt.Sprintf("%s CanonicalizeInclusive(exclude=%v)", label, exclude != nil), got, err, want, wantErr) {
			return false
		}
		var buf bytes.Buffer
		err = CanonicalizeInclusiveTo(&buf, el, iopts)
		if wantErr == nil && !sameResult(t, label+" CanonicalizeInclusiveTo", buf.Bytes(), err, want, wantErr) {
			return false
		}
	}
	return true
}

func sameResult(t testing.TB, label string, got []byte, err error, want []byte, wantErr error) bool {
	t.Helper()
	if errString(err) != errString(wantErr) {
		t.Errorf("%s: error %v, reference %v", label, err, wantErr)
		return false
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: differs from the reference at byte %d\n got: %s\nwant: %s", label, firstDiff(got, want), clip(got), clip(want))
		return false
	}
	return true
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func firstChildElement(el *etree.Element) *etree.Element {
	for _, tok := range el.Child {
		if c, ok := tok.(*etree.Element); ok {
			return c
		}
	}
	return nil
}

// chunkedWriter is a plain io.Writer (not a *bytes.Buffer, which could take
// a shortcut) that collects the output and rejects empty writes, which the
// buffered output should never issue.
type chunkedWriter struct{ buf bytes.Buffer }

func (w *chunkedWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, fmt.Errorf("empty write")
	}
	return w.buf.Write(p)
}

func compareTree(t *testing.T, label string, root *etree.Element) int {
	t.Helper()
	all := declaredPrefixes(root)
	n := 0
	walk(root, func(e *etree.Element) {
		for _, pl := range [][]string{nil, {"#default"}, all} {
			if !compareAll(t, fmt.Sprintf("%s <%s> %v incl=%q", label, e.FullTag(), elementPath(root, e), pl), e, pl) {
				t.FailNow()
			}
			n++
		}
	})
	return n
}

func TestDifferentialCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.xml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	n := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n += compareTree(t, filepath.Base(f), parseDoc(t, raw).Root())
	}
	for _, tc := range cases {
		n += compareTree(t, tc.name, mustParse(t, tc.in))
	}
	for _, f := range vectorFiles(t) {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		xml, ok := extractXML(raw)
		if !ok {
			continue
		}
		doc := etree.NewDocument()
		if doc.ReadFromBytes(normalizeAttrWS(xml)) != nil || doc.Root() == nil {
			continue
		}
		n += compareTree(t, filepath.Base(f), doc.Root())
	}
	t.Logf("%d element/PrefixList combinations identical to the reference", n)
}

// TestChunkBoundaries puts escapes, names and long text across the 16 KB
// chunk boundaries in both output modes.
func TestChunkBoundaries(t *testing.T) {
	// Whole units (entity references, multi-byte characters are never cut)
	// after a pad that shifts them across the boundary one byte at a time.
	var pad int
	long := func(n int, unit string) string { return strings.Repeat("x", pad) + strings.Repeat(unit, n/len(unit)+1) }
	var docs []string
	for _, n := range []int{chunkSize - 40, 3*chunkSize + 5} {
		for pad = range 9 {
			docs = append(docs,
				`<a xmlns="urn:x"><b>`+long(n, "ab&amp;\r&lt;c&gt;")+`</b></a>`,
				`<a xmlns:p="urn:p"><p:b p:v="`+long(n, `x&quot;&#9;&#10;&#13;&amp;`)+`">t</p:b></a>`,
				`<a><`+long(n, "n")+`/></a>`,
				`<a>`+long(n, "\u00e5\u4e2d\U0001F600")+`</a>`,
			)
		}
	}
	docs = append(docs, bigBody(700), bigBody(7000))
	for i, d := range docs {
		root := mustParse(t, d)
		walk(root, func(e *etree.Element) {
			if !compareAll(t, fmt.Sprintf("doc %d <%s>", i, e.FullTag()), e, []string{"#default"}) {
				t.FailNow()
			}
		})
	}
}

// TestStreamWriteError: a failing writer is reported, and a reused pooled
// canonicalizer is not poisoned by it.
func TestStreamWriteError(t *testing.T) {
	body := pick(t, mustParse(t, bigBody(2000)), "S12:Body")
	for range 3 {
		if err := CanonicalizeTo(&failWriter{n: chunkSize + 10}, body, Options{}); err == nil {
			t.Fatal("write error not reported")
		}
		if !compareAll(t, "after write error", body, nil) {
			t.FailNow()
		}
	}
	if err := CanonicalizeTo(shortWriter{}, body, Options{}); err != io.ErrShortWrite {
		t.Errorf("short write: %v", err)
	}
	if err := CanonicalizeTo(nil, body, Options{}); err == nil {
		t.Error("nil writer accepted")
	}
}

// shortWriter breaks the io.Writer contract: fewer bytes and no error.
type shortWriter struct{}

func (shortWriter) Write(p []byte) (int, error) { return len(p) / 2, nil }

// TestPooledStateAfterErrors: canonicalization errors part-way through a
// tree leave the pooled state (stacks, chunks) clean for the next call.
func TestPooledStateAfterErrors(t *testing.T) {
	good := pick(t, mustParse(t, bigBody(300)), "S12:Body")
	bad := []string{
		`<a xmlns:p="urn:p"><b><p:c/></b><q:d/></a>`,
		`<a><b xmlns:xml="urn:not-xml"/></a>`,
		`<a xmlns:p="urn:p" xmlns:q="urn:p"><b p:x="1" q:x="2"/></a>`,
	}
	for _, s := range bad {
		doc := etree.NewDocument()
		if err := doc.ReadFromString(s); err != nil {
			t.Fatal(err)
		}
		if _, err := Canonicalize(doc.Root(), nil); err == nil {
			t.Errorf("%s: no error", s)
		}
		if _, err := CanonicalizeWithOptions(good, Options{MaxElements: 10}); err != ErrTooManyElements {
			t.Errorf("limit: %v", err)
		}
		if !compareAll(t, "after "+s, good, []string{"#default", "cbc"}) {
			t.FailNow()
		}
	}
}

func TestAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under -race")
	}
	body := pick(t, mustParse(t, bigBody(50)), "S12:Body")
	want, err := Canonicalize(body, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Warm the pools, then a streamed digest allocates nothing of size.
	h := sha256.New()
	_ = CanonicalizeTo(h, body, Options{})
	streamed := testing.AllocsPerRun(50, func() {
		h.Reset()
		_ = CanonicalizeTo(h, body, Options{})
	})
	collected := testing.AllocsPerRun(50, func() { _, _ = Canonicalize(body, nil) })
	t.Logf("%d canonical bytes: %.1f allocs streamed, %.1f collected", len(want), streamed, collected)
	// sync.Pool may drop an entry at a GC; anything beyond one pool miss
	// per run means per-call state is allocated again.
	if streamed > 1 || collected > 2 {
		t.Errorf("allocs per call: streamed %.1f, collected %.1f", streamed, collected)
	}
}

// FuzzDifferential: any well-formed input, any element, any PrefixList,
// canonicalizes identically to the reference (or fails identically).
func FuzzDifferential(f *testing.F) {
	for _, tc := range cases {
		f.Add([]byte(tc.in), strings.Join(tc.incl, " "), uint8(0))
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "*.xml"))
	for _, p := range files {
		if raw, err := os.ReadFile(p); err == nil {
			f.Add(raw, "#default", uint8(3))
		}
	}
	f.Add([]byte(`<a xmlns="urn:a" xmlns:p="urn:p" xml:lang="sv"><p:b xmlns="" p:x="&#9;" y="&lt;"><!--c--><?pi x?>t&#13;</p:b></a>`), "p #default", uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, prefixList string, pick uint8) {
		if len(data) > 64<<10 {
			return
		}
		doc := etree.NewDocument()
		if doc.ReadFromBytes(normalizeAttrWS(data)) != nil || doc.Root() == nil {
			return
		}
		var els []*etree.Element
		walk(doc.Root(), func(e *etree.Element) { els = append(els, e) })
		el := els[int(pick)%len(els)]
		prefixes := ParsePrefixList(prefixList)
		if !compareAll(t, "fuzz", el, prefixes) {
			return
		}
		// Limits fail identically too.
		opts := Options{InclusivePrefixes: prefixes, MaxElements: 3, MaxDepth: 2}
		want, wantErr := refCanonicalizeBytes(el, opts)
		got, err := CanonicalizeWithOptions(el, opts)
		sameResult(t, "fuzz limits", got, err, want, wantErr)
		var ref bytes.Buffer
		if refCanonicalizeTo(&ref, el, Options{InclusivePrefixes: prefixes}) == nil {
			var sink chunkedWriter
			if err := CanonicalizeTo(io.Writer(&sink), el, Options{InclusivePrefixes: prefixes}); err != nil || !bytes.Equal(sink.buf.Bytes(), ref.Bytes()) {
				t.Errorf("fuzz stream: %v", err)
			}
		}
	})
}

// BenchmarkReference runs the reference implementation on the inputs of
// BenchmarkCanonicalize and BenchmarkInclusive, so a before/after
// comparison is taken under the same machine load.
func BenchmarkReference(b *testing.B) {
	for _, size := range []int{10 << 10, 1 << 20} {
		body, n := benchBody(b, size)
		b.Run(fmt.Sprintf("%dKB/bytes", size>>10), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := refCanonicalizeBytes(body, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("%dKB/sha256-stream", size>>10), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			h := sha256.New()
			for b.Loop() {
				h.Reset()
				if err := refCanonicalizeTo(h, body, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	els := benchHeaders(b)
	b.Run("headers/bytes", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, el := range els {
				if _, err := refCanonicalizeBytes(el, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("headers/sha256-stream", func(b *testing.B) {
		b.ReportAllocs()
		h := sha256.New()
		for b.Loop() {
			for _, el := range els {
				h.Reset()
				if err := refCanonicalizeTo(h, el, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("inclusive", func(b *testing.B) {
		root := parseDoc(b, []byte(bigBody(2000))).Root()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := refCanonicalizeInclusiveBytes(root, InclusiveOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
