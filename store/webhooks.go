package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Webhook registrations. A backend client registers URLs to which the backend API POSTs
// its events. The registration and its delivery cursor live here, so that delivery
// resumes after a restart where it stopped (at least once: an event whose delivery was
// not yet recorded is sent again).

var bWebhooks = []byte("webhooks")

// ErrTooMany: the client has as many webhooks as it may have.
var ErrTooMany = errors.New("store: too many webhooks")

// Webhook is one registered URL and its delivery state.
type Webhook struct {
	ID          uint64    `json:"id"`
	Client      string    `json:"client"` // the backend client's name
	URL         string    `json:"url"`
	Description string    `json:"description,omitempty"`
	Created     time.Time `json:"created"`
	// Cursor is the sequence number of the last event delivered or passed over (another
	// client's): delivery continues after it. A new webhook starts at the newest event,
	// so it gets what happens from its registration on, not the whole history.
	Cursor uint64 `json:"cursor"`
	// LastAttempt, LastDelivery: the newest POST, and the newest answered with 2xx.
	LastAttempt  time.Time `json:"lastAttempt,omitzero"`
	LastDelivery time.Time `json:"lastDelivery,omitzero"`
	// LastError describes the newest failed POST; it stays after a success, for the
	// operator, and Failures says whether it is current.
	LastError string `json:"lastError,omitempty"`
	// Failures counts failed POSTs since the last success.
	Failures int `json:"failures,omitempty"`
	// NextAttempt is when a failed delivery is tried again.
	NextAttempt time.Time `json:"nextAttempt,omitzero"`
}

// WebhookProgress is one delivery outcome, or progress over events not to deliver.
type WebhookProgress struct {
	// Cursor moves the webhook's cursor forward (never back); 0 leaves it.
	Cursor uint64
	// Attempt is when a POST was made; zero when no POST was made (only the cursor moves).
	Attempt time.Time
	// Delivered: the POST got a 2xx. Else Error says why it failed.
	Delivered   bool
	Error       string
	NextAttempt time.Time
}

// maxWebhookError bounds the stored error text.
const maxWebhookError = 512

// CreateWebhook stores a new registration for w.Client and returns it with its ID and
// cursor. ErrTooMany when the client has max webhooks already (max > 0).
func (s *BoltStore) CreateWebhook(ctx context.Context, w Webhook, max int) (Webhook, error) {
	if err := checkKeyString("webhook client", w.Client, maxIDLen, true); err != nil {
		return Webhook{}, err
	}
	if w.URL == "" {
		return Webhook{}, fmt.Errorf("%w: webhook url is empty", ErrInvalid)
	}
	var out Webhook
	_, err := s.update(ctx, func(x *wtx) error {
		if max > 0 {
			n := 0
			err := x.tx.Bucket(bWebhooks).ForEach(func(_, v []byte) error {
				var h Webhook
				if err := json.Unmarshal(v, &h); err != nil {
					return fatal(err)
				}
				if h.Client == w.Client {
					n++
				}
				return nil
			})
			if err != nil {
				return err
			}
			if n >= max {
				return fmt.Errorf("%w: client %q has %d, at most %d allowed", ErrTooMany, w.Client, n, max)
			}
		}
		id, err := x.nextSeq(bWebhooks)
		if err != nil {
			return err
		}
		out = w
		out.ID = id
		out.Created = x.now
		out.Cursor = x.tx.Bucket(bEvents).Sequence()
		out.LastAttempt, out.LastDelivery, out.NextAttempt = time.Time{}, time.Time{}, time.Time{}
		out.LastError, out.Failures = "", 0
		return x.putWebhook(&out)
	})
	if err != nil {
		return Webhook{}, err
	}
	return out, nil
}

func (x *wtx) putWebhook(w *Webhook) error {
	v, err := json.Marshal(w)
	if err != nil {
		return fatal(fmt.Errorf("store: encode webhook %d: %w", w.ID, err))
	}
	return x.put(bWebhooks, u64(w.ID), v)
}

func loadWebhook(tx *bolt.Tx, id uint64) (*Webhook, error) {
	v := tx.Bucket(bWebhooks).Get(u64(id))
	if v == nil {
		return nil, fmt.Errorf("%w: webhook %d", ErrNotFound, id)
	}
	w := new(Webhook)
	if err := json.Unmarshal(v, w); err != nil {
		return nil, fmt.Errorf("store: webhook %d: undecodable record: %w", id, err)
	}
	return w, nil
}

// GetWebhook returns one registration.
func (s *BoltStore) GetWebhook(ctx context.Context, id uint64) (Webhook, error) {
	var w *Webhook
	err := s.view(ctx, func(tx *bolt.Tx) (err error) {
		w, err = loadWebhook(tx, id)
		return err
	})
	if err != nil {
		return Webhook{}, err
	}
	return *w, nil
}

// Webhooks returns the registrations of a client, or of all clients when client is "",
// in the order they were made. There are few (a bounded number per client), so a scan
// is fine.
func (s *BoltStore) Webhooks(ctx context.Context, client string) ([]Webhook, error) {
	out := []Webhook{}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bWebhooks).ForEach(func(k, v []byte) error {
			var w Webhook
			if err := json.Unmarshal(v, &w); err != nil {
				return fmt.Errorf("store: webhook %d: undecodable record: %w", getU64(k), err)
			}
			if client == "" || w.Client == client {
				out = append(out, w)
			}
			return nil
		})
	})
	return out, err
}

// DeleteWebhook removes a registration. ErrNotFound when there is none.
func (s *BoltStore) DeleteWebhook(ctx context.Context, id uint64) error {
	_, err := s.update(ctx, func(x *wtx) error {
		if x.tx.Bucket(bWebhooks).Get(u64(id)) == nil {
			return fmt.Errorf("%w: webhook %d", ErrNotFound, id)
		}
		return x.del(bWebhooks, u64(id))
	})
	return err
}

// RecordWebhook stores a delivery outcome. ErrNotFound when the webhook was deleted
// meanwhile: the dispatcher then stops.
func (s *BoltStore) RecordWebhook(ctx context.Context, id uint64, p WebhookProgress) (Webhook, error) {
	var out Webhook
	_, err := s.update(ctx, func(x *wtx) error {
		w, err := loadWebhook(x.tx, id)
		if err != nil {
			return err
		}
		if p.Cursor > w.Cursor {
			w.Cursor = p.Cursor
		}
		if !p.Attempt.IsZero() {
			w.LastAttempt = normTime(p.Attempt)
			if p.Delivered {
				w.LastDelivery = w.LastAttempt
				w.Failures = 0
				w.NextAttempt = time.Time{}
			} else {
				w.Failures++
				w.LastError = truncateUTF8(p.Error, maxWebhookError)
				w.NextAttempt = normTime(p.NextAttempt)
			}
		}
		out = *w
		return x.putWebhook(w)
	})
	if err != nil {
		return Webhook{}, err
	}
	return out, nil
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n]
}
