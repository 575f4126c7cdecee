package soap

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"mime/multipart"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// fuzzLimits are small so that the fuzzer reaches every limit quickly and
// the invariants below are cheap to check.
var fuzzLimits = Limits{
	MaxMessageBytes:          1 << 20,
	MaxEnvelopeBytes:         64 << 10,
	MaxParts:                 8,
	MaxPartHeaderBytes:       1 << 10,
	MaxAttachmentBytes:       256 << 10,
	MaxXMLDepth:              16,
	MaxAttributesPerElement:  8,
	MaxNamespaceDeclarations: 16,
	MaxElements:              256,
	MaxDecompressedBytes:     64 << 10,
}

// addVectorSeeds adds the stored interop vectors (when present) through
// add; the fuzz targets run without them too.
func addVectorSeeds(f *testing.F, add func(rel string, data []byte)) {
	f.Helper()
	dir, err := os.Getwd()
	if err != nil {
		return
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return
		}
		dir = parent
	}
	vectors := filepath.Join(dir, "..", "shared", "vectors")
	if _, err := os.Stat(vectors); err != nil {
		return
	}
	for _, rel := range envelopeVectors(f, vectors) {
		data, err := os.ReadFile(filepath.Join(vectors, rel))
		if err == nil && len(data) <= 64<<10 {
			add(rel, data)
		}
	}
}

// checkMessage asserts the invariants every successfully read message
// must satisfy under fuzzLimits.
func checkMessage(t *testing.T, msg *Message) {
	t.Helper()
	if msg.Envelope == nil || msg.Envelope.Body == nil || msg.Envelope.Root == nil {
		t.Fatal("message without envelope or Body")
	}
	if v := msg.Envelope.Version; v != SOAP12 && v != SOAP11 {
		t.Fatalf("version %v", v)
	}
	if int64(len(msg.EnvelopeBytes)) > fuzzLimits.MaxEnvelopeBytes {
		t.Fatalf("envelope of %d bytes passed MaxEnvelopeBytes", len(msg.EnvelopeBytes))
	}
	if len(msg.Attachments)+1 > fuzzLimits.MaxParts {
		t.Fatalf("%d attachments passed MaxParts", len(msg.Attachments))
	}
	checkTree(t, msg.Envelope.Root)
	seen := make(map[string]bool)
	for _, a := range msg.Attachments {
		if a.ContentID != "" {
			if seen[a.ContentID] {
				t.Fatalf("duplicate Content-ID %q accepted", a.ContentID)
			}
			seen[a.ContentID] = true
		}
		if a.Size > fuzzLimits.MaxAttachmentBytes {
			t.Fatalf("attachment of %d bytes passed MaxAttachmentBytes", a.Size)
		}
		rc, err := a.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(data)) != a.Size || sha256.Sum256(data) != a.SHA256 {
			t.Fatal("Size/SHA256 do not describe the spooled file")
		}
	}
}

// checkTree asserts the XML limits and attribute normalisation on a tree.
func checkTree(t *testing.T, root *etree.Element) {
	t.Helper()
	elements := 0
	var walk func(e *etree.Element, depth int)
	walk = func(e *etree.Element, depth int) {
		elements++
		if depth > fuzzLimits.MaxXMLDepth {
			t.Fatalf("depth %d passed MaxXMLDepth", depth)
		}
		if len(e.Attr) > fuzzLimits.MaxAttributesPerElement {
			t.Fatalf("%d attributes passed MaxAttributesPerElement", len(e.Attr))
		}
		for _, a := range e.Attr {
			if strings.ContainsAny(a.Value, "\t\r\n") {
				t.Fatalf("attribute %s=%q not normalised", a.FullKey(), a.Value)
			}
		}
		for _, c := range e.ChildElements() {
			walk(c, depth+1)
		}
	}
	walk(root, 1)
	if elements > fuzzLimits.MaxElements {
		t.Fatalf("%d elements passed MaxElements", elements)
	}
}

// checkError asserts that a failure is one of the documented kinds.
func checkError(t *testing.T, err error) {
	t.Helper()
	var le *LimitError
	var ee *EnvelopeError
	var me *MIMEError
	if !errors.As(err, &le) && !errors.As(err, &ee) && !errors.As(err, &me) && !strings.HasPrefix(err.Error(), "soap: ") {
		t.Fatalf("undocumented error kind %T: %v", err, err)
	}
}

func FuzzReadMessage(f *testing.F) {
	// Small thresholds, so that fuzz inputs reach both the parts held in
	// memory and the spooled ones, and the budget running out between them.
	part, msg := memoryPartBytes, memoryMessageBytes
	memoryPartBytes, memoryMessageBytes = 64, 200
	f.Cleanup(func() { memoryPartBytes, memoryMessageBytes = part, msg })
	f.Add(multipartCT(""), []byte(buildMIME("\r\n", rootPart("Content-ID: <r>"), mimePart{[]string{"Content-ID: <a>", "Content-Transfer-Encoding: base64"}, "aGVsbG8="})))
	f.Add(multipartCT(`; start="<r>"`), []byte(buildMIME("\n", mimePart{[]string{"Content-ID: <a>", "Content-Transfer-Encoding: quoted-printable"}, "a=3Db=\n"}, rootPart("Content-ID: <r>"))))
	f.Add(MediaTypeSOAP12, []byte(env12))
	f.Add(MediaTypeSOAP11, []byte(env11))
	addVectorSeeds(f, func(rel string, data []byte) {
		if m, info, err := ReadCapturedInfo(bytes.NewReader(data), "", DefaultLimits(), f.TempDir()); err == nil {
			m.Close()
			if info.Format == CaptureBareMultipart {
				f.Add(info.ContentType, data)
			}
		}
	})
	spool := f.TempDir() // one per fuzz worker: t.TempDir per input would dominate the run time
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		msg, err := ReadMessage(bytes.NewReader(body), contentType, fuzzLimits, spool)
		if err != nil {
			checkError(t, err)
			assertDirEmpty(t, spool)
			return
		}
		checkMessage(t, msg)
		if err := msg.Close(); err != nil {
			t.Fatal(err)
		}
		assertDirEmpty(t, spool)
	})
}

func FuzzParseEnvelope(f *testing.F) {
	f.Add([]byte(env12))
	f.Add([]byte(env11))
	f.Add([]byte("\xEF\xBB\xBF<!-- c --><?xml version=\"1.0\"?>" + env12))
	f.Add([]byte(deepXML(20)))
	f.Add([]byte(`<!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>`))
	addVectorSeeds(f, func(rel string, data []byte) {
		if bytes.Contains(data[:min(len(data), 300)], []byte("<")) && !bytes.HasPrefix(bytes.TrimLeft(data, "\xEF\xBB\xBF\r\n"), []byte("--")) {
			f.Add(data)
		}
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := ParseEnvelope(bytes.NewReader(data), fuzzLimits)
		if err != nil {
			checkError(t, err)
			return
		}
		checkTree(t, env.Root)
		// What we write, we must be able to read again, and writing is
		// stable from then on.
		out, err := env.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		lim := fuzzLimits
		lim.MaxEnvelopeBytes = int64(len(out)) + 1
		again, err := ParseEnvelope(bytes.NewReader(out), lim)
		if err != nil {
			t.Fatalf("cannot re-read our own output: %v\n%s", err, out)
		}
		out2, err := again.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, out2) {
			t.Fatalf("output not stable:\n%s\n%s", out, out2)
		}
	})
}

func FuzzReadCaptured(f *testing.F) {
	f.Add("", []byte("HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\n\r\n"+env12))
	f.Add("", []byte("MIME-Version: 1.0\nContent-Type: "+multipartCT("")+"\n\n"+buildMIME("\n", rootPart())))
	f.Add("", []byte(buildMIME("\r\n", rootPart(), mimePart{[]string{"Content-ID: <a>"}, "A"})))
	f.Add(MediaTypeSOAP11, []byte(env11))
	addVectorSeeds(f, func(rel string, data []byte) { f.Add("", data) })
	spool := f.TempDir()
	f.Fuzz(func(t *testing.T, hint string, data []byte) {
		msg, err := ReadCaptured(bytes.NewReader(data), hint, fuzzLimits, spool)
		if err != nil {
			checkError(t, err)
			assertDirEmpty(t, spool)
			return
		}
		checkMessage(t, msg)
		if err := msg.Close(); err != nil {
			t.Fatal(err)
		}
		assertDirEmpty(t, spool)
	})
}

func FuzzDecompress(f *testing.F) {
	var hello, multi bytes.Buffer
	Compress(&hello, strings.NewReader("hello"))
	Compress(&multi, strings.NewReader("a"))
	Compress(&multi, strings.NewReader("b"))
	var bomb bytes.Buffer
	Compress(&bomb, bytes.NewReader(make([]byte, 1<<20)))
	f.Add(hello.Bytes(), int64(5))
	f.Add(hello.Bytes(), int64(4))
	f.Add(multi.Bytes(), int64(100))
	f.Add(bomb.Bytes(), int64(1000))
	f.Add([]byte{}, int64(10))
	f.Add([]byte("\x1f\x8b\x08\x00garbage"), int64(10))
	f.Fuzz(func(t *testing.T, data []byte, max int64) {
		if max <= 0 || max > 1<<20 {
			max = 1 << 16
		}
		rc := Decompress(bytes.NewReader(data), max)
		n, err := io.Copy(io.Discard, rc)
		rc.Close()
		if n > max {
			t.Fatalf("produced %d bytes past the limit %d", n, max)
		}
		if err == nil {
			return
		}
		var le *LimitError
		var de *DecompressionError
		switch {
		case errors.As(err, &le):
			if le.Limit != "MaxDecompressedBytes" || n != max {
				t.Fatalf("limit error %v after %d bytes (max %d)", err, n, max)
			}
		case errors.As(err, &de):
		default:
			t.Fatalf("undocumented error kind %T: %v", err, err)
		}
	})
}

// FuzzMultipartGuard checks the guard against mime/multipart itself: on
// any body multipart reads to a clean end, both must count the same parts,
// or the guard would refuse good messages (or let extra parts through).
func FuzzMultipartGuard(f *testing.F) {
	f.Add([]byte(buildMIME("\r\n", rootPart(), mimePart{[]string{"Content-ID: <a>"}, "A\n--" + testBoundary + "\n"})))
	f.Add([]byte(buildMIME("\n", rootPart(), mimePart{nil, "\r\n--" + testBoundary + "\r\n"})))
	f.Add([]byte("pre\r\n--" + testBoundary + " \r\n\r\n--" + testBoundary + "\r\n\r\nx\r\n--" + testBoundary + "--"))
	f.Fuzz(func(t *testing.T, body []byte) {
		lim := Limits{MaxMessageBytes: 1 << 30, MaxParts: 1 << 30, MaxPartHeaderBytes: 1 << 30}
		g := newMultipartGuard(bytes.NewReader(body), testBoundary, lim)
		mr := multipart.NewReader(g, testBoundary)
		parts := 0
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				return // malformed: multipart's verdict stands, nothing to compare
			}
			parts++
			if _, err := io.Copy(io.Discard, p); err != nil {
				return
			}
		}
		if !g.sawCloseDelimiter() {
			return // truncated: ReadMessage refuses it, whatever the counts
		}
		if g.parts != parts {
			t.Fatalf("guard counted %d parts, multipart read %d", g.parts, parts)
		}
	})
}
