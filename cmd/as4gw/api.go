package main

import (
	"fmt"
	"log/slog"

	"github.com/as4gw/as4gw/backend"
	"github.com/as4gw/as4gw/config"
	"github.com/as4gw/as4gw/store"
)

// newAPI wires the REST API for the configured clients; obs counts webhook deliveries.
func newAPI(cfg *config.Config, st *store.BoltStore, log *slog.Logger, obs backend.WebhookObserver) (*backend.Server, error) {
	bc, err := apiConfig(cfg, st, log, obs)
	if err != nil {
		return nil, err
	}
	return backend.New(bc)
}

// apiConfig is the API's configuration from cfg; a reload builds it again (reload.go).
func apiConfig(cfg *config.Config, st *store.BoltStore, log *slog.Logger, obs backend.WebhookObserver) (backend.Config, error) {
	var clients []backend.Client
	certs := map[string]string{}
	for i, c := range cfg.Backend.Clients {
		cl := backend.Client{Name: c.Name}
		if c.TokenSHA256 != "" {
			hash, err := config.ParseTokenHash(c.TokenSHA256)
			if err != nil {
				return backend.Config{}, fmt.Errorf("backend.clients[%d].tokenSHA256: %w", i, err)
			}
			cl.TokenSHA256 = hash
		}
		if c.CertificateSHA256 != "" {
			certs[c.CertificateSHA256] = c.Name
		}
		for j, p := range c.Participants {
			id, err := backend.ParseParticipant(p)
			if err != nil {
				return backend.Config{}, fmt.Errorf("backend.clients[%d].participants[%d]: %w", i, j, err)
			}
			cl.Participants = append(cl.Participants, id)
		}
		secret, err := cfg.WebhookSecret(i)
		if err != nil {
			return backend.Config{}, err
		}
		cl.WebhookSecret = secret
		clients = append(clients, cl)
	}
	return backend.Config{
		Store: st, PModes: &cfg.PModes, Clients: clients, ClientCertificates: certs,
		Party:           store.PartyID{ID: cfg.Identity.PartyID, Type: cfg.Identity.PartyIDType},
		MessageIDDomain: cfg.Identity.PartyID, Logger: log, Discovery: cfg.Discovery.Enabled(),
		Webhooks: backend.WebhookOptions{
			AllowPlainHTTP: cfg.Backend.Webhooks.AllowPlainHTTP, Timeout: cfg.Backend.Webhooks.Timeout, Observer: obs,
		},
	}, nil
}
