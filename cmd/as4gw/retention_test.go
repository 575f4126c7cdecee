package main

import (
	"testing"
	"time"

	"github.com/as4gw/as4gw/backend"
	"github.com/as4gw/as4gw/config"
	"github.com/as4gw/as4gw/store"
)

func TestRetentionPolicyFromConfig(t *testing.T) {
	h := time.Hour
	cfg := &config.Config{
		Backend: config.Backend{Clients: []config.BackendClient{
			{Name: "Kommun-A", Participants: []string{"0203:a.se", "other::x"}},
			{Name: "kommun-b", Participants: []string{"0203:b.se", "other::x"}}, // shares other::x
			{Name: "kommun-c", Participants: []string{"0203:c.se"}},             // no rules of its own
		}},
		Retention: config.Retention{
			Default: config.RetentionRules{Payloads: map[string]time.Duration{"DOWNLOADED": 100 * h}, Metadata: map[string]time.Duration{"DOWNLOADED": 200 * h}},
			Clients: map[string]config.RetentionRules{
				"kommun-a": {Payloads: map[string]time.Duration{"DOWNLOADED": 10 * h}, Metadata: map[string]time.Duration{"DOWNLOADED": 0}},
				"kommun-b": {Payloads: map[string]time.Duration{"DOWNLOADED": 50 * h}, Metadata: map[string]time.Duration{"SEND_FAILURE": 30 * h}},
			},
		},
	}
	p, err := retentionPolicy(cfg)
	if err != nil {
		t.Fatal(err)
	}
	typed := store.PartyID{Type: backend.DefaultParticipantType, ID: "0203:a.se"}
	for _, tc := range []struct {
		party          store.PartyID
		payload, meta  time.Duration
		hasMeta, found bool
	}{
		{typed, 10 * h, 0, true, true},
		{store.PartyID{ID: "0203:a.se"}, 10 * h, 0, true, true}, // untyped, as the API matches it
		{store.PartyID{Type: "other", ID: "x"}, 50 * h, 0, true, true},
		{store.PartyID{Type: backend.DefaultParticipantType, ID: "0203:c.se"}, 0, 0, false, false},
	} {
		r, ok := p.Parties[tc.party]
		if ok != tc.found {
			t.Errorf("%v: found %v", tc.party, ok)
			continue
		}
		if !ok {
			continue
		}
		m, has := r.Metadata[store.Downloaded]
		if r.Payloads[store.Downloaded] != tc.payload || has != tc.hasMeta || m != tc.meta {
			t.Errorf("%v: %+v", tc.party, r)
		}
	}
	// Shared participant: SEND_FAILURE only kommun-b set (30h); kommun-a follows the
	// default, which keeps SEND_FAILURE forever: forever wins.
	if d, ok := p.Parties[store.PartyID{Type: "other", ID: "x"}].Metadata[store.SendFailure]; !ok || d != 0 {
		t.Errorf("shared participant SEND_FAILURE = %v, %v", d, ok)
	}
}
