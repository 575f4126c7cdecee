package main

import (
	"fmt"
	"log/slog"

	"github.com/as4gw/as4gw/backend"
	"github.com/as4gw/as4gw/config"
	"github.com/as4gw/as4gw/store"
)

// newAPI wires the REST API for the configured clients.
func newAPI(cfg *config.Config, st *store.BoltStore, log *slog.Logger) (*backend.Server, error) {
	var clients []backend.Client
	certs := map[string]string{}
	for i, c := range cfg.Backend.Clients {
		cl := backend.Client{Name: c.Name}
		if c.TokenSHA256 != "" {
			hash, err := config.ParseTokenHash(c.TokenSHA256)
			if err != nil {
				return nil, fmt.Errorf("backend.clients[%d].tokenSHA256: %w", i, err)
			}
			cl.TokenSHA256 = hash
		}
		if c.CertificateSHA256 != "" {
			certs[c.CertificateSHA256] = c.Name
		}
		for j, p := range c.Participants {
			id, err := backend.ParseParticipant(p)
			if err != nil {
				return nil, fmt.Errorf("backend.clients[%d].participants[%d]: %w", i, j, err)
			}
			cl.Participants = append(cl.Participants, id)
		}
		clients = append(clients, cl)
	}
	return backend.New(backend.Config{
		Store: st, PModes: &cfg.PModes, Clients: clients, ClientCertificates: certs,
		Party:           store.PartyID{ID: cfg.Identity.PartyID, Type: cfg.Identity.PartyIDType},
		MessageIDDomain: cfg.Identity.PartyID, Logger: log,
	})
}
