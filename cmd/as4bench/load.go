package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"
)

// apiClient talks to one gateway's backend REST API.
type apiClient struct {
	base  string
	token string
	http  *http.Client
}

func newAPIClient(g *gateway, conns int) *apiClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // loopback only
	tr.MaxIdleConns = conns + 4
	tr.MaxIdleConnsPerHost = conns + 4
	return &apiClient{base: strings.TrimSuffix(g.info.APIURL, "/"), token: g.token, http: &http.Client{Transport: tr}}
}

// getJSON GETs path (under the API base) within timeout and decodes the answer.
func (c *apiClient) getJSON(ctx context.Context, path string, timeout time.Duration, v any) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d: %s", path, resp.StatusCode, snippet(body))
	}
	return json.Unmarshal(body, v)
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// submission is one message to send: its id, its metadata and its payloads,
// generated while the body is written.
type submission struct {
	id       string
	metadata []byte
	parts    []string // payload ids
	size     int64    // bytes per payload
}

// buildMetadata fills the sending gateway's example-metadata.json template
// (service, action, originalSender, finalRecipient) with a messageId and the
// payload declarations.
func buildMetadata(template map[string]any, id string, parts []string) ([]byte, error) {
	md := make(map[string]any, len(template)+2)
	for k, v := range template {
		md[k] = v
	}
	mime := "application/xml"
	if ps, ok := template["payloads"].([]any); ok && len(ps) > 0 {
		if p, ok := ps[0].(map[string]any); ok {
			if m, ok := p["mimeType"].(string); ok && m != "" {
				mime = m
			}
		}
	}
	decl := make([]map[string]string, len(parts))
	for i, p := range parts {
		decl[i] = map[string]string{"id": p, "mimeType": mime}
	}
	md["payloads"] = decl
	md["messageId"] = id
	return json.Marshal(md)
}

// submit streams one message into POST /api/v1/messages: the metadata part,
// then each payload generated on the fly through an io.Pipe. Nothing of a
// payload is held beyond one 64 KiB chunk.
func (c *apiClient) submit(ctx context.Context, s submission, gen *payloadGen) error {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		pw.CloseWithError(writeBody(ctx, mw, s, gen))
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/api/v1/messages", pr)
	if err != nil {
		pr.Close()
		return err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json, application/problem+json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("submit %s: %w", s.id, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("submit %s: HTTP %d: %s", s.id, resp.StatusCode, snippet(body))
	}
	var ok struct {
		MessageID string `json:"messageId"`
	}
	if err := json.Unmarshal(body, &ok); err != nil || ok.MessageID != s.id {
		return fmt.Errorf("submit %s: answer without our messageId: %s", s.id, snippet(body))
	}
	return nil
}

// payloadGen is one worker's generator (not safe for concurrent use).
type payloadGen struct{ r *payloadReader }

func writeBody(ctx context.Context, mw *multipart.Writer, s submission, gen *payloadGen) error {
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="metadata"; filename="metadata.json"`)
	h.Set("Content-Type", "application/json")
	w, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	if _, err := w.Write(s.metadata); err != nil {
		return err
	}
	buf := make([]byte, 64<<10)
	for _, p := range s.parts {
		if err := ctx.Err(); err != nil {
			return err
		}
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, p, p+".b64"))
		h.Set("Content-Type", "application/octet-stream")
		w, err := mw.CreatePart(h)
		if err != nil {
			return err
		}
		gen.r.left = s.size
		var src io.Reader = gen.r
		if s.size > prefetchAbove {
			// Generating 1 GiB of base64 costs the load generator ~1.5 s
			// of CPU: done ahead on the other core, it does not add to the
			// submission's wall time, as reading a file would not.
			pf := newPrefetcher(s.size, runtime.NumCPU(), func(int) *rand.ChaCha8 { return newRNG() })
			defer pf.stop()
			src = pf
		}
		if _, err := io.CopyBuffer(w, src, buf); err != nil {
			return err
		}
	}
	return mw.Close()
}

// msgState follows one message from submission to its final status.
type msgState struct {
	submitted time.Time     // just before the POST
	accepted  time.Time     // the 202 arrived
	final     string        // ACKNOWLEDGED, ACKNOWLEDGED_WITH_WARNING or SEND_FAILURE
	finalAt   time.Time     // the event's own time (the gateway's clock, same host)
	reason    string        // the final event's reason
	done      chan struct{} // closed at the final status
}

// tracker follows the sender's event feed (one long poll at a time) and
// settles the messages of this run.
type tracker struct {
	mu        sync.Mutex
	msgs      map[string]*msgState
	remaining int
	allDone   chan struct{}
	retries   int // SEND_ATTEMPT_FAILED / WAITING_FOR_RETRY events of our messages
	acked     int
}

func newTracker(ids []string) *tracker {
	t := &tracker{msgs: make(map[string]*msgState, len(ids)), remaining: len(ids), allDone: make(chan struct{})}
	for _, id := range ids {
		t.msgs[id] = &msgState{done: make(chan struct{})}
	}
	if len(ids) == 0 {
		close(t.allDone)
	}
	return t
}

type event struct {
	Seq       uint64 `json:"seq"`
	Time      string `json:"time"`
	MessageID string `json:"messageId"`
	Direction string `json:"direction"`
	Status    string `json:"status"`
	Reason    string `json:"reason"`
}

type eventsPage struct {
	Events []event `json:"events"`
	Next   uint64  `json:"next"`
}

// eventsEnd pages through the feed without waiting and returns the sequence
// number to continue after: events before the run are not ours.
func eventsEnd(ctx context.Context, c *apiClient) (uint64, error) {
	var after uint64
	for range 100000 {
		var p eventsPage
		if err := c.getJSON(ctx, fmt.Sprintf("/api/v1/events?after=%d&limit=1000", after), 30*time.Second, &p); err != nil {
			return 0, err
		}
		if len(p.Events) == 0 {
			return after, nil
		}
		after = p.Next
	}
	return 0, errors.New("events: the feed did not end after 100,000 pages")
}

func (t *tracker) apply(ev event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st, ok := t.msgs[ev.MessageID]
	if !ok || ev.Direction == "in" || st.final != "" {
		return
	}
	switch ev.Status {
	case "ACKNOWLEDGED", "ACKNOWLEDGED_WITH_WARNING", "SEND_FAILURE":
		st.final, st.reason = ev.Status, ev.Reason
		st.finalAt = time.Now()
		if at, err := time.Parse(time.RFC3339Nano, ev.Time); err == nil {
			st.finalAt = at
		}
		if ev.Status != "SEND_FAILURE" {
			t.acked++
		}
		close(st.done)
		if t.remaining--; t.remaining == 0 {
			close(t.allDone)
		}
	case "SEND_ATTEMPT_FAILED", "WAITING_FOR_RETRY":
		t.retries++
	}
}

// watch long-polls the event feed after `after` until every message is final
// or ctx ends. Transient errors are retried.
func (t *tracker) watch(ctx context.Context, c *apiClient, after uint64) error {
	var lastErr error
	failures := 0
	for {
		select {
		case <-t.allDone:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		var p eventsPage
		err := c.getJSON(ctx, fmt.Sprintf("/api/v1/events?after=%d&wait=10&limit=1000", after), 40*time.Second, &p)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if failures++; failures > 30 {
				return fmt.Errorf("events feed: %w", err)
			}
			lastErr = err
			select {
			case <-ctx.Done():
				return fmt.Errorf("%w (last events error: %v)", ctx.Err(), lastErr)
			case <-time.After(500 * time.Millisecond):
			}
			continue
		}
		failures = 0
		for _, ev := range p.Events {
			t.apply(ev)
		}
		if len(p.Events) > 0 {
			after = p.Next
		}
	}
}

type inboxPayload struct {
	ID   string `json:"id"`
	Size int64  `json:"size"`
}

type inboxItem struct {
	MessageID string         `json:"messageId"`
	Payloads  []inboxPayload `json:"payloads"`
}

type inboxPage struct {
	Messages []inboxItem `json:"messages"`
	Next     string      `json:"next"`
}

// checkInbox pages through the receiver's inbox until it holds every id with
// the expected payloads, retrying for up to wait. It returns how many it found.
func checkInbox(ctx context.Context, c *apiClient, ids []string, parts int, size int64, wait time.Duration) (int, error) {
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	deadline := time.Now().Add(wait)
	for {
		found := 0
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > 100000 {
				return found, errors.New("inbox: more than 100,000 pages")
			}
			var p inboxPage
			path := "/api/v1/inbox?limit=1000"
			if cursor != "" {
				path += "&cursor=" + url.QueryEscape(cursor)
			}
			if err := c.getJSON(ctx, path, time.Minute, &p); err != nil {
				return found, err
			}
			for _, m := range p.Messages {
				if !want[m.MessageID] {
					continue
				}
				if len(m.Payloads) != parts {
					return found, fmt.Errorf("inbox: %s has %d payloads, sent %d", m.MessageID, len(m.Payloads), parts)
				}
				for _, pl := range m.Payloads {
					if pl.Size != size {
						return found, fmt.Errorf("inbox: %s payload %s has %d bytes, sent %d", m.MessageID, pl.ID, pl.Size, size)
					}
				}
				found++
			}
			if p.Next == "" || len(p.Messages) == 0 {
				break
			}
			cursor = p.Next
		}
		if found >= len(ids) {
			return found, nil
		}
		if time.Now().After(deadline) {
			return found, fmt.Errorf("inbox: %d of %d messages after %s", found, len(ids), wait)
		}
		select {
		case <-ctx.Done():
			return found, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func noProxyClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	return &http.Client{Transport: tr}
}
