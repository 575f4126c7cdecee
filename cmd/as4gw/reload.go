package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/as4gw/as4gw/as4"
	"github.com/as4gw/as4gw/backend"
	"github.com/as4gw/as4gw/config"
	"github.com/as4gw/as4gw/metrics"
	"github.com/as4gw/as4gw/store"
	"github.com/as4gw/as4gw/trust"
)

// reloadableKeys are the configuration keys a reload puts in force while the gateway
// runs. Every other key (listeners, dataDir, identity keys, sender, limits, ...) needs a
// restart: a reload that changes one logs it and leaves it as it was.
var reloadableKeys = []string{
	"pmodes",              // parties, legs, partner certificates
	"identity.trustFiles", // the AS4 trust store (legacy key)
	"identity.trust",      // AS4, TLS and SMP trust stores and their revocation settings
	"identity.tlsClient",  // our outbound TLS client certificate (read by each handshake)
	"backend.clients",     // message services: tokens, certificates, participants
	"operations",          // the backup endpoint
}

// reloader re-reads the configuration file on SIGHUP. It builds everything the new file
// describes first and puts it in force only when all of it is valid, so a broken file
// changes nothing. Requests and sends under way keep the configuration they started with
// (as4.Gateway.current, backend.Server.live): nothing in flight is dropped.
type reloader struct {
	path  string
	log   *slog.Logger
	st    *store.BoltStore
	gw    *as4.Gateway
	api   *backend.Server
	trust *trustHolder
	obs   backend.WebhookObserver

	mu  sync.Mutex // one reload at a time
	cur atomic.Pointer[config.Config]
	hup chan os.Signal
}

// newReloader makes gw's P-Modes and trust swappable and starts listening for SIGHUP
// (so that from now on a SIGHUP reloads instead of ending the process). path "" means
// no file to re-read.
func newReloader(path string, cfg *config.Config, log *slog.Logger, st *store.BoltStore, gw *as4.Gateway, api *backend.Server, th *trustHolder, obs backend.WebhookObserver) (*reloader, error) {
	if b := cfg.Operations.Backup; b.Enabled {
		if _, err := readBackupToken(b.TokenFile); err != nil {
			return nil, err
		}
	}
	gw.Live = as4.NewLive(liveConfig(cfg, th.get()))
	r := &reloader{path: path, log: log, st: st, gw: gw, api: api, trust: th, obs: obs, hup: make(chan os.Signal, 1)}
	r.cur.Store(cfg)
	signal.Notify(r.hup, syscall.SIGHUP)
	if reloaderStarted != nil {
		reloaderStarted(r)
	}
	return r, nil
}

// reloaderStarted, when set (by tests), sees each gateway's reloader.
var reloaderStarted func(*reloader)

// current is the configuration in force.
func (r *reloader) current() *config.Config { return r.cur.Load() }

// run reloads on every SIGHUP until ctx ends.
func (r *reloader) run(ctx context.Context) {
	defer signal.Stop(r.hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.hup:
			r.reload()
		}
	}
}

func liveConfig(cfg *config.Config, ts *trustSet) as4.LiveConfig {
	lc := as4.LiveConfig{PModes: &cfg.PModes, Trust: trust.NewStore(), RevocationPolicy: trust.RevocationHardFail}
	if ts != nil && ts.AS4 != nil {
		lc.Trust, lc.Revocation, lc.RevocationPolicy = ts.AS4.Store, ts.AS4.Revocation, ts.AS4.Policy
	}
	return lc
}

// reload re-reads the file and puts the reloadable parts in force. On an error it logs
// every problem and keeps the configuration in force.
func (r *reloader) reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	start := time.Now()
	if r.path == "" {
		err := errors.New("this gateway was not started from a configuration file")
		r.log.Error("reload refused; keeping the configuration in force", "error", err)
		return err
	}
	old := r.current()
	cfg, api, ts, err := r.build()
	if err != nil {
		var probs config.Problems
		if errors.As(err, &probs) {
			for _, p := range probs {
				r.log.Error("reload refused: configuration problem", "file", r.path, "problem", p)
			}
		}
		r.log.Error("reload refused; keeping the configuration in force", "file", r.path, "error", err)
		return err
	}
	// The API's checks come first: on an error nothing has been swapped yet. The other
	// two swaps cannot fail.
	if err := r.api.Reload(api); err != nil {
		r.log.Error("reload refused; keeping the configuration in force", "file", r.path, "error", err)
		return err
	}
	r.trust.p.Store(ts)
	r.gw.Live.Store(liveConfig(cfg, ts))
	merged := mergeReloadable(old, cfg)
	r.cur.Store(merged)
	if keys := restartKeys(old, cfg); len(keys) > 0 {
		r.log.Warn("configuration changes that require a restart were not applied", "file", r.path, "keys", strings.Join(keys, ", "))
	}
	r.log.Info("configuration reloaded", "file", r.path, "parties", len(cfg.PModes.Parties), "legs", len(cfg.PModes.Legs),
		"backendClients", len(cfg.Backend.Clients), "backup", cfg.Operations.Backup.Enabled, "duration", time.Since(start))
	return nil
}

// build reads and checks the file and builds what it describes, without putting anything
// in force.
func (r *reloader) build() (*config.Config, backend.Config, *trustSet, error) {
	cfg, err := config.Load(r.path)
	if err != nil {
		return nil, backend.Config{}, nil, err
	}
	if err := cfg.PModes.ResolveCertificates(""); err != nil {
		return nil, backend.Config{}, nil, fmt.Errorf("pmodes: %w", err)
	}
	ts, err := buildTrust(cfg, r.log)
	if err != nil {
		return nil, backend.Config{}, nil, err
	}
	if mx, ok := r.obs.(*metrics.Metrics); ok {
		instrumentTrust(ts, mx)
	}
	api, err := apiConfig(cfg, r.st, r.log, r.obs)
	if err != nil {
		return nil, backend.Config{}, nil, err
	}
	if b := cfg.Operations.Backup; b.Enabled {
		if _, err := readBackupToken(b.TokenFile); err != nil {
			return nil, backend.Config{}, nil, err
		}
	}
	return cfg, api, ts, nil
}

// mergeReloadable is old with the reloadable keys taken from cfg: what is in force.
func mergeReloadable(old, cfg *config.Config) *config.Config {
	m := *old
	m.PModes = cfg.PModes
	m.Identity.TrustFiles = cfg.Identity.TrustFiles
	m.Identity.Trust = cfg.Identity.Trust
	m.Identity.TLSClient = cfg.Identity.TLSClient
	m.Backend.Clients = cfg.Backend.Clients
	m.Operations = cfg.Operations
	return &m
}

// restartKeys names the keys whose values differ between a and b, except the
// reloadable ones.
func restartKeys(a, b *config.Config) []string {
	var keys []string
	diffKeys(reflect.ValueOf(*a), reflect.ValueOf(*b), "", &keys)
	return keys
}

func diffKeys(a, b reflect.Value, prefix string, keys *[]string) {
	for _, k := range reloadableKeys {
		if prefix == k {
			return
		}
	}
	if a.Kind() != reflect.Struct {
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			*keys = append(*keys, prefix)
		}
		return
	}
	t := a.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name := f.Tag.Get("mapstructure")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if prefix != "" {
			name = prefix + "." + name
		}
		diffKeys(a.Field(i), b.Field(i), name, keys)
	}
}
