package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAPI is a minimal backend API: it checks the token, reads a submission
// part by part (hashing file parts, never holding them), and answers status
// queries from a scripted sequence.
type fakeAPI struct {
	t     *testing.T
	token string

	mu        sync.Mutex
	submitted int
	metadata  map[string]any
	parts     map[string]fakePart // by part name
	chunked   bool
	statusQ   int      // status queries answered
	statuses  []string // answered in order; the last one repeats
	attempts  []any
	submitErr func(w http.ResponseWriter) // answers the submission instead, when set
	statusErr func(w http.ResponseWriter, n int) bool
}

type fakePart struct {
	filename, contentType string
	size                  int64
	sum                   [32]byte
}

func newFakeAPI(t *testing.T, statuses ...string) (*fakeAPI, *httptest.Server) {
	f := &fakeAPI{t: t, token: "s3cret-token", statuses: statuses, parts: map[string]fakePart{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		problem(w, http.StatusUnauthorized, map[string]any{"title": "Unauthorized", "detail": "unknown bearer token"})
		return
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/messages":
		f.submit(w, r)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/v1/messages/"):
		id := strings.TrimPrefix(r.URL.Path, "/api/v1/messages/")
		if d := r.URL.Query().Get("direction"); d != "out" {
			f.t.Errorf("status query with direction %q, want out (send follows the outbound message)", d)
		}
		f.mu.Lock()
		n := f.statusQ
		f.statusQ++
		st := "SEND_ENQUEUED"
		if len(f.statuses) > 0 {
			st = f.statuses[min(n, len(f.statuses)-1)]
		}
		attempts := f.attempts
		se := f.statusErr
		f.mu.Unlock()
		if se != nil && se(w, n) {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"messageId": id, "status": st, "direction": "OUTBOUND", "attempts": attempts})
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeAPI) submit(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.submitted++
	f.chunked = r.ContentLength == -1
	se := f.submitErr
	f.mu.Unlock()
	if se != nil {
		io.Copy(io.Discard, r.Body)
		se(w)
		return
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		problem(w, 415, map[string]any{"title": "want multipart/form-data"})
		return
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			problem(w, 400, map[string]any{"title": "bad multipart", "detail": err.Error()})
			return
		}
		if p.FormName() == "metadata" {
			var md map[string]any
			if err := json.NewDecoder(p).Decode(&md); err != nil {
				problem(w, 400, map[string]any{"title": "bad metadata", "field": "metadata"})
				return
			}
			f.mu.Lock()
			f.metadata = md
			f.mu.Unlock()
			continue
		}
		h := sha256.New()
		n, err := io.Copy(h, p)
		if err != nil {
			problem(w, 400, map[string]any{"title": "bad part", "detail": err.Error()})
			return
		}
		var sum [32]byte
		h.Sum(sum[:0])
		f.mu.Lock()
		f.parts[p.FormName()] = fakePart{filename: p.FileName(), contentType: p.Header.Get("Content-Type"), size: n, sum: sum}
		f.mu.Unlock()
	}
	id := "generated@as4gw"
	if s, _ := f.metadata["messageId"].(string); s != "" {
		id = s
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	json.NewEncoder(w).Encode(map[string]string{"messageId": id})
}

func problem(w http.ResponseWriter, status int, p map[string]any) {
	p["status"] = status
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(p)
}

// runSendCmd runs "as4gw send" in-process and returns stdout, stderr plus the
// error text, and the exit status main would use.
func runSendCmd(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCommand()
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append([]string{"send"}, args...))
	err := root.Execute()
	if err != nil {
		code = 1
		var ee exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		errOut.WriteString("as4gw: " + err.Error() + "\n")
	}
	return out.String(), errOut.String(), code
}

func fastPolling(t *testing.T) {
	oldMin, oldMax := sendPollMin, sendPollMax
	sendPollMin, sendPollMax = 5*time.Millisecond, 20*time.Millisecond
	t.Cleanup(func() { sendPollMin, sendPollMax = oldMin, oldMax })
}

type sendFixture struct {
	dir, token, meta string
}

// newSendFixture writes a token file and a metadata file declaring the given
// payload ids (application/xml for "message", application/octet-stream else).
func newSendFixture(t *testing.T, messageID string, payloadIDs ...string) sendFixture {
	t.Helper()
	dir := t.TempDir()
	fx := sendFixture{dir: dir, token: filepath.Join(dir, "api-token"), meta: filepath.Join(dir, "metadata.json")}
	writeFile(t, fx.token, "s3cret-token\n")
	md := map[string]any{
		"service": "urn:as4gw:dev:service", "serviceType": "urn:as4gw:dev", "action": "urn:as4gw:dev:message",
		"originalSender": "0203:blue.example", "finalRecipient": "0203:red.example",
	}
	if messageID != "" {
		md["messageId"] = messageID
	}
	var pls []map[string]string
	for _, id := range payloadIDs {
		mt := "application/octet-stream"
		if id == "message" {
			mt = "application/xml"
		}
		pls = append(pls, map[string]string{"id": id, "mimeType": mt})
	}
	if pls != nil {
		md["payloads"] = pls
	}
	b, _ := json.Marshal(md)
	writeFile(t, fx.meta, string(b))
	return fx
}

func (fx sendFixture) file(t *testing.T, name, content string) string {
	p := filepath.Join(fx.dir, name)
	writeFile(t, p, content)
	return p
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestSendAcknowledged(t *testing.T) {
	fastPolling(t)
	api, srv := newFakeAPI(t, "SEND_ENQUEUED", "SEND_IN_PROGRESS", "ACKNOWLEDGED")
	fx := newSendFixture(t, "chosen-1@blue.example", "message", "attachment")
	msg := fx.file(t, "invoice.xml", "<Invoice/>")
	att := fx.file(t, "scan.bin", strings.Repeat("\x00\x01binary", 1000))

	stdout, stderr, code := runSendCmd(t, "--api", srv.URL+"/", "--token-file", fx.token, "--metadata", fx.meta,
		"--payload", "message="+msg, "--payload", "attachment="+att, "--wait", "10s")
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if stdout != "chosen-1@blue.example\nACKNOWLEDGED\n" {
		t.Errorf("stdout = %q", stdout)
	}
	if !strings.Contains(stderr, "status SEND_ENQUEUED") || !strings.Contains(stderr, "status ACKNOWLEDGED") {
		t.Errorf("stderr lacks the status changes:\n%s", stderr)
	}
	api.mu.Lock()
	defer api.mu.Unlock()
	if api.metadata["messageId"] != "chosen-1@blue.example" || api.metadata["finalRecipient"] != "0203:red.example" {
		t.Errorf("metadata not passed through: %v", api.metadata)
	}
	if !api.chunked {
		t.Errorf("the submission had a Content-Length: the body was buffered instead of streamed")
	}
	for id, want := range map[string]struct{ path, ct string }{"message": {msg, "application/xml"}, "attachment": {att, "application/octet-stream"}} {
		data, _ := os.ReadFile(want.path)
		got, ok := api.parts[id]
		if !ok {
			t.Errorf("no part %q; parts: %v", id, api.parts)
			continue
		}
		if got.sum != sha256.Sum256(data) || got.size != int64(len(data)) {
			t.Errorf("part %s: %d bytes, digest differs from the file", id, got.size)
		}
		if got.contentType != want.ct || got.filename != filepath.Base(want.path) {
			t.Errorf("part %s: Content-Type %q filename %q", id, got.contentType, got.filename)
		}
	}
}

func TestSendNoWait(t *testing.T) {
	api, srv := newFakeAPI(t)
	fx := newSendFixture(t, "", "message")
	msg := fx.file(t, "m.xml", "<m/>")
	t.Setenv("AS4GW_TEST_TOKEN", "s3cret-token")
	stdout, stderr, code := runSendCmd(t, "--api", srv.URL+"/api/v1", "--token-env", "AS4GW_TEST_TOKEN",
		"--metadata", fx.meta, "--payload", "message="+msg, "--wait", "0")
	if code != 0 || stdout != "generated@as4gw\n" {
		t.Fatalf("exit %d stdout %q stderr %s", code, stdout, stderr)
	}
	if api.statusQ != 0 {
		t.Errorf("--wait 0 queried the status %d times", api.statusQ)
	}
}

func TestSendFailure(t *testing.T) {
	fastPolling(t)
	api, srv := newFakeAPI(t, "WAITING_FOR_RETRY", "SEND_FAILURE")
	api.attempts = []any{
		map[string]any{"at": "2026-01-01T00:00:00Z", "error": map[string]any{"code": "EBMS:0005", "detail": "connection refused"}},
		map[string]any{"at": "2026-01-01T00:00:02Z", "error": map[string]any{"code": "EBMS:0301", "detail": "no receipt after 30 attempts"}},
	}
	fx := newSendFixture(t, "", "message")
	msg := fx.file(t, "m.xml", "<m/>")
	stdout, stderr, code := runSendCmd(t, "--api", srv.URL, "--token-file", fx.token, "--metadata", fx.meta, "--payload", "message="+msg)
	if code != 1 {
		t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if stdout != "generated@as4gw\nSEND_FAILURE\n" {
		t.Errorf("stdout = %q", stdout)
	}
	if !strings.Contains(stderr, "EBMS:0301 no receipt after 30 attempts") {
		t.Errorf("stderr does not explain the failure:\n%s", stderr)
	}
}

func TestSendWaitRunsOut(t *testing.T) {
	fastPolling(t)
	_, srv := newFakeAPI(t, "WAITING_FOR_RETRY")
	fx := newSendFixture(t, "", "message")
	msg := fx.file(t, "m.xml", "<m/>")
	stdout, stderr, code := runSendCmd(t, "--api", srv.URL, "--token-file", fx.token, "--metadata", fx.meta,
		"--payload", "message="+msg, "--wait", "200ms")
	if code != sendExitPending {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, sendExitPending, stdout, stderr)
	}
	if !strings.Contains(stderr, "no final status within --wait 200ms (last status WAITING_FOR_RETRY)") {
		t.Errorf("stderr = %s", stderr)
	}
}

// A gateway that is briefly unavailable while send waits (a restart) does not end
// the wait; a 404 does.
func TestSendPollingErrors(t *testing.T) {
	fastPolling(t)
	api, srv := newFakeAPI(t, "SEND_ENQUEUED", "SEND_ENQUEUED", "SEND_ENQUEUED", "ACKNOWLEDGED_WITH_WARNING")
	api.statusErr = func(w http.ResponseWriter, n int) bool {
		if n == 1 || n == 2 {
			problem(w, http.StatusServiceUnavailable, map[string]any{"title": "store not ready"})
			return true
		}
		return false
	}
	fx := newSendFixture(t, "", "message")
	msg := fx.file(t, "m.xml", "<m/>")
	stdout, stderr, code := runSendCmd(t, "--api", srv.URL, "--token-file", fx.token, "--metadata", fx.meta, "--payload", "message="+msg, "--wait", "10s")
	if code != 0 || !strings.HasSuffix(stdout, "ACKNOWLEDGED_WITH_WARNING\n") {
		t.Fatalf("exit %d stdout %q stderr %s", code, stdout, stderr)
	}
	if strings.Count(stderr, "store not ready") != 1 {
		t.Errorf("a repeated transient error should be reported once:\n%s", stderr)
	}

	api2, srv2 := newFakeAPI(t)
	api2.statusErr = func(w http.ResponseWriter, n int) bool {
		problem(w, http.StatusNotFound, map[string]any{"title": "Not Found", "detail": "no message generated@as4gw"})
		return true
	}
	stdout, stderr, code = runSendCmd(t, "--api", srv2.URL, "--token-file", fx.token, "--metadata", fx.meta, "--payload", "message="+msg, "--wait", "10s")
	if code != 1 || !strings.Contains(stderr, "HTTP 404 Not Found") || !strings.Contains(stderr, "no message generated@as4gw") {
		t.Fatalf("exit %d stdout %q stderr %s", code, stdout, stderr)
	}
	if api2.statusQ != 1 {
		t.Errorf("a 404 was polled %d times; it will not change", api2.statusQ)
	}
}

func TestSendRefused(t *testing.T) {
	fx := newSendFixture(t, "", "message")
	msg := fx.file(t, "m.xml", "<m/>")
	tests := []struct {
		name   string
		answer func(w http.ResponseWriter)
		token  string
		want   []string
	}{
		{
			name: "problem naming a field",
			answer: func(w http.ResponseWriter) {
				problem(w, 422, map[string]any{"type": "about:blank", "title": "Invalid submission",
					"field": "finalRecipient", "detail": `no leg for action "x": expected urn:as4gw:dev:message`})
			},
			want: []string{"submission refused: HTTP 422 Invalid submission", "field: finalRecipient", `detail: no leg for action "x"`},
		},
		{
			name: "problem with a list of field errors",
			answer: func(w http.ResponseWriter) {
				problem(w, 400, map[string]any{"title": "Bad Request", "errors": []any{
					map[string]any{"field": "service", "detail": "required"},
					map[string]any{"pointer": "/payloads/0/mimeType", "detail": "not a MIME type"},
				}})
			},
			want: []string{"HTTP 400 Bad Request", "- service: required", "- /payloads/0/mimeType: not a MIME type"},
		},
		{
			name: "conflict",
			answer: func(w http.ResponseWriter) {
				problem(w, 409, map[string]any{"title": "Message id already used", "field": "messageId",
					"detail": "messageId already submitted", "messageId": "m1@blue", "messageStatus": "ACKNOWLEDGED"})
			},
			want: []string{"HTTP 409 Message id already used", "field: messageId", "messageId already submitted", "existing message: m1@blue (ACKNOWLEDGED)"},
		},
		{
			name: "P-Mode mismatch naming several fields",
			answer: func(w http.ResponseWriter) {
				problem(w, 422, map[string]any{"title": "No P-Mode leg accepts this submission",
					"fields": []string{"service", "action"}, "detail": "closest leg dev-message expects action urn:as4gw:dev:message"})
			},
			want: []string{"HTTP 422 No P-Mode leg accepts this submission", "fields: service, action", "closest leg dev-message"},
		},
		{
			name: "not a problem document",
			answer: func(w http.ResponseWriter) {
				w.WriteHeader(http.StatusBadGateway)
				io.WriteString(w, "upstream down")
			},
			want: []string{"HTTP 502 Bad Gateway: upstream down"},
		},
		{
			name:  "wrong token",
			token: "wrong",
			want:  []string{"HTTP 401 Unauthorized", "unknown bearer token", "check the API token"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api, srv := newFakeAPI(t, "ACKNOWLEDGED")
			api.submitErr = tc.answer
			if tc.token != "" {
				api.token = tc.token
			}
			stdout, stderr, code := runSendCmd(t, "--api", srv.URL, "--token-file", fx.token, "--metadata", fx.meta, "--payload", "message="+msg)
			if code != 1 || stdout != "" {
				t.Fatalf("exit %d stdout %q, want 1 and nothing", code, stdout)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}

func TestSendUnreachable(t *testing.T) {
	_, srv := newFakeAPI(t)
	url := srv.URL
	srv.Close()
	fx := newSendFixture(t, "", "message")
	msg := fx.file(t, "m.xml", "<m/>")
	_, stderr, code := runSendCmd(t, "--api", url, "--token-file", fx.token, "--metadata", fx.meta, "--payload", "message="+msg)
	if code != 1 || !strings.Contains(stderr, "submit to "+url+"/api/v1/messages") {
		t.Fatalf("exit %d stderr %s", code, stderr)
	}
}

func TestSendUsage(t *testing.T) {
	fx := newSendFixture(t, "", "message", "attachment")
	msg := fx.file(t, "m.xml", "<m/>")
	att := fx.file(t, "a.bin", "a")
	empty := fx.file(t, "empty-token", "\n")
	notJSON := fx.file(t, "bad.json", "service: x")
	array := fx.file(t, "array.json", `[{"service": "x"}]`)
	ok := []string{"--payload", "message=" + msg, "--payload", "attachment=" + att}
	base := func(extra ...string) []string {
		return append([]string{"--api", "http://127.0.0.1:1", "--token-file", fx.token, "--metadata", fx.meta}, extra...)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no --api", []string{"--token-file", fx.token, "--metadata", fx.meta}, "--api is required"},
		{"bad --api", []string{"--api", "127.0.0.1:8101", "--token-file", fx.token, "--metadata", fx.meta}, "want an http:// or https:// URL"},
		{"no token", []string{"--api", "http://x", "--metadata", fx.meta}, "give --token-file FILE or --token-env VAR"},
		{"both tokens", base(append(ok, "--token-env", "X")...), "not both"},
		{"empty token file", []string{"--api", "http://x", "--token-file", empty, "--metadata", fx.meta}, "is empty"},
		{"unset token env", []string{"--api", "http://x", "--token-env", "AS4GW_TEST_UNSET_VARIABLE", "--metadata", fx.meta}, "AS4GW_TEST_UNSET_VARIABLE is not set"},
		{"no metadata", []string{"--api", "http://x", "--token-file", fx.token}, "--metadata is required"},
		{"metadata not JSON", []string{"--api", "http://x", "--token-file", fx.token, "--metadata", notJSON}, "not a JSON submission object"},
		{"metadata an array", []string{"--api", "http://x", "--token-file", fx.token, "--metadata", array}, "not a JSON submission object"},
		{"missing payload", base("--payload", "message="+msg), "declares payload(s) attachment: give --payload attachment=PATH"},
		{"undeclared payload", base(append(ok, "--payload", "extra="+msg)...), `declares no payload with id "extra" (it declares attachment, message)`},
		{"positional argument", base(msg), "unknown command"},
		{"payload without id", base("--payload", msg), "want ID=PATH"},
		{"payload twice", base(append(ok, "--payload", "message="+msg)...), "--payload message given twice"},
		{"payload file missing", base("--payload", "message="+msg, "--payload", "attachment="+filepath.Join(fx.dir, "nope")), "--payload attachment:"},
		{"payload is a directory", base("--payload", "message="+msg, "--payload", "attachment="+fx.dir), "not a regular file"},
		{"bad --wait", base(append(ok, "--wait", "soon")...), "invalid argument"},
		{"unknown flag", base(append(ok, "--colour")...), "unknown flag"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runSendCmd(t, tc.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2\n%s", code, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, stderr)
			}
		})
	}
}

// The body goes from disk to the socket: a 64 MiB payload costs far less than
// 64 MiB of allocations in this process (client and fake server together).
func TestSendStreamsLargePayload(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB upload; skipped with -short")
	}
	api, srv := newFakeAPI(t, "ACKNOWLEDGED")
	fx := newSendFixture(t, "", "big")
	big := filepath.Join(fx.dir, "big.bin")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	const size = 64 << 20
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	h := sha256.New()
	for written := 0; written < size; written += len(chunk) {
		f.Write(chunk)
		h.Write(chunk)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	stdout, stderr, code := runSendCmd(t, "--api", srv.URL, "--token-file", fx.token, "--metadata", fx.meta, "--payload", "big="+big, "--wait", "0")
	runtime.ReadMemStats(&after)
	if code != 0 {
		t.Fatalf("exit %d stdout %q stderr %s", code, stdout, stderr)
	}
	got := api.parts["big"]
	if got.size != size || fmt.Sprintf("%x", got.sum) != fmt.Sprintf("%x", h.Sum(nil)) {
		t.Fatalf("server got %d bytes with another digest", got.size)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("64 MiB upload allocated %.1f MiB in total (client + fake server)", float64(alloc)/(1<<20))
	if alloc > 16<<20 {
		t.Errorf("64 MiB upload allocated %d bytes: the payload is being buffered", alloc)
	}
}

// Metadata that declares no payloads leaves the part names to the gateway.
func TestSendUndeclaredPayloads(t *testing.T) {
	api, srv := newFakeAPI(t)
	fx := newSendFixture(t, "")
	doc := fx.file(t, "doc.pdf", "%PDF-1.7")
	stdout, stderr, code := runSendCmd(t, "--api", srv.URL, "--token-file", fx.token, "--metadata", fx.meta, "--payload", "doc="+doc, "--wait", "0")
	if code != 0 || stdout != "generated@as4gw\n" {
		t.Fatalf("exit %d stdout %q stderr %s", code, stdout, stderr)
	}
	if p := api.parts["doc"]; p.size != 8 || p.contentType != "application/octet-stream" {
		t.Errorf("part doc = %+v", p)
	}
}
