package backend

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/as4gw/as4gw/store"
)

// Webhooks: a client registers URLs; the gateway POSTs the client's events to them (the
// same events, filtered the same way, as GET /api/v1/events), signed with the client's
// webhook secret. See webhook_dispatch.go for delivery.

// Headers of a webhook delivery.
const (
	// SignatureHeader carries "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>".
	SignatureHeader = "AS4GW-Signature"
	// DeliveryIDHeader names one batch of events: "<webhook id>-<first seq>-<last seq>",
	// the same on every retry of the batch.
	DeliveryIDHeader = "AS4GW-Delivery-Id"
	// WebhookIDHeader is the id of the registration the delivery is for.
	WebhookIDHeader = "AS4GW-Webhook-Id"
	// DefaultSignatureWindow is how far a signature's timestamp may be from the
	// receiver's clock; it bounds how long a captured delivery can be replayed.
	DefaultSignatureWindow = 5 * time.Minute
)

// Errors of VerifyWebhookSignature.
var (
	ErrSignatureMalformed = errors.New("webhook signature: malformed header")
	ErrSignatureMismatch  = errors.New("webhook signature: no signature matches the body")
	ErrSignatureStale     = errors.New("webhook signature: timestamp outside the replay window")
)

const (
	maxSignatureHeader = 1024
	maxSignatures      = 8 // v1 values in one header (several during a key rotation)
)

// SignWebhook returns the SignatureHeader value for body sent at t.
func SignWebhook(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(webhookMAC(secret, ts, body))
}

func webhookMAC(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// VerifyWebhookSignature checks a delivery as a receiver should: header is the
// AS4GW-Signature value, body the raw request body, now the receiver's clock. It accepts
// when one v1 signature is the HMAC-SHA256 with secret of "<t>.<body>" and t is within
// window of now (DefaultSignatureWindow when window <= 0). Unknown keys in the header are
// ignored, so that a later scheme can be added beside v1. The errors wrap
// ErrSignatureMalformed, ErrSignatureMismatch or ErrSignatureStale.
func VerifyWebhookSignature(secret []byte, header string, body []byte, now time.Time, window time.Duration) error {
	if len(secret) == 0 {
		return errors.New("webhook signature: no secret to verify with")
	}
	if window <= 0 {
		window = DefaultSignatureWindow
	}
	ts, sigs, err := parseSignatureHeader(header)
	if err != nil {
		return err
	}
	want := webhookMAC(secret, strconv.FormatInt(ts, 10), body)
	ok := false
	for _, s := range sigs {
		ok = hmac.Equal(s, want) || ok // every candidate compared: no early exit to time
	}
	if !ok {
		return ErrSignatureMismatch
	}
	// Compared in seconds so that neither a huge t nor a far-off clock can overflow.
	age := now.Unix() - ts
	if age < 0 {
		age = -age
	}
	if age < 0 || age > int64(window/time.Second) {
		return fmt.Errorf("%w: signed at %d, now %d, window %s", ErrSignatureStale, ts, now.Unix(), window)
	}
	return nil
}

// parseSignatureHeader reads "t=<digits>,v1=<64 hex>[,v1=...]" (spaces around items
// allowed, other keys ignored).
func parseSignatureHeader(h string) (ts int64, sigs [][]byte, err error) {
	if len(h) > maxSignatureHeader {
		return 0, nil, fmt.Errorf("%w: %d bytes, at most %d", ErrSignatureMalformed, len(h), maxSignatureHeader)
	}
	haveT := false
	for item := range strings.SplitSeq(h, ",") {
		item = strings.TrimSpace(item)
		k, v, ok := strings.Cut(item, "=")
		if !ok {
			return 0, nil, fmt.Errorf("%w: item %q is not key=value", ErrSignatureMalformed, item)
		}
		switch k {
		case "t":
			if haveT {
				return 0, nil, fmt.Errorf("%w: t given twice", ErrSignatureMalformed)
			}
			if v == "" || len(v) > 18 || strings.Trim(v, "0123456789") != "" {
				return 0, nil, fmt.Errorf("%w: t=%q is not a Unix time in seconds", ErrSignatureMalformed, v)
			}
			ts, _ = strconv.ParseInt(v, 10, 64) // 18 digits cannot overflow
			haveT = true
		case "v1":
			if len(sigs) == maxSignatures {
				return 0, nil, fmt.Errorf("%w: more than %d v1 signatures", ErrSignatureMalformed, maxSignatures)
			}
			b, err := hex.DecodeString(v)
			if err != nil || len(b) != sha256.Size {
				return 0, nil, fmt.Errorf("%w: v1 is not %d hex digits", ErrSignatureMalformed, 2*sha256.Size)
			}
			sigs = append(sigs, b)
		}
	}
	if !haveT {
		return 0, nil, fmt.Errorf("%w: no t=", ErrSignatureMalformed)
	}
	if len(sigs) == 0 {
		return 0, nil, fmt.Errorf("%w: no v1=", ErrSignatureMalformed)
	}
	return ts, sigs, nil
}

// Limits of a registration.
const (
	maxWebhookURL         = 2048
	maxWebhookDescription = 256
	maxWebhookRequest     = 16 << 10
)

// The problem kinds only webhooks use.
var (
	kindWebhookSecret = problemKind{"webhook-secret-missing", "No webhook secret configured for this client", http.StatusUnprocessableEntity}
	kindWebhookLimit  = problemKind{"webhook-limit", "Too many webhooks", http.StatusConflict}
)

type webhookRequest struct {
	URL         string `json:"url"`
	Description string `json:"description"`
}

// webhookView is a registration as the API shows it.
type webhookView struct {
	ID          string        `json:"id"`
	URL         string        `json:"url"`
	Description string        `json:"description,omitempty"`
	Created     time.Time     `json:"created"`
	Status      webhookStatus `json:"status"`
}

type webhookStatus struct {
	// Active: a dispatcher delivers to it (false while the gateway starts or stops, or
	// when the client's secret was removed from the configuration).
	Active bool `json:"active"`
	// Cursor: the events up to this sequence number are delivered (or were not the
	// client's).
	Cursor              uint64    `json:"cursor"`
	LastAttempt         time.Time `json:"lastAttempt,omitzero"`
	LastDelivery        time.Time `json:"lastDelivery,omitzero"`
	LastError           string    `json:"lastError,omitempty"`
	ConsecutiveFailures int       `json:"consecutiveFailures"`
	NextAttempt         time.Time `json:"nextAttempt,omitzero"`
	// Pending counts the client's events not yet delivered, up to a bound; PendingMore
	// says there are more than counted.
	Pending     int  `json:"pending"`
	PendingMore bool `json:"pendingMore,omitempty"`
}

type webhookList struct {
	Webhooks []webhookView `json:"webhooks"`
}

// handleCreateWebhook is POST /api/v1/webhooks.
func (s *Server) handleCreateWebhook(w http.ResponseWriter, r *http.Request, c *client) {
	if len(c.secret) == 0 {
		writeProblem(w, r, problem(kindWebhookSecret, "",
			"events are signed with a per-client secret, and none is configured for client %q: the operator sets backend.clients[].webhookSecretFile or webhookSecretEnv", c.name))
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != jsonContentType {
		writeProblem(w, r, problem(kindMediaType, "Content-Type", "a registration is application/json; got %q", r.Header.Get("Content-Type")))
		return
	}
	var req webhookRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxWebhookRequest))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeProblem(w, r, webhookJSONProblem(err))
		return
	}
	if dec.More() {
		writeProblem(w, r, invalid("", "the body holds more than one JSON value"))
		return
	}
	if p := checkWebhookURL(req.URL, s.hooks.opts.AllowPlainHTTP); p != nil {
		writeProblem(w, r, p)
		return
	}
	if p := checkDescription(req.Description); p != nil {
		writeProblem(w, r, p)
		return
	}
	h, err := s.store.CreateWebhook(r.Context(), store.Webhook{Client: c.name, URL: req.URL, Description: req.Description}, s.hooks.opts.MaxPerClient)
	if errors.Is(err, store.ErrTooMany) {
		writeProblem(w, r, problem(kindWebhookLimit, "", "client %q has %d webhooks already, the most allowed; delete one first", c.name, s.hooks.opts.MaxPerClient))
		return
	}
	if err != nil {
		writeProblem(w, r, s.storeProblem(r, "registering the webhook", err))
		return
	}
	s.hooks.start(h)
	s.log.Info("webhook registered", "client", c.name, "webhook", h.ID)
	w.Header().Set("Location", apiPrefix+"/webhooks/"+strconv.FormatUint(h.ID, 10))
	writeJSON(w, http.StatusCreated, s.webhookView(r, c, h, false))
}

// handleListWebhooks is GET /api/v1/webhooks: the client's own, oldest first.
func (s *Server) handleListWebhooks(w http.ResponseWriter, r *http.Request, c *client) {
	hs, err := s.store.Webhooks(r.Context(), c.name)
	if err != nil {
		writeProblem(w, r, s.storeProblem(r, "listing webhooks", err))
		return
	}
	out := webhookList{Webhooks: []webhookView{}}
	for _, h := range hs {
		out.Webhooks = append(out.Webhooks, s.webhookView(r, c, h, true))
	}
	writeJSON(w, http.StatusOK, out)
}

// handleGetWebhook is GET /api/v1/webhooks/{webhookId}.
func (s *Server) handleGetWebhook(w http.ResponseWriter, r *http.Request, c *client) {
	h, p := s.ownWebhook(r, c)
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	writeJSON(w, http.StatusOK, s.webhookView(r, c, h, true))
}

// handleDeleteWebhook is DELETE /api/v1/webhooks/{webhookId}; delivery stops at once
// (a POST in flight is abandoned).
func (s *Server) handleDeleteWebhook(w http.ResponseWriter, r *http.Request, c *client) {
	h, p := s.ownWebhook(r, c)
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	err := s.store.DeleteWebhook(r.Context(), h.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		writeProblem(w, r, s.storeProblem(r, "deleting the webhook", err))
		return
	}
	s.hooks.stop(h.ID)
	s.log.Info("webhook deleted", "client", c.name, "webhook", h.ID)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

// ownWebhook finds the path's webhook; another client's answers 404 like an unknown id.
func (s *Server) ownWebhook(r *http.Request, c *client) (store.Webhook, *Problem) {
	id, err := strconv.ParseUint(r.PathValue("webhookId"), 10, 64)
	if err != nil {
		return store.Webhook{}, notFound("webhook")
	}
	h, err := s.store.GetWebhook(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && h.Client != c.name) {
		return store.Webhook{}, notFound("webhook")
	}
	if err != nil {
		return store.Webhook{}, s.storeProblem(r, "reading the webhook", err)
	}
	return h, nil
}

func (s *Server) webhookView(r *http.Request, c *client, h store.Webhook, countPending bool) webhookView {
	pos, active := s.hooks.position(h.ID)
	cursor := max(h.Cursor, pos)
	v := webhookView{ID: strconv.FormatUint(h.ID, 10), URL: h.URL, Description: h.Description, Created: h.Created,
		Status: webhookStatus{Active: active, Cursor: cursor, LastAttempt: h.LastAttempt, LastDelivery: h.LastDelivery,
			LastError: h.LastError, ConsecutiveFailures: h.Failures, NextAttempt: h.NextAttempt}}
	if countPending {
		n, more, err := s.pendingEvents(r, c, cursor)
		if err != nil {
			s.log.Warn("backend: counting pending webhook events failed", "webhook", h.ID, "error", err)
		}
		v.Status.Pending, v.Status.PendingMore = n, more
	}
	return v
}

// Bounds of the pending count: it answers a status request, so it must stay cheap.
const (
	maxPendingCount = 1000
	maxPendingReads = 5 // EventsAfter calls, each examining at most 10000 events
)

func (s *Server) pendingEvents(r *http.Request, c *client, after uint64) (n int, more bool, err error) {
	filter := store.EventFilter{Parties: c.scope.match}
	vis := map[store.Key]bool{}
	for range maxPendingReads {
		evs, next, err := s.store.EventsAfter(r.Context(), after, maxPendingCount, filter)
		if err != nil {
			return n, false, err
		}
		out, err := s.visibleEvents(r.Context(), c, evs, vis)
		if err != nil {
			return n, false, err
		}
		n += len(out)
		if n >= maxPendingCount {
			return maxPendingCount, true, nil
		}
		if next <= after {
			return n, false, nil
		}
		after = next
	}
	return n, after < s.store.LastEventSeq(), nil
}

// checkWebhookURL: absolute https, or http to a loopback address (a receiver on the same
// host) unless allowPlain; no userinfo (credentials in a URL end up in logs and status
// pages; the signature authenticates the gateway instead), no fragment, bounded length.
func checkWebhookURL(raw string, allowPlain bool) *Problem {
	const f = "url"
	switch {
	case raw == "":
		return invalid(f, "url is required: the https:// address events are POSTed to")
	case len(raw) > maxWebhookURL:
		return invalid(f, "url is %d bytes long, at most %d allowed", len(raw), maxWebhookURL)
	case !utf8.ValidString(raw) || strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return invalid(f, "url contains spaces or control characters")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return invalid(f, "url is not a URL: %v", errors.Unwrap(err))
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return invalid(f, "url must be https:// (it is %q)", u.Scheme+":")
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return invalid(f, "url must be absolute with a host, like https://backend.example/as4gw-events")
	case u.User != nil:
		return invalid(f, "url must not carry a user name or password; the signature header authenticates the gateway")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return invalid(f, "url must not have a #fragment")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return invalid(f, "url port %q is not 1..65535", p)
		}
	}
	if u.Scheme == "http" && !allowPlain && !isLoopback(u.Hostname()) {
		return invalid(f, "url must be https://; plain http:// is allowed only to a loopback address (127.0.0.1, ::1, localhost) unless the operator sets backend.webhooks.allowPlainHTTP")
	}
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func checkDescription(d string) *Problem {
	switch {
	case len(d) > maxWebhookDescription:
		return invalid("description", "description is %d bytes long, at most %d allowed", len(d), maxWebhookDescription)
	case !utf8.ValidString(d):
		return invalid("description", "description is not valid UTF-8")
	case strings.ContainsFunc(d, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return invalid("description", "description contains control characters")
	}
	return nil
}

// webhookJSONProblem names the member a decoding error is about where it can.
func webhookJSONProblem(err error) *Problem {
	var mbe *http.MaxBytesError
	var ute *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &mbe):
		return problem(kindTooLarge, "", "a registration is at most %d bytes", mbe.Limit)
	case errors.As(err, &ute):
		return invalid(ute.Field, "%s must be a JSON %s", ute.Field, ute.Type.Kind())
	case errors.As(err, &se):
		return invalid("", "the body is not JSON: %v (at byte %d)", se, se.Offset)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("", "the body is empty or cut short: send {\"url\": \"https://...\"}")
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name := strings.Trim(f, `"`)
		if f = name; checkDescription(f) != nil || len(f) > 64 {
			f = "" // not echoed as a field name
		}
		return invalid(f, "unknown member %q: a registration has url and description", name)
	}
	return invalid("", "the body is not a registration: %v", err)
}
