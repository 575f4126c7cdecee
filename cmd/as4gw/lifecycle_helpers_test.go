package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/as4gw/as4gw/config"
)

// freeBase finds six consecutive free loopback ports for a devpair.
func freeBase(t *testing.T) int {
	t.Helper()
	for range 50 {
		base := 20000 + rand.IntN(40000)
		var lns []net.Listener
		ok := true
		for i := range 6 {
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+i))
			if err != nil {
				ok = false
				break
			}
			lns = append(lns, ln)
		}
		for _, ln := range lns {
			ln.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no six free consecutive ports")
	return 0
}

// logBuffer is a log sink tests read while gateways write.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *logBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *logBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testGateway is one gateway run in-process by runGatewayFile.
type testGateway struct {
	path string
	dir  string
	cfg  *config.Config
	log  *logBuffer
	rl   *reloader
	stop func() error // stops the gateway (once); the test's cleanup calls it too
}

var reloaders sync.Map // config path → *reloader

func init() {
	reloaderStarted = func(r *reloader) { reloaders.Store(r.path, r) }
}

// startGateway runs the gateway of dir/as4gw.yaml until the test ends and waits for
// /readyz.
func startGateway(t *testing.T, dir string) *testGateway {
	t.Helper()
	path := filepath.Join(dir, "as4gw.yaml")
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	g := &testGateway{path: path, dir: dir, cfg: cfg, log: &logBuffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runGatewayFile(ctx, path, cfg, slog.New(slog.NewTextHandler(g.log, nil))) }()
	g.stop = sync.OnceValue(func() error { cancel(); return <-done })
	t.Cleanup(func() {
		if err := g.stop(); err != nil {
			t.Errorf("gateway %s: %v", dir, err)
		}
	})
	url := "http://" + cfg.Listeners.Operations.Address + "/readyz"
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready; log:\n%s", dir, g.log)
		}
	}
	r, ok := reloaders.Load(path)
	if !ok {
		t.Fatal("no reloader registered")
	}
	g.rl = r.(*reloader)
	return g
}

// editConfig rewrites the gateway's configuration file.
func editConfig(t *testing.T, g *testGateway, edit func(string) string) {
	t.Helper()
	data, err := os.ReadFile(g.path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(g.path, []byte(edit(string(data))), 0o644); err != nil {
		t.Fatal(err)
	}
}

// sendCmd runs "as4gw send" against g with the example metadata, action replaced.
func sendCmd(t *testing.T, g *testGateway, action string, wait time.Duration) (string, error) {
	t.Helper()
	var meta map[string]any
	data, _ := os.ReadFile(filepath.Join(g.dir, "example-metadata.json"))
	json.Unmarshal(data, &meta)
	meta["action"] = action
	metaFile := filepath.Join(t.TempDir(), "meta.json")
	data, _ = json.Marshal(meta)
	os.WriteFile(metaFile, data, 0o600)
	payload := filepath.Join(t.TempDir(), "p.xml")
	os.WriteFile(payload, []byte("<hello>reload</hello>"), 0o600)
	var out, errOut bytes.Buffer
	root := newRootCommand()
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs([]string{"send", "--api", "http://" + g.cfg.Listeners.Backend.Address, "--token-file", filepath.Join(g.dir, "api-token"),
		"--metadata", metaFile, "--payload", "message=" + payload, "--wait", wait.String()})
	err := root.Execute()
	return strings.TrimSpace(out.String() + errOut.String()), err
}

// messageStatus reads a message's status through g's API.
func apiStatus(t *testing.T, g *testGateway, id string) messageStatus {
	t.Helper()
	token, _ := os.ReadFile(filepath.Join(g.dir, "api-token"))
	req, _ := http.NewRequest(http.MethodGet, "http://"+g.cfg.Listeners.Backend.Address+"/api/v1/messages/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st messageStatus
	json.NewDecoder(resp.Body).Decode(&st)
	return st
}

func itoa(n int) string { return fmt.Sprint(n) }

func listenLoopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func editConfigFile(t *testing.T, path string, edit func(string) string) {
	t.Helper()
	editConfig(t, &testGateway{path: path}, edit)
}
