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
	for i, c := range cfg.Backend.Clients {
		hash, err := config.ParseTokenHash(c.TokenSHA256)
		if err != nil {
			return nil, fmt.Errorf("backend.clients[%d].tokenSHA256: %w", i, err)
		}
		cl := backend.Client{Name: c.Name, TokenSHA256: hash}
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
		Store: st, PModes: &cfg.PModes, Clients: clients,
		Party:           store.PartyID{ID: cfg.Identity.PartyID, Type: cfg.Identity.PartyIDType},
		MessageIDDomain: cfg.Identity.PartyID, Logger: log,
	})
}
