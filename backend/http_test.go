package backend

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestOverHTTP runs submit, download and an early refusal through a real HTTP server and
// client (Content-Length, chunking, the connection's copy path).
func TestOverHTTP(t *testing.T) {
	e := newEnv(t)
	ts := httptest.NewServer(e.srv)
	defer ts.Close()
	post := func(token string, parts ...part) *http.Response {
		t.Helper()
		body, ct := multipartBody(parts...)
		req, _ := http.NewRequest(http.MethodPost, ts.URL+messages, body)
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
	meta := validMeta()
	resp := post(tokenA, metaPart(meta), filePart("message", xmlPayload), filePart("attachment1", big))
	var sr submitResponse
	json.NewDecoder(resp.Body).Decode(&sr)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("submit: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, ts.URL+msgURL(sr.MessageID, "payloads", "attachment1"), nil)
	req.Header.Set("Authorization", "Bearer "+tokenA)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, big) || resp.ContentLength != int64(len(big)) {
		t.Fatalf("download: %d, %d bytes (Content-Length %d)", resp.StatusCode, len(got), resp.ContentLength)
	}
	// Refused from the metadata while the client is still sending its 4 MiB: the client
	// gets the problem, and nothing is staged.
	before := e.payloadFiles()
	meta["originalSender"] = partB
	resp = post(tokenA, metaPart(meta), filePart("message", xmlPayload), filePart("attachment1", big))
	var p Problem
	json.NewDecoder(resp.Body).Decode(&p)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || p.Field != "originalSender" {
		t.Fatalf("refusal: %d %+v", resp.StatusCode, p)
	}
	if n := e.payloadFiles(); n != before {
		t.Errorf("%d payload files, want %d", n, before)
	}
}
