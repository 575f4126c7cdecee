package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/as4gw/as4gw/backend"
	"github.com/as4gw/as4gw/config"
)

// TestServeDeliversWebhooks runs one gateway through runGateway with a webhook secret
// from the environment, registers a webhook on 127.0.0.1, submits a message and checks
// that its events arrive signed and that /metrics counts the deliveries.
func TestServeDeliversWebhooks(t *testing.T) {
	const secret = "webhook-secret-for-the-serve-test-0123456789"
	t.Setenv("AS4GW_TEST_WEBHOOK_SECRET", secret)
	dir := t.TempDir()
	if err := writeDevpair(dir, 23300); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(filepath.Join(dir, "blue", "as4gw.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listeners.AS4.Address, cfg.Listeners.Backend.Address, cfg.Listeners.Operations.Address = freeAddr(t), freeAddr(t), freeAddr(t)
	cfg.Backend.Clients[0].WebhookSecretEnv = "AS4GW_TEST_WEBHOOK_SECRET"
	token, err := os.ReadFile(filepath.Join(dir, "blue", "api-token"))
	if err != nil {
		t.Fatal(err)
	}
	bearer := "Bearer " + strings.TrimSpace(string(token))

	got := make(chan []string, 100)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := backend.VerifyWebhookSignature([]byte(secret), r.Header.Get(backend.SignatureHeader), body, time.Now(), 0); err != nil {
			t.Errorf("delivery does not verify: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var d struct {
			Events []struct{ MessageID, Status string }
		}
		json.Unmarshal(body, &d)
		var ids []string
		for _, e := range d.Events {
			ids = append(ids, e.MessageID+" "+e.Status)
		}
		got <- ids
	}))
	defer rc.Close()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runGateway(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("runGateway: %v", err)
		}
	}()

	api := "http://" + cfg.Listeners.Backend.Address + "/api/v1"
	do := func(method, url, ct string, body []byte) (*http.Response, []byte) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			req, _ := http.NewRequest(method, url, bytes.NewReader(body))
			req.Header.Set("Authorization", bearer)
			req.Header.Set("Content-Type", ct)
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				return resp, b
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s %s: %v", method, url, err)
			}
		}
	}
	resp, b := do(http.MethodPost, api+"/webhooks", "application/json", []byte(`{"url":"`+rc.URL+`/hook"}`))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("register: %d %s", resp.StatusCode, b)
	}

	meta, err := os.ReadFile(filepath.Join(dir, "blue", "example-metadata.json"))
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mp, _ := mw.CreateFormField("metadata")
	mp.Write(meta)
	fp, _ := mw.CreateFormFile("message", "message.xml")
	fp.Write([]byte("<hello/>"))
	mw.Close()
	resp, b = do(http.MethodPost, api+"/messages", mw.FormDataContentType(), body.Bytes())
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("submit: %d %s", resp.StatusCode, b)
	}
	select {
	case ids := <-got:
		if len(ids) == 0 || !strings.HasSuffix(ids[0], " SEND_ENQUEUED") {
			t.Fatalf("first delivery %v, want the submission's SEND_ENQUEUED", ids)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no webhook delivery")
	}

	delivered := regexp.MustCompile(`(?m)^as4gw_webhook_deliveries_total\{result="delivered"\} ([0-9.e+]+)$`)
	metrics := "http://" + cfg.Listeners.Operations.Address + "/metrics"
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		r, err := http.Get(metrics)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if m := delivered.FindSubmatch(page); m != nil {
			if n, _ := strconv.ParseFloat(string(m[1]), 64); n >= 1 && bytes.Contains(page, []byte("as4gw_webhook_backlog_events ")) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics does not count the delivery:\n%s", page)
		}
	}
}
