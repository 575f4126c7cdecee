package main

import (
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/as4gw/as4gw/config"
)

const otherAction = "urn:as4gw:dev:other"

// addLeg appends a second leg, dev-other, with its own action to a devpair config.
func addLeg(s string) string {
	i := strings.Index(s, "  legs:\n")
	leg := s[i+len("  legs:\n"):]
	leg = strings.Replace(leg, "name: dev-message", "name: dev-other", 1)
	leg = strings.Replace(leg, devAction, otherAction, 1)
	return strings.TrimRight(s, "\n") + "\n" + leg
}

// TestReloadPModes: a new leg is accepted after a reload on both sides, a broken file is
// refused with the old configuration kept, and a change that needs a restart is named.
func TestReloadPModes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two gateways")
	}
	dir := t.TempDir()
	if err := writeDevpair(dir, freeBase(t)); err != nil {
		t.Fatal(err)
	}
	blue, red := startGateway(t, filepath.Join(dir, "blue")), startGateway(t, filepath.Join(dir, "red"))

	if out, err := sendCmd(t, blue, otherAction, time.Minute); err == nil {
		t.Fatalf("a message on a leg not configured yet was accepted: %s", out)
	}
	for _, g := range []*testGateway{blue, red} {
		editConfig(t, g, addLeg)
		if err := g.rl.reload(); err != nil {
			t.Fatalf("reload: %v", err)
		}
	}
	if out, err := sendCmd(t, blue, otherAction, time.Minute); err != nil || !strings.Contains(out, "ACKNOWLEDGED") {
		t.Fatalf("new leg after reload: %v\n%s\nblue:\n%s\nred:\n%s", err, out, blue.log, red.log)
	}

	// Broken: a leg without an action. Refused, every problem logged, old kept.
	editConfig(t, red, func(s string) string { return strings.Replace(s, `action: "`+otherAction+`"`, `action: ""`, 1) })
	if err := red.rl.reload(); err == nil {
		t.Fatal("broken configuration accepted")
	}
	for _, want := range []string{"reload refused", "pmodes.legs[1].action", "keeping the configuration in force"} {
		if !strings.Contains(red.log.String(), want) {
			t.Errorf("red's log does not say %q:\n%s", want, red.log)
		}
	}
	if out, err := sendCmd(t, blue, otherAction, time.Minute); err != nil || !strings.Contains(out, "ACKNOWLEDGED") {
		t.Fatalf("after a refused reload the old configuration should still work: %v\n%s", err, out)
	}

	// Valid, but a key that needs a restart: applied partly, the key named.
	editConfig(t, red, func(s string) string {
		s = strings.Replace(s, `action: ""`, `action: "`+otherAction+`"`, 1)
		return strings.Replace(s, "workers: 32", "workers: 5", 1)
	})
	if err := red.rl.reload(); err != nil {
		t.Fatal(err)
	}
	if log := red.log.String(); !strings.Contains(log, "require a restart") || !strings.Contains(log, "sender.workers") {
		t.Errorf("restart-only change not named:\n%s", log)
	}
	if red.rl.current().Sender.Workers != 32 {
		t.Error("sender.workers counted as in force")
	}
}

// TestReloadKeepsInFlight: a send under way when the configuration changes finishes with
// the configuration it started with; the next one uses the new.
func TestReloadKeepsInFlight(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two gateways")
	}
	dir := t.TempDir()
	base := freeBase(t)
	if err := writeDevpair(dir, base); err != nil {
		t.Fatal(err)
	}
	// Blue reaches red through a proxy that holds the first request until released.
	redURL, _ := url.Parse("http://127.0.0.1:" + itoa(base+3))
	rp := httputil.NewSingleHostReverseProxy(redURL)
	arrived, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	proxy := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		first := false
		once.Do(func() { first = true; close(arrived) })
		if first {
			<-release
		}
		rp.ServeHTTP(w, r)
	})}
	pln := listenLoopback(t)
	go proxy.Serve(pln)
	defer proxy.Close()
	blueDir := filepath.Join(dir, "blue")
	editConfigFile(t, filepath.Join(blueDir, "as4gw.yaml"), func(s string) string {
		return strings.Replace(s, "endpoint: "+redURL.String()+"/as4", "endpoint: http://"+pln.Addr().String()+"/as4", 1)
	})
	blue, red := startGateway(t, blueDir), startGateway(t, filepath.Join(dir, "red"))
	_ = red

	out, err := sendCmd(t, blue, devAction, 0)
	if err != nil {
		t.Fatalf("submit: %v %s", err, out)
	}
	id := strings.Fields(out)[0]
	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		t.Fatalf("the message never left blue:\n%s", blue.log)
	}
	// While it is on the wire: blue drops its AS4 trust anchors. The receipt that comes
	// back must still be checked against the trust the send started with.
	editConfig(t, blue, func(s string) string { return strings.Replace(s, "files: [../ca.pem]", "files: []", 1) })
	if err := blue.rl.reload(); err != nil {
		t.Fatalf("reload: %v", err)
	}
	close(release)
	waitStatus(t, blue, id, func(st messageStatus) bool { return st.Status == "ACKNOWLEDGED" }, "ACKNOWLEDGED")

	// The next message meets the new configuration: no trust, no send.
	out, err = sendCmd(t, blue, devAction, 0)
	if err != nil {
		t.Fatalf("submit: %v %s", err, out)
	}
	id2 := strings.Fields(out)[0]
	st := waitStatus(t, blue, id2, func(st messageStatus) bool { return len(st.Attempts) > 0 }, "a failed attempt")
	if st.Status == "ACKNOWLEDGED" || !strings.Contains(string(st.Attempts[0].Error), "trust") {
		t.Fatalf("sent with trust that was reloaded away: %+v", st)
	}
	t.Logf("next message after the reload: %s", st.Attempts[0].Error)
}

func waitStatus(t *testing.T, g *testGateway, id string, ok func(messageStatus) bool, what string) messageStatus {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		st := apiStatus(t, g, id)
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: status %+v, want %s; log:\n%s", id, st, what, g.log)
		}
	}
}

func TestRestartKeys(t *testing.T) {
	base := func() *config.Config {
		c := config.Default()
		c.Listeners.AS4.Address = "127.0.0.1:8443"
		c.Identity.KeyFile = "key.pem"
		c.Identity.TrustFiles = []string{"ca.pem"}
		c.Backend.Clients = []config.BackendClient{{Name: "a", Participants: []string{"0203:a"}}}
		return c
	}
	tests := []struct {
		name string
		edit func(c *config.Config)
		want string
	}{
		{"nothing", func(c *config.Config) {}, ""},
		{"reloadable only", func(c *config.Config) {
			c.PModes.Self = "other"
			c.Identity.TrustFiles = nil
			c.Backend.Clients[0].Participants = []string{"0203:b"}
			c.Operations.Backup.Enabled = true
		}, ""},
		{"listener", func(c *config.Config) { c.Listeners.AS4.Address = "0.0.0.0:443" }, "listeners.as4.address"},
		{"identity key and sender", func(c *config.Config) { c.Identity.KeyFile = "new.pem"; c.Sender.Workers = 99 }, "identity.keyFile, sender.workers"},
		{"dataDir", func(c *config.Config) { c.DataDir = "/elsewhere" }, "dataDir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := base(), base()
			tt.edit(b)
			if got := strings.Join(restartKeys(a, b), ", "); got != tt.want {
				t.Fatalf("restartKeys = %q, want %q", got, tt.want)
			}
			m := mergeReloadable(a, b)
			if got := strings.Join(restartKeys(m, a), ", "); got != "" {
				t.Fatalf("merged config differs from the old in restart-only keys: %s", got)
			}
		})
	}
}
