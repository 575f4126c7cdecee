package backend

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/as4gw/as4gw/store"
)

// Delivery. RunWebhooks runs one dispatcher goroutine per registration. A dispatcher
// reads the event log after its cursor exactly as GET /api/v1/events does (the store's
// party filter, then the per-message visibility check), POSTs the client's events in
// batches, and records the new cursor in the store once the receiver answered 2xx. So
// delivery is at least once and in order: a batch is retried (with backoff) until it is
// accepted, and after a restart the batch whose success was not yet recorded is sent
// again; receivers de-duplicate by event seq. The MSH never waits for any of this: the
// dispatchers only read the log the MSH writes anyway. Memory is bounded by one batch
// per webhook and a bounded number of webhooks per client.

// WebhookStore is the part of the store that keeps registrations and cursors.
// *store.BoltStore implements it.
type WebhookStore interface {
	CreateWebhook(ctx context.Context, w store.Webhook, max int) (store.Webhook, error)
	GetWebhook(ctx context.Context, id uint64) (store.Webhook, error)
	Webhooks(ctx context.Context, client string) ([]store.Webhook, error)
	DeleteWebhook(ctx context.Context, id uint64) error
	RecordWebhook(ctx context.Context, id uint64, p store.WebhookProgress) (store.Webhook, error)
	LastEventSeq() uint64
}

// WebhookObserver counts delivery attempts (metrics.Metrics implements it).
type WebhookObserver interface {
	// WebhookDelivery reports one POST: delivered (2xx) or failed.
	WebhookDelivery(delivered bool)
}

// WebhookOptions tune delivery. Zero values take the defaults.
type WebhookOptions struct {
	// AllowPlainHTTP permits http:// URLs to any host; otherwise only to loopback.
	AllowPlainHTTP bool
	// Timeout bounds one POST (default 10 s).
	Timeout time.Duration
	// MinBackoff is the wait after the first failure (default 1 s); it doubles with each
	// further failure up to MaxBackoff (default 10 min). Each wait is shortened by up to
	// a fifth at random, so that receivers coming back are not hit by every webhook at once.
	MinBackoff, MaxBackoff time.Duration
	// MaxPerClient caps the registrations of one client (default 10).
	MaxPerClient int
	// MaxBatch caps the events of one POST (default 100).
	MaxBatch int
	// HTTPClient sends the POSTs (default: TLS 1.2+, redirects not followed). Its
	// redirect policy should not follow redirects: a 3xx is a failure.
	HTTPClient *http.Client
	Observer   WebhookObserver
}

func (o *WebhookOptions) fill() {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 10 * time.Minute
	}
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
	if o.MaxPerClient <= 0 {
		o.MaxPerClient = 10
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 100
	}
	if o.HTTPClient == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		tr.MaxIdleConnsPerHost = 2
		o.HTTPClient = &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
	}
}

// persistEvery bounds how often a dispatcher records progress over other clients'
// events (nothing delivered): losing it costs only a re-scan after a restart.
const persistEvery = 30 * time.Second

// hookManager owns the dispatchers.
type hookManager struct {
	s    *Server
	opts WebhookOptions

	mu      sync.Mutex
	ctx     context.Context // of RunWebhooks; nil when not running
	running map[uint64]*dispatcher
	wg      sync.WaitGroup
}

type dispatcher struct {
	cancel context.CancelFunc
	// pos: every event up to it is delivered or not the client's. Read by metrics and
	// the status view while the dispatcher runs.
	pos atomic.Uint64
}

// RunWebhooks delivers events to the registered webhooks until ctx ends, then waits for
// the dispatchers to stop. Registrations made through the API meanwhile start at once.
func (s *Server) RunWebhooks(ctx context.Context) error {
	m := s.hooks
	m.mu.Lock()
	if m.ctx != nil {
		m.mu.Unlock()
		return errors.New("backend: RunWebhooks is running already")
	}
	hs, err := s.store.Webhooks(ctx, "")
	if err != nil {
		m.mu.Unlock()
		return fmt.Errorf("backend: loading webhooks: %w", err)
	}
	m.ctx = ctx
	m.mu.Unlock()
	for _, h := range hs {
		m.start(h)
	}
	<-ctx.Done()
	m.mu.Lock()
	for id, d := range m.running {
		d.cancel()
		delete(m.running, id)
	}
	m.mu.Unlock()
	m.wg.Wait()
	m.mu.Lock()
	m.ctx = nil
	m.mu.Unlock()
	return nil
}

// WebhookBacklog is the events in the log not yet passed by the running dispatchers
// (delivered, or skipped as not the client's), summed: the as4gw_webhook_backlog_events
// gauge.
func (s *Server) WebhookBacklog() int64 {
	last := s.store.LastEventSeq()
	m := s.hooks
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for _, d := range m.running {
		if p := d.pos.Load(); p < last {
			n += int64(last - p)
		}
	}
	return n
}

func (m *hookManager) start(h store.Webhook) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx == nil || m.ctx.Err() != nil || m.running[h.ID] != nil {
		return
	}
	c := m.s.clientByName(h.Client)
	switch {
	case c == nil:
		m.s.log.Warn("webhook of a client no longer configured: not delivered", "client", h.Client, "webhook", h.ID)
		return
	case len(c.secret) == 0:
		m.s.log.Warn("webhook of a client without a webhook secret: not delivered", "client", h.Client, "webhook", h.ID)
		return
	}
	ctx, cancel := context.WithCancel(m.ctx)
	d := &dispatcher{cancel: cancel}
	d.pos.Store(h.Cursor)
	m.running[h.ID] = d
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer cancel()
		m.deliver(ctx, d, c, h)
		m.mu.Lock()
		if m.running[h.ID] == d {
			delete(m.running, h.ID)
		}
		m.mu.Unlock()
	}()
}

// refresh follows a configuration reload: it starts the webhooks of clients that got a
// secret. Running dispatchers look their client up again on each round, so they follow
// changed participants and secrets, and stop when the client or its secret is gone.
func (m *hookManager) refresh() {
	m.mu.Lock()
	ctx := m.ctx
	m.mu.Unlock()
	if ctx == nil {
		return
	}
	hs, err := m.s.store.Webhooks(ctx, "")
	if err != nil {
		m.s.log.Error("webhooks: reloading registrations failed", "error", err)
		return
	}
	for _, h := range hs {
		m.start(h)
	}
}

func (m *hookManager) stop(id uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if d := m.running[id]; d != nil {
		d.cancel()
		delete(m.running, id)
	}
}

// position is a running dispatcher's pos.
func (m *hookManager) position(id uint64) (uint64, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if d := m.running[id]; d != nil {
		return d.pos.Load(), true
	}
	return 0, false
}

// clientByName finds a client in the configuration in force (a reload may change it).
func (s *Server) clientByName(name string) *client {
	for _, c := range s.live().clients {
		if c.name == name {
			return c
		}
	}
	return nil
}

// webhookBody is what a delivery POSTs.
type webhookBody struct {
	WebhookID string      `json:"webhookId"`
	Events    []eventView `json:"events"`
}

// deliver is one webhook's dispatcher loop.
func (m *hookManager) deliver(ctx context.Context, d *dispatcher, c *client, h store.Webhook) {
	s := m.s
	log := s.log.With("client", c.name, "webhook", h.ID)
	pos, persisted := h.Cursor, h.Cursor
	lastPersist := s.now()
	failures := h.Failures
	// Respect a backoff that was running when the gateway stopped.
	if wait := h.NextAttempt.Sub(s.now()); failures > 0 && wait > 0 && !sleep(ctx, min(wait, m.opts.MaxBackoff)) {
		return
	}
	var batch []eventView
	var batchEnd uint64
	for {
		if c = s.clientByName(h.Client); c == nil || len(c.secret) == 0 {
			log.Warn("webhook: the client or its webhook secret is no longer configured: delivery stops")
			return
		}
		if len(batch) == 0 {
			changed := s.store.Changed() // before reading, so that no commit is missed
			filter := store.EventFilter{Parties: c.scope.match}
			evs, next, err := s.store.EventsAfter(ctx, pos, m.opts.MaxBatch, filter)
			var out []eventView
			if err == nil {
				out, err = s.visibleEvents(ctx, c, evs, map[store.Key]bool{})
			}
			if err != nil {
				if ctx.Err() != nil || errors.Is(err, store.ErrClosed) {
					return
				}
				log.Error("webhook: reading events failed", "error", err)
				if !sleep(ctx, min(5*time.Second, m.opts.MaxBackoff)) {
					return
				}
				continue
			}
			if len(out) == 0 {
				if next > pos { // others' events only: look further at once
					pos = next
					d.pos.Store(pos)
					continue
				}
				var persistDue <-chan time.Time
				var timer *time.Timer
				if pos > persisted {
					timer = time.NewTimer(max(0, persistEvery-s.now().Sub(lastPersist)))
					persistDue = timer.C
				}
				select {
				case <-ctx.Done():
					return
				case <-changed:
					if timer != nil {
						timer.Stop()
					}
				case <-persistDue:
					if _, err := s.store.RecordWebhook(ctx, h.ID, store.WebhookProgress{Cursor: pos}); errors.Is(err, store.ErrNotFound) {
						return
					} else if err == nil {
						persisted, lastPersist = pos, s.now()
					}
				}
				continue
			}
			batch, batchEnd = out, next
		}

		attempt := s.now()
		err := m.post(ctx, c, h, batch)
		if err != nil && ctx.Err() != nil {
			return // deleted or stopping: the batch is sent again after a restart
		}
		if m.opts.Observer != nil {
			m.opts.Observer.WebhookDelivery(err == nil)
		}
		if err == nil {
			// Recorded even when stopping now: the receiver has the batch, and sending it
			// again after the restart would be a needless duplicate.
			_, rerr := s.store.RecordWebhook(context.WithoutCancel(ctx), h.ID, store.WebhookProgress{Cursor: batchEnd, Attempt: attempt, Delivered: true})
			if errors.Is(rerr, store.ErrNotFound) || errors.Is(rerr, store.ErrClosed) {
				return
			}
			if rerr != nil {
				log.Error("webhook: recording a delivery failed (it will be sent again after a restart)", "error", rerr)
			} else {
				persisted, lastPersist = batchEnd, s.now()
			}
			if failures > 0 {
				log.Info("webhook: delivering again after failures", "failures", failures)
			}
			pos, failures, batch = batchEnd, 0, nil
			d.pos.Store(pos)
			continue
		}
		failures++
		wait := m.backoff(failures)
		log.Warn("webhook: delivery failed", "error", err, "failures", failures, "retryIn", wait)
		if _, rerr := s.store.RecordWebhook(ctx, h.ID, store.WebhookProgress{Attempt: attempt, Error: err.Error(), NextAttempt: attempt.Add(wait)}); errors.Is(rerr, store.ErrNotFound) || errors.Is(rerr, store.ErrClosed) {
			return
		}
		if !sleep(ctx, wait) {
			return
		}
	}
}

// backoff is the wait after the n-th consecutive failure.
func (m *hookManager) backoff(n int) time.Duration {
	d := m.opts.MinBackoff
	for i := 1; i < n && d < m.opts.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, m.opts.MaxBackoff)
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}

// post sends one batch. The error text is stored for the status view: it never names
// the URL (its query might carry something the client did not mean to show) or the secret.
func (m *hookManager) post(ctx context.Context, c *client, h store.Webhook, batch []eventView) error {
	id := strconv.FormatUint(h.ID, 10)
	body, err := json.Marshal(webhookBody{WebhookID: id, Events: batch})
	if err != nil {
		return fmt.Errorf("encoding the events: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("building the request: %v", unwrapURLError(err))
	}
	hd := req.Header
	hd.Set("Content-Type", jsonContentType)
	hd.Set("User-Agent", "as4gw-webhook/1")
	hd.Set(WebhookIDHeader, id)
	hd.Set(DeliveryIDHeader, fmt.Sprintf("%s-%d-%d", id, batch[0].Seq, batch[len(batch)-1].Seq))
	hd.Set(SignatureHeader, SignWebhook(c.secret, m.s.now(), body))
	resp, err := m.opts.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return fmt.Errorf("no answer within %s", m.opts.Timeout)
		}
		return fmt.Errorf("POST failed: %v", unwrapURLError(err))
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return fmt.Errorf("HTTP %d: redirects are not followed; register the final URL", resp.StatusCode)
	}
	return fmt.Errorf("HTTP %d", resp.StatusCode)
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
