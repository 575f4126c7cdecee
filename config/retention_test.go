package config

import (
	"strings"
	"testing"
	"time"

	"github.com/as4gw/as4gw/store"
)

func TestRetentionDefaults(t *testing.T) {
	cfg, err := Parse([]byte(validYAML), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Retention
	if !r.Enabled || r.Interval != 10*time.Minute || r.BatchSize != 500 || r.Events != 2160*time.Hour {
		t.Errorf("scalar defaults: %+v", r)
	}
	sr := r.Default.StoreRules()
	for st, d := range DefaultPayloadRetention {
		if sr.Payloads[st] != d {
			t.Errorf("payloads.%s = %s, want %s", st, sr.Payloads[st], d)
		}
	}
	for st, d := range DefaultMetadataRetention {
		if sr.Metadata[st] != d {
			t.Errorf("metadata.%s = %s, want %s", st, sr.Metadata[st], d)
		}
	}
	if _, ok := sr.Payloads[store.SendFailure]; ok {
		t.Error("SEND_FAILURE payloads purged by default: an operator could no longer resend")
	}
}

func TestRetentionOverrides(t *testing.T) {
	yaml := validYAML + `
retention:
  interval: 1m
  batchSize: 50
  default:
    payloads: {downloaded: 48h}
    metadata: {SEND_FAILURE: 0}
  clients:
    Kommun:
      payloads: {DOWNLOADED: 24h}
      metadata: {Downloaded: 0}
`
	env := map[string]string{"AS4GW_RETENTION_EVENTS": "720h"}
	cfg, err := Parse([]byte(yaml), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Retention
	if r.Interval != time.Minute || r.BatchSize != 50 || r.Events != 720*time.Hour {
		t.Errorf("scalars: %+v", r)
	}
	d := r.Default.StoreRules()
	if d.Payloads[store.Downloaded] != 48*time.Hour || d.Payloads[store.Acknowledged] != 720*time.Hour {
		t.Errorf("default payloads: one state overridden, the others kept: %v", d.Payloads)
	}
	if v, ok := d.Metadata[store.SendFailure]; !ok || v != 0 {
		t.Errorf("metadata SEND_FAILURE: 0 must mean keep forever: %v", d.Metadata)
	}
	c, ok := r.ClientRules("kommun")
	if !ok {
		t.Fatalf("client rules not found: %v", r.Clients)
	}
	cr := c.StoreRules()
	if cr.Payloads[store.Downloaded] != 24*time.Hour || cr.Metadata[store.Downloaded] != 0 || len(cr.Payloads)+len(cr.Metadata) != 2 {
		t.Errorf("client rules: %+v", cr)
	}
	if s := r.Summary(); !strings.Contains(s, "DOWNLOADED payloads 48h0m0s") {
		t.Errorf("summary %q", s)
	}
}

func TestRetentionProblemsNameTheKey(t *testing.T) {
	for _, tc := range []struct {
		name, section, wantKey string
	}{
		{"unknown state", "default: {metadata: {DOWNLODED: 720h}}", "retention.default.metadata.DOWNLODED"},
		{"waiting state", "default: {payloads: {RECEIVED: 720h}}", "retention.default.payloads.RECEIVED: RECEIVED is not a final state"},
		{"queued state", "default: {metadata: {send_enqueued: 720h}}", "retention.default.metadata.SEND_ENQUEUED"},
		{"payloads of DELETED", "default: {payloads: {DELETED: 720h}}", "retention.default.payloads.DELETED"},
		{"negative", "default: {payloads: {DOWNLOADED: -1h}}", "retention.default.payloads.DOWNLOADED: -1h0m0s is negative"},
		{"metadata shorter than duplicate detection", "default: {metadata: {DOWNLOADED: 2h}}", "retention.default.metadata.DOWNLOADED: 2h0m0s is shorter"},
		{"not a duration", "default: {metadata: {DOWNLOADED: soon}}", "retention"},
		{"unknown rule kind", "default: {files: {DOWNLOADED: 1h}}", "files"},
		{"client state", "clients: {kommun: {metadata: {SEND_FAILURE: 1h}}}", "retention.clients.kommun.metadata.SEND_FAILURE"},
		{"unknown client", "clients: {kommun-b: {metadata: {SEND_FAILURE: 48h}}}", "retention.clients.kommun-b: no backend client"},
		{"interval", "interval: 1s", "retention.interval"},
		{"batch", "batchSize: 0", "retention.batchSize"},
		{"events", "events: 1h", "retention.events"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(validYAML+"retention:\n  "+tc.section+"\n"), noEnv)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.wantKey) {
				t.Errorf("error does not name %q:\n%v", tc.wantKey, err)
			}
		})
	}
}

func TestRetentionDisabledSkipsScalars(t *testing.T) {
	if _, err := Parse([]byte(validYAML+"retention: {enabled: false, interval: 0s}\n"), noEnv); err != nil {
		t.Fatal(err)
	}
}
