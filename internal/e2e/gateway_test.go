package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The as4gw binary, built once by TestMain. buildErr says why it is missing.
var (
	as4gwBin string
	buildErr error
)

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "as4gw-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	as4gwBin, buildErr = buildBinary(dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildBinary runs "go build -o DIR/as4gw ./cmd/as4gw" from the module root.
func buildBinary(dir string) (string, error) {
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		if goTool, err = exec.LookPath("go"); err != nil {
			return "", errors.New("the go tool is not available")
		}
	}
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "as4gw")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", out, "./cmd/as4gw")
	cmd.Dir = root
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/as4gw: %v\n%s", err, msg)
	}
	return out, nil
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

func requireBinary(t *testing.T) {
	t.Helper()
	if buildErr != nil {
		t.Skipf("the as4gw binary could not be built, so the end-to-end tests cannot run: %v", buildErr)
	}
}

// tempDir is t.TempDir, or with AS4GW_E2E_KEEP set a folder that outlives the test.
func tempDir(t *testing.T) string {
	t.Helper()
	if os.Getenv("AS4GW_E2E_KEEP") == "" {
		return t.TempDir()
	}
	dir, err := os.MkdirTemp("", "as4gw-e2e-"+strings.ReplaceAll(t.Name(), "/", "_")+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("AS4GW_E2E_KEEP: the gateways' folders are kept in %s", dir)
		} else {
			os.RemoveAll(dir)
		}
	})
	return dir
}

// freePortBlock finds a base port where n consecutive loopback ports are free
// right now. Another process could still take one before the gateways bind it;
// startPair then fails with the listener's error and the test can be rerun.
func freePortBlock(t *testing.T, n int) int {
	t.Helper()
	for try := 0; try < 100; try++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		base := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if base+n-1 > 65535 {
			continue
		}
		var held []net.Listener
		ok := true
		for p := base; p < base+n; p++ {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				ok = false
				break
			}
			held = append(held, l)
		}
		for _, l := range held {
			l.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatalf("found no %d consecutive free loopback ports", n)
	return 0
}

// gatewayInfo is gateway.json as devpair writes it.
type gatewayInfo struct {
	PartyID     string `json:"partyId"`
	PartyIDType string `json:"partyIdType"`
	AS4URL      string `json:"as4Url"`
	APIURL      string `json:"apiUrl"`
	OpsURL      string `json:"opsUrl"`
}

// gateway is one as4gw serve process, which a test may stop, kill and restart.
type gateway struct {
	t        *testing.T
	name     string
	dir      string
	info     gatewayInfo
	token    string
	example  map[string]any // example-metadata.json
	logPath  string
	client   *http.Client
	mu       sync.Mutex
	cmd      *exec.Cmd
	done     chan struct{} // closed when cmd has exited
	starts   int
	exitErrs []string
}

type pair struct {
	dir       string
	blue, red *gateway
}

// startPair writes a devpair into a fresh folder and starts both gateways.
func startPair(t *testing.T) *pair {
	t.Helper()
	requireBinary(t)
	dir := tempDir(t)
	base := freePortBlock(t, 6)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, as4gwBin, "devpair", "--dir", dir, "--base-port", strconv.Itoa(base)).CombinedOutput()
	if err != nil {
		t.Fatalf("as4gw devpair --dir %s --base-port %d: %v\n%s", dir, base, err, out)
	}
	for _, f := range []string{"ca.pem", "blue/as4gw.yaml", "blue/key.pem", "blue/cert.pem", "blue/api-token",
		"blue/gateway.json", "blue/example-metadata.json", "red/as4gw.yaml", "red/gateway.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("devpair did not write %s: %v", f, err)
		}
	}
	p := &pair{dir: dir, blue: loadGateway(t, dir, "blue"), red: loadGateway(t, dir, "red")}
	p.blue.start()
	p.red.start()
	p.blue.waitReady()
	p.red.waitReady()
	return p
}

func loadGateway(t *testing.T, dir, name string) *gateway {
	t.Helper()
	g := &gateway{t: t, name: name, dir: filepath.Join(dir, name), logPath: filepath.Join(dir, name+".log")}
	readJSONFile(t, filepath.Join(g.dir, "gateway.json"), &g.info)
	readJSONFile(t, filepath.Join(g.dir, "example-metadata.json"), &g.example)
	tok, err := os.ReadFile(filepath.Join(g.dir, "api-token"))
	if err != nil {
		t.Fatal(err)
	}
	g.token = strings.TrimSpace(string(tok))
	for k, v := range map[string]string{"apiUrl": g.info.APIURL, "opsUrl": g.info.OpsURL, "as4Url": g.info.AS4URL, "partyId": g.info.PartyID} {
		if v == "" {
			t.Fatalf("%s/gateway.json has no %q", name, k)
		}
	}
	g.client = &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     30 * time.Second,
	}}
	t.Cleanup(func() {
		g.kill()
		if t.Failed() {
			t.Logf("--- last lines of %s's log (%s):\n%s", name, g.logPath, tail(g.logPath, 40))
		}
	})
	return g
}

func readJSONFile(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// start runs "as4gw serve --config DIR/as4gw.yaml", its output appended to the log.
func (g *gateway) start() {
	g.t.Helper()
	if err := g.startErr(); err != nil {
		g.t.Fatal(err)
	}
}

// startErr is start for goroutines other than the test's.
func (g *gateway) startErr() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cmd != nil {
		return fmt.Errorf("%s is already running", g.name)
	}
	logf, err := os.OpenFile(g.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	g.starts++
	fmt.Fprintf(logf, "=== e2e: start #%d of %s at %s\n", g.starts, g.name, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(as4gwBin, "serve", "--config", filepath.Join(g.dir, "as4gw.yaml"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %v", g.name, err)
	}
	done := make(chan struct{})
	go func() {
		err := cmd.Wait()
		logf.Close()
		g.mu.Lock()
		if err != nil {
			g.exitErrs = append(g.exitErrs, err.Error())
		}
		g.mu.Unlock()
		close(done)
	}()
	g.cmd, g.done = cmd, done
	return nil
}

func (g *gateway) pid() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cmd == nil {
		return 0
	}
	return g.cmd.Process.Pid
}

// waitReady polls /readyz until it answers 200 (30 s at most).
func (g *gateway) waitReady() {
	g.t.Helper()
	if err := g.waitReadyErr(30 * time.Second); err != nil {
		g.t.Fatal(err)
	}
}

// waitReadyErr is waitReady for goroutines other than the test's.
func (g *gateway) waitReadyErr(timeout time.Duration) error {
	g.mu.Lock()
	done := g.done
	g.mu.Unlock()
	if done == nil {
		return fmt.Errorf("%s is not running", g.name)
	}
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		select {
		case <-done:
			g.mu.Lock()
			errs := g.exitErrs
			g.mu.Unlock()
			return fmt.Errorf("%s exited while starting (%v):\n%s", g.name, errs, tail(g.logPath, 30))
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, g.info.OpsURL+"/readyz", nil)
		resp, err := g.client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				cancel()
				return nil
			}
			last = fmt.Sprintf("HTTP %d %s", resp.StatusCode, body)
		} else {
			last = err.Error()
		}
		cancel()
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after %s: %s\n%s", g.name, timeout, last, tail(g.logPath, 30))
}

// stop sends SIGTERM and waits for a clean exit (status 0).
func (g *gateway) stop() {
	g.t.Helper()
	g.mu.Lock()
	cmd, done := g.cmd, g.done
	g.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		g.t.Errorf("%s did not stop within 30 s of SIGTERM; killed", g.name)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !cmd.ProcessState.Success() {
		g.t.Errorf("%s exited with %v after SIGTERM, want status 0", g.name, cmd.ProcessState)
	}
	g.cmd, g.done = nil, nil
	g.client.CloseIdleConnections()
}

// kill sends SIGKILL (if running) and waits for the process to go.
func (g *gateway) kill() {
	g.mu.Lock()
	cmd, done := g.cmd, g.done
	g.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	<-done
	g.mu.Lock()
	g.cmd, g.done = nil, nil
	g.mu.Unlock()
	g.client.CloseIdleConnections()
}

// peakRSS is VmHWM from /proc/PID/status in bytes: the process's peak resident set.
func (g *gateway) peakRSS() (int64, error) {
	pid := g.pid()
	if pid == 0 {
		return 0, fmt.Errorf("%s is not running", g.name)
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmHWM in /proc/PID/status")
}

// --- payloads ---

// payload is generated content: random bytes, base64-encoded (what an encrypted
// XHE looks like to the gateway), exactly size bytes long, the same for a seed.
type payload struct {
	id, mimeType string
	size         int64 // a multiple of 4
	seed         uint64
}

func newPayload(id string, size int64, seed uint64) payload {
	size -= size % 4
	return payload{id: id, mimeType: "application/octet-stream", size: size, seed: seed}
}

// writeTo streams the content to w.
func (p payload) writeTo(w io.Writer) error {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], p.seed)
	enc := base64.NewEncoder(base64.StdEncoding, w)
	if _, err := io.CopyN(enc, rand.NewChaCha8(key), p.size/4*3); err != nil {
		return err
	}
	return enc.Close()
}

func (p payload) digest() [32]byte {
	h := sha256.New()
	p.writeTo(h)
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// --- the REST API ---

// problemDoc is an RFC 9457 problem as the API answers it.
type problemDoc struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

// apiResult is an answer from the API; err is set for transport errors only.
type apiResult struct {
	status int
	body   []byte
	err    error
}

func (r apiResult) String() string {
	if r.err != nil {
		return r.err.Error()
	}
	return fmt.Sprintf("HTTP %d %s", r.status, bytes.TrimSpace(r.body))
}

// metadata builds a submission from the gateway's example-metadata.json (which
// addresses its partner) with the given messageId (empty: the gateway picks one)
// and payloads.
func (g *gateway) metadata(messageID string, pls ...payload) map[string]any {
	md := map[string]any{}
	for k, v := range g.example {
		md[k] = v
	}
	if messageID != "" {
		md["messageId"] = messageID
	}
	var list []map[string]any
	for _, p := range pls {
		list = append(list, map[string]any{"id": p.id, "mimeType": p.mimeType})
	}
	md["payloads"] = list
	return md
}

// submit POSTs a multipart submission, streaming the payloads through a pipe.
func (g *gateway) submit(ctx context.Context, md map[string]any, pls ...payload) apiResult {
	mdJSON, err := json.Marshal(md)
	if err != nil {
		return apiResult{err: err}
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		pw.CloseWithError(func() error {
			h := textproto.MIMEHeader{}
			h.Set("Content-Disposition", `form-data; name="metadata"`)
			h.Set("Content-Type", "application/json")
			w, err := mw.CreatePart(h)
			if err != nil {
				return err
			}
			if _, err := w.Write(mdJSON); err != nil {
				return err
			}
			for _, p := range pls {
				h := textproto.MIMEHeader{}
				h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, p.id, p.id+".b64"))
				h.Set("Content-Type", p.mimeType)
				w, err := mw.CreatePart(h)
				if err != nil {
					return err
				}
				if err := p.writeTo(w); err != nil {
					return err
				}
			}
			return mw.Close()
		}())
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.info.APIURL+"/api/v1/messages", pr)
	if err != nil {
		pr.Close()
		return apiResult{err: err}
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res := g.do(req)
	pr.Close() // ends the writer goroutine if the server answered early
	return res
}

func (g *gateway) do(req *http.Request) apiResult {
	req.Header.Set("Authorization", "Bearer "+g.token)
	resp, err := g.client.Do(req)
	if err != nil {
		return apiResult{err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return apiResult{err: err}
	}
	return apiResult{status: resp.StatusCode, body: body}
}

func (g *gateway) get(ctx context.Context, path string) apiResult {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.info.APIURL+path, nil)
	if err != nil {
		return apiResult{err: err}
	}
	return g.do(req)
}

// mustSubmit submits and expects 202 with the messageId.
func (g *gateway) mustSubmit(ctx context.Context, md map[string]any, pls ...payload) string {
	g.t.Helper()
	res := g.submit(ctx, md, pls...)
	if res.err != nil || res.status != http.StatusAccepted {
		g.t.Fatalf("submit to %s: %v", g.name, res)
	}
	var ok struct {
		MessageID string `json:"messageId"`
	}
	if err := json.Unmarshal(res.body, &ok); err != nil || ok.MessageID == "" {
		g.t.Fatalf("submit to %s: 202 without a messageId: %s", g.name, res.body)
	}
	if want, _ := md["messageId"].(string); want != "" && ok.MessageID != want {
		g.t.Fatalf("submit to %s: messageId %q, want the client's %q", g.name, ok.MessageID, want)
	}
	return ok.MessageID
}

// messageDoc is the part of GET /api/v1/messages/{id} the tests read.
type messageDoc struct {
	MessageID string `json:"messageId"`
	Status    string `json:"status"`
	Direction string `json:"direction"`
	Attempts  []struct {
		At    time.Time `json:"at"`
		Error struct {
			Code   string `json:"code"`
			Detail string `json:"detail"`
		} `json:"error"`
	} `json:"attempts"`
	Payloads []payloadDoc `json:"payloads"`
}

// attemptSummary describes the attempts: how many, and the first two and the
// last with their time and error.
func (d messageDoc) attemptSummary() string {
	n := len(d.Attempts)
	var parts []string
	for i, a := range d.Attempts {
		if i < 2 || i == n-1 {
			parts = append(parts, fmt.Sprintf("#%d %s %s %s", i+1, a.At.Format("15:04:05.000"), a.Error.Code, a.Error.Detail))
		} else if i == 2 {
			parts = append(parts, "…")
		}
	}
	return fmt.Sprintf("%d attempt(s): %s", n, strings.Join(parts, "; "))
}

type payloadDoc struct {
	ID       string `json:"id"`
	MimeType string `json:"mimeType"`
	Size     int64  `json:"size"`
}

// message fetches a message's status; ok is false for a transport error or
// non-200 answer (described in res).
func (g *gateway) message(ctx context.Context, id string) (doc messageDoc, res apiResult, ok bool) {
	res = g.get(ctx, "/api/v1/messages/"+url.PathEscape(id))
	if res.err != nil || res.status != http.StatusOK {
		return doc, res, false
	}
	if err := json.Unmarshal(res.body, &doc); err != nil {
		res.err = fmt.Errorf("message %s: %v: %s", id, err, res.body)
		return doc, res, false
	}
	return doc, res, true
}

// waitStatus polls a message until its status is one of want, failing the test
// when it reaches another final status or the timeout passes.
func (g *gateway) waitStatus(ctx context.Context, id string, timeout time.Duration, want ...string) messageDoc {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last messageDoc
	var lastRes apiResult
	for {
		doc, res, ok := g.message(ctx, id)
		if ok {
			last = doc
			for _, w := range want {
				if doc.Status == w {
					return doc
				}
			}
			if finalStates[doc.Status] {
				g.t.Fatalf("%s: message %s ended %s, want %v; %s", g.name, id, doc.Status, want, doc.attemptSummary())
			}
		}
		lastRes = res
		select {
		case <-ctx.Done():
			g.t.Fatalf("%s: message %s not %v within %s: last status %q (%v); %s", g.name, id, want, timeout, last.Status, lastRes, last.attemptSummary())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

var finalStates = map[string]bool{"ACKNOWLEDGED": true, "ACKNOWLEDGED_WITH_WARNING": true, "SEND_FAILURE": true, "DOWNLOADED": true, "DELETED": true}

// inboxEntry is one message in GET /api/v1/inbox.
type inboxEntry struct {
	MessageID string       `json:"messageId"`
	Payloads  []payloadDoc `json:"payloads"`
}

// inbox lists the whole inbox, page by page (small pages, to exercise the cursor).
func (g *gateway) inbox(ctx context.Context) ([]inboxEntry, error) {
	var all []inboxEntry
	cursor := ""
	for page := 0; page < 10000; page++ {
		q := url.Values{"limit": {"7"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		res := g.get(ctx, "/api/v1/inbox?"+q.Encode())
		if res.err != nil || res.status != http.StatusOK {
			return all, fmt.Errorf("%s inbox page %d: %v", g.name, page, res)
		}
		var doc struct {
			Messages []inboxEntry `json:"messages"`
			Next     string       `json:"next"` // empty on the last page
		}
		if err := json.Unmarshal(res.body, &doc); err != nil {
			return all, fmt.Errorf("%s inbox page %d: %v: %s", g.name, page, err, res.body)
		}
		all = append(all, doc.Messages...)
		if doc.Next == "" {
			return all, nil
		}
		if doc.Next == cursor {
			return all, fmt.Errorf("%s inbox page %d: next cursor %q repeats", g.name, page, cursor)
		}
		cursor = doc.Next
	}
	return all, errors.New("inbox: more than 10000 pages")
}

func (g *gateway) mustInbox(ctx context.Context) map[string][]inboxEntry {
	g.t.Helper()
	list, err := g.inbox(ctx)
	if err != nil {
		g.t.Fatal(err)
	}
	byID := map[string][]inboxEntry{}
	for _, e := range list {
		byID[e.MessageID] = append(byID[e.MessageID], e)
	}
	return byID
}

// download streams a payload and returns its size and SHA-256.
func (g *gateway) download(ctx context.Context, id, pid string) (int64, [32]byte, error) {
	var sum [32]byte
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.info.APIURL+"/api/v1/messages/"+url.PathEscape(id)+"/payloads/"+url.PathEscape(pid), nil)
	if err != nil {
		return 0, sum, err
	}
	req.Header.Set("Authorization", "Bearer "+g.token)
	resp, err := g.client.Do(req)
	if err != nil {
		return 0, sum, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return 0, sum, fmt.Errorf("download %s/%s from %s: HTTP %d %s", id, pid, g.name, resp.StatusCode, body)
	}
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	h.Sum(sum[:0])
	return n, sum, err
}

func (g *gateway) ack(ctx context.Context, id string) apiResult {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.info.APIURL+"/api/v1/messages/"+url.PathEscape(id)+"/ack", nil)
	if err != nil {
		return apiResult{err: err}
	}
	return g.do(req)
}

// newMessageID is a client-chosen eb:MessageId, unique per run.
func newMessageID(prefix string) string {
	return fmt.Sprintf("%s-%016x@e2e.as4gw.test", prefix, rand.Uint64())
}
