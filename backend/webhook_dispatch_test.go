package backend

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/as4gw/as4gw/store"
)

// receiver is a webhook endpoint on 127.0.0.1 that verifies and records deliveries.
type receiver struct {
	t   testing.TB
	srv *httptest.Server
	mu  sync.Mutex
	// fail answers this many POSTs with 503 before accepting.
	fail      int
	posts     []delivery // every POST, failed ones too
	delivered chan delivery
}

type delivery struct {
	header http.Header
	body   webhookBody
	status int
}

func newReceiver(t testing.TB, fail int) *receiver {
	rc := &receiver{t: t, fail: fail, delivered: make(chan delivery, 1000)}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
			return
		}
		if err := VerifyWebhookSignature(testSecret, r.Header.Get(SignatureHeader), raw, time.Now(), 0); err != nil {
			t.Errorf("delivery does not verify: %v", err)
		}
		var d delivery
		if err := json.Unmarshal(raw, &d.body); err != nil {
			t.Errorf("delivery body %s: %v", raw, err)
		}
		d.header = r.Header.Clone()
		rc.mu.Lock()
		d.status = http.StatusOK
		if rc.fail > 0 {
			rc.fail--
			d.status = http.StatusServiceUnavailable
		}
		rc.posts = append(rc.posts, d)
		rc.mu.Unlock()
		w.WriteHeader(d.status)
		if d.status == http.StatusOK {
			rc.delivered <- d
		}
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

// next waits for the next accepted delivery.
func (rc *receiver) next() delivery {
	rc.t.Helper()
	select {
	case d := <-rc.delivered:
		return d
	case <-time.After(20 * time.Second):
		rc.t.Fatal("no webhook delivery came")
		return delivery{}
	}
}

// messageIDs waits until n events have been delivered and returns their message ids.
func (rc *receiver) messageIDs(n int) []string {
	rc.t.Helper()
	var ids []string
	for len(ids) < n {
		for _, ev := range rc.next().body.Events {
			ids = append(ids, ev.MessageID)
		}
	}
	return ids
}

// quiet checks that nothing more is delivered once everything visible has been handled.
func (rc *receiver) quiet() {
	rc.t.Helper()
	select {
	case d := <-rc.delivered:
		rc.t.Fatalf("unexpected delivery %+v", d.body)
	default:
	}
}

type countingObserver struct{ delivered, failed atomic.Int64 }

func (o *countingObserver) WebhookDelivery(ok bool) {
	if ok {
		o.delivered.Add(1)
	} else {
		o.failed.Add(1)
	}
}

var fastRetry = WebhookOptions{MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}

// runWebhooks runs the dispatchers until the test ends (or stop is called).
func (e *env) runWebhooks() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.srv.RunWebhooks(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				e.t.Error(err)
			}
		})
	}
	e.t.Cleanup(stop)
	return stop
}

func (e *env) registerURL(token, url string) string {
	e.t.Helper()
	w := e.register(token, `{"url":"`+url+`"}`)
	if w.Code != http.StatusCreated {
		e.t.Fatalf("register: %d %s", w.Code, w.Body)
	}
	return decodeJSON[webhookView](e.t, w).ID
}

// TestWebhookDeliveryScoped: each client's webhook gets its own events, signed, in order,
// and never another organisation's (A's outbound message names B's participant as
// finalRecipient, so the store's party filter alone would let it through to B).
func TestWebhookDeliveryScoped(t *testing.T) {
	obs := &countingObserver{}
	opts := fastRetry
	opts.Observer = obs
	e := newEnv(t, withWebhooks(opts, clientA, clientB))
	rcA, rcB := newReceiver(t, 0), newReceiver(t, 0)
	idA := e.registerURL(tokenA, rcA.srv.URL+"/a")
	e.registerURL(tokenB, rcB.srv.URL+"/b")
	e.runWebhooks()

	if w := e.submit(tokenA, validParts()...); w.Code != http.StatusAccepted {
		t.Fatalf("submit: %d %s", w.Code, w.Body)
	}
	e.receive("in-b", peerAP, partyOf(partB), nil)
	e.receive("in-a", peerAP, partyOf(partA), nil)

	d := rcA.next()
	if d.header.Get(WebhookIDHeader) != idA || d.header.Get("Content-Type") != jsonContentType || d.body.WebhookID != idA {
		t.Fatalf("headers %v, body %+v", d.header, d.body)
	}
	first, last := d.body.Events[0].Seq, d.body.Events[len(d.body.Events)-1].Seq
	if want := idA + "-" + itoa(first) + "-" + itoa(last); d.header.Get(DeliveryIDHeader) != want {
		t.Errorf("delivery id %q, want %q", d.header.Get(DeliveryIDHeader), want)
	}
	idsA := []string{}
	for _, ev := range d.body.Events {
		idsA = append(idsA, ev.MessageID)
	}
	for len(idsA) < 2 {
		idsA = append(idsA, rcA.messageIDs(1)...)
	}
	if len(idsA) != 2 || idsA[1] != "in-a" || !strings.Contains(idsA[0], "@") {
		t.Fatalf("A got %v, want its submission then in-a", idsA)
	}
	if idsB := rcB.messageIDs(1); len(idsB) != 1 || idsB[0] != "in-b" {
		t.Fatalf("B got %v, want only in-b", idsB)
	}
	rcB.quiet()
	waitFor(t, func() bool { return obs.delivered.Load() >= 2 && e.srv.WebhookBacklog() == 0 })
	if obs.failed.Load() != 0 {
		t.Errorf("observer: %d failed", obs.failed.Load())
	}
	v := decodeJSON[webhookView](t, e.do(http.MethodGet, apiPrefix+"/webhooks/"+idA, tokenA, nil))
	if !v.Status.Active || v.Status.Pending != 0 || v.Status.LastDelivery.IsZero() || v.Status.ConsecutiveFailures != 0 {
		t.Fatalf("status after delivery %+v", v.Status)
	}
}

// TestWebhookRetry: failures are retried with the same batch until one succeeds, and the
// status shows them meanwhile.
func TestWebhookRetry(t *testing.T) {
	obs := &countingObserver{}
	opts := fastRetry
	opts.Observer = obs
	e := newEnv(t, withWebhooks(opts, clientA))
	rc := newReceiver(t, 3)
	id := e.registerURL(tokenA, rc.srv.URL)
	e.runWebhooks()
	e.receive("in-a-1", peerAP, partyOf(partA), nil)

	d := rc.next()
	if len(d.body.Events) != 1 || d.body.Events[0].MessageID != "in-a-1" {
		t.Fatalf("delivered %+v", d.body)
	}
	rc.mu.Lock()
	posts := rc.posts
	rc.mu.Unlock()
	if len(posts) != 4 {
		t.Fatalf("%d POSTs, want 3 failed and 1 accepted", len(posts))
	}
	for _, p := range posts {
		if p.header.Get(DeliveryIDHeader) != d.header.Get(DeliveryIDHeader) {
			t.Errorf("retry has delivery id %q, first %q", p.header.Get(DeliveryIDHeader), d.header.Get(DeliveryIDHeader))
		}
	}
	waitFor(t, func() bool { return obs.delivered.Load() == 1 })
	if obs.failed.Load() != 3 {
		t.Errorf("observer: %d failed, want 3", obs.failed.Load())
	}
	var v webhookView
	waitFor(t, func() bool {
		v = decodeJSON[webhookView](t, e.do(http.MethodGet, apiPrefix+"/webhooks/"+id, tokenA, nil))
		return !v.Status.LastDelivery.IsZero()
	})
	if v.Status.ConsecutiveFailures != 0 || v.Status.LastError != "HTTP 503" {
		t.Fatalf("status %+v", v.Status)
	}
}

// TestWebhookFailureStatus: while the receiver keeps failing, the status says so.
func TestWebhookFailureStatus(t *testing.T) {
	e := newEnv(t, withWebhooks(fastRetry, clientA))
	rc := newReceiver(t, 1<<30)
	id := e.registerURL(tokenA, rc.srv.URL)
	e.runWebhooks()
	e.receive("in-a-1", peerAP, partyOf(partA), nil)
	waitFor(t, func() bool {
		v := decodeJSON[webhookView](t, e.do(http.MethodGet, apiPrefix+"/webhooks/"+id, tokenA, nil))
		return v.Status.ConsecutiveFailures >= 3 && v.Status.LastError == "HTTP 503" && v.Status.Pending == 1 &&
			!v.Status.NextAttempt.IsZero() && v.Status.LastDelivery.IsZero()
	})
	if n := e.srv.WebhookBacklog(); n == 0 {
		t.Error("backlog 0 while an event is undelivered")
	}
	// Deleting stops the retries.
	if w := e.do(http.MethodDelete, apiPrefix+"/webhooks/"+id, tokenA, nil); w.Code != http.StatusNoContent {
		t.Fatalf("delete: %d", w.Code)
	}
	if _, active := e.srv.hooks.position(mustID(t, id)); active {
		t.Error("dispatcher still registered after delete")
	}
}

// TestWebhookResume: what was delivered before a restart is not sent again; what happened
// while the gateway was down (or undelivered) is sent after it.
func TestWebhookResume(t *testing.T) {
	dir := t.TempDir()
	rc := newReceiver(t, 0)
	open := func() *env {
		st, err := store.OpenBolt(dir, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		cfg := Config{Store: st, PModes: testPModes(t), Webhooks: fastRetry,
			Clients: []Client{{Name: clientA, TokenSHA256: hashOf(tokenA), Participants: []store.PartyID{{ID: partA}}, WebhookSecret: testSecret}}}
		srv, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return &env{t: t, dir: dir, st: st, srv: srv}
	}
	e := open()
	e.registerURL(tokenA, rc.srv.URL)
	stop := e.runWebhooks()
	e.receive("before", peerAP, partyOf(partA), nil)
	if ids := rc.messageIDs(1); ids[0] != "before" {
		t.Fatalf("got %v", ids)
	}
	// The receiver has it; wait until the gateway has the answer too.
	waitFor(t, func() bool {
		hs, err := e.st.Webhooks(context.Background(), clientA)
		return err == nil && len(hs) == 1 && !hs[0].LastDelivery.IsZero()
	})
	stop()
	e.receive("while-stopped", peerAP, partyOf(partA), nil)
	e.srv.Close()
	if err := e.st.Close(); err != nil {
		t.Fatal(err)
	}

	e = open()
	t.Cleanup(func() { e.st.Close() })
	e.runWebhooks()
	e.receive("after", peerAP, partyOf(partA), nil)
	if ids := rc.messageIDs(2); ids[0] != "while-stopped" || ids[1] != "after" {
		t.Fatalf("after restart got %v, want while-stopped, after (and not before again)", ids)
	}
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

func mustID(t testing.TB, s string) uint64 {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestWebhookReload: dispatchers follow the configuration in force: a client whose secret
// is removed gets nothing more, and its webhooks resume from their cursor once the secret
// is back.
func TestWebhookReload(t *testing.T) {
	var cfg Config
	e := newEnv(t, withWebhooks(fastRetry, clientA), func(c *Config) { cfg = *c })
	rc := newReceiver(t, 0)
	id := mustID(t, e.registerURL(tokenA, rc.srv.URL))
	e.runWebhooks()
	e.receive("first", peerAP, partyOf(partA), nil)
	if ids := rc.messageIDs(1); ids[0] != "first" {
		t.Fatalf("got %v", ids)
	}
	withSecret := cfg
	withSecret.Clients = append([]Client(nil), cfg.Clients...)
	cfg.Clients = append([]Client(nil), cfg.Clients...)
	cfg.Clients[0].WebhookSecret = nil
	if err := e.srv.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	e.receive("while-no-secret", peerAP, partyOf(partA), nil)
	waitFor(t, func() bool { _, active := e.srv.hooks.position(id); return !active })
	rc.quiet()
	if err := e.srv.Reload(withSecret); err != nil {
		t.Fatal(err)
	}
	if ids := rc.messageIDs(1); ids[0] != "while-no-secret" {
		t.Fatalf("after the secret came back: %v", ids)
	}
}

// BenchmarkWebhookDelivery: b.N events waiting in the log, delivered to a receiver on
// loopback (batches of up to 100, one store commit per batch). Run with -benchtime=2000x.
func BenchmarkWebhookDelivery(b *testing.B) {
	e := newEnv(b, withWebhooks(fastRetry, clientA))
	rc := newReceiver(b, 0)
	e.registerURL(tokenA, rc.srv.URL)
	for i := range b.N {
		e.receive("bench-"+strconv.Itoa(i), peerAP, partyOf(partA), nil)
	}
	b.ResetTimer()
	e.runWebhooks()
	rc.messageIDs(b.N)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
