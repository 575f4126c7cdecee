package config

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/as4gw/as4gw/store"
)

// Retention configures the background removal of finished messages (store.RunRetention):
// per final state, how long after a message entered the state its payload files are kept,
// and how long the message itself (metadata, history, duplicate-detection entry). Messages
// still waiting to be sent or downloaded are never removed.
//
//	retention:
//	  interval: 10m
//	  batchSize: 500
//	  events: 2160h
//	  default:
//	    payloads: {DOWNLOADED: 720h, ACKNOWLEDGED: 720h}
//	    metadata: {DOWNLOADED: 2160h, SEND_FAILURE: 4320h}
//	  clients:
//	    kommun-a:                      # a backend.clients[].name
//	      payloads: {DOWNLOADED: 168h}
//	      metadata: {DOWNLOADED: 0}    # 0: keep forever
//
// A state a client does not list follows default; a state default does not list gets the
// built-in value (DefaultPayloadRetention, DefaultMetadataRetention). State names are
// matched without regard to case (YAML keys reach the decoder lower-cased).
type Retention struct {
	// Enabled runs retention in the background (default true).
	Enabled bool `mapstructure:"enabled"`
	// Interval between runs (default 10m). A run continues in batches until nothing more
	// has expired.
	Interval time.Duration `mapstructure:"interval"`
	// BatchSize caps the messages removed per transaction (default 500, at most 10000).
	BatchSize int `mapstructure:"batchSize"`
	// Events is how long change-log entries (the backend event stream, webhooks) are kept;
	// 0 keeps them forever (default 2160h).
	Events  time.Duration             `mapstructure:"events"`
	Default RetentionRules            `mapstructure:"default"`
	Clients map[string]RetentionRules `mapstructure:"clients"`
}

// RetentionRules map state names to durations; 0 means keep forever.
type RetentionRules struct {
	Payloads map[string]time.Duration `mapstructure:"payloads"`
	Metadata map[string]time.Duration `mapstructure:"metadata"`
}

// MinMetadataRetention is the shortest metadata retention accepted. Removing a message's
// metadata removes its duplicate-detection entry: a partner re-sending it afterwards would
// have it stored and delivered again, and a backend could reuse its MessageId. Partners
// resend within their retry window (minutes to hours), so a day is a safe floor.
const MinMetadataRetention = 24 * time.Hour

// Built-in retention: payloads of delivered messages for 30 days, every finished message
// for 90 days. SEND_FAILURE payloads are kept with the message so that an operator can
// still resend it.
var (
	DefaultPayloadRetention = map[store.State]time.Duration{
		store.Acknowledged: 720 * time.Hour, store.AcknowledgedWithWarning: 720 * time.Hour,
		store.Downloaded: 720 * time.Hour,
	}
	DefaultMetadataRetention = map[store.State]time.Duration{
		store.Acknowledged: 2160 * time.Hour, store.AcknowledgedWithWarning: 2160 * time.Hour,
		store.Downloaded: 2160 * time.Hour, store.SendFailure: 2160 * time.Hour,
		store.Deleted: 2160 * time.Hour,
	}
)

// DefaultRetention is the scalar part of the defaults; the rules are filled in by
// Validate, per state, so that a file listing one state keeps the others' defaults.
func DefaultRetention() Retention {
	return Retention{Enabled: true, Interval: 10 * time.Minute, BatchSize: store.DefaultRetentionBatch, Events: 2160 * time.Hour}
}

// validate checks the section and normalises it in place: state names upper case,
// built-in defaults added for states default leaves out.
func (r *Retention) validate(p *Problems, clients []BackendClient) {
	if r.Enabled {
		if r.Interval < 10*time.Second {
			p.add("retention.interval", "%s is too short; give e.g. 10m", r.Interval)
		}
		if r.BatchSize < 1 || r.BatchSize > 10000 {
			p.add("retention.batchSize", "%d is outside 1..10000", r.BatchSize)
		}
	}
	if r.Events < 0 || (r.Events > 0 && r.Events < MinMetadataRetention) {
		p.add("retention.events", "%s: give 0 (keep forever) or at least %s, longer than an event consumer (webhook, long poll) may fall behind", r.Events, MinMetadataRetention)
	}
	r.Default.normalize(p, "retention.default")
	fill := func(m *map[string]time.Duration, defaults map[store.State]time.Duration) {
		if *m == nil {
			*m = map[string]time.Duration{}
		}
		for st, d := range defaults {
			if _, ok := (*m)[string(st)]; !ok {
				(*m)[string(st)] = d
			}
		}
	}
	fill(&r.Default.Payloads, DefaultPayloadRetention)
	fill(&r.Default.Metadata, DefaultMetadataRetention)

	names := map[string]bool{}
	for _, c := range clients {
		names[strings.ToLower(c.Name)] = true
	}
	for name, rules := range r.Clients {
		key := "retention.clients." + name
		if !names[strings.ToLower(name)] {
			p.add(key, "no backend client is named %q (retention rules are per backend.clients[].name)", name)
		}
		rules.normalize(p, key)
		r.Clients[name] = rules
	}
}

// normalize upper-cases the state names and checks them and their durations.
func (rr *RetentionRules) normalize(p *Problems, key string) {
	for _, part := range []struct {
		name string
		m    *map[string]time.Duration
	}{{"payloads", &rr.Payloads}, {"metadata", &rr.Metadata}} {
		if *part.m == nil {
			continue
		}
		out := make(map[string]time.Duration, len(*part.m))
		for name, d := range *part.m {
			st := store.State(strings.ToUpper(strings.TrimSpace(name)))
			k := key + "." + part.name + "." + string(st)
			if _, dup := out[string(st)]; dup {
				p.add(k, "given twice (state names ignore case)")
				continue
			}
			out[string(st)] = d
			switch {
			case !st.Known():
				p.add(k, "%q is not a message state; retention applies to %s", name, stateList())
				continue
			case !slices.Contains(store.RetentionStates, st):
				p.add(k, "%s is not a final state: a message in it still waits to be sent or downloaded, and retention never removes those (final states: %s)", st, stateList())
				continue
			case part.name == "payloads" && st == store.Deleted:
				p.add(k, "DELETED messages have no payload files left; give metadata.DELETED instead")
				continue
			}
			switch {
			case d < 0:
				p.add(k, "%s is negative; give a duration such as 720h, or 0 to keep forever", d)
			case part.name == "metadata" && d > 0 && d < MinMetadataRetention:
				p.add(k, "%s is shorter than %s: removing the metadata also removes duplicate detection, so a partner's resend would be delivered again", d, MinMetadataRetention)
			}
		}
		*part.m = out
	}
}

func stateList() string {
	s := make([]string, len(store.RetentionStates))
	for i, st := range store.RetentionStates {
		s[i] = string(st)
	}
	return strings.Join(s, ", ")
}

// StoreRules converts validated rules to the store's form.
func (rr RetentionRules) StoreRules() store.RetentionRules {
	conv := func(m map[string]time.Duration) map[store.State]time.Duration {
		if m == nil {
			return nil
		}
		out := make(map[store.State]time.Duration, len(m))
		for k, d := range m {
			out[store.State(k)] = d
		}
		return out
	}
	return store.RetentionRules{Payloads: conv(rr.Payloads), Metadata: conv(rr.Metadata)}
}

// ClientRules returns the rules of a backend client, by its name in any case.
func (r *Retention) ClientRules(name string) (RetentionRules, bool) {
	for k, rules := range r.Clients {
		if strings.EqualFold(k, name) {
			return rules, true
		}
	}
	return RetentionRules{}, false
}

// Summary describes the effective default rules for the start-up log.
func (r *Retention) Summary() string {
	var b strings.Builder
	for _, st := range store.RetentionStates {
		pl, md := r.Default.Payloads[string(st)], r.Default.Metadata[string(st)]
		fmt.Fprintf(&b, "%s payloads %s metadata %s; ", st, forever(pl), forever(md))
	}
	return strings.TrimSuffix(b.String(), "; ")
}

func forever(d time.Duration) string {
	if d <= 0 {
		return "kept"
	}
	return d.String()
}
