package soap

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
)

const testBoundary = "b0und4ry"

// mimePart is one part for buildMIME: raw header lines and raw body.
type mimePart struct {
	headers []string
	body    string
}

// buildMIME writes a multipart body by hand (not with our Writer) so tests
// control every byte; nl is the line end.
func buildMIME(nl string, parts ...mimePart) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString("--" + testBoundary + nl)
		for _, h := range p.headers {
			b.WriteString(h + nl)
		}
		b.WriteString(nl)
		b.WriteString(p.body)
		b.WriteString(nl)
	}
	b.WriteString("--" + testBoundary + "--" + nl)
	return b.String()
}

func rootPart(headers ...string) mimePart {
	return mimePart{headers: append([]string{"Content-Type: application/soap+xml; charset=UTF-8"}, headers...), body: env12}
}

func multipartCT(extra string) string {
	return `multipart/related; type="application/soap+xml"; boundary="` + testBoundary + `"` + extra
}

func TestReadMessagePlain(t *testing.T) {
	for _, ct := range []string{"application/soap+xml", "application/soap+xml; charset=UTF-8; action=\"x\"", "text/xml; charset=utf-8", "Application/SOAP+XML"} {
		msg, err := ReadMessage(strings.NewReader(env12), ct, DefaultLimits(), t.TempDir())
		if err != nil {
			t.Fatalf("%s: %v", ct, err)
		}
		if string(msg.EnvelopeBytes) != env12 || msg.Envelope.Version != SOAP12 || len(msg.Attachments) != 0 || msg.RootHeader != nil {
			t.Fatalf("%s: unexpected message %+v", ct, msg)
		}
		msg.Close()
	}
}

func TestReadMessageContentTypeErrors(t *testing.T) {
	for _, ct := range []string{"", "application/json", "multipart/related", `multipart/related; boundary="x"; type="application/xop+xml"`, "multipart/related; boundary=" + strings.Repeat("b", 300), "text/xml; a=1; a=2"} {
		_, err := ReadMessage(strings.NewReader(env12), ct, DefaultLimits(), t.TempDir())
		var me *MIMEError
		if !errors.As(err, &me) {
			t.Errorf("%q: got %v, want *MIMEError", ct, err)
		}
	}
}

// spoolEverything makes ReadMessage spool every attachment to a file, as
// it does for large ones, for the rest of the test.
func spoolEverything(t testing.TB) {
	part, msg := memoryPartBytes, memoryMessageBytes
	memoryPartBytes, memoryMessageBytes = 0, 0
	t.Cleanup(func() { memoryPartBytes, memoryMessageBytes = part, msg })
}

func TestReadMessageMultipart(t *testing.T) {
	spoolEverything(t)
	payload := "hello \x00\xff binary\r\n--not-a-boundary\r\n"
	tests := []struct {
		name     string
		ct       string
		body     string
		wantRoot string
		want     []string // "cid=content"
	}{
		{
			name: "crlf, binary, Content-ID with brackets",
			ct:   multipartCT(""),
			body: buildMIME("\r\n", rootPart("Content-ID: <root@x>"),
				mimePart{[]string{"Content-Type: application/octet-stream", "Content-ID: <att1@x>", "Content-Transfer-Encoding: binary"}, payload}),
			wantRoot: "root@x",
			want:     []string{"att1@x=" + payload},
		},
		{
			name: "lf line ends, Content-Id key spelling, id without brackets",
			ct:   multipartCT(""),
			body: buildMIME("\n", rootPart(),
				mimePart{[]string{"Content-Type: text/plain", "content-id: att2", "Content-Transfer-Encoding: 8bit"}, "line"}),
			want: []string{"att2=line"},
		},
		{
			name: "base64 with spaces and line breaks",
			ct:   multipartCT(""),
			body: buildMIME("\r\n", rootPart(),
				mimePart{[]string{"Content-ID: <b64>", "Content-Transfer-Encoding: BASE64"}, "aGVs bG8g\r\nd29y\tbGQ=\r\n"}),
			want: []string{"b64=hello world"},
		},
		{
			name: "quoted-printable",
			ct:   multipartCT(""),
			body: buildMIME("\r\n", rootPart(),
				mimePart{[]string{"Content-ID: <qp>", "Content-Transfer-Encoding: quoted-printable"}, "caf=C3=A9 =3D soft=\r\nbreak"}),
			want: []string{"qp=café = softbreak"},
		},
		{
			name: "quoted-printable root",
			ct:   multipartCT(""),
			body: buildMIME("\r\n", mimePart{[]string{"Content-Type: application/soap+xml", "Content-Transfer-Encoding: quoted-printable"},
				strings.ReplaceAll(env12, "=", "=3D")}),
		},
		{
			name: "7bit and no transfer encoding",
			ct:   multipartCT(""),
			body: buildMIME("\r\n", rootPart(), mimePart{[]string{"Content-ID: <a>", "Content-Transfer-Encoding: 7bit"}, "A"}, mimePart{[]string{"Content-ID: <b>"}, "B"}),
			want: []string{"a=A", "b=B"},
		},
		{
			name: "start names a later part: earlier parts are spooled",
			ct:   multipartCT(`; start="<root@x>"`),
			body: buildMIME("\r\n",
				mimePart{[]string{"Content-ID: <first@x>"}, "first"},
				mimePart{[]string{"Content-ID: <second@x>"}, "second"},
				rootPart("Content-ID: <root@x>"),
				mimePart{[]string{"Content-ID: <last@x>"}, "last"}),
			wantRoot: "root@x",
			want:     []string{"first@x=first", "second@x=second", "last@x=last"},
		},
		{
			name:     "start without brackets",
			ct:       multipartCT(`; start="root@x"`),
			body:     buildMIME("\r\n", mimePart{[]string{"Content-ID: <a>"}, "A"}, rootPart("Content-ID: root@x")),
			wantRoot: "root@x",
			want:     []string{"a=A"},
		},
		{
			name: "preamble, transport padding and epilogue",
			ct:   multipartCT(""),
			body: "preamble line\r\n\r\n--" + testBoundary + " \t\r\nContent-Type: application/soap+xml\r\n\r\n" + env12 + "\r\n--" + testBoundary + "\r\nContent-ID: <p>\r\n\r\nP\r\n--" + testBoundary + "-- \r\nepilogue",
			want: []string{"p=P"},
		},
		{
			name: "empty attachment",
			ct:   multipartCT(""),
			body: buildMIME("\r\n", rootPart(), mimePart{[]string{"Content-ID: <e>"}, ""}),
			want: []string{"e="},
		},
		{
			name: "missing type parameter is tolerated",
			ct:   `multipart/related; boundary=` + testBoundary,
			body: buildMIME("\r\n", rootPart()),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spool := t.TempDir()
			msg, err := ReadMessage(strings.NewReader(tc.body), tc.ct, DefaultLimits(), spool)
			if err != nil {
				t.Fatal(err)
			}
			if msg.Envelope == nil || msg.Envelope.Body == nil || msg.RootHeader == nil {
				t.Fatal("no envelope")
			}
			if msg.RootContentID != tc.wantRoot {
				t.Errorf("root Content-ID %q, want %q", msg.RootContentID, tc.wantRoot)
			}
			var got []string
			for _, a := range msg.Attachments {
				rc, err := a.Open()
				if err != nil {
					t.Fatal(err)
				}
				content, _ := io.ReadAll(rc)
				rc.Close()
				got = append(got, a.ContentID+"="+string(content))
				if a.Size != int64(len(content)) || a.SHA256 != sha256.Sum256(content) {
					t.Errorf("<%s>: size/digest do not describe the spooled content", a.ContentID)
				}
				if !strings.HasPrefix(a.Path(), spool) {
					t.Errorf("spooled outside spoolDir: %s", a.Path())
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("attachments %q, want %q", got, tc.want)
			}
			if err := msg.Close(); err != nil {
				t.Fatal(err)
			}
			if err := msg.Close(); err != nil {
				t.Fatal("second Close:", err)
			}
			assertDirEmpty(t, spool)
		})
	}
}

func TestReadMessageMultipartErrors(t *testing.T) {
	tests := []struct {
		name string
		ct   string
		body string
		want string
	}{
		{"duplicate Content-ID", multipartCT(""), buildMIME("\r\n", rootPart(), mimePart{[]string{"Content-ID: <a>"}, "1"}, mimePart{[]string{"Content-ID: a"}, "2"}), "duplicate Content-ID"},
		{"root and attachment share Content-ID", multipartCT(""), buildMIME("\r\n", rootPart("Content-ID: <a>"), mimePart{[]string{"Content-ID: <a>"}, "1"}), "duplicate Content-ID"},
		{"two Content-ID headers", multipartCT(""), buildMIME("\r\n", rootPart(), mimePart{[]string{"Content-ID: <a>", "Content-Id: <b>"}, "1"}), "more than one Content-ID"},
		{"unknown transfer encoding", multipartCT(""), buildMIME("\r\n", rootPart(), mimePart{[]string{"Content-ID: <a>", "Content-Transfer-Encoding: x-uuencode"}, "1"}), "unsupported Content-Transfer-Encoding"},
		{"corrupt base64", multipartCT(""), buildMIME("\r\n", rootPart(), mimePart{[]string{"Content-ID: <a>", "Content-Transfer-Encoding: base64"}, "!!!!"}), "base64"},
		{"start not found", multipartCT(`; start="<nope>"`), buildMIME("\r\n", rootPart("Content-ID: <r>")), "start parameter"},
		{"no parts", multipartCT(""), "--" + testBoundary + "--\r\n", "no parts"},
		{"ends after a delimiter line", multipartCT(""), strings.TrimSuffix(buildMIME("\r\n", rootPart()), "--\r\n") + "\r\n", "closing boundary"},
		{"no closing boundary", multipartCT(""), strings.TrimSuffix(buildMIME("\r\n", rootPart()), "--"+testBoundary+"--\r\n"), "unexpected EOF"},
		{"only a preamble", multipartCT(""), "just text\r\n", "cannot read part"},
		{"truncated", multipartCT(""), strings.TrimSuffix(buildMIME("\r\n", rootPart(), mimePart{[]string{"Content-ID: <a>"}, "1"}), "\r\n--"+testBoundary+"--\r\n"), "part 2"},
		{"bad envelope in root", multipartCT(""), buildMIME("\r\n", mimePart{[]string{"Content-Type: application/soap+xml"}, "<x/>"}, mimePart{[]string{"Content-ID: <a>"}, "1"}), "want Envelope"},
		{"DOCTYPE in root", multipartCT(""), buildMIME("\r\n", mimePart{nil, "<!DOCTYPE x>" + env12}), "document type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spool := t.TempDir()
			msg, err := ReadMessage(strings.NewReader(tc.body), tc.ct, DefaultLimits(), spool)
			if err == nil {
				msg.Close()
				t.Fatal("accepted")
			}
			if msg != nil {
				t.Error("non-nil message with error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
			assertDirEmpty(t, spool)
		})
	}
}

func TestReadMessageLimits(t *testing.T) {
	lim := Limits{MaxMessageBytes: 4096, MaxEnvelopeBytes: 1024, MaxParts: 3, MaxPartHeaderBytes: 256, MaxAttachmentBytes: 100}
	att := func(cid string, size int) mimePart {
		return mimePart{[]string{"Content-ID: <" + cid + ">"}, strings.Repeat("x", size)}
	}
	tests := []struct {
		name  string
		ct    string
		body  string
		limit string
	}{
		{"parts at limit", multipartCT(""), buildMIME("\r\n", rootPart(), att("a", 1), att("b", 1)), ""},
		{"parts over limit", multipartCT(""), buildMIME("\r\n", rootPart(), att("a", 1), att("b", 1), att("c", 1)), "MaxParts"},
		{"attachment at limit", multipartCT(""), buildMIME("\r\n", rootPart(), att("a", 100)), ""},
		{"attachment over limit", multipartCT(""), buildMIME("\r\n", rootPart(), att("a", 101)), "MaxAttachmentBytes"},
		{"base64 attachment limit counts decoded bytes", multipartCT(""), buildMIME("\r\n", rootPart(), mimePart{[]string{"Content-ID: <a>", "Content-Transfer-Encoding: base64"}, strings.Repeat("QUFB", 34)}), "MaxAttachmentBytes"},
		{"header at limit", multipartCT(""), buildMIME("\r\n", rootPart(), mimePart{[]string{"Content-ID: <a>", "X: " + strings.Repeat("h", 256-len("Content-ID: <a>\r\nX: \r\n\r\n"))}, "1"}), ""},
		{"header over limit", multipartCT(""), buildMIME("\r\n", rootPart(), mimePart{[]string{"Content-ID: <a>", "X: " + strings.Repeat("h", 257-len("Content-ID: <a>\r\nX: \r\n\r\n"))}, "1"}), "MaxPartHeaderBytes"},
		{"header without end", multipartCT(""), "--" + testBoundary + "\r\n" + strings.Repeat("X: y\r\n", 100), "MaxPartHeaderBytes"},
		{"envelope over limit", multipartCT(""), buildMIME("\r\n", mimePart{nil, env12 + strings.Repeat(" ", 1024)}), "MaxEnvelopeBytes"},
		{"message over limit (long preamble)", multipartCT(""), strings.Repeat("preamble\r\n", 410) + buildMIME("\r\n", rootPart()), "MaxMessageBytes"},
		{"epilogue is not read", multipartCT(""), buildMIME("\r\n", rootPart()) + strings.Repeat("e", 8192), ""},
		{"close delimiter at the very end without line end", multipartCT(""), strings.TrimSuffix(buildMIME("\r\n", rootPart()), "\r\n"), ""},
		{"plain envelope over limit", "application/soap+xml", env12 + strings.Repeat(" ", 1024), "MaxEnvelopeBytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spool := t.TempDir()
			msg, err := ReadMessage(strings.NewReader(tc.body), tc.ct, lim, spool)
			if tc.limit == "" {
				if err != nil {
					t.Fatal(err)
				}
				msg.Close()
				return
			}
			wantLimit(t, err, tc.limit)
			assertDirEmpty(t, spool)
		})
	}
}

// TestManyTinyPartsRejectedCheaply: a small body of 10,000 tiny parts (the
// shape that once made another gateway hold 644 MB) fails at MaxParts,
// after spooling at most MaxParts-1 files, with little memory.
func TestManyTinyPartsRejectedCheaply(t *testing.T) {
	var b strings.Builder
	b.WriteString("--" + testBoundary + "\r\nContent-Type: application/soap+xml\r\n\r\n" + env12)
	for i := 0; i < 10_000; i++ {
		fmt.Fprintf(&b, "\r\n--%s\r\nContent-ID: <p%d>\r\n\r\nx", testBoundary, i)
	}
	b.WriteString("\r\n--" + testBoundary + "--\r\n")
	body := b.String()

	spool := t.TempDir()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := ReadMessage(strings.NewReader(body), multipartCT(""), DefaultLimits(), spool)
	runtime.ReadMemStats(&after)
	wantLimit(t, err, "MaxParts")
	assertDirEmpty(t, spool)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Errorf("allocated %d bytes to reject %d-byte body", grew, len(body))
	}
}

// TestHugeHeaderRejectedEarly: mime/multipart would buffer up to 10 MiB of
// part header; the guard stops after MaxPartHeaderBytes.
func TestHugeHeaderRejectedEarly(t *testing.T) {
	src := &countingReader{r: io.MultiReader(
		strings.NewReader("--"+testBoundary+"\r\nContent-Type: application/soap+xml\r\nX-Big: "),
		&repeatReader{b: 'a', n: 9 << 20},
	)}
	_, err := ReadMessage(src, multipartCT(""), DefaultLimits(), t.TempDir())
	wantLimit(t, err, "MaxPartHeaderBytes")
	if src.n > DefaultLimits().MaxPartHeaderBytes+64<<10 {
		t.Errorf("read %d bytes before rejecting the header", src.n)
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// repeatReader yields n copies of b.
type repeatReader struct {
	b byte
	n int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.n {
		p = p[:r.n]
	}
	for i := range p {
		p[i] = r.b
	}
	r.n -= int64(len(p))
	return len(p), nil
}

func TestAttachmentByCID(t *testing.T) {
	msg := &Message{Attachments: []*Attachment{
		{ContentID: "a@b"},
		{ContentID: "with space@x"},
		{ContentID: "50%off@x"},
		{ContentID: "dup"},
		{ContentID: "dup"},
	}}
	tests := []struct {
		href    string
		want    int // index, -1 = error
		errText string
	}{
		{"cid:a@b", 0, ""},
		{"CID:a@b", 0, ""},
		{"cid:a%40b", 0, ""},
		{"cid:with%20space@x", 1, ""},
		{"cid:50%25off@x", 2, ""},
		{"cid:50%off@x", -1, "escape"},
		{"cid:missing", -1, "no MIME part"},
		{"cid:dup", -1, "2 MIME parts"},
		{"a@b", -1, "not a cid"},
		{"#id", -1, "not a cid"},
		{"cid:", -1, "no MIME part"},
	}
	for _, tc := range tests {
		t.Run(tc.href, func(t *testing.T) {
			got, err := msg.AttachmentByCID(tc.href)
			if tc.want < 0 {
				if err == nil || !strings.Contains(err.Error(), tc.errText) {
					t.Fatalf("got %v, %v; want error mentioning %q", got, err, tc.errText)
				}
				return
			}
			if err != nil || got != msg.Attachments[tc.want] {
				t.Fatalf("got %v, %v; want attachment %d", got, err, tc.want)
			}
		})
	}
}

func TestReadMessageSpoolDirFailure(t *testing.T) {
	spoolEverything(t)
	body := buildMIME("\r\n", rootPart(), mimePart{[]string{"Content-ID: <a>"}, "1"})
	_, err := ReadMessage(strings.NewReader(body), multipartCT(""), DefaultLimits(), t.TempDir()+"/missing")
	var se *SpoolError
	if !errors.As(err, &se) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v, want a *SpoolError wrapping ErrNotExist", err)
	}
}

func TestNegativeLimitsRejected(t *testing.T) {
	_, err := ReadMessage(strings.NewReader(env12), MediaTypeSOAP12, Limits{MaxParts: -1}, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "MaxParts") {
		t.Fatalf("got %v", err)
	}
}

func TestMultipartGuardMatchesMultipartOnSplitReads(t *testing.T) {
	// The same body read one byte at a time must give the same result:
	// the guard's state machine must not depend on read boundaries.
	tricky := "--" + testBoundary + "x\r\n\r\n" // starts like a delimiter at a line start, is not one
	body := buildMIME("\r\n", rootPart("Content-ID: <r>"), mimePart{[]string{"Content-ID: <a>"}, tricky}, mimePart{[]string{"Content-ID: <b>"}, "B"})
	lim := Limits{MaxParts: 3, MaxPartHeaderBytes: 128}
	msg, err := ReadMessage(&oneByteReader{r: strings.NewReader(body)}, multipartCT(""), lim, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer msg.Close()
	if len(msg.Attachments) != 2 || msg.Attachments[0].Size != int64(len(tricky)) {
		t.Fatalf("got %d attachments", len(msg.Attachments))
	}
}

type oneByteReader struct{ r io.Reader }

func (o *oneByteReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}

func TestTransferDecoderWhitespace(t *testing.T) {
	r, err := transferDecoder(" Base64 ", bytes.NewReader([]byte(" aGk=\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil || string(got) != "hi" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestAttachmentNamedBy(t *testing.T) {
	a := &Attachment{ContentID: "part 1@x"}
	for href, want := range map[string]bool{
		"cid:part%201@x": true, "CID:part 1@x": true, "cid:part%202@x": false, "part 1@x": false, "cid:": false,
	} {
		if got := a.NamedBy(href); got != want {
			t.Errorf("NamedBy(%q) = %v, want %v", href, got, want)
		}
	}
}
