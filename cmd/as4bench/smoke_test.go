package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"
)

// TestSmoke runs the small scenario end to end: it builds as4gw, writes a
// devpair, starts both gateways and sends 20 messages.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two gateways (skipped with -short)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	err := run(ctx, []string{"--scenario", "small", "--count", "20", "--concurrency", "4",
		"--crypto-iterations", "20", "--json", "--timeout", "4m"}, &out, &errOut)
	if err != nil {
		t.Fatalf("as4bench: %v\n%s", err, errOut.String())
	}
	var r map[string]any
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out.String())
	}
	for _, k := range []string{"messagesPerSecond", "cryptoLimitPerSecond", "fractionOfLimit", "senderPeakRssBytes", "receiverPeakRssBytes"} {
		if v, ok := r[k].(float64); !ok || v <= 0 {
			t.Errorf("%s = %v, want a positive number", k, r[k])
		}
	}
	lat, _ := r["latencyMs"].(map[string]any)
	for _, k := range []string{"p50", "p95", "p99"} {
		if v, ok := lat[k].(float64); !ok || v <= 0 {
			t.Errorf("latencyMs.%s = %v", k, lat[k])
		}
	}
	if lat["p50"].(float64) > lat["p99"].(float64) {
		t.Errorf("p50 %v > p99 %v", lat["p50"], lat["p99"])
	}
	if r["count"].(float64) != 20 || r["scenario"] != "small" || r["keyBits"].(float64) != 2048 {
		t.Errorf("echoed parameters: count %v scenario %v keyBits %v", r["count"], r["scenario"], r["keyBits"])
	}
	for _, k := range []string{"cpuSecondsPerMessage", "diskBytesPerMessage"} {
		m, _ := r[k].(map[string]any)
		if v, ok := m["receiver"].(float64); !ok || v <= 0 {
			t.Errorf("%s.receiver = %v", k, m["receiver"])
		}
	}
	if f := r["fractionOfLimit"].(float64); f > 1.5 {
		t.Errorf("fractionOfLimit %v: faster than the cryptographic floor allows?", f)
	}
}
