package soap

import (
	"bytes"
	"crypto/sha256"
	"hash"
	"io"
	"mime"
	"runtime"
	"strings"
	"testing"
)

func TestWriterContentType(t *testing.T) {
	w := NewWriter(io.Discard)
	mt, params, err := mime.ParseMediaType(w.ContentType())
	if err != nil {
		t.Fatal(err)
	}
	if mt != "multipart/related" || params["type"] != MediaTypeSOAP12 || params["boundary"] != w.Boundary() || params["start"] != "<"+w.RootContentID()+">" {
		t.Fatalf("content type %q", w.ContentType())
	}
	if other := NewWriter(io.Discard); other.Boundary() == w.Boundary() || other.RootContentID() == w.RootContentID() {
		t.Fatal("boundary or root Content-ID not random")
	}
}

func TestWriterRoundTrip(t *testing.T) {
	envBytes, err := NewEnvelope(SOAP12).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	attachments := []struct{ cid, ct, content string }{
		{"payload-1@as4gw", CompressionTypeGzip, "\x1f\x8b binary \r\n--" + "\x00\xff"},
		{"message", "text/xml", "<x/>"},
		{"empty@x", "application/octet-stream", ""},
	}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.SetRootContentID("root@as4gw"); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteEnvelope(envBytes); err != nil {
		t.Fatal(err)
	}
	for _, a := range attachments {
		n, err := w.WriteAttachment(a.cid, a.ct, strings.NewReader(a.content))
		if err != nil || n != int64(len(a.content)) {
			t.Fatalf("WriteAttachment %s: %d, %v", a.cid, n, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	wire := buf.String()
	for _, want := range []string{"Content-ID: <root@as4gw>\r\n", "Content-Transfer-Encoding: binary\r\n", "Content-Type: application/soap+xml; charset=UTF-8\r\n"} {
		if !strings.Contains(wire, want) {
			t.Errorf("wire message lacks %q", want)
		}
	}

	msg, err := ReadMessage(&buf, w.ContentType(), DefaultLimits(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer msg.Close()
	if !bytes.Equal(msg.EnvelopeBytes, envBytes) || msg.RootContentID != "root@as4gw" {
		t.Fatalf("root part changed: %q <%s>", msg.EnvelopeBytes, msg.RootContentID)
	}
	if len(msg.Attachments) != len(attachments) {
		t.Fatalf("%d attachments", len(msg.Attachments))
	}
	for i, a := range attachments {
		got := msg.Attachments[i]
		if got.ContentID != a.cid || got.ContentType != a.ct || got.Size != int64(len(a.content)) || got.SHA256 != sha256.Sum256([]byte(a.content)) {
			t.Errorf("attachment %d: %+v", i, got)
		}
		if byRef, err := msg.AttachmentByCID(CIDURL(a.cid)); err != nil || byRef != got {
			t.Errorf("AttachmentByCID(%s): %v", CIDURL(a.cid), err)
		}
	}
}

func TestWriterMisuse(t *testing.T) {
	w := NewWriter(io.Discard)
	if _, err := w.WriteAttachment("a", "text/plain", strings.NewReader("")); err == nil {
		t.Error("attachment before envelope accepted")
	}
	if err := w.Close(); err == nil {
		t.Error("Close without envelope accepted")
	}
	if err := w.WriteEnvelope([]byte(env12)); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteEnvelope([]byte(env12)); err == nil {
		t.Error("second envelope accepted")
	}
	if err := w.SetRootContentID("late"); err == nil {
		t.Error("SetRootContentID after the first part accepted")
	}
	bad := []struct{ cid, ct string }{
		{"", "text/plain"},
		{"a b", "text/plain"},
		{"a>\r\nX-Injected: 1", "text/plain"},
		{"<a>", "text/plain"},
		{"ok", "text/plain\r\nX-Injected: 1"},
		{"ok", ""},
		{w.RootContentID(), "text/plain"},
	}
	for _, b := range bad {
		if _, err := w.WriteAttachment(b.cid, b.ct, strings.NewReader("")); err == nil {
			t.Errorf("WriteAttachment(%q, %q) accepted", b.cid, b.ct)
		}
	}
	if _, err := w.WriteAttachment("a", "text/plain", strings.NewReader("")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteAttachment("a", "text/plain", strings.NewReader("")); err == nil {
		t.Error("duplicate Content-ID accepted")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteAttachment("b", "text/plain", strings.NewReader("")); err == nil {
		t.Error("attachment after Close accepted")
	}
}

func TestCIDURL(t *testing.T) {
	tests := map[string]string{
		"a@b":         "cid:a@b",
		"x.y-z_1~":    "cid:x.y-z_1~",
		"50%off":      "cid:50%25off",
		"q?#[]{}|^`":  "cid:q%3F%23%5B%5D%7B%7D%7C%5E%60",
		"a/b:c;d=e,f": "cid:a/b:c;d=e,f",
	}
	for cid, want := range tests {
		if got := CIDURL(cid); got != want {
			t.Errorf("CIDURL(%q) = %q, want %q", cid, got, want)
		}
		msg := &Message{Attachments: []*Attachment{{ContentID: cid}}}
		if _, err := msg.AttachmentByCID(CIDURL(cid)); err != nil {
			t.Errorf("%q does not resolve back: %v", cid, err)
		}
	}
}

// patternReader yields n deterministic bytes, hashing what it yields and
// sampling the heap as the stream passes, so the test needs no fixture.
type patternReader struct {
	n, done   int64
	h         hash.Hash
	sampleGap int64
	nextAt    int64
	maxHeap   uint64
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.done >= p.n {
		return 0, io.EOF
	}
	if rest := p.n - p.done; int64(len(b)) > rest {
		b = b[:rest]
	}
	for i := range b {
		x := uint64(p.done + int64(i))
		b[i] = byte(x*2654435761>>13) ^ byte(x>>7)
	}
	p.done += int64(len(b))
	p.h.Write(b)
	if p.done >= p.nextAt {
		p.nextAt += p.sampleGap
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		p.maxHeap = max(p.maxHeap, ms.HeapAlloc)
	}
	return len(b), nil
}

// TestStreamLargeAttachment streams a ~200 MB attachment from the Writer
// through io.Pipe into ReadMessage and checks that the heap stays small,
// that the spooled file is complete, and that size and digest match.
func TestStreamLargeAttachment(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 200 MB")
	}
	const size = 200 << 20
	envBytes, _ := NewEnvelope(SOAP12).Bytes()
	src := &patternReader{n: size, h: sha256.New(), sampleGap: 8 << 20}

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)

	pr, pw := io.Pipe()
	w := NewWriter(pw)
	go func() {
		err := w.WriteEnvelope(envBytes)
		if err == nil {
			_, err = w.WriteAttachment("big@as4gw", "application/octet-stream", src)
		}
		if err == nil {
			err = w.Close()
		}
		pw.CloseWithError(err)
	}()
	msg, err := ReadMessage(pr, w.ContentType(), DefaultLimits(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer msg.Close()

	var end runtime.MemStats
	runtime.ReadMemStats(&end)
	peak := max(src.maxHeap, end.HeapAlloc)
	growth := int64(peak) - int64(base.HeapAlloc)
	t.Logf("heap: base %d KiB, peak %d KiB, growth %d KiB", base.HeapAlloc>>10, peak>>10, growth>>10)
	if growth > 32<<20 {
		t.Errorf("heap grew by %d MiB while streaming %d MiB", growth>>20, size>>20)
	}

	if len(msg.Attachments) != 1 {
		t.Fatalf("%d attachments", len(msg.Attachments))
	}
	a := msg.Attachments[0]
	var want [32]byte
	src.h.Sum(want[:0])
	if a.Size != size || a.SHA256 != want {
		t.Fatalf("attachment %d bytes %x, want %d bytes %x", a.Size, a.SHA256, size, want)
	}
	rc, err := a.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	h := sha256.New()
	if n, err := io.Copy(h, rc); err != nil || n != size {
		t.Fatalf("spooled file: %d bytes, %v", n, err)
	}
	var got [32]byte
	h.Sum(got[:0])
	if got != want {
		t.Fatal("spooled file content differs")
	}
}
