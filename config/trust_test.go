package config

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/as4gw/as4gw/trust"
	"github.com/as4gw/as4gw/trust/testpki"
)

// withTrust replaces validYAML's trust line and AS4 listener with the given
// YAML (indented for the identity section) and listener.
func withTrust(identity, as4Listener string) string {
	y := strings.Replace(validYAML, "  trustFiles: [ca.pem]\n", identity, 1)
	if as4Listener != "" {
		y = strings.Replace(y, `  as4: {address: "127.0.0.1:8443", tls: {allowPlainHTTP: true}}`, as4Listener, 1)
	}
	return y
}

func TestTrustValidation(t *testing.T) {
	tests := []struct {
		name     string
		identity string
		as4      string
		env      map[string]string
		want     []string // substrings of the problems; none: valid
	}{
		{name: "legacy trustFiles", identity: "  trustFiles: [ca.pem]\n"},
		{name: "three stores", identity: `  trust:
    as4: {files: [qa-ap-ca.pem], revocation: {mode: ocsp, failMode: hard}}
    tls: {files: [siths.pem], intermediateFiles: [siths-ica.pem], revocation: {mode: crl, failMode: soft, crlURL: "http://crl.example/siths.crl"}}
    smp: {files: [smp.pem], revocation: {mode: ocsp-then-crl, timeout: 5s, cacheTTL: 30m}}
  tlsClient: {pkcs12File: tls.p12, keyAlias: tls, passwordEnv: TLS_PW}
`},
		{name: "both spellings", identity: "  trustFiles: [ca.pem]\n  trust: {as4: {files: [b.pem]}}\n",
			want: []string{"identity.trustFiles: is the older spelling"}},
		{name: "bad mode and failMode", identity: "  trust: {as4: {files: [a.pem], revocation: {mode: ocsp-only, failMode: maybe}}}\n",
			want: []string{`identity.trust.as4.revocation.mode: "ocsp-only"`, `identity.trust.as4.revocation.failMode: "maybe"`}},
		{name: "bad urls", identity: "  trust: {tls: {files: [a.pem], revocation: {ocspResponderURL: ldap://x, crlURL: ftp://y}}}\n",
			want: []string{"identity.trust.tls.revocation.ocspResponderURL", "identity.trust.tls.revocation.crlURL"}},
		{name: "intermediates without anchors", identity: "  trust: {smp: {intermediateFiles: [i.pem]}}\n",
			want: []string{"identity.trust.smp.files: intermediateFiles"}},
		{name: "tlsClient both forms", identity: "  tlsClient: {pkcs12File: a.p12, keyFile: k.pem, certFile: c.pem}\n",
			want: []string{"identity.tlsClient: give pkcs12File or keyFile+certFile"}},
		{name: "tlsClient half pem", identity: "  tlsClient: {keyFile: k.pem}\n",
			want: []string{"identity.tlsClient: give both keyFile and certFile"}},
		{name: "tlsClient two passwords", identity: "  tlsClient: {pkcs12File: a.p12, passwordFile: p, passwordEnv: P}\n",
			want: []string{"identity.tlsClient: give passwordFile or passwordEnv"}},
		{name: "mtls require without tls store", identity: "  trustFiles: [ca.pem]\n",
			as4:  `  as4: {address: ":8443", tls: {certFile: s.crt, keyFile: s.key, clientAuth: require}}`,
			want: []string{"identity.trust.tls.files: is required when listeners.as4.tls.clientAuth is require"}},
		{name: "mtls require with tls store", identity: "  trustFiles: [ca.pem]\n  trust: {tls: {files: [siths.pem]}}\n",
			as4: `  as4: {address: ":8443", tls: {certFile: s.crt, keyFile: s.key, clientAuth: require}}`},
		{name: "mtls legacy clientCAFile", identity: "  trustFiles: [ca.pem]\n",
			as4: `  as4: {address: ":8443", tls: {certFile: s.crt, keyFile: s.key, clientAuth: require, clientCAFile: ca.pem}}`},
		{name: "clientCAFile and tls store", identity: "  trustFiles: [ca.pem]\n  trust: {tls: {files: [siths.pem]}}\n",
			as4:  `  as4: {address: ":8443", tls: {certFile: s.crt, keyFile: s.key, clientAuth: require, clientCAFile: ca.pem}}`,
			want: []string{"listeners.as4.tls.clientCAFile: the AS4 listener's client CAs"}},
		{name: "proxy", identity: "  trustFiles: [ca.pem]\n  trust: {tls: {files: [siths.pem]}}\n",
			as4: `  as4: {address: "127.0.0.1:8443", tls: {allowPlainHTTP: true}, proxy: {trustedProxies: [10.0.0.0/8, "::1", 192.0.2.7], clientCertHeader: X-SSL-Client-Cert}}`},
		{name: "proxy without trusted proxies", identity: "  trustFiles: [ca.pem]\n  trust: {tls: {files: [siths.pem]}}\n",
			as4:  `  as4: {address: "127.0.0.1:8443", tls: {allowPlainHTTP: true}, proxy: {clientCertHeader: X-SSL-Client-Cert}}`,
			want: []string{"listeners.as4.proxy.trustedProxies: list the reverse proxies"}},
		{name: "proxy bad cidr and header", identity: "  trustFiles: [ca.pem]\n  trust: {tls: {files: [siths.pem]}}\n",
			as4:  `  as4: {address: "127.0.0.1:8443", tls: {allowPlainHTTP: true}, proxy: {trustedProxies: [10.0.0.0/33], clientCertHeader: "X SSL"}}`,
			want: []string{`listeners.as4.proxy: trustedProxies[0]: "10.0.0.0/33"`, `listeners.as4.proxy.clientCertHeader: "X SSL"`}},
		{name: "proxy require without header or store", identity: "  trustFiles: [ca.pem]\n",
			as4:  `  as4: {address: "127.0.0.1:8443", tls: {allowPlainHTTP: true}, proxy: {trustedProxies: [10.0.0.1], clientAuth: require}}`,
			want: []string{"listeners.as4.proxy.clientCertHeader: is required", "identity.trust.tls.files: is required to verify"}},
		{name: "proxy bad clientAuth", identity: "  trustFiles: [ca.pem]\n",
			as4:  `  as4: {address: "127.0.0.1:8443", tls: {allowPlainHTTP: true}, proxy: {trustedProxies: [10.0.0.1], clientAuth: always}}`,
			want: []string{`listeners.as4.proxy.clientAuth: "always"`}},
		{name: "env override of revocation mode", identity: "  trust: {as4: {files: [a.pem]}}\n",
			env:  map[string]string{"AS4GW_IDENTITY_TRUST_AS4_REVOCATION_MODE": "sometimes"},
			want: []string{`identity.trust.as4.revocation.mode: "sometimes"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }
			_, err := Parse([]byte(withTrust(tt.identity, tt.as4)), env)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected problems: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted; want problems %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("problems do not contain %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestProxyOnInternalListener(t *testing.T) {
	y := strings.Replace(validYAML, `  backend: {address: "127.0.0.1:8080"}`, `  backend: {address: "127.0.0.1:8080", proxy: {trustedProxies: [10.0.0.1]}}`, 1)
	_, err := Parse([]byte(y), noEnv)
	if err == nil || !strings.Contains(err.Error(), "listeners.backend.proxy: only the AS4 listener") {
		t.Fatalf("got %v", err)
	}
}

func TestBuildValidatorsAndTLSClient(t *testing.T) {
	dir := t.TempDir()
	qa := testpki.Must(testpki.NewHierarchy("QA", "AP0020-SDK-QA", 0))
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("qa-ca.pem", qa.Intermediate.CertPEM())
	write("tls.pem", qa.Root.CertPEM())
	write("tls-client.crt", testpki.CertsPEM(qa.Leaf, qa.Intermediate))
	write("tls-client.key", qa.Leaf.KeyPEM())
	cfg, err := Parse([]byte(withTrust(`  trust:
    as4: {files: [qa-ca.pem], revocation: {mode: crl, failMode: soft}}
    tls: {files: [tls.pem], intermediateFiles: [qa-ca.pem], revocation: {mode: none}}
  tlsClient: {keyFile: tls-client.key, certFile: tls-client.crt}
`, "")), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ResolvePaths(dir)
	as4, err := cfg.BuildValidator("as4", nil)
	if err != nil {
		t.Fatal(err)
	}
	if as4.Policy != trust.RevocationSoftFail || len(as4.Store.Anchors()) != 1 || as4.Name != "as4" {
		t.Errorf("as4 validator: %+v", as4)
	}
	tlsV, err := cfg.BuildValidator("tls", nil)
	if err != nil {
		t.Fatal(err)
	}
	if tlsV.Policy != trust.RevocationHardFail || len(tlsV.Store.Intermediates()) != 1 {
		t.Errorf("tls validator: %+v", tlsV)
	}
	// The leaf chains through the store's intermediate to the TLS root
	// (revocation mode none: accepted with a warning).
	if _, err := tlsV.Verify(t.Context(), qa.Leaf.Certificate, nil, trust.VerifyOptions{At: time.Now()}); err != nil {
		t.Errorf("tls store: %v", err)
	}
	if smp, err := cfg.BuildValidator("smp", nil); smp != nil || err != nil {
		t.Errorf("smp: %v, %v; want nil, nil without files", smp, err)
	}
	if _, err := cfg.BuildValidator("ldap", nil); err == nil {
		t.Error("unknown store accepted")
	}
	cert, err := cfg.LoadTLSClient()
	if err != nil {
		t.Fatal(err)
	}
	if len(cert.Certificate) != 2 || !cert.Leaf.Equal(qa.Leaf.Certificate) {
		t.Errorf("tls client: %d certificates", len(cert.Certificate))
	}
	if c, _ := x509.ParseCertificate(cert.Certificate[1]); c == nil || !c.Equal(qa.Intermediate.Certificate) {
		t.Error("tls client chain does not carry the intermediate")
	}

	cfg.Identity.Trust.AS4.Files = []string{filepath.Join(dir, "missing.pem")}
	if _, err := cfg.BuildValidator("as4", nil); err == nil || !strings.Contains(err.Error(), "identity.trust.as4.files[0]") {
		t.Errorf("missing file: %v", err)
	}
}
