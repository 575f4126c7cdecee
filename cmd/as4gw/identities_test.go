package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/as4gw/as4gw/config"
)

// Two identities in one process: each serves its own listeners from its own
// store and keys, and a message goes from one to the other as between two
// daemons.
func TestServeSeveralIdentities(t *testing.T) {
	dir := t.TempDir()
	if err := writeDevpair(dir, freeBase(t)); err != nil {
		t.Fatal(err)
	}
	files := []string{filepath.Join(dir, "blue", "as4gw.yaml"), filepath.Join(dir, "red", "as4gw.yaml")}
	var logs logBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runIdentities(ctx, files, &logs) }()
	stop := sync.OnceValue(func() error { cancel(); return <-done })
	t.Cleanup(func() { stop() })

	var gws []*testGateway
	for i, f := range files {
		cfg, err := config.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		waitReady(t, cfg, &logs)
		gws = append(gws, &testGateway{path: f, dir: filepath.Dir(f), cfg: cfg, log: &logs})
		if i == 1 && cfg.DataDir == gws[0].cfg.DataDir {
			t.Fatal("devpair gave both identities one data directory")
		}
	}
	var meta struct{ Action string }
	data, _ := os.ReadFile(filepath.Join(gws[0].dir, "example-metadata.json"))
	if err := json.Unmarshal(data, &meta); err != nil || meta.Action == "" {
		t.Fatalf("example metadata: %v %q", err, data)
	}
	out, err := sendCmd(t, gws[0], meta.Action, 30*time.Second)
	if err != nil || !strings.Contains(out, "ACKNOWLEDGED") {
		t.Fatalf("send blue→red: %v\n%s\nlog:\n%s", err, out, logs.String())
	}
	for _, id := range []string{gws[0].cfg.Identity.PartyID, gws[1].cfg.Identity.PartyID} {
		if !strings.Contains(logs.String(), "gateway="+id) {
			t.Errorf("log lines of identity %s are not labelled", id)
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
}

func waitReady(t *testing.T, cfg *config.Config, logs *logBuffer) {
	t.Helper()
	url := "http://" + cfg.Listeners.Operations.Address + "/readyz"
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready; log:\n%s", cfg.Identity.PartyID, logs.String())
		}
	}
}

func TestSeveralIdentitiesMustBeApart(t *testing.T) {
	base := func() *config.Config {
		c := config.Default()
		c.DataDir = "/var/lib/as4gw/qa"
		c.Identity.PartyID = "AP0001-SDK-QA"
		c.Listeners.AS4.Address, c.Listeners.Backend.Address, c.Listeners.Operations.Address = ":8443", ":8080", ":9090"
		return c
	}
	prod := func() *config.Config {
		c := base()
		c.DataDir = "/var/lib/as4gw/prod"
		c.Identity.PartyID = "AP0001-SDK-PROD"
		c.Listeners.AS4.Address, c.Listeners.Backend.Address, c.Listeners.Operations.Address = ":9443", ":9080", ":9091"
		return c
	}
	tests := []struct {
		name  string
		edit  func(c *config.Config)
		wants []string
	}{
		{"apart", func(*config.Config) {}, nil},
		{"same data dir", func(c *config.Config) { c.DataDir = "/var/lib/as4gw/qa/../qa" }, []string{`dataDir "/var/lib/as4gw/qa" is also used by qa.yaml`}},
		{"same party", func(c *config.Config) { c.Identity.PartyID = "AP0001-SDK-QA" }, []string{`identity.partyId "AP0001-SDK-QA"`}},
		{"same port", func(c *config.Config) { c.Listeners.Operations.Address = ":9090" }, []string{`listener address ":9090" is also used by qa.yaml`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := prod()
			tc.edit(p)
			err := checkApart([]string{"qa.yaml", "prod.yaml"}, []*config.Config{base(), p})
			if len(tc.wants) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
