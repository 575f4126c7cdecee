package config

import (
	"github.com/as4gw/as4gw/as4/soap"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const validYAML = `
dataDir: data
logFormat: text
listeners:
  as4: {address: "127.0.0.1:8443", tls: {allowPlainHTTP: true}}
  backend: {address: "127.0.0.1:8080"}
  operations: {address: "127.0.0.1:9090"}
sender: {allowPlainHTTP: true}
identity:
  partyId: blue
  partyIdType: urn:oasis:names:tc:ebcore:partyid-type:unregistered
  keyFile: key.pem
  certFile: cert.pem
  trustFiles: [ca.pem]
backend:
  clients:
    - name: kommun
      tokenSHA256: sha256:0000000000000000000000000000000000000000000000000000000000000000
      participants: ["0203:malmo.se"]
pmodes:
  self: blue
  parties:
    - name: blue
      partyIds: [{value: blue, type: "urn:oasis:names:tc:ebcore:partyid-type:unregistered"}]
    - name: red
      partyIds: [{value: red, type: "urn:oasis:names:tc:ebcore:partyid-type:unregistered"}]
      endpoint: http://127.0.0.1:9443/as4
      certificateFile: red.pem
  legs:
    - name: dev
      initiators: [blue, red]
      responders: [blue, red]
      service: {value: "urn:as4gw:dev", type: "urn:as4gw"}
      action: deliver
      security: {sign: true, encrypt: true}
      reliability: {receipts: true, nonRepudiation: true, duplicateDetection: true, retry: "12;4;CONSTANT"}
      compression: true
`

func noEnv(string) (string, bool) { return "", false }

func TestParseValid(t *testing.T) {
	cfg, err := Parse([]byte(validYAML), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Sender.Workers != 32 || cfg.Sender.RequestTimeout != 2*time.Minute {
		t.Errorf("defaults not applied: %+v", cfg.Sender)
	}
	leg := cfg.PModes.Leg("dev")
	if leg == nil || leg.Reliability.Retry.String() != "12;4;CONSTANT" {
		t.Fatalf("retry string not decoded: %+v", leg)
	}
	if leg.Security.SignatureAlgorithm == "" {
		t.Error("P-Mode defaults not applied (signature algorithm empty)")
	}
	cfg.ResolvePaths("/etc/as4gw")
	if cfg.Identity.KeyFile != "/etc/as4gw/key.pem" || cfg.PModes.Parties[1].CertificateFile != "/etc/as4gw/red.pem" || cfg.DataDir != "/etc/as4gw/data" {
		t.Errorf("paths not resolved: %s %s %s", cfg.Identity.KeyFile, cfg.PModes.Parties[1].CertificateFile, cfg.DataDir)
	}
}

func TestEnvironmentOverrides(t *testing.T) {
	env := map[string]string{
		"AS4GW_LISTENERS_AS4_ADDRESS": "0.0.0.0:443",
		"AS4GW_SENDER_WORKERS":        "3",
		"AS4GW_LIMITS_MAXPARTS":       "7",
		"AS4GW_SENDER_REQUESTTIMEOUT": "30s",
	}
	cfg, err := Parse([]byte(validYAML), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listeners.AS4.Address != "0.0.0.0:443" || cfg.Sender.Workers != 3 || cfg.Limits.MaxParts != 7 || cfg.Sender.RequestTimeout != 30*time.Second {
		t.Errorf("overrides not applied: %s %d %d %v", cfg.Listeners.AS4.Address, cfg.Sender.Workers, cfg.Limits.MaxParts, cfg.Sender.RequestTimeout)
	}
}

func TestProblemsNameTheKey(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(string) string
		wantKey string
	}{
		{"unknown key (typo)", func(s string) string { return strings.Replace(s, "logFormat:", "logFromat:", 1) }, "logfromat"},
		{"bad address", func(s string) string { return strings.Replace(s, `"127.0.0.1:8080"`, `"localhost"`, 1) }, "listeners.backend.address"},
		{"plain HTTP AS4 not allowed", func(s string) string { return strings.Replace(s, "tls: {allowPlainHTTP: true}", "tls: {}", 1) }, "listeners.as4.tls"},
		{"bad log format", func(s string) string { return strings.Replace(s, "logFormat: text", "logFormat: xml", 1) }, "logFormat"},
		{"token not hashed", func(s string) string {
			return strings.Replace(s, "sha256:0000000000000000000000000000000000000000000000000000000000000000", "s3cret", 1)
		}, "backend.clients[0].tokenSHA256"},
		{"no participants", func(s string) string {
			return strings.Replace(s, `participants: ["0203:malmo.se"]`, "participants: []", 1)
		}, "backend.clients[0].participants"},
		{"no key", func(s string) string { return strings.Replace(s, "keyFile: key.pem", "", 1) }, "identity"},
		{"bad retry", func(s string) string { return strings.Replace(s, "12;4;CONSTANT", "12;4;SOMETIMES", 1) }, "retry"},
		{"P-Mode problem keeps its path", func(s string) string { return strings.Replace(s, "action: deliver", "action: \"\"", 1) }, "pmodes.legs[0].action"},
		{"plain HTTP partner endpoint", func(s string) string { return strings.Replace(s, "sender: {allowPlainHTTP: true}", "", 1) }, "pmodes.parties[1].endpoint"},
		{"client without credentials", func(s string) string {
			return strings.Replace(s, "tokenSHA256: sha256:0000000000000000000000000000000000000000000000000000000000000000", "", 1)
		}, "backend.clients[0]: give tokenSHA256 or certificateSHA256"},
		{"bad certificate fingerprint", func(s string) string {
			return strings.Replace(s, "      participants:", "      certificateSHA256: zz\n      participants:", 1)
		}, "backend.clients[0].certificateSHA256"},
		{"negative limit", func(s string) string { return s + "limits: {maxParts: -1}\n" }, "MaxParts"},
		{"backup without token", func(s string) string { return s + "operations: {backup: {enabled: true}}\n" }, "operations.backup.tokenFile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.edit(validYAML)), noEnv)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tt.wantKey) {
				t.Errorf("error does not name %q:\n%v", tt.wantKey, err)
			}
		})
	}
}

func TestSecretNeverInErrors(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("hunter2\n"), 0o600)
	got, err := Secret(pw, "", "identity")
	if err != nil || got != "hunter2" {
		t.Fatalf("Secret = %q, %v", got, err)
	}
	if _, err := Secret("", "AS4GW_TEST_UNSET_VARIABLE", "identity"); err == nil || !strings.Contains(err.Error(), "AS4GW_TEST_UNSET_VARIABLE") {
		t.Errorf("unset variable: %v", err)
	}
	cfg := &Config{Identity: Identity{PKCS12File: filepath.Join(dir, "absent.p12"), PasswordFile: pw}}
	if _, err := cfg.LoadIdentity(); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("LoadIdentity error leaks or is missing: %v", err)
	}
}

func TestTokenHashRoundTrip(t *testing.T) {
	h := TokenHash("abc")
	if _, err := ParseTokenHash(h); err != nil {
		t.Fatal(err)
	}
}

// The commented example in configs/ must stay a valid configuration.
func TestExampleConfigIsValid(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "configs", "as4gw.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse(data, noEnv)
	if err != nil {
		t.Fatalf("configs/as4gw.example.yaml: %v", err)
	}
	if cfg.Limits != soap.DefaultLimits() {
		t.Errorf("the example spells out limits that differ from the defaults: %+v", cfg.Limits)
	}
}
