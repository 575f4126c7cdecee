package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/as4gw/as4gw/config"
	"github.com/as4gw/as4gw/store"
)

// run executes the CLI and returns its output and exit status.
func run(args ...string) (string, int) {
	var out bytes.Buffer
	root := newRootCommand()
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return out.String(), 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		return out.String() + err.Error(), ee.code
	}
	return out.String() + err.Error(), 1
}

func TestBackupAndRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a gateway")
	}
	dir := t.TempDir()
	if err := writeDevpair(dir, freeBase(t)); err != nil {
		t.Fatal(err)
	}
	blueDir := filepath.Join(dir, "blue")
	cfgFile := filepath.Join(blueDir, "as4gw.yaml")
	os.WriteFile(filepath.Join(blueDir, "backup-token"), []byte("0123456789abcdef0123456789abcdef\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "wrong-token"), []byte("fedcba9876543210fedcba9876543210\n"), 0o600)
	editConfigFile(t, cfgFile, func(s string) string {
		return s + "\noperations:\n  backup: {enabled: true, tokenFile: backup-token}\n"
	})
	blue := startGateway(t, blueDir)
	// Red is not running: the message stays queued, with its payload, in blue's store.
	out, err := sendCmd(t, blue, devAction, 0)
	if err != nil {
		t.Fatalf("submit: %v %s", err, out)
	}
	id := strings.Fields(out)[0]

	archive := filepath.Join(dir, "backup.tar")
	if out, code := run("backup", "--config", cfgFile, "--out", archive); code != 0 || !strings.Contains(out, "1 messages and 1 payloads") {
		t.Fatalf("backup: exit %d: %s\nlog:\n%s", code, out, blue.log)
	}
	for _, tt := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"exists", []string{"backup", "--config", cfgFile, "--out", archive}, 1, "pass --force"},
		{"wrong token", []string{"backup", "--config", cfgFile, "--out", filepath.Join(dir, "b2.tar"), "--token-file", filepath.Join(dir, "wrong-token")}, 1, "401"},
		{"usage", []string{"backup", "--config", cfgFile}, 2, "--out are required"},
		{"restore while running", []string{"restore", "--config", cfgFile, "--in", archive, "--force"}, 1, "locked by a running gateway"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, code := run(tt.args...)
			if code != tt.code || !strings.Contains(out, tt.want) {
				t.Fatalf("exit %d, want %d; output %q, want %q", code, tt.code, out, tt.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "b2.tar")); !os.IsNotExist(err) {
		t.Error("a refused backup left a file")
	}

	// Turned off by a reload: the endpoint is gone.
	editConfigFile(t, cfgFile, func(s string) string { return strings.Replace(s, "enabled: true", "enabled: false", 1) })
	if err := blue.rl.reload(); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + blue.cfg.Listeners.Operations.Address + "/backup")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /backup with backups off: %s", resp.Status)
	}

	if err := blue.stop(); err != nil {
		t.Fatal(err)
	}
	if out, code := run("restore", "--config", cfgFile, "--in", archive); code != 1 || !strings.Contains(out, "not empty") {
		t.Fatalf("restore over a store without --force: exit %d: %s", code, out)
	}
	if out, code := run("restore", "--config", cfgFile, "--in", archive, "--force"); code != 0 || !strings.Contains(out, "kept in") {
		t.Fatalf("restore --force: exit %d: %s", code, out)
	}
	if m, _ := filepath.Glob(filepath.Join(blueDir, "data", "store.replaced-*")); len(m) != 1 {
		t.Fatalf("replaced store not kept: %v", m)
	}
	// Into a new dataDir, as on a new machine.
	newCfg := filepath.Join(blueDir, "restored.yaml")
	data, _ := os.ReadFile(cfgFile)
	os.WriteFile(newCfg, bytes.Replace(data, []byte("dataDir: data"), []byte("dataDir: data2"), 1), 0o600)
	if out, code := run("restore", "--config", newCfg, "--in", archive); code != 0 {
		t.Fatalf("restore into a new dataDir: exit %d: %s", code, out)
	}
	for _, d := range []string{"data", "data2"} {
		st, err := store.OpenBolt(filepath.Join(blueDir, d, "store"), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		found, err := st.Find(t.Context(), store.Outbound, id)
		if err != nil || len(found) != 1 || len(found[0].Payloads) != 1 {
			t.Errorf("%s: message %s after restore: %v %+v", d, id, err, found)
		}
		st.Close()
	}
	// A damaged archive is refused and changes nothing.
	bad := filepath.Join(dir, "bad.tar")
	a, _ := os.ReadFile(archive)
	os.WriteFile(bad, a[:len(a)/2], 0o600)
	if out, code := run("restore", "--config", newCfg, "--in", bad, "--force"); code != 1 || !strings.Contains(out, "nothing was changed") {
		t.Fatalf("damaged archive: exit %d: %s", code, out)
	}
	if _, err := os.Stat(filepath.Join(blueDir, "data2", "store.restoring")); !os.IsNotExist(err) {
		t.Error("staging directory left behind")
	}
}

func TestBackupHandler(t *testing.T) {
	dir := t.TempDir()
	st, err := store.OpenBolt(filepath.Join(dir, "store"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	good, short := filepath.Join(dir, "token"), filepath.Join(dir, "short")
	os.WriteFile(good, []byte("0123456789abcdef0123\n"), 0o600)
	os.WriteFile(short, []byte("abc\n"), 0o600)
	cfg := config.Default()
	logs := &logBuffer{}
	h := &backupHandler{st: st, cfg: func() *config.Config { return cfg }, log: slog.New(slog.NewTextHandler(logs, nil))}
	tests := []struct {
		name      string
		enabled   bool
		tokenFile string
		method    string
		auth      string
		busy      bool
		want      int
	}{
		{"off", false, good, "GET", "Bearer 0123456789abcdef0123", false, 404},
		{"no token", true, good, "GET", "", false, 401},
		{"wrong token", true, good, "GET", "Bearer 0123456789abcdef0124", false, 401},
		{"basic auth", true, good, "GET", "Basic MDEyMzQ1Njc4OWFiY2RlZjAxMjM=", false, 401},
		{"short token file", true, short, "GET", "Bearer abc", false, 503},
		{"missing token file", true, filepath.Join(dir, "none"), "GET", "Bearer x", false, 503},
		{"POST", true, good, "POST", "Bearer 0123456789abcdef0123", false, 405},
		{"busy", true, good, "GET", "Bearer 0123456789abcdef0123", true, 409},
		{"ok", true, good, "GET", "Bearer 0123456789abcdef0123", false, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg.Operations.Backup = config.OperationsBackup{Enabled: tt.enabled, TokenFile: tt.tokenFile}
			h.running.Store(tt.busy)
			req := httptest.NewRequest(tt.method, "/backup", nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			if tt.want == 200 {
				if _, err := store.ReadBackup(rec.Body, ""); err != nil {
					t.Fatalf("served archive: %v", err)
				}
			}
		})
	}
	if strings.Contains(logs.String(), "0123456789abcdef") {
		t.Fatal("the token is in the log")
	}
}

// TestOpsClientPinsCertificate: a TLS operations listener is reached by its own
// certificate, whatever name it carries; another certificate is refused.
func TestOpsClientPinsCertificate(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }))
	defer srv.Close()
	dir := t.TempDir()
	pemOf := func(name string, der []byte) string {
		f := filepath.Join(dir, name+".pem")
		os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
		return f
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	otherDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, certFile, want string
	}{
		{"own certificate", pemOf("own", srv.Certificate().Raw), ""},
		{"other certificate", pemOf("other", otherDER), "other than listeners.operations.tls.certFile"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Listeners.Operations = config.Listener{Address: strings.TrimPrefix(srv.URL, "https://"), TLS: config.TLS{CertFile: tt.certFile}}
			client, url, err := opsClient(cfg, "")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(url, "https://127.0.0.1:") || !strings.HasSuffix(url, "/backup") {
				t.Fatalf("url %s", url)
			}
			resp, err := client.Get(url)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}
