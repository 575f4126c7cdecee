package soap

import (
	"strings"
	"testing"
)

func TestReadCapturedFormats(t *testing.T) {
	mimeBody := buildMIME("\r\n", rootPart("Content-ID: <r>"), mimePart{[]string{"Content-ID: <a>"}, "A"})
	tests := []struct {
		name      string
		in        string
		hint      string
		format    CaptureFormat
		startLine string
		parts     int
	}{
		{"xml", env12, "", CaptureXML, "", 0},
		{"xml with BOM and licence comment", "\xEF\xBB\xBF<!-- licence -->\n<?xml version=\"1.0\"?>" + env12, "", CaptureXML, "", 0},
		{"xml soap 1.1 with hint", env11, "text/xml", CaptureXML, "", 0},
		{"http response", "HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml;charset=UTF-8\r\nTransfer-Encoding: chunked\r\n\r\n" + env12, "", CaptureHTTP, "HTTP/1.1 200 OK", 0},
		{"http request with multipart", "POST /as4 HTTP/1.1\r\nHost: x\r\nContent-Type: " + multipartCT("") + "\r\n\r\n" + mimeBody, "", CaptureHTTP, "POST /as4 HTTP/1.1", 1},
		{"http headers without start line", "Date: today\nServer: x\nContent-Type: application/soap+xml\n\n" + env12, "", CaptureHTTP, "", 0},
		{"mime headers, folded", "Message-ID: <1@x>\nMIME-Version: 1.0\nContent-Type: multipart/related; \n\tboundary=\"" + testBoundary + "\"; \n\ttype=\"application/soap+xml\"\n\n" + strings.ReplaceAll(mimeBody, "\r\n", "\n"), "", CaptureMIMEHeaders, "", 1},
		{"headers without content type: hint", "MIME-Version: 1.0\r\n\r\n" + mimeBody, multipartCT(""), CaptureMIMEHeaders, "", 1},
		{"headers without content type: sniffed boundary", "X-Dump: 1\r\n\r\n\r\n" + mimeBody, "", CaptureHTTP, "", 1},
		{"bare multipart", mimeBody, "", CaptureBareMultipart, "", 1},
		{"bare multipart after BOM and blank line", "\xEF\xBB\xBF\n" + strings.ReplaceAll(mimeBody, "\r\n", "\n"), "", CaptureBareMultipart, "", 1},
		{"bare multipart after CRLF", "\r\n" + mimeBody, "", CaptureBareMultipart, "", 1},
		{"bare multipart, hint gives start", "--" + testBoundary + "\r\nContent-ID: <a>\r\n\r\nA\r\n--" + testBoundary + "\r\nContent-ID: <r>\r\n\r\n" + env12 + "\r\n--" + testBoundary + "--\r\n",
			`multipart/related; boundary="other"; start="<r>"`, CaptureBareMultipart, "", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spool := t.TempDir()
			msg, info, err := ReadCapturedInfo(strings.NewReader(tc.in), tc.hint, DefaultLimits(), spool)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				msg.Close()
				assertDirEmpty(t, spool)
			}()
			if info.Format != tc.format || info.StartLine != tc.startLine {
				t.Errorf("format %s start line %q, want %s %q", info.Format, info.StartLine, tc.format, tc.startLine)
			}
			if len(msg.Attachments) != tc.parts || msg.Envelope.Body == nil {
				t.Errorf("%d attachments, want %d", len(msg.Attachments), tc.parts)
			}
		})
	}
}

func TestReadCapturedErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"empty", "", "empty capture"},
		{"whitespace", "   \r\n ", "only whitespace"},
		{"garbage", "this is not a message\n", "unrecognised capture"},
		{"still chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/soap+xml\r\n\r\n1a4\r\n" + env12, "still chunked"},
		{"content encoding", "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Type: application/soap+xml\r\n\r\n\x1f\x8b", "Content-Encoding"},
		{"headers never end", "Content-Type: text/xml\r\n", "ends inside its header block"},
		{"huge header block", "X-A: " + strings.Repeat("a", 20000) + "\r\n\r\n" + env12, "MaxPartHeaderBytes"},
		{"empty boundary", "--\r\n", "empty MIME boundary"},
		{"only a status line", "HTTP/1.1 200 OK", "after its HTTP start line"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spool := t.TempDir()
			msg, err := ReadCaptured(strings.NewReader(tc.in), "", DefaultLimits(), spool)
			if err == nil {
				msg.Close()
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
			assertDirEmpty(t, spool)
		})
	}
}

func TestCaptureFormatString(t *testing.T) {
	for f, want := range map[CaptureFormat]string{CaptureHTTP: "http", CaptureMIMEHeaders: "mime-headers", CaptureBareMultipart: "bare-multipart", CaptureXML: "xml", 0: "soap.CaptureFormat(0)"} {
		if f.String() != want {
			t.Errorf("%d: %q", int(f), f.String())
		}
	}
}
