package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/as4gw/as4gw/config"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestServeExposesMetrics runs one gateway through runGateway and scrapes
// /metrics on its operations listener.
func TestServeExposesMetrics(t *testing.T) {
	dir := t.TempDir()
	if err := writeDevpair(dir, 23100); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(filepath.Join(dir, "blue", "as4gw.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listeners.AS4.Address, cfg.Listeners.Backend.Address, cfg.Listeners.Operations.Address = freeAddr(t), freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runGateway(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("runGateway: %v", err)
		}
	}()

	url := "http://" + cfg.Listeners.Operations.Address + "/metrics"
	var body string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				body = string(b)
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
	}
	for _, want := range []string{
		"as4gw_messages_sent_total{",
		"as4gw_messages_received_total{",
		"as4gw_send_attempts_total{",
		`partner="red"`,
		"as4gw_send_to_receipt_seconds_bucket",
		"as4gw_inbound_processing_seconds_bucket",
		`as4gw_queue_messages{state="SEND_ENQUEUED"} 0`,
		"as4gw_oldest_waiting_message_age_seconds 0",
		`as4gw_store_size_bytes{kind="db"}`,
		`as4gw_certificate_expiry_timestamp_seconds{party="blue",role="identity"`,
		`as4gw_certificate_expiry_timestamp_seconds{party="red",role="partner"`,
		"as4gw_security_failures_total{",
		"go_goroutines",
		"process_resident_memory_bytes",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
