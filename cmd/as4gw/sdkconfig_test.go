package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/as4gw/as4gw/config"
	"github.com/as4gw/as4gw/pmode"
)

const sdkConfigPath = "../../configs/sdk.yaml"

// TestSDKConfigParses checks configs/sdk.yaml, the operator's starting point
// for SDK QA: it parses and validates as shipped (files are only read when
// the gateway starts), its legs are exactly the SDK preset, and the keys the
// SDK prescribes hold the SDK's values.
func TestSDKConfigParses(t *testing.T) {
	cfg, err := config.Load(sdkConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	preset, err := pmode.SDK("QA", cfg.Identity.PartyID)
	if err != nil {
		t.Fatalf("identity.partyId %q: %v", cfg.Identity.PartyID, err)
	}
	if cfg.PModes.Self != cfg.Identity.PartyID || len(cfg.PModes.Parties) != 1 || !reflect.DeepEqual(cfg.PModes.Parties[0].PartyIDs, preset.Parties[0].PartyIDs) {
		t.Errorf("pmodes self %q parties %+v: want the identity %q alone", cfg.PModes.Self, cfg.PModes.Parties, cfg.Identity.PartyID)
	}
	if len(cfg.PModes.Legs) != len(preset.Legs) {
		t.Fatalf("%d legs, the preset has %d", len(cfg.PModes.Legs), len(preset.Legs))
	}
	for i, l := range cfg.PModes.Legs {
		if !reflect.DeepEqual(l, preset.Legs[i]) {
			t.Errorf("leg %d differs from the SDK preset:\n got %+v\nwant %+v", i, l, preset.Legs[i])
		}
	}
	tr := cfg.Identity.Trust
	for name, ts := range map[string]config.TrustStore{"as4": tr.AS4, "tls": tr.TLS, "smp": tr.SMP} {
		if len(ts.Files) == 0 || ts.Revocation.FailMode != "hard" || ts.Revocation.Mode == "none" {
			t.Errorf("identity.trust.%s: files %v, revocation %+v: want anchors and hard-fail checking", name, ts.Files, ts.Revocation)
		}
	}
	checks := []struct {
		what string
		ok   bool
	}{
		{"mutual TLS on the AS4 listener", cfg.Listeners.AS4.TLS.ClientAuth == "require" && cfg.Listeners.AS4.TLS.CertFile != ""},
		{"a TLS client key store of its own", cfg.Identity.TLSClient.PKCS12File != "" && cfg.Identity.TLSClient.PKCS12File != cfg.Identity.PKCS12File},
		{"DIGG's PKCS#12 with a password file", cfg.Identity.PKCS12File != "" && cfg.Identity.PasswordFile != ""},
		{"SML discovery", cfg.Discovery.SML.Zone != "" && cfg.Discovery.TransportProfile == pmode.SDKTransportProfile},
		{"backend clients per organisation", len(cfg.Backend.Clients) >= 2},
		{"audit kept 12 months", cfg.Audit.Retention >= config.DefaultAuditRetention},
		{"100 MB messages", cfg.Limits.MaxMessageBytes >= 100<<20},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("configs/sdk.yaml: %s", c.what)
		}
	}
}

// TestSDKConfigCheck gives configs/sdk.yaml real files in place of the
// placeholders (DIGG-shaped test PKI) and runs "as4gw pmode check" on it:
// identity, the three trust stores and the TLS client key store all load.
func TestSDKConfigCheck(t *testing.T) {
	p := newSDKPKI(t)
	data, err := os.ReadFile(sdkConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	apPW, tlsPW := filepath.Join(dir, "ap.pw"), filepath.Join(dir, "tls.pw")
	os.WriteFile(apPW, []byte("ap-secret\n"), 0o600)
	os.WriteFile(tlsPW, []byte("tls-secret\n"), 0o600)
	// In this order: the access point name is part of a file name.
	replace := [][2]string{
		{"/etc/as4gw/tls/siths-server.crt", pemFile(t, dir, "server.crt", p.tls2, p.tlsCA)},
		{"/etc/as4gw/tls/siths-server.key", keyFile(t, dir, "server.key", p.tls2)},
		{"/etc/as4gw/keys/AP0040-SDK-QA.p12", p12File(t, dir, "ap.p12", "ap-secret", p.ap2, p.as4QA)},
		{"/etc/as4gw/keys/siths-client.p12", p12File(t, dir, "tls.p12", "tls-secret", p.tls2, p.tlsCA)},
		{"/etc/as4gw/trust/accesspunkt-ca-sdk-qa.pem", pemFile(t, dir, "as4-ca.pem", p.as4QA)},
		{"/etc/as4gw/trust/siths-function-ca.pem", pemFile(t, dir, "tls-ca.pem", p.tlsCA)},
		{"/etc/as4gw/trust/rot-ca-edelivery-smp-qa.pem", pemFile(t, dir, "smp-ca.pem", p.smpRoot)},
		{"/run/secrets/as4gw-ap-password", apPW},
		{"/run/secrets/as4gw-tls-password", tlsPW},
		{"/var/lib/as4gw", filepath.Join(dir, "data")},
		{"AP0040-SDK-QA", "AP0002-SDK-QA"},
	}
	text := string(data)
	for _, r := range replace {
		if !strings.Contains(text, r[0]) {
			t.Fatalf("configs/sdk.yaml no longer mentions %s", r[0])
		}
		text = strings.ReplaceAll(text, r[0], r[1])
	}
	path := filepath.Join(dir, "as4gw.yaml")
	os.WriteFile(path, []byte(text), 0o644)
	out, code := run("pmode", "check", "--config", path)
	if code != 0 || !strings.Contains(out, "is valid: party AP0002-SDK-QA") {
		t.Fatalf("pmode check: exit %d\n%s", code, out)
	}
}
