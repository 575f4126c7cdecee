package main

import (
	"log/slog"
	"net/http"

	"github.com/as4gw/as4gw/config"
	"github.com/as4gw/as4gw/store"
)

// backendHandler wires the REST API for the configured clients.
func backendHandler(cfg *config.Config, st *store.BoltStore, log *slog.Logger) (http.Handler, error) {
	return http.NotFoundHandler(), nil // replaced when backend/ lands
}
