package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWebhookConfig(t *testing.T) {
	yaml := strings.Replace(validYAML, `      participants: ["0203:malmo.se"]
`, `      participants: ["0203:malmo.se"]
      webhookSecretFile: hook.secret
  webhooks: {allowPlainHTTP: true, timeout: 3s}
`, 1)
	cfg, err := Parse([]byte(yaml), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Backend.Webhooks.AllowPlainHTTP || cfg.Backend.Webhooks.Timeout != 3*time.Second {
		t.Errorf("webhooks %+v", cfg.Backend.Webhooks)
	}
	cfg.ResolvePaths("/etc/as4gw")
	if got := cfg.Backend.Clients[0].WebhookSecretFile; got != "/etc/as4gw/hook.secret" {
		t.Errorf("secret file not resolved: %s", got)
	}

	env := map[string]string{"AS4GW_BACKEND_WEBHOOKS_TIMEOUT": "-1s"}
	_, err = Parse([]byte(validYAML), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err == nil || !strings.Contains(err.Error(), "backend.webhooks.timeout:") {
		t.Errorf("negative timeout: %v", err)
	}
	both := strings.Replace(yaml, "      webhookSecretFile: hook.secret\n", "      webhookSecretFile: hook.secret\n      webhookSecretEnv: HOOK\n", 1)
	if _, err := Parse([]byte(both), noEnv); err == nil || !strings.Contains(err.Error(), "backend.clients[0]: give webhookSecretFile or webhookSecretEnv, not both") {
		t.Errorf("both secret sources: %v", err)
	}
}

func TestWebhookSecret(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("s", MinWebhookSecretLen)
	os.WriteFile(filepath.Join(dir, "good"), []byte(long+"\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "short"), []byte("hunter2\n"), 0o600)
	t.Setenv("AS4GW_TEST_HOOK_SECRET", long)
	tests := []struct {
		name, file, env string
		want            string // "" with wantErr "": no secret
		wantErr         string
	}{
		{"none", "", "", "", ""},
		{"file", filepath.Join(dir, "good"), "", long, ""},
		{"env", "", "AS4GW_TEST_HOOK_SECRET", long, ""},
		{"short", filepath.Join(dir, "short"), "", "", "backend.clients[0].webhookSecretFile: the secret is 7 bytes long, at least 32"},
		{"missing file", filepath.Join(dir, "nope"), "", "", "backend.clients[0].webhookSecretFile: " + filepath.Join(dir, "nope")},
		{"unset env", "", "AS4GW_TEST_NOT_SET", "", "backend.clients[0].webhookSecretEnv: environment variable AS4GW_TEST_NOT_SET is not set"},
		{"both", filepath.Join(dir, "good"), "AS4GW_TEST_HOOK_SECRET", "", "not both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &Config{Backend: Backend{Clients: []BackendClient{{Name: "c", WebhookSecretFile: tt.file, WebhookSecretEnv: tt.env}}}}
			got, err := cfg.WebhookSecret(0)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Fatalf("the secret leaked into the error: %v", err)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("got %q, %v", got, err)
			}
		})
	}
}
