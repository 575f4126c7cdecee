package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
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
	var configFile, devDir string
	cmd := &cobra.Command{
		Use:   "serve [--config FILE]",
		Short: "Run the gateway (without --config: two development gateways, blue and red)",
		Long: `serve runs the gateway described by --config: the AS4 endpoint, the backend API and
the operations listener (/healthz, /readyz, /metrics). It stops gracefully on SIGTERM or SIGINT.

Without --config it runs an embedded development default: two gateways, blue and red,
in one process, written to --dev-dir on first use (plain HTTP on loopback ports 18080-18085,
development keys), and prints how to send a message from one to the other.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			if configFile != "" {
				cfg, err := config.Load(configFile)
				if err != nil {
					return usageError(err)
				}
				return runGateway(ctx, cfg, newLogger(cfg.LogFormat, cmd.ErrOrStderr(), ""))
			}
			return runDevDefault(ctx, devDir, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&configFile, "config", "", "gateway configuration (YAML)")
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
	var cfgs []*config.Config
	for _, name := range []string{"blue", "red"} {
		cfg, err := config.Load(filepath.Join(dir, name, "as4gw.yaml"))
		if err != nil {
			return err
		}
		cfgs = append(cfgs, cfg)
	}
	fmt.Fprintf(out, "as4gw development default: gateways blue and red from %s (plain HTTP on loopback, development keys).\n\n", dir)
	printDevpairUsage(out, dir, true)
	errs := make(chan error, len(cfgs))
	for i, cfg := range cfgs {
		go func() { errs <- runGateway(ctx, cfg, newLogger("text", logOut, []string{"blue", "red"}[i])) }()
	}
	var first error
	for range cfgs {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// runGateway wires one gateway from its configuration and runs it until ctx
// ends.
func runGateway(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	id, err := cfg.LoadIdentity()
	if err != nil {
		return err
	}
	trustStore, err := cfg.LoadTrust()
	if err != nil {
		return err
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
	st, err := store.OpenBolt(filepath.Join(cfg.DataDir, "store"), store.Options{})
	if err != nil {
		return fmt.Errorf("dataDir: %w", err)
	}
	defer st.Close()
	if r := st.Recovered(); r.LeasesReleased > 0 {
		log.Info("recovered after an unclean stop", "leasesReleased", r.LeasesReleased)
	}

	api, err := newAPI(cfg, st, log)
	if err != nil {
		return err
	}
	defer api.Close()
	gw := &as4.Gateway{
		Identity: id, PartyID: pmode.PartyID{Value: cfg.Identity.PartyID, Type: cfg.Identity.PartyIDType},
		PModes: &cfg.PModes, Trust: trustStore, Store: st,
		Serves:         api.Serves,
		Limits:         cfg.Limits,
		SpoolDir:       spool,
		Log:            log,
		HTTPClient:     outboundClient(cfg),
		AllowPlainHTTP: cfg.Sender.AllowPlainHTTP,
		Workers:        cfg.Sender.Workers, PollInterval: cfg.Sender.PollInterval,
	}
	mx := metrics.New(metrics.Options{Store: st, DataDir: cfg.DataDir, PModes: &cfg.PModes, Identity: id.Certificate})
	gw.Observer = mx
	as4Mux := http.NewServeMux()
	as4Mux.Handle("/as4", gw)
	as4Mux.Handle("/services/msh", gw)
	ready := &readiness{store: st, identity: id}
	opsMux := http.NewServeMux()
	opsMux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	opsMux.Handle("/readyz", ready)
	opsMux.Handle("/metrics", mx.Handler())

	servers := []*namedServer{
		{name: "as4", listener: cfg.Listeners.AS4, handler: as4Mux},
		{name: "backend", listener: cfg.Listeners.Backend, handler: api},
		{name: "operations", listener: cfg.Listeners.Operations, handler: opsMux},
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
	go sweepOrphans(runCtx, st, log)
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
}

func (s *namedServer) listen() error {
	ln, err := net.Listen("tcp", s.listener.Address)
	if err != nil {
		return fmt.Errorf("listeners.%s.address: %w", s.name, err)
	}
	s.srv = &http.Server{Handler: s.handler, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	t := s.listener.TLS
	if t.CertFile != "" {
		tc, err := serverTLS(t)
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

// outboundClient posts to partners: TLS 1.2 or 1.3 only, the request
// timeout bounding one attempt.
func outboundClient(cfg *config.Config) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	tr.MaxIdleConnsPerHost = max(2, cfg.Sender.Workers)
	return &http.Client{Timeout: cfg.Sender.RequestTimeout, Transport: tr}
}

// serverTLS: TLS 1.2 or 1.3 only; client certificates as configured.
func serverTLS(t config.TLS) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, err
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	switch t.ClientAuth {
	case "request":
		tc.ClientAuth = tls.RequestClientCert
	case "require":
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	if t.ClientCAFile != "" {
		certs, err := trust.LoadCertificatesFile(t.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("clientCAFile: %w", err)
		}
		pool := x509.NewCertPool()
		for _, c := range certs {
			pool.AddCert(c)
		}
		tc.ClientCAs = pool
		if tc.ClientAuth == tls.RequestClientCert {
			tc.ClientAuth = tls.VerifyClientCertIfGiven
		}
	}
	return tc, nil
}

// readiness answers /readyz: the store answers, our certificate is valid,
// and the listeners are up.
type readiness struct {
	store     *store.BoltStore
	identity  *trust.Identity
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
	if _, err := r.store.Stats(req.Context()); err != nil {
		checks["store"], ok = err.Error(), false
	} else {
		checks["store"] = "ok"
	}
	now := time.Now()
	c := r.identity.Certificate
	if now.Before(c.NotBefore) || now.After(c.NotAfter) {
		checks["certificate"], ok = fmt.Sprintf("not valid now (valid %s to %s)", c.NotBefore.Format(time.RFC3339), c.NotAfter.Format(time.RFC3339)), false
	} else {
		checks["certificate"] = "ok, expires " + c.NotAfter.Format(time.RFC3339)
	}
	w.Header().Set("Content-Type", "application/json")
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	json.NewEncoder(w).Encode(map[string]any{"ready": ok, "checks": checks})
}
