package backend

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/as4gw/as4gw/store"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef-test")

func TestWebhookSignature(t *testing.T) {
	body := []byte(`{"webhookId":"1","events":[]}`)
	now := time.Unix(1_750_000_000, 0)
	good := SignWebhook(testSecret, now, body)
	other := SignWebhook([]byte("another-secret-another-secret-xx"), now, body)
	_, v1, _ := strings.Cut(good, ",v1=")
	_, otherV1, _ := strings.Cut(other, ",v1=")
	tests := []struct {
		name   string
		header string
		body   []byte
		now    time.Time
		window time.Duration
		want   error // nil: verifies
	}{
		{"good", good, body, now, 0, nil},
		{"good, clock a bit ahead", good, body, now.Add(4 * time.Minute), 0, nil},
		{"good, clock a bit behind", good, body, now.Add(-4 * time.Minute), 0, nil},
		{"spaces and unknown keys", " t=1750000000 , v0=zz ,v1=" + v1 + " ", body, now, 0, nil},
		{"rotation: second v1 matches", "t=1750000000,v1=" + otherV1 + ",v1=" + v1, body, now, 0, nil},
		{"tampered body", good, []byte(`{"webhookId":"1","events":[{}]}`), now, 0, ErrSignatureMismatch},
		{"wrong secret", other, body, now, 0, ErrSignatureMismatch},
		{"timestamp changed", "t=1750000001,v1=" + v1, body, now, 0, ErrSignatureMismatch},
		{"stale", good, body, now.Add(5*time.Minute + time.Second), 0, ErrSignatureStale},
		{"from the future", good, body, now.Add(-6 * time.Minute), 0, ErrSignatureStale},
		{"stale under a short window", good, body, now.Add(2 * time.Second), time.Second, ErrSignatureStale},
		{"empty", "", body, now, 0, ErrSignatureMalformed},
		{"no t", "v1=" + v1, body, now, 0, ErrSignatureMalformed},
		{"no v1", "t=1750000000", body, now, 0, ErrSignatureMalformed},
		{"t twice", "t=1,t=1750000000,v1=" + v1, body, now, 0, ErrSignatureMalformed},
		{"negative t", "t=-1750000000,v1=" + v1, body, now, 0, ErrSignatureMalformed},
		{"huge t", "t=99999999999999999999,v1=" + v1, body, now, 0, ErrSignatureMalformed},
		{"short v1", "t=1750000000,v1=abcd", body, now, 0, ErrSignatureMalformed},
		{"item without =", "t=1750000000,v1", body, now, 0, ErrSignatureMalformed},
		{"too many v1", "t=1750000000" + strings.Repeat(",v1="+v1, 9), body, now, 0, ErrSignatureMalformed},
		{"too long", "t=1750000000,v1=" + v1 + strings.Repeat(",x=y", 300), body, now, 0, ErrSignatureMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyWebhookSignature(testSecret, tt.header, tt.body, tt.now, tt.window)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	if err := VerifyWebhookSignature(nil, good, body, now, 0); err == nil {
		t.Error("verified without a secret")
	}
}

func FuzzWebhookSignatureHeader(f *testing.F) {
	body := []byte("{}")
	now := time.Unix(1_750_000_000, 0)
	f.Add(SignWebhook(testSecret, now, body))
	f.Add("t=1,v1=00")
	f.Add(",,=,t=,v1=,")
	f.Add("t=1750000000,v1=" + strings.Repeat("0", 64) + ",v1=" + strings.Repeat("f", 64))
	f.Fuzz(func(t *testing.T, h string) {
		ts, sigs, err := parseSignatureHeader(h)
		if err != nil {
			if !errors.Is(err, ErrSignatureMalformed) {
				t.Fatalf("error %v does not wrap ErrSignatureMalformed", err)
			}
			return
		}
		if ts < 0 || len(sigs) == 0 || len(sigs) > maxSignatures {
			t.Fatalf("accepted %q as t=%d with %d signatures", h, ts, len(sigs))
		}
		for _, s := range sigs {
			if len(s) != 32 {
				t.Fatalf("signature of %d bytes", len(s))
			}
		}
		// Whatever parses must verify or fail cleanly, never panic.
		_ = VerifyWebhookSignature(testSecret, h, body, now, 0)
	})
}

func TestCheckWebhookURL(t *testing.T) {
	tests := []struct {
		url        string
		allowPlain bool
		ok         bool
	}{
		{"https://backend.example/events", false, true},
		{"https://backend.example:8443/a/b?x=1", false, true},
		{"https://[2001:db8::1]/hook", false, true},
		{"http://127.0.0.1:9000/hook", false, true},
		{"http://[::1]:9000/hook", false, true},
		{"http://localhost/hook", false, true},
		{"http://backend.example/hook", false, false},
		{"http://backend.example/hook", true, true},
		{"ftp://backend.example/", false, false},
		{"https:///nohost", false, false},
		{"https:opaque", false, false},
		{"/relative", false, false},
		{"https://user:pw@backend.example/", false, false},
		{"https://user@backend.example/", false, false},
		{"https://backend.example/#frag", false, false},
		{"https://backend.example:0/", false, false},
		{"https://backend.example:70000/", false, false},
		{"https://backend.example/a b", false, false},
		{"https://backend.example/\x00", false, false},
		{"https://backend.example/" + strings.Repeat("a", maxWebhookURL), false, false},
		{"", false, false},
		{"https://%zz/", false, false},
	}
	for _, tt := range tests {
		p := checkWebhookURL(tt.url, tt.allowPlain)
		if (p == nil) != tt.ok {
			t.Errorf("checkWebhookURL(%.60q, %v) = %v, want ok=%v", tt.url, tt.allowPlain, p, tt.ok)
		}
		if p != nil && (p.Field != "url" || p.Status != http.StatusBadRequest) {
			t.Errorf("%.60q: problem %+v, want 400 naming url", tt.url, p)
		}
	}
}

func withWebhooks(opts WebhookOptions, secretFor ...string) func(*Config) {
	return func(cfg *Config) {
		for i := range cfg.Clients {
			for _, name := range secretFor {
				if cfg.Clients[i].Name == name {
					cfg.Clients[i].WebhookSecret = testSecret
				}
			}
		}
		cfg.Webhooks = opts
	}
}

func (e *env) register(token, body string) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.do(http.MethodPost, apiPrefix+"/webhooks", token, strings.NewReader(body), "Content-Type", "application/json")
}

func partyOf(id string) store.PartyID { return store.PartyID{ID: id, Type: upis} }

func TestWebhookRegistrationValidation(t *testing.T) {
	e := newEnv(t, withWebhooks(WebhookOptions{MaxPerClient: 2}, clientA))
	tests := []struct {
		name   string
		token  string
		ct     string
		body   string
		status int
		slug   string
		field  string
	}{
		{"no secret for the client", tokenB, "application/json", `{"url":"https://b.example/"}`, 422, "webhook-secret-missing", ""},
		{"not JSON content", tokenA, "text/plain", `{"url":"https://a.example/"}`, 415, "unsupported-media-type", "Content-Type"},
		{"empty body", tokenA, "application/json", ``, 400, "invalid-request", ""},
		{"syntax", tokenA, "application/json", `{"url":`, 400, "invalid-request", ""},
		{"two values", tokenA, "application/json", `{"url":"https://a.example/"} {}`, 400, "invalid-request", ""},
		{"url not a string", tokenA, "application/json", `{"url":5}`, 400, "invalid-request", "url"},
		{"unknown member", tokenA, "application/json", `{"url":"https://a.example/","secret":"x"}`, 400, "invalid-request", "secret"},
		{"no url", tokenA, "application/json", `{"description":"x"}`, 400, "invalid-request", "url"},
		{"plain http", tokenA, "application/json", `{"url":"http://a.example/"}`, 400, "invalid-request", "url"},
		{"userinfo", tokenA, "application/json", `{"url":"https://u:p@a.example/"}`, 400, "invalid-request", "url"},
		{"long description", tokenA, "application/json", `{"url":"https://a.example/","description":"` + strings.Repeat("d", 300) + `"}`, 400, "invalid-request", "description"},
		{"control in description", tokenA, "application/json", `{"url":"https://a.example/","description":"a\u0007b"}`, 400, "invalid-request", "description"},
		{"too large", tokenA, "application/json", `{"url":"https://a.example/","description":"` + strings.Repeat("d", maxWebhookRequest) + `"}`, 413, "too-large", ""},
		{"no credentials", "", "application/json", `{"url":"https://a.example/"}`, 401, "unauthorized", "Authorization"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.do(http.MethodPost, apiPrefix+"/webhooks", tt.token, strings.NewReader(tt.body), "Content-Type", tt.ct)
			expectProblem(t, w, tt.status, tt.slug, tt.field)
		})
	}
	for i := range 2 {
		w := e.register(tokenA, `{"url":"https://a.example/`+string(rune('a'+i))+`","description":"mine"}`)
		if w.Code != http.StatusCreated {
			t.Fatalf("register: %d %s", w.Code, w.Body)
		}
		v := decodeJSON[webhookView](t, w)
		if w.Header().Get("Location") != apiPrefix+"/webhooks/"+v.ID || v.Description != "mine" || v.Status.Active {
			t.Fatalf("created %+v, Location %q", v, w.Header().Get("Location"))
		}
	}
	expectProblem(t, e.register(tokenA, `{"url":"https://a.example/c"}`), http.StatusConflict, "webhook-limit", "")
}

func TestWebhookScopedCRUD(t *testing.T) {
	e := newEnv(t, withWebhooks(WebhookOptions{}, clientA, clientB))
	w := e.register(tokenA, `{"url":"https://a.example/hook"}`)
	if w.Code != http.StatusCreated {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	id := decodeJSON[webhookView](t, w).ID
	path := apiPrefix + "/webhooks/" + id

	// Events for A while no dispatcher runs: they are pending.
	e.receive("in-a-1", peerAP, partyOf(partA), nil)
	e.receive("in-b-1", peerAP, partyOf(partB), nil)
	e.receive("in-a-2", peerAP, partyOf(partA), nil)
	v := decodeJSON[webhookView](t, e.do(http.MethodGet, path, tokenA, nil))
	if v.ID != id || v.URL != "https://a.example/hook" || v.Status.Pending != 2 || v.Status.Active {
		t.Fatalf("status %+v, want 2 pending and inactive", v)
	}
	list := decodeJSON[webhookList](t, e.do(http.MethodGet, apiPrefix+"/webhooks", tokenA, nil))
	if len(list.Webhooks) != 1 || list.Webhooks[0].ID != id {
		t.Fatalf("A's list %+v", list)
	}
	// B sees none of it, and cannot tell A's webhook exists.
	if list := decodeJSON[webhookList](t, e.do(http.MethodGet, apiPrefix+"/webhooks", tokenB, nil)); len(list.Webhooks) != 0 {
		t.Fatalf("B's list %+v", list)
	}
	expectProblem(t, e.do(http.MethodGet, path, tokenB, nil), 404, "not-found", "")
	expectProblem(t, e.do(http.MethodDelete, path, tokenB, nil), 404, "not-found", "")
	expectProblem(t, e.do(http.MethodGet, apiPrefix+"/webhooks/nope", tokenA, nil), 404, "not-found", "")
	expectProblem(t, e.do(http.MethodPut, path, tokenA, nil), 405, "method-not-allowed", "")

	if w := e.do(http.MethodDelete, path, tokenA, nil); w.Code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", w.Code, w.Body)
	}
	expectProblem(t, e.do(http.MethodGet, path, tokenA, nil), 404, "not-found", "")
	expectProblem(t, e.do(http.MethodDelete, path, tokenA, nil), 404, "not-found", "")
}
