package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/as4gw/as4gw/as4"
	"github.com/as4gw/as4gw/config"
	"github.com/as4gw/as4gw/metrics"
	"github.com/as4gw/as4gw/pmode"
	"github.com/as4gw/as4gw/store"
	"github.com/as4gw/as4gw/trust"
)

// shutdownTimeout bounds a graceful stop: listeners drain, in-flight sends
// finish or are released (their leases bring them back after a restart).
const shutdownTimeout = 20 * time.Second

func newServeCommand() *cobra.Command {
	var configFiles []string
	var devDir string
	cmd := &cobra.Command{
		Use:   "serve [--config FILE]...",
		Short: "Run the gateway (without --config: two development gateways, blue and red)",
		Long: `serve runs the gateway described by --config: the AS4 endpoint, the backend API and
the operations listener (/healthz, /readyz, /metrics). It stops gracefully on SIGTERM or SIGINT
and re-reads P-Modes, trust stores and backend clients on SIGHUP.

Several access point identities (e.g. SDK QA and PROD) run in one process with one --config
each: every gateway keeps its own keys, trust stores, discovery settings, participants, data
directory and listeners, exactly as if it ran alone; they share nothing but the process.

Without --config it runs an embedded development default: two gateways, blue and red,
in one process, written to --dev-dir on first use (plain HTTP on loopback ports 18080-18085,
development keys), and prints how to send a message from one to the other.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			setGCDefault()
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			if len(configFiles) > 0 {
				return runIdentities(ctx, configFiles, cmd.ErrOrStderr())
			}
			return runDevDefault(ctx, devDir, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringArrayVar(&configFiles, "config", nil, "gateway configuration (YAML); repeat for several access point identities")
	cmd.Flags().StringVar(&devDir, "dev-dir", "as4gw-dev", "where the development default keeps its files (without --config)")
	return cmd
}

func newLogger(format string, w io.Writer, gateway string) *slog.Logger {
	var h slog.Handler
	if format == "text" {
		h = slog.NewTextHandler(w, nil)
	} else {
		h = slog.NewJSONHandler(w, nil)
	}
	l := slog.New(h)
	if gateway != "" {
		l = l.With("gateway", gateway)
	}
	return l
}

// runDevDefault writes (once) and runs the development pair in this process.
func runDevDefault(ctx context.Context, dir string, out, logOut io.Writer) error {
	if _, err := os.Stat(filepath.Join(dir, "blue", "as4gw.yaml")); err != nil {
		if err := writeDevpair(dir, 18080); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "as4gw development default: gateways blue and red from %s (plain HTTP on loopback, development keys).\n\n", dir)
	printDevpairUsage(out, dir, true)
	return runIdentities(ctx, []string{filepath.Join(dir, "blue", "as4gw.yaml"), filepath.Join(dir, "red", "as4gw.yaml")}, logOut)
}

// runGateway wires one gateway from its configuration and runs it until ctx
// ends.
func runGateway(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	return runGatewayFile(ctx, "", cfg, log)
}

// runGatewayFile is runGateway for a gateway read from configPath, which a SIGHUP
// re-reads (reload.go).
func runGatewayFile(ctx context.Context, configPath string, cfg *config.Config, log *slog.Logger) error {
	id, err := cfg.LoadIdentity()
	if err != nil {
		return err
	}
	trustSet, err := buildTrust(cfg, log) // tls.go
	if err != nil {
		return err
	}
	trustHold := &trustHolder{}
	trustHold.swap(trustSet)
	logTrustSummary(cfg, trustSet, log)
	trustStore, as4Revocation, as4Policy := trust.NewStore(), trust.RevocationChecker(nil), trust.RevocationHardFail
	if trustSet.AS4 != nil {
		trustStore, as4Revocation, as4Policy = trustSet.AS4.Store, trustSet.AS4.Revocation, trustSet.AS4.Policy
	}
	if err := cfg.PModes.ResolveCertificates(""); err != nil {
		return fmt.Errorf("pmodes: %w", err)
	}
	spool := filepath.Join(cfg.DataDir, "spool")
	if err := os.RemoveAll(spool); err != nil {
		return err
	}
	if err := os.MkdirAll(spool, 0o700); err != nil {
		return fmt.Errorf("dataDir: %w", err)
	}
	st, err := store.OpenBolt(filepath.Join(cfg.DataDir, "store"), cfg.Storage.StoreOptions())
	if err != nil {
		return fmt.Errorf("dataDir: %w", err)
	}
	defer st.Close()
	if r := st.Recovered(); r.LeasesReleased > 0 {
		log.Info("recovered after an unclean stop", "leasesReleased", r.LeasesReleased)
	}
	if m := st.Migrated(); m.From != 0 {
		log.Info("store upgraded", "fromVersion", m.From, "toVersion", m.To, "steps", m.Steps, "preUpgradeCopy", m.PreUpgradeCopy)
	}

	mx := metrics.New(metrics.Options{Store: st, DataDir: cfg.DataDir, PModes: &cfg.PModes, Identity: id.Certificate,
		Certificates: func() []trust.LabeledCertificate { return watchedCertificates(cfg, id.Certificate, trustHold.get()) }})
	instrumentTrust(trustSet, mx)
	if trustSet.AS4 != nil {
		as4Revocation = trustSet.AS4.Revocation
	}
	resolver, err := buildResolver(cfg, trustSet, mx) // discovery.go
	if err != nil {
		return err
	}
	api, err := newAPI(cfg, st, log, mx)
	if err != nil {
		return err
	}
	defer api.Close()
	retention, err := retentionPolicy(cfg) // retention.go
	if err != nil {
		return fmt.Errorf("retention: %w", err)
	}
	gw := &as4.Gateway{
		Identity: id, PartyID: pmode.PartyID{Value: cfg.Identity.PartyID, Type: cfg.Identity.PartyIDType},
		PModes: &cfg.PModes, Trust: trustStore, Store: st,
		Revocation: as4Revocation, RevocationPolicy: as4Policy, CheckPartnerCert: trustHold.checkPartnerCert,
		Serves:         api.Serves,
		Limits:         cfg.Limits,
		SpoolDir:       spool,
		Log:            log,
		HTTPClient:     outboundClient(cfg, trustHold),
		AllowPlainHTTP: cfg.Sender.AllowPlainHTTP,
		Workers:        cfg.Sender.Workers, PollInterval: cfg.Sender.PollInterval,
	}
	gw.Observer = mx
	if resolver != nil {
		gw.Discovery = resolver
		log.Info("dynamic discovery on", "smlZone", cfg.Discovery.SML.Zone, "staticRoutes", len(cfg.Discovery.Static))
	}
	rl, err := newReloader(configPath, cfg, log, st, gw, api, trustHold, mx) // reload.go
	if err != nil {
		return err
	}
	mx.SetWebhookBacklog(api.WebhookBacklog)
	as4Mux := http.NewServeMux()
	as4Mux.Handle("/as4", gw)
	as4Mux.Handle("/services/msh", gw)
	var as4Handler http.Handler = as4Mux
	if px := cfg.Listeners.AS4.Proxy; px.Enabled() {
		pa, err := newPeerAuth(px, trustHold, log, as4Mux) // proxy.go
		if err != nil {
			return fmt.Errorf("listeners.as4.proxy: %w", err)
		}
		as4Handler = pa
	}
	ready := &readiness{store: st, identity: id, tlsClient: func() *x509.Certificate {
		if ts := trustHold.get(); ts != nil && ts.TLSClient != nil {
			return ts.TLSClient.Leaf
		}
		return nil
	}}
	opsMux := http.NewServeMux()
	opsMux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	opsMux.Handle("/readyz", ready)
	opsMux.Handle("/metrics", mx.Handler())
	opsMux.Handle("/backup", &backupHandler{st: st, cfg: rl.current, log: log}) // backup.go

	servers := []*namedServer{
		{name: "as4", listener: cfg.Listeners.AS4, handler: as4Handler, trust: trustHold, tlsFailure: mx.TLSHandshakeFailure},
		{name: "backend", listener: cfg.Listeners.Backend, handler: api, tlsFailure: mx.TLSHandshakeFailure},
		{name: "operations", listener: cfg.Listeners.Operations, handler: opsMux, tlsFailure: mx.TLSHandshakeFailure},
	}
	for _, s := range servers {
		if err := s.listen(); err != nil {
			for _, o := range servers {
				o.close()
			}
			return err
		}
		log.Info("listening", "listener", s.name, "address", s.ln.Addr().String(), "tls", s.tls)
	}
	ready.setListening(true)

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	serveErr := make(chan error, len(servers))
	for _, s := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.serve(log); err != nil {
				serveErr <- err
				cancel()
			}
		}()
	}
	senderDone := make(chan struct{})
	go func() { defer close(senderDone); gw.Run(runCtx) }()
	webhooksDone := make(chan struct{})
	go func() {
		defer close(webhooksDone)
		if err := api.RunWebhooks(runCtx); err != nil {
			log.Error("webhook delivery did not start", "error", err)
		}
	}()
	go sweepOrphans(runCtx, st, log)
	go purgeAudit(runCtx, st, cfg.Audit.Retention, log)
	go rl.run(runCtx)
	if cfg.Retention.Enabled {
		log.Info("retention enabled", "interval", cfg.Retention.Interval.String(), "default", cfg.Retention.Summary())
		go runRetention(runCtx, st, retention, cfg.Retention.Interval, log, mx)
	}
	go watchExpiry(runCtx, log, func() []trust.LabeledCertificate {
		return watchedCertificates(cfg, id.Certificate, trustHold.get())
	})
	log.Info("gateway started", "partyId", cfg.Identity.PartyID, "dataDir", cfg.DataDir)

	<-runCtx.Done()
	log.Info("stopping")
	ready.setListening(false)
	api.Close() // ends open long polls, which would otherwise hold Shutdown
	shutdownCtx, done := context.WithTimeout(context.Background(), shutdownTimeout)
	defer done()
	for _, s := range servers {
		s.srv.Shutdown(shutdownCtx)
	}
	wg.Wait()
	<-senderDone
	<-webhooksDone
	log.Info("stopped")
	select {
	case err := <-serveErr:
		return err
	default:
		return nil
	}
}

// sweepOrphans removes payload files no message references (left by an
// upload or an inbound message that failed half way) every ten minutes.
func sweepOrphans(ctx context.Context, st *store.BoltStore, log *slog.Logger) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := st.SweepOrphans(ctx, time.Hour); err != nil {
				log.Warn("orphan payload sweep failed", "error", err)
			} else if n > 0 {
				log.Info("removed orphan payload files", "count", n)
			}
		}
	}
}

type namedServer struct {
	name     string
	listener config.Listener
	handler  http.Handler
	ln       net.Listener
	srv      *http.Server
	tls      bool
	// trust is set on the AS4 listener: its client certificates are checked
	// against the TLS trust store (tls.go).
	trust *trustHolder
	// tlsFailure counts refused handshakes (metrics); nil: not counted.
	tlsFailure func(listener, message string)
}

// serverErrorLog takes the http.Server's error log: lines go to the structured
// log (a refused TLS handshake, e.g. a partner's revoked certificate, belongs
// there, not on stderr) and handshake failures are counted by reason.
type serverErrorLog struct {
	log        *slog.Logger
	listener   string
	tlsFailure func(listener, message string)
}

func (l *serverErrorLog) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	if strings.Contains(msg, "TLS handshake error") && l.tlsFailure != nil {
		l.tlsFailure(l.listener, msg)
	}
	l.log.Warn(msg)
	return len(p), nil
}

func (s *namedServer) listen() error {
	ln, err := net.Listen("tcp", s.listener.Address)
	if err != nil {
		return fmt.Errorf("listeners.%s.address: %w", s.name, err)
	}
	s.srv = &http.Server{Handler: s.handler, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	t := s.listener.TLS
	if t.CertFile != "" {
		tc, err := serverTLS(t, s.trust)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listeners.%s.tls: %w", s.name, err)
		}
		s.srv.TLSConfig = tc
		ln = tls.NewListener(ln, tc)
		s.tls = true
	}
	s.ln = ln
	return nil
}

func (s *namedServer) serve(log *slog.Logger) error {
	// Refused TLS handshakes (a partner's revoked or foreign certificate)
	// belong in the structured log, not on stderr.
	s.srv.ErrorLog = stdlog.New(&serverErrorLog{log: log.With("listener", s.name), listener: s.name, tlsFailure: s.tlsFailure}, "", 0)
	err := s.srv.Serve(s.ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	log.Error("listener failed", "listener", s.name, "error", err)
	return err
}

func (s *namedServer) close() {
	if s.ln != nil {
		s.ln.Close()
	}
}

// readiness answers /readyz: the store answers, our certificate is valid,
// and the listeners are up.
type readiness struct {
	store    *store.BoltStore
	identity *trust.Identity
	// tlsClient returns our outbound TLS client certificate (nil: none).
	tlsClient func() *x509.Certificate
	mu        sync.Mutex
	listening bool
}

func (r *readiness) setListening(v bool) {
	r.mu.Lock()
	r.listening = v
	r.mu.Unlock()
}

func (r *readiness) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	checks := map[string]string{}
	ok := true
	r.mu.Lock()
	listening := r.listening
	r.mu.Unlock()
	if !listening {
		checks["listeners"], ok = "not serving", false
	} else {
		checks["listeners"] = "ok"
	}
	probeCtx, cancel := context.WithTimeout(req.Context(), 5*time.Second)
	defer cancel()
	if err := r.store.CheckWritable(probeCtx); err != nil {
		checks["store"], ok = "not writable: "+err.Error(), false
	} else {
		checks["store"] = "ok"
	}
	now := time.Now()
	certs := map[string]*x509.Certificate{"certificate": r.identity.Certificate}
	if r.tlsClient != nil {
		if c := r.tlsClient(); c != nil {
			certs["tlsClientCertificate"] = c
		}
	}
	for name, c := range certs {
		if now.Before(c.NotBefore) || now.After(c.NotAfter) {
			checks[name], ok = fmt.Sprintf("not valid now (valid %s to %s)", c.NotBefore.Format(time.RFC3339), c.NotAfter.Format(time.RFC3339)), false
		} else {
			checks[name] = "ok, expires " + c.NotAfter.Format(time.RFC3339)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	json.NewEncoder(w).Encode(map[string]any{"ready": ok, "checks": checks})
}

// runIdentities runs one gateway per configuration file until ctx ends. The
// configurations must not share a data directory or a listener address: that
// is what keeps identities strictly apart. A gateway that fails stops the
// others, so the process never runs with an identity silently missing.
func runIdentities(ctx context.Context, files []string, logOut io.Writer) error {
	cfgs := make([]*config.Config, len(files))
	for i, f := range files {
		cfg, err := config.Load(f)
		if err != nil {
			return usageError(err)
		}
		cfgs[i] = cfg
	}
	if err := checkApart(files, cfgs); err != nil {
		return usageError(err)
	}
	if len(cfgs) == 1 {
		return runGatewayFile(ctx, files[0], cfgs[0], newLogger(cfgs[0].LogFormat, logOut, ""))
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(cfgs))
	for i, cfg := range cfgs {
		name := cfg.Identity.PartyID
		go func() {
			err := runGatewayFile(ctx, files[i], cfg, newLogger(cfg.LogFormat, logOut, name))
			if err != nil {
				err = fmt.Errorf("%s (%s): %w", name, files[i], err)
			}
			cancel()
			errs <- err
		}()
	}
	var first error
	for range cfgs {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// checkApart refuses configurations that would share state: the same data
// directory, the same listener address, or the same party id.
func checkApart(files []string, cfgs []*config.Config) error {
	var problems []string
	seen := map[string]string{}
	claim := func(kind, value, file string) {
		if value == "" {
			return
		}
		k := kind + "\x00" + value
		if other, dup := seen[k]; dup {
			problems = append(problems, fmt.Sprintf("%s: %s %q is also used by %s", file, kind, value, other))
			return
		}
		seen[k] = file
	}
	for i, c := range cfgs {
		dir, _ := filepath.Abs(c.DataDir)
		claim("dataDir", filepath.Clean(dir), files[i])
		claim("identity.partyId", c.Identity.PartyID, files[i])
		for _, l := range []config.Listener{c.Listeners.AS4, c.Listeners.Backend, c.Listeners.Operations} {
			claim("listener address", l.Address, files[i])
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return fmt.Errorf("the identities are not kept apart:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}
