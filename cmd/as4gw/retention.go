package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/as4gw/as4gw/backend"
	"github.com/as4gw/as4gw/config"
	"github.com/as4gw/as4gw/metrics"
	"github.com/as4gw/as4gw/store"
)

// retentionPolicy turns the retention section into the store's policy: the default
// rules, and each backend client's rules keyed by its participants (the store judges a
// message by the participant the API shows it to). A participant of the default type also
// stands for the same id without a type, as in the API's scope.
func retentionPolicy(cfg *config.Config) (store.RetentionPolicy, error) {
	r := &cfg.Retention
	p := store.RetentionPolicy{
		Default:   r.Default.StoreRules(),
		Parties:   map[store.PartyID]store.RetentionRules{},
		Events:    r.Events,
		BatchSize: r.BatchSize,
	}
	for i, c := range cfg.Backend.Clients {
		rules, ok := r.ClientRules(c.Name)
		if !ok {
			continue
		}
		sr := rules.StoreRules()
		for j, s := range c.Participants {
			id, err := backend.ParseParticipant(s)
			if err != nil {
				return p, fmt.Errorf("backend.clients[%d].participants[%d]: %w", i, j, err)
			}
			ids := []store.PartyID{id}
			if id.Type == backend.DefaultParticipantType {
				ids = append(ids, store.PartyID{ID: id.ID})
			}
			for _, id := range ids {
				if prev, ok := p.Parties[id]; ok {
					sr = longerRules(p.Default, prev, sr)
				}
				p.Parties[id] = sr
			}
		}
	}
	return p, p.Validate()
}

// longerRules merges the rules of two clients that share a participant: per state the
// longer retention wins (0, forever, is longest), so that no organisation loses data
// earlier than it configured.
func longerRules(def, a, b store.RetentionRules) store.RetentionRules {
	merge := func(def, a, b map[store.State]time.Duration) map[store.State]time.Duration {
		out := map[store.State]time.Duration{}
		for _, st := range store.RetentionStates {
			da, oka := a[st]
			db, okb := b[st]
			if !oka && !okb {
				continue
			}
			if !oka {
				da = def[st]
			}
			if !okb {
				db = def[st]
			}
			switch {
			case da == 0 || db == 0:
				out[st] = 0
			default:
				out[st] = max(da, db)
			}
		}
		return out
	}
	return store.RetentionRules{
		Payloads: merge(def.Payloads, a.Payloads, b.Payloads),
		Metadata: merge(def.Metadata, a.Metadata, b.Metadata),
	}
}

// runRetention applies the policy at start and then every interval until ctx ends, and
// logs a line for each run that removed something.
func runRetention(ctx context.Context, st *store.BoltStore, policy store.RetentionPolicy, interval time.Duration, log *slog.Logger, mx *metrics.Metrics) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		start := time.Now()
		res, err := st.RunRetention(ctx, policy)
		if mx != nil {
			mx.RetentionPurged(metrics.RetentionPayload, res.Payloads)
			mx.RetentionPurged(metrics.RetentionMetadata, res.Metadata)
			mx.RetentionPurged(metrics.RetentionEvent, res.Events)
		}
		switch {
		case err != nil && ctx.Err() != nil:
			return // stopping: the batches done so far are committed
		case err != nil:
			log.Warn("retention run failed; it continues at the next interval", "error", err, "payloadsPurged", res.Payloads, "messagesPurged", res.Metadata)
		case res.Purged():
			log.Info("retention", "payloadsPurged", res.Payloads, "messagesPurged", res.Metadata,
				"filesRemoved", res.PayloadFiles, "bytesFreed", res.PayloadBytes, "eventsPurged", res.Events,
				"batches", res.Batches, "took", time.Since(start).Round(time.Millisecond).String())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
