package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/as4gw/as4gw/config"
	"github.com/as4gw/as4gw/trust/testpki"
)

// TestServeMutualTLSPair runs blue and red through runGateway with the AS4
// listener on mutual TLS (client certificates required, checked against the
// TLS store with OCSP) and outbound calls presenting the TLS client
// certificate from its own key store, then sends a message from blue to red.
func TestServeMutualTLSPair(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two gateways")
	}
	fastPolling(t)
	p := newTLSPKI(t)
	dir := t.TempDir()
	if err := writeDevpair(dir, 23200); err != nil {
		t.Fatal(err)
	}
	tlsDir := filepath.Join(dir, "tls")
	os.MkdirAll(tlsDir, 0o700)
	files := map[string][]byte{
		"server.crt": testpki.CertsPEM(p.server, p.qa.Intermediate), "server.key": p.server.KeyPEM(),
		"client.crt": testpki.CertsPEM(p.client, p.qa.Intermediate), "client.key": p.client.KeyPEM(),
		"tls-ca.pem": p.qa.Intermediate.CertPEM(),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(tlsDir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	f := func(name string) string { return filepath.Join(tlsDir, name) }

	cfgs := map[string]*config.Config{}
	for _, name := range []string{"blue", "red"} {
		cfg, err := config.Load(filepath.Join(dir, name, "as4gw.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Listeners.AS4.Address, cfg.Listeners.Backend.Address, cfg.Listeners.Operations.Address = freeAddr(t), freeAddr(t), freeAddr(t)
		cfg.Listeners.AS4.TLS = config.TLS{CertFile: f("server.crt"), KeyFile: f("server.key"), ClientAuth: "require"}
		cfg.Identity.Trust.TLS = config.TrustStore{Files: []string{f("tls-ca.pem")}, Revocation: config.Revocation{Mode: "ocsp", FailMode: "hard"}}
		cfg.Identity.TLSClient = config.TLSClient{CertFile: f("client.crt"), KeyFile: f("client.key")}
		cfg.Sender.AllowPlainHTTP = false
		cfgs[name] = cfg
	}
	for _, cfg := range cfgs {
		for i, party := range cfg.PModes.Parties {
			cfg.PModes.Parties[i].Endpoint = "https://" + cfgs[party.Name].Listeners.AS4.Address + "/as4"
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("config: %v", err)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	var logs logBuffer
	done := make(chan error, 2)
	for name, cfg := range cfgs {
		go func() { done <- runGateway(ctx, cfg, slog.New(slog.NewTextHandler(&logs, nil)).With("gateway", name)) }()
	}
	defer func() {
		cancel()
		for range cfgs {
			if err := <-done; err != nil {
				t.Errorf("runGateway: %v", err)
			}
		}
		if t.Failed() {
			t.Logf("gateway logs:\n%s", logs.String())
		}
	}()
	for _, cfg := range cfgs {
		url := "http://" + cfg.Listeners.Operations.Address + "/readyz"
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			resp, err := http.Get(url)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not ready: %v", url, err)
			}
		}
	}

	payload := filepath.Join(dir, "message.xml")
	os.WriteFile(payload, []byte("<hello>mutual TLS</hello>"), 0o600)
	out, errOut, code := runSendCmd(t, "--api", "http://"+cfgs["blue"].Listeners.Backend.Address,
		"--token-file", filepath.Join(dir, "blue", "api-token"), "--metadata", filepath.Join(dir, "blue", "example-metadata.json"),
		"--payload", "message="+payload, "--wait", "30s")
	if code != 0 || !strings.Contains(out, "ACKNOWLEDGED") {
		t.Fatalf("send: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}

	// A caller without a client certificate does not get past the handshake.
	plain := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: outboundClient(cfgs["blue"], nil).Transport.(*http.Transport).TLSClientConfig}}
	plain.Transport.(*http.Transport).TLSClientConfig.InsecureSkipVerify = true
	if resp, err := plain.Post("https://"+cfgs["red"].Listeners.AS4.Address+"/as4", "text/plain", strings.NewReader("x")); err == nil {
		resp.Body.Close()
		t.Error("red's AS4 listener answered a client without a certificate")
	}
}
