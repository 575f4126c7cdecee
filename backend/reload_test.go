package backend

import (
	"net/http"
	"testing"

	"github.com/as4gw/as4gw/store"
)

// TestReload: new clients and P-Modes apply to the next request; an invalid
// configuration changes nothing.
func TestReload(t *testing.T) {
	var cfg Config
	e := newEnv(t, func(c *Config) { cfg = *c })
	inbox := apiPrefix + "/inbox"
	if w := e.do("GET", inbox, tokenA, nil); w.Code != http.StatusOK {
		t.Fatalf("before: %d", w.Code)
	}
	if !e.srv.Serves(store.PartyID{ID: partA, Type: upis}) {
		t.Fatal("partA not served before")
	}

	bad := cfg
	bad.Clients = []Client{{Name: "x", TokenSHA256: []byte("short"), Participants: []store.PartyID{{ID: partA}}}}
	if err := e.srv.Reload(bad); err == nil {
		t.Fatal("invalid client accepted")
	}
	if w := e.do("GET", inbox, tokenA, nil); w.Code != http.StatusOK {
		t.Fatalf("after a refused reload: %d", w.Code)
	}

	next := cfg
	next.Clients = []Client{{Name: clientB, TokenSHA256: hashOf(tokenB), Participants: []store.PartyID{{ID: partB, Type: upis}}}}
	next.ClientCertificates = nil
	pm := *cfg.PModes
	pm.Legs = pm.Legs[1:] // "deliver" goes
	next.PModes = &pm
	if err := e.srv.Reload(next); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, token string
		want        int
	}{
		{"removed client", tokenA, http.StatusUnauthorized},
		{"kept client", tokenB, http.StatusOK},
	}
	for _, tt := range tests {
		if w := e.do("GET", inbox, tt.token, nil); w.Code != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, w.Code, tt.want)
		}
	}
	if e.srv.Serves(store.PartyID{ID: partA, Type: upis}) {
		t.Error("partA still served after its client was removed")
	}
	if e.srv.live().pmodes.Leg("deliver") != nil {
		t.Error("old P-Modes still in force")
	}
}
