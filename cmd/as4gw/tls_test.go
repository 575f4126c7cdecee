package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/as4gw/as4gw/config"
	"github.com/as4gw/as4gw/trust"
	"github.com/as4gw/as4gw/trust/testpki"
)

// tlsPKI is two federations' TLS CAs ("SITHS" QA and PROD), an OCSP
// responder for the QA CA, and certificates issued under them for loopback.
type tlsPKI struct {
	qa, prod           *testpki.Hierarchy
	ocsp               *testpki.OCSPResponder
	server, client     *testpki.Cert // QA, good
	revoked, downOCSP  *testpki.Cert // QA: revoked; OCSP URL nobody answers
	prodServer, prodAP *testpki.Cert // the other federation
}

var (
	tlsPKIOnce sync.Once
	tlsPKIVal  *tlsPKI
	tlsPKIErr  error
)

func newTLSPKI(t *testing.T) *tlsPKI {
	t.Helper()
	tlsPKIOnce.Do(func() {
		p := &tlsPKI{}
		if p.qa, tlsPKIErr = testpki.NewHierarchy("TLSQA", "AP0040-TLS-QA", 0); tlsPKIErr != nil {
			return
		}
		if p.prod, tlsPKIErr = testpki.NewHierarchy("TLSPROD", "AP0040-TLS-PROD", 0); tlsPKIErr != nil {
			return
		}
		p.ocsp = testpki.NewOCSPResponder(p.qa.Intermediate) // lives for the test binary
		down := "http://127.0.0.1:1/ocsp"
		p.server = loopbackCert(p.qa.Intermediate, "gw.qa.example", 501, p.ocsp.URL)
		p.client = loopbackCert(p.qa.Intermediate, "partner.qa.example", 502, p.ocsp.URL)
		p.revoked = loopbackCert(p.qa.Intermediate, "revoked.qa.example", 503, p.ocsp.URL)
		p.downOCSP = loopbackCert(p.qa.Intermediate, "unchecked.qa.example", 504, down)
		p.prodServer = loopbackCert(p.prod.Intermediate, "gw.prod.example", 505, "")
		p.prodAP = loopbackCert(p.prod.Intermediate, "partner.prod.example", 506, "")
		p.ocsp.Revoke(p.revoked.Certificate.SerialNumber, time.Now().Add(-time.Hour), 1)
		tlsPKIVal = p
	})
	if tlsPKIErr != nil {
		t.Fatal(tlsPKIErr)
	}
	return tlsPKIVal
}

// loopbackCert issues a TLS certificate for 127.0.0.1 (server and client
// use), pointing at an OCSP responder when given.
func loopbackCert(ca *testpki.Cert, cn string, serial int64, ocspURL string) *testpki.Cert {
	key := testpki.Must(testpki.Key(testpki.DefaultKeySize, 500))
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
	}
	if ocspURL != "" {
		tmpl.OCSPServer = []string{ocspURL}
	}
	der := testpki.Must(x509.CreateCertificate(rand.Reader, tmpl, ca.Certificate, &key.PublicKey, ca.Key))
	return &testpki.Cert{Certificate: testpki.Must(x509.ParseCertificate(der)), Key: key}
}

func tlsCert(c, ca *testpki.Cert) tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{c.Certificate.Raw, ca.Certificate.Raw}, PrivateKey: c.Key, Leaf: c.Certificate}
}

// tlsHolder is a trust set whose TLS store trusts the QA CA only, checking
// OCSP under the given fail mode.
func tlsHolder(t *testing.T, p *tlsPKI, policy trust.RevocationPolicy, warn func(string, ...any)) *trustHolder {
	t.Helper()
	rc, err := trust.NewRevocationChecker(trust.RevocationConfig{Mode: trust.RevocationModeOCSP, OCSP: trust.OCSPOptions{Timeout: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	v := &trust.Validator{Name: "tls", Store: trust.NewStore(p.qa.Intermediate.Certificate), Revocation: rc, Policy: policy, Warn: warn}
	h := &trustHolder{}
	h.p.Store(&trustSet{TLS: v, tlsPool: v.Store.CertPool()})
	return h
}

// TestAS4ListenerMutualTLS runs the AS4 listener's TLS configuration on
// loopback: mutual TLS required, client certificates checked against the
// TLS store with OCSP.
func TestAS4ListenerMutualTLS(t *testing.T) {
	p := newTLSPKI(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	os.WriteFile(certFile, testpki.CertsPEM(p.server, p.qa.Intermediate), 0o600)
	os.WriteFile(keyFile, p.server.KeyPEM(), 0o600)

	var warnings logBuffer
	warn := func(msg string, args ...any) {
		slog.New(slog.NewTextHandler(&warnings, nil)).Warn(msg, args...)
	}
	h := tlsHolder(t, p, trust.RevocationHardFail, warn)
	tc, err := serverTLS(config.TLS{CertFile: certFile, KeyFile: keyFile, ClientAuth: "require"}, h)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	var serverLog logBuffer
	srv.Config.ErrorLog = log.New(&serverLog, "", 0)
	srv.TLS = tc
	srv.StartTLS()
	defer srv.Close()

	roots := x509.NewCertPool()
	roots.AddCert(p.qa.Intermediate.Certificate)
	tests := []struct {
		name      string
		client    *tls.Certificate
		soft      bool
		maxTLS    uint16
		wantCN    string
		serverErr string // in the server's handshake error log
		warning   string
	}{
		{name: "good client TLS 1.3", client: ptr(tlsCert(p.client, p.qa.Intermediate)), wantCN: "partner.qa.example"},
		{name: "good client TLS 1.2", client: ptr(tlsCert(p.client, p.qa.Intermediate)), maxTLS: tls.VersionTLS12, wantCN: "partner.qa.example"},
		{name: "no client certificate", serverErr: "client didn't provide a certificate"},
		{name: "other federation", client: ptr(tlsCert(p.prodAP, p.prod.Intermediate)), serverErr: "no chain to a trust anchor"},
		{name: "revoked", client: ptr(tlsCert(p.revoked, p.qa.Intermediate)), serverErr: "is revoked"},
		{name: "OCSP down, hard fail", client: ptr(tlsCert(p.downOCSP, p.qa.Intermediate)), serverErr: `revocation status of certificate "CN=unchecked.qa.example"`},
		{name: "OCSP down, soft fail", client: ptr(tlsCert(p.downOCSP, p.qa.Intermediate)), soft: true, wantCN: "unchecked.qa.example", warning: "accepted under soft-fail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.soft {
				// A reload to soft fail applies to the next handshake.
				h.p.Store(tlsHolder(t, p, trust.RevocationSoftFail, warn).get())
				defer h.p.Store(tlsHolder(t, p, trust.RevocationHardFail, warn).get())
			}
			cc := &tls.Config{RootCAs: roots, MaxVersion: tt.maxTLS}
			if tt.client != nil {
				// Always present it, even when it does not match the CAs
				// the server names (Go would otherwise send none).
				cc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return tt.client, nil }
			}
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: cc}, Timeout: 10 * time.Second}
			resp, err := client.Get(srv.URL)
			if tt.wantCN != "" {
				if err != nil {
					t.Fatalf("refused: %v (server: %s)", err, serverLog.String())
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(body) != tt.wantCN {
					t.Errorf("peer %q, want %q", body, tt.wantCN)
				}
				if tt.warning != "" && !strings.Contains(warnings.String(), tt.warning) {
					t.Errorf("no warning %q logged: %s", tt.warning, warnings.String())
				}
				return
			}
			if err == nil {
				resp.Body.Close()
				t.Fatal("accepted")
			}
			deadline := time.Now().Add(5 * time.Second)
			for !strings.Contains(serverLog.String(), tt.serverErr) && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if !strings.Contains(serverLog.String(), tt.serverErr) {
				t.Errorf("server log does not name the reason %q:\n%s", tt.serverErr, serverLog.String())
			}
		})
	}
	if got := tc.MinVersion; got != tls.VersionTLS12 {
		t.Errorf("MinVersion %x", got)
	}
}

func TestServerRefusesTLS11(t *testing.T) {
	p := newTLSPKI(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "s.crt"), filepath.Join(dir, "s.key")
	os.WriteFile(certFile, testpki.CertsPEM(p.server, p.qa.Intermediate), 0o600)
	os.WriteFile(keyFile, p.server.KeyPEM(), 0o600)
	tc, err := serverTLS(config.TLS{CertFile: certFile, KeyFile: keyFile}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = tc
	srv.StartTLS()
	defer srv.Close()
	conn, err := tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11, MinVersion: tls.VersionTLS10})
	if err == nil {
		conn.Close()
		t.Fatal("TLS 1.1 handshake accepted")
	}
}

// TestOutboundClientMutualTLS posts with outboundClient: our client
// certificate is presented, the server's is checked against the TLS store
// with revocation.
func TestOutboundClientMutualTLS(t *testing.T) {
	p := newTLSPKI(t)
	h := tlsHolder(t, p, trust.RevocationHardFail, nil)
	ts := h.get()
	ts.TLSClient = ptr(tlsCert(p.client, p.qa.Intermediate))
	cfg := config.Default()
	client := outboundClient(cfg, h)
	if tr := client.Transport.(*http.Transport); tr.MaxIdleConnsPerHost < cfg.Sender.Workers || tr.TLSClientConfig.MinVersion != tls.VersionTLS12 {
		t.Errorf("transport: MaxIdleConnsPerHost %d, MinVersion %x", tr.MaxIdleConnsPerHost, tr.TLSClientConfig.MinVersion)
	}
	tests := []struct {
		name   string
		server tls.Certificate
		want   string // error text; "" means success
	}{
		{name: "good", server: tlsCert(p.server, p.qa.Intermediate)},
		{name: "revoked server", server: tlsCert(p.revoked, p.qa.Intermediate), want: "is revoked"},
		{name: "other federation", server: tlsCert(p.prodServer, p.prod.Intermediate), want: "certificate signed by unknown authority"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, r.TLS.PeerCertificates[0].Subject.CommonName)
			}))
			srv.Config.ErrorLog = log.New(io.Discard, "", 0)
			srv.TLS = &tls.Config{Certificates: []tls.Certificate{tt.server}, ClientAuth: tls.RequireAnyClientCert}
			srv.StartTLS()
			defer srv.Close()
			resp, err := client.Get(srv.URL)
			if tt.want != "" {
				if err == nil {
					resp.Body.Close()
					t.Fatal("server accepted")
				}
				if !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("error %v, want %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(body) != "partner.qa.example" {
				t.Errorf("server saw client %q", body)
			}
		})
	}
	client.CloseIdleConnections()
}

// TestPeerAuthBehindProxy: the AS4 listener behind a TLS-terminating proxy
// believes the client certificate header only from a trusted proxy.
func TestPeerAuthBehindProxy(t *testing.T) {
	p := newTLSPKI(t)
	h := tlsHolder(t, p, trust.RevocationHardFail, nil)
	escaped := func(c *testpki.Cert) string { return url.QueryEscape(string(c.CertPEM())) }
	const header = "X-SSL-Client-Cert"
	tests := []struct {
		name    string
		proxies []string
		auth    string
		values  []string
		status  int
		peer    string
	}{
		{name: "from proxy", proxies: []string{"127.0.0.0/8"}, values: []string{escaped(p.client)}, status: 200, peer: "partner.qa.example"},
		{name: "revoked", proxies: []string{"127.0.0.1"}, values: []string{escaped(p.revoked)}, status: 403},
		{name: "other federation", proxies: []string{"127.0.0.1"}, values: []string{escaped(p.prodAP)}, status: 403},
		{name: "garbage header", proxies: []string{"127.0.0.1"}, values: []string{"hello"}, status: 403},
		{name: "no header, required", proxies: []string{"127.0.0.1"}, status: 403},
		{name: "no header, requested", proxies: []string{"127.0.0.1"}, auth: "request", status: 200},
		{name: "header twice", proxies: []string{"127.0.0.1"}, values: []string{escaped(p.client), escaped(p.client)}, status: 403},
		{name: "not from a trusted proxy", proxies: []string{"10.0.0.0/8"}, values: []string{escaped(p.client)}, status: 403},
		{name: "not from a trusted proxy, requested", proxies: []string{"10.0.0.0/8"}, auth: "request", values: []string{escaped(p.client)}, status: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get(header) != "" {
					t.Error("the header reached the handler")
				}
				if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
					io.WriteString(w, r.TLS.PeerCertificates[0].Subject.CommonName)
				}
			})
			pa, err := newPeerAuth(config.Proxy{TrustedProxies: tt.proxies, ClientCertHeader: header, ClientAuth: tt.auth}, h,
				slog.New(slog.NewTextHandler(io.Discard, nil)), next)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(pa)
			defer srv.Close()
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL+"/as4", nil)
			for _, v := range tt.values {
				req.Header.Add(header, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || (tt.peer != "" && string(body) != tt.peer) {
				t.Errorf("status %d body %q, want %d %q", resp.StatusCode, body, tt.status, tt.peer)
			}
		})
	}
}

// TestBuildTrustFederations is TF-03 through the configuration: the AS4
// store holds the QA access point CA, and a PROD access point certificate
// is refused for signing; the receiver check refuses it too.
func TestBuildTrustFederations(t *testing.T) {
	qa := testpki.Must(testpki.NewHierarchy("QA", "AP0001-SDK-QA", 0))
	prod := testpki.Must(testpki.NewHierarchy("PROD", "AP0001-SDK-PROD", 0))
	p := newTLSPKI(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "as4-qa.pem"), qa.Intermediate.CertPEM(), 0o600)
	os.WriteFile(filepath.Join(dir, "tls-qa.pem"), p.qa.Intermediate.CertPEM(), 0o600)
	cfg := config.Default()
	cfg.Identity.Trust.AS4 = config.TrustStore{Files: []string{filepath.Join(dir, "as4-qa.pem")}, Revocation: config.Revocation{Mode: "none"}}
	cfg.Identity.Trust.TLS = config.TrustStore{Files: []string{filepath.Join(dir, "tls-qa.pem")}}
	ts, err := buildTrust(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if ts.SMP != nil || ts.TLSClient != nil {
		t.Errorf("unconfigured parts built: %+v", ts)
	}
	h := &trustHolder{}
	h.p.Store(ts)
	ctx := context.Background()
	if _, err := ts.AS4.Verify(ctx, qa.Leaf.Certificate, nil, trust.VerifyOptions{KeyUsage: trust.KeyUsageSigning}); err != nil {
		t.Errorf("QA signer refused: %v", err)
	}
	if _, err := ts.AS4.Verify(ctx, prod.Leaf.Certificate, nil, trust.VerifyOptions{KeyUsage: trust.KeyUsageSigning}); !errors.Is(err, trust.ErrUntrusted) {
		t.Errorf("PROD signer: %v, want untrusted", err)
	}
	if err := h.checkPartnerCert(ctx, prod.Leaf.Certificate); !errors.Is(err, trust.ErrUntrusted) {
		t.Errorf("PROD receiver: %v, want untrusted", err)
	}
	// The stores are separate: the TLS CA does not make a TLS certificate
	// an AS4 signer, nor the AS4 CA a TLS peer.
	if _, err := ts.AS4.Verify(ctx, p.client.Certificate, nil, trust.VerifyOptions{}); !errors.Is(err, trust.ErrUntrusted) {
		t.Errorf("TLS certificate accepted by the AS4 store: %v", err)
	}
	if _, err := ts.TLS.VerifyTLSPeer(ctx, []*x509.Certificate{qa.Leaf.Certificate}); !errors.Is(err, trust.ErrUntrusted) {
		t.Errorf("AS4 certificate accepted by the TLS store: %v", err)
	}
}

func TestLogExpiry(t *testing.T) {
	now := time.Now()
	var buf bytes.Buffer
	lg := slog.New(slog.NewTextHandler(&buf, nil))
	certs := []trust.LabeledCertificate{
		{Role: "identity", Name: "blue", Certificate: &x509.Certificate{Subject: pkix.Name{CommonName: "blue"}, NotAfter: now.Add(400 * 24 * time.Hour)}},
		{Role: "tls-client", Name: "blue", Certificate: &x509.Certificate{Subject: pkix.Name{CommonName: "blue-tls"}, NotAfter: now.Add(5 * 24 * time.Hour)}},
		{Role: "partner", Name: "red", Certificate: &x509.Certificate{Subject: pkix.Name{CommonName: "red"}, NotAfter: now.Add(-time.Hour)}},
	}
	logExpiry(lg, certs, now)
	out := buf.String()
	if !strings.Contains(out, `level=WARN msg="certificate expires soon" role=tls-client`) || !strings.Contains(out, "daysLeft=5") {
		t.Errorf("no warning for the TLS client certificate:\n%s", out)
	}
	if !strings.Contains(out, `level=ERROR msg="certificate has expired" role=partner name=red`) {
		t.Errorf("no error for the expired partner certificate:\n%s", out)
	}
	if strings.Contains(out, "role=identity") {
		t.Errorf("a certificate valid for 400 days was reported:\n%s", out)
	}
}

func ptr[T any](v T) *T { return &v }
