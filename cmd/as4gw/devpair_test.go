package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/as4gw/as4gw/config"
)

func TestDevpairWritesTwoValidGateways(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	root := newRootCommand()
	root.SetOut(&out)
	root.SetArgs([]string{"devpair", "--dir", dir, "--base-port", "23000"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "serve --config") {
		t.Errorf("no usage printed: %s", out.String())
	}
	for i, name := range []string{"blue", "red"} {
		for _, f := range []string{"as4gw.yaml", "key.pem", "cert.pem", "api-token", "gateway.json", "example-metadata.json"} {
			if _, err := os.Stat(filepath.Join(dir, name, f)); err != nil {
				t.Errorf("%s/%s: %v", name, f, err)
			}
		}
		cfg, err := config.Load(filepath.Join(dir, name, "as4gw.yaml"))
		if err != nil {
			t.Fatalf("%s config: %v", name, err)
		}
		if _, err := cfg.LoadIdentity(); err != nil {
			t.Errorf("%s identity: %v", name, err)
		}
		var info gatewayInfo
		data, _ := os.ReadFile(filepath.Join(dir, name, "gateway.json"))
		if err := json.Unmarshal(data, &info); err != nil {
			t.Fatal(err)
		}
		wantAS4 := []string{"http://127.0.0.1:23000/as4", "http://127.0.0.1:23003/as4"}[i]
		if info.AS4URL != wantAS4 || info.PartyID != name || !strings.HasPrefix(info.APIURL, "http://127.0.0.1:") {
			t.Errorf("%s gateway.json = %+v", name, info)
		}
		// The token file's SHA-256 is what the config holds.
		token, _ := os.ReadFile(filepath.Join(dir, name, "api-token"))
		if got := config.TokenHash(strings.TrimSpace(string(token))); got != cfg.Backend.Clients[0].TokenSHA256 {
			t.Errorf("%s: api-token does not match the configured hash", name)
		}
		root := newRootCommand()
		root.SetOut(&bytes.Buffer{})
		root.SetArgs([]string{"pmode", "check", "--config", filepath.Join(dir, name, "as4gw.yaml")})
		if err := root.Execute(); err != nil {
			t.Errorf("pmode check %s: %v", name, err)
		}
	}
}

func TestPModeCheckExplainsProblems(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("dataDir: x\nlisteners: {as4: {address: nowhere}}\n"), 0o600)
	var out bytes.Buffer
	root := newRootCommand()
	root.SetOut(&out)
	root.SetArgs([]string{"pmode", "check", "--config", bad})
	err := root.Execute()
	var ee exitError
	if err == nil || !errors.As(err, &ee) || ee.code != 1 {
		t.Fatalf("err = %v, want exit 1", err)
	}
	for _, key := range []string{"listeners.as4.address", "identity.partyId", "listeners.backend.address"} {
		if !strings.Contains(out.String(), key) {
			t.Errorf("output does not name %s:\n%s", key, out.String())
		}
	}
}
