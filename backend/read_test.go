package backend

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/as4gw/as4gw/store"
)

// submitted submits validParts as client A and returns the message id.
func (e *env) submitted(edit func(m map[string]any)) string {
	e.t.Helper()
	meta := validMeta()
	if edit != nil {
		edit(meta)
	}
	w := e.submit(tokenA, metaPart(meta), filePart("message", xmlPayload), filePart("attachment1", binPayload))
	if w.Code != http.StatusAccepted {
		e.t.Fatalf("submit: %d %s", w.Code, w.Body)
	}
	return decodeJSON[submitResponse](e.t, w).MessageID
}

func msgURL(id string, rest ...string) string {
	u := messages + "/" + url.PathEscape(id)
	for _, r := range rest {
		u += "/" + r
	}
	return u
}

func TestGetMessage(t *testing.T) {
	e := newEnv(t)
	id := e.submitted(nil)
	ctx := context.Background()
	ms, _ := e.st.Find(ctx, store.Outbound, id)
	k := ms[0].Key
	// Let the MSH work on it: one failed attempt, then a receipt.
	now := time.Now()
	claimed, err := e.st.ClaimDue(ctx, now, 10, time.Minute, nil)
	if err != nil || len(claimed) != 1 {
		t.Fatal(err, len(claimed))
	}
	if _, err := e.st.ScheduleRetry(ctx, k, claimed[0].Lease.Token, store.Attempt{At: now, Error: store.Problem{Code: "EBMS:0005", Detail: "connection refused"}}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.MarkAcknowledged(ctx, k, store.Attempt{At: now, HTTPStatus: 200}, store.Receipt{MessageID: "rcpt-1@peer", Time: now}); err != nil {
		t.Fatal(err)
	}

	w := e.do(http.MethodGet, msgURL(id), tokenA, nil)
	if w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	v := decodeJSON[messageView](t, w)
	if v.MessageID != id || v.Direction != store.Outbound || v.Status != store.Acknowledged || v.Leg != "deliver" {
		t.Errorf("view %+v", v)
	}
	if v.OriginalSender != (store.PartyID{ID: partA, Type: upis}) || v.To != (store.PartyID{ID: peerAP, Type: apType}) || v.From != (store.PartyID{ID: ourAP, Type: apType}) {
		t.Errorf("parties %+v %+v %+v", v.From, v.To, v.OriginalSender)
	}
	if len(v.Attempts) != 2 || v.Attempts[0].Error == nil || v.Attempts[0].Error.Code != "EBMS:0005" || v.Attempts[1].HTTPStatus != 200 || v.Attempts[1].Error != nil {
		t.Errorf("attempts %+v", v.Attempts)
	}
	if v.Receipt == nil || v.Receipt.MessageID != "rcpt-1@peer" || v.Receipt.Time.IsZero() {
		t.Errorf("receipt %+v", v.Receipt)
	}
	if len(v.Payloads) != 2 || v.Payloads[0].ID != "message" || v.Payloads[0].Size != int64(len(xmlPayload)) || v.Payloads[0].SHA256 != sha256Hex(xmlPayload) || v.Payloads[0].MimeType != "text/xml" {
		t.Errorf("payloads %+v", v.Payloads)
	}
	var states []store.State
	for _, h := range v.History {
		states = append(states, h.Status)
	}
	want := []store.State{store.SendEnqueued, store.SendInProgress, store.WaitingForRetry, store.Acknowledged}
	if strings.Join(statesStr(states), ",") != strings.Join(statesStr(want), ",") {
		t.Errorf("history %v, want %v", states, want)
	}
	if v.Created.IsZero() || v.Updated.IsZero() || !v.NextAttempt.IsZero() {
		t.Errorf("timestamps %v %v %v", v.Created, v.Updated, v.NextAttempt)
	}
	// A queued message tells when it is due.
	id2 := e.submitted(nil)
	if v := decodeJSON[messageView](t, e.do(http.MethodGet, msgURL(id2), tokenA, nil)); v.NextAttempt.IsZero() || v.Status != store.SendEnqueued {
		t.Errorf("queued view %+v", v)
	}
}

func statesStr(s []store.State) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = string(v)
	}
	return out
}

// TestDirectionRule: one MessageId outbound (A's) and inbound (for A, and another for B).
func TestDirectionRule(t *testing.T) {
	e := newEnv(t)
	id := e.submitted(func(m map[string]any) { m["messageId"] = "shared@x.se" })
	e.receive("shared@x.se", peerAP, store.PartyID{ID: partA, Type: upis}, map[string][]byte{"message": []byte("<in-a/>")})
	e.receive("shared@x.se", otherAP, store.PartyID{ID: partB, Type: upis}, map[string][]byte{"message": []byte("<in-b/>")})

	get := func(tok, query string) messageView {
		t.Helper()
		w := e.do(http.MethodGet, msgURL(id)+query, tok, nil)
		if w.Code != 200 {
			t.Fatalf("%s: %d %s", query, w.Code, w.Body)
		}
		return decodeJSON[messageView](t, w)
	}
	if v := get(tokenA, ""); v.Direction != store.Outbound {
		t.Errorf("default for A: %s", v.Direction)
	}
	if v := get(tokenA, "?direction=out"); v.Direction != store.Outbound {
		t.Errorf("out for A: %s", v.Direction)
	}
	if v := get(tokenA, "?direction=in"); v.Direction != store.Inbound || v.From.ID != peerAP {
		t.Errorf("in for A: %+v", v)
	}
	// B cannot see A's outbound message: its default is its own inbound one.
	if v := get(tokenB, ""); v.Direction != store.Inbound || v.From.ID != otherAP {
		t.Errorf("default for B: %+v", v)
	}
	expectProblem(t, e.do(http.MethodGet, msgURL(id)+"?direction=out", tokenB, nil), 404, "not-found", "")
	expectProblem(t, e.do(http.MethodGet, msgURL(id)+"?direction=sideways", tokenA, nil), 400, "invalid-request", "direction")

	// Download follows the same rule.
	w := e.do(http.MethodGet, msgURL(id, "payloads", "message")+"?direction=in", tokenA, nil)
	if w.Code != 200 || w.Body.String() != "<in-a/>" {
		t.Errorf("inbound download: %d %q", w.Code, w.Body)
	}
	w = e.do(http.MethodGet, msgURL(id, "payloads", "message"), tokenA, nil)
	if w.Code != 200 || w.Body.String() != string(xmlPayload) {
		t.Errorf("default download: %d %q", w.Code, w.Body)
	}
}

// TestSameIDFromTwoAPs: two inbound messages with one id for one client are served oldest
// first, and acknowledging moves on to the next.
func TestSameIDFromTwoAPs(t *testing.T) {
	e := newEnv(t)
	first := e.receive("twice@x", peerAP, store.PartyID{ID: partA, Type: upis}, map[string][]byte{"message": []byte("first")})
	second := e.receive("twice@x", otherAP, store.PartyID{ID: partA, Type: upis}, map[string][]byte{"message": []byte("second")})
	body := func() string {
		return e.do(http.MethodGet, msgURL("twice@x", "payloads", "message"), tokenA, nil).Body.String()
	}
	if b := body(); b != "first" {
		t.Fatalf("first download %q", b)
	}
	if w := e.do(http.MethodPost, msgURL("twice@x", "ack"), tokenA, nil); w.Code != 200 {
		t.Fatalf("ack %d %s", w.Code, w.Body)
	}
	if b := body(); b != "second" {
		t.Fatalf("second download %q", b)
	}
	e.do(http.MethodPost, msgURL("twice@x", "ack"), tokenA, nil)
	for _, k := range []store.Key{first.Key, second.Key} {
		if m, _ := e.st.Get(context.Background(), k); m.State != store.Downloaded {
			t.Errorf("key %d is %s", k, m.State)
		}
	}
	// Both downloaded: the newest is shown.
	if v := decodeJSON[messageView](t, e.do(http.MethodGet, msgURL("twice@x"), tokenA, nil)); v.From.ID != otherAP {
		t.Errorf("after both acks: %+v", v.From)
	}
}

func TestInbox(t *testing.T) {
	e := newEnv(t)
	var want []string
	for i, id := range []string{"in-1@p", "in-2@p", "in-3@p"} {
		e.receive(id, peerAP, store.PartyID{ID: partA, Type: upis}, map[string][]byte{"message": []byte(id)})
		want = append(want, id)
		if i == 1 { // one for B in between
			e.receive("in-b@p", peerAP, store.PartyID{ID: partB, Type: upis}, map[string][]byte{"message": []byte("b")})
		}
	}
	// The SDK accepts a finalRecipient without type: it is A's too.
	e.receive("in-untyped@p", peerAP, store.PartyID{ID: partA}, map[string][]byte{"message": []byte("u")})
	want = append(want, "in-untyped@p")
	e.submitted(nil) // outbound: never in an inbox

	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("too many pages")
		}
		w := e.do(http.MethodGet, apiPrefix+"/inbox?limit=2&cursor="+url.QueryEscape(cursor), tokenA, nil)
		if w.Code != 200 {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
		page := decodeJSON[inboxPage](t, w)
		for _, m := range page.Messages {
			got = append(got, m.MessageID)
			if m.Status != store.Received || len(m.Payloads) != 1 || m.Payloads[0].SHA256 != sha256Hex([]byte(payloadOf(m.MessageID))) || m.Received.IsZero() || m.ConversationID == "" {
				t.Errorf("item %+v", m)
			}
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("A's inbox %v, want %v", got, want)
	}
	page := decodeJSON[inboxPage](t, e.do(http.MethodGet, apiPrefix+"/inbox", tokenB, nil))
	if len(page.Messages) != 1 || page.Messages[0].MessageID != "in-b@p" || page.Next != "" {
		t.Errorf("B's inbox %+v", page)
	}
	// C has nothing; the list is [] (not null).
	w := e.doTLS(http.MethodGet, apiPrefix+"/inbox", certC)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"messages":[]`) {
		t.Errorf("C's inbox: %d %s", w.Code, w.Body)
	}
	// Acknowledged messages leave the inbox.
	e.do(http.MethodPost, msgURL("in-1@p", "ack"), tokenA, nil)
	page = decodeJSON[inboxPage](t, e.do(http.MethodGet, apiPrefix+"/inbox", tokenA, nil))
	if len(page.Messages) != 3 || page.Messages[0].MessageID != "in-2@p" {
		t.Errorf("after ack: %+v", page.Messages)
	}
	expectProblem(t, e.do(http.MethodGet, apiPrefix+"/inbox?cursor=bogus", tokenA, nil), 400, "invalid-request", "cursor")
	for _, l := range []string{"0", "1001", "x", "-1"} {
		expectProblem(t, e.do(http.MethodGet, apiPrefix+"/inbox?limit="+l, tokenA, nil), 400, "invalid-request", "limit")
	}
}

func payloadOf(id string) string {
	switch id {
	case "in-untyped@p":
		return "u"
	}
	return id
}

func TestDownload(t *testing.T) {
	e := newEnv(t)
	id := e.submitted(nil)
	u := msgURL(id, "payloads", "attachment1")
	w := e.do(http.MethodGet, u, tokenA, nil)
	if w.Code != 200 || w.Body.String() != string(binPayload) {
		t.Fatalf("%d, %d bytes", w.Code, w.Body.Len())
	}
	h := w.Header()
	sum := sha256Hex(binPayload)
	raw, _ := hexDecode(sum)
	b64 := base64.StdEncoding.EncodeToString(raw)
	for k, v := range map[string]string{
		"Content-Type":        "application/octet-stream",
		"Content-Length":      "6000",
		"ETag":                `"` + sum + `"`,
		"Repr-Digest":         "sha-256=:" + b64 + ":",
		"Digest":              "sha-256=" + b64,
		"Content-Disposition": `attachment; filename=attachment1.bin`,
	} {
		if h.Get(k) != v {
			t.Errorf("%s: %q, want %q", k, h.Get(k), v)
		}
	}
	if ct := e.do(http.MethodGet, msgURL(id, "payloads", "message"), tokenA, nil).Header().Get("Content-Type"); ct != "text/xml" {
		t.Errorf("message Content-Type %q", ct)
	}
	// Resuming: a range.
	w = e.do(http.MethodGet, u, tokenA, nil, "Range", "bytes=10-19")
	if w.Code != http.StatusPartialContent || w.Body.String() != string(binPayload[10:20]) {
		t.Errorf("range: %d %q", w.Code, w.Body)
	}
	// Ranges and preconditions that fail are problems too.
	w = e.do(http.MethodGet, u, tokenA, nil, "Range", "bytes=7000-8000")
	expectProblem(t, w, http.StatusRequestedRangeNotSatisfiable, "range-not-satisfiable", "Range")
	if w.Header().Get("Content-Range") != "bytes */6000" {
		t.Errorf("416 Content-Range %q", w.Header().Get("Content-Range"))
	}
	expectProblem(t, e.do(http.MethodGet, u, tokenA, nil, "If-Match", `"other"`), http.StatusPreconditionFailed, "precondition-failed", "If-Match")
	// Conditional.
	if w = e.do(http.MethodGet, u, tokenA, nil, "If-None-Match", `"`+sum+`"`); w.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", w.Code)
	}
	// HEAD: headers only.
	if w = e.do(http.MethodHead, u, tokenA, nil); w.Code != 200 || w.Body.Len() != 0 || w.Header().Get("Content-Length") != "6000" {
		t.Errorf("HEAD: %d %d %q", w.Code, w.Body.Len(), w.Header().Get("Content-Length"))
	}
	expectProblem(t, e.do(http.MethodGet, msgURL(id, "payloads", "nope"), tokenA, nil), 404, "not-found", "")
	expectProblem(t, e.do(http.MethodGet, msgURL("unknown@x", "payloads", "message"), tokenA, nil), 404, "not-found", "")

	// A deleted message keeps size and digest; the bytes are gone.
	ms, _ := e.st.Find(context.Background(), store.Outbound, id)
	if _, err := e.st.Transition(context.Background(), ms[0].Key, store.Deleted, "test"); err != nil {
		t.Fatal(err)
	}
	expectProblem(t, e.do(http.MethodGet, u, tokenA, nil), 410, "payload-deleted", "")
	v := decodeJSON[messageView](t, e.do(http.MethodGet, msgURL(id), tokenA, nil))
	if v.Status != store.Deleted || !v.Payloads[1].Deleted || v.Payloads[1].SHA256 != sum {
		t.Errorf("deleted view %+v", v)
	}
}

func hexDecode(s string) ([]byte, error) {
	b := make([]byte, len(s)/2)
	for i := range b {
		var v byte
		for _, c := range s[2*i : 2*i+2] {
			v <<= 4
			switch {
			case c >= '0' && c <= '9':
				v |= byte(c - '0')
			default:
				v |= byte(c-'a') + 10
			}
		}
		b[i] = v
	}
	return b, nil
}

func TestAck(t *testing.T) {
	e := newEnv(t)
	m := e.receive("ack-me@p", peerAP, store.PartyID{ID: partA, Type: upis}, map[string][]byte{"message": []byte("x")})
	for i := 0; i < 2; i++ { // idempotent
		w := e.do(http.MethodPost, msgURL(m.ID, "ack"), tokenA, nil)
		if w.Code != 200 {
			t.Fatalf("ack %d: %d %s", i, w.Code, w.Body)
		}
		if r := decodeJSON[ackResponse](t, w); r.Status != store.Downloaded || r.MessageID != m.ID {
			t.Errorf("ack %d: %+v", i, r)
		}
	}
	if got, _ := e.st.Get(context.Background(), m.Key); got.State != store.Downloaded {
		t.Errorf("state %s", got.State)
	}
	// Outbound messages are not acknowledged by the backend.
	out := e.submitted(nil)
	expectProblem(t, e.do(http.MethodPost, msgURL(out, "ack"), tokenA, nil), 404, "not-found", "")
	expectProblem(t, e.do(http.MethodPost, msgURL(m.ID, "ack")+"?direction=out", tokenA, nil), 400, "invalid-request", "direction")
	// A deleted message cannot become DOWNLOADED.
	d := e.receive("deleted@p", peerAP, store.PartyID{ID: partA, Type: upis}, nil)
	if _, err := e.st.Transition(context.Background(), d.Key, store.Deleted, "test"); err != nil {
		t.Fatal(err)
	}
	expectProblem(t, e.do(http.MethodPost, msgURL(d.ID, "ack"), tokenA, nil), 409, "state-conflict", "")
}

// TestCrossOrganisation: B cannot read, download, acknowledge, list or follow A's
// messages, and the answers are those for ids that do not exist.
func TestCrossOrganisation(t *testing.T) {
	e := newEnv(t)
	out := e.submitted(nil) // A's, outbound to B's participant
	in := e.receive("for-a@p", peerAP, store.PartyID{ID: partA, Type: upis}, map[string][]byte{"message": []byte("secret")})
	for _, id := range []string{out, in.ID} {
		for _, c := range []struct{ method, path string }{
			{http.MethodGet, msgURL(id)},
			{http.MethodGet, msgURL(id) + "?direction=in"},
			{http.MethodGet, msgURL(id) + "?direction=out"},
			{http.MethodGet, msgURL(id, "payloads", "message")},
			{http.MethodHead, msgURL(id, "payloads", "message")},
			{http.MethodPost, msgURL(id, "ack")},
		} {
			w := e.do(c.method, c.path, tokenB, nil)
			unknown := e.do(c.method, strings.Replace(c.path, url.PathEscape(id), "no-such-id@x", 1), tokenB, nil)
			if w.Code != 404 || unknown.Code != 404 {
				t.Errorf("B %s %s: %d (unknown id: %d)", c.method, c.path, w.Code, unknown.Code)
				continue
			}
			if c.method == http.MethodHead {
				continue
			}
			p, pu := problemOf(t, w), problemOf(t, unknown)
			if p.Detail != pu.Detail || p.Type != pu.Type {
				t.Errorf("B %s %s: %+v differs from the unknown id's %+v", c.method, c.path, p, pu)
			}
		}
	}
	if got, _ := e.st.Get(context.Background(), in.Key); got.State != store.Received {
		t.Errorf("B's ack changed A's message: %s", got.State)
	}
	if page := decodeJSON[inboxPage](t, e.do(http.MethodGet, apiPrefix+"/inbox", tokenB, nil)); len(page.Messages) != 0 {
		t.Errorf("B's inbox shows %+v", page.Messages)
	}
	if page := decodeJSON[eventsPage](t, e.do(http.MethodGet, apiPrefix+"/events", tokenB, nil)); len(page.Events) != 0 {
		t.Errorf("B's events show %+v", page.Events)
	}
	// Certificate client C sees nothing of A's either.
	if w := e.doTLS(http.MethodGet, msgURL(out), certC); w.Code != 404 {
		t.Errorf("C: %d", w.Code)
	}
	// A sees both.
	for _, id := range []string{out, in.ID} {
		if w := e.do(http.MethodGet, msgURL(id), tokenA, nil); w.Code != 200 {
			t.Errorf("A %s: %d", id, w.Code)
		}
	}
}

// doTLS runs a request that arrives over TLS with a client certificate.
func (e *env) doTLS(method, target string, cert *x509.Certificate) *httptest.ResponseRecorder {
	e.t.Helper()
	r := httptest.NewRequest(method, target, nil)
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}}
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, r)
	return w
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	cc, cx := testCerts(t)
	cases := []struct {
		name   string
		header string
		cert   *x509.Certificate
		status int
		client string
	}{
		{"token A", "Bearer " + tokenA, nil, 200, clientA},
		{"scheme case-insensitive", "bearer " + tokenB, nil, 200, clientB},
		{"no credentials", "", nil, 401, ""},
		{"unknown token", "Bearer nope", nil, 401, ""},
		{"token prefix", "Bearer " + tokenA[:10], nil, 401, ""},
		{"basic auth", "Basic " + base64.StdEncoding.EncodeToString([]byte("a:b")), nil, 401, ""},
		{"empty bearer", "Bearer ", nil, 401, ""},
		{"huge token", "Bearer " + strings.Repeat("x", 5000), nil, 401, ""},
		{"client certificate", "", cc, 200, clientC},
		{"unknown certificate", "", cx, 401, ""},
		{"token wins over certificate", "Bearer " + tokenA, cc, 200, clientA},
		{"bad token with good certificate", "Bearer nope", cc, 401, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, apiPrefix+"/inbox", nil)
			if c.header != "" {
				r.Header.Set("Authorization", c.header)
			}
			if c.cert != nil {
				r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{c.cert}}
			}
			w := httptest.NewRecorder()
			e.srv.ServeHTTP(w, r)
			if w.Code != c.status {
				t.Fatalf("status %d, want %d: %s", w.Code, c.status, w.Body)
			}
			if c.status == 401 {
				expectProblem(t, w, 401, "unauthorized", "Authorization")
				if !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), `Bearer realm="as4gw"`) {
					t.Errorf("WWW-Authenticate %q", w.Header().Get("WWW-Authenticate"))
				}
			}
		})
	}
	// Every authenticated route refuses an anonymous request.
	for _, rt := range routes {
		if rt.public {
			continue
		}
		path := strings.NewReplacer("{messageId}", "m@x", "{payloadId}", "p").Replace(rt.path)
		expectProblem(t, e.do(rt.method, path, "", nil), 401, "unauthorized", "Authorization")
	}
}

func TestRouting(t *testing.T) {
	e := newEnv(t)
	w := e.do(http.MethodDelete, messages, tokenA, nil)
	expectProblem(t, w, 405, "method-not-allowed", "")
	if w.Header().Get("Allow") != "POST" {
		t.Errorf("Allow %q", w.Header().Get("Allow"))
	}
	w = e.do(http.MethodPut, msgURL("x@y"), tokenA, nil)
	expectProblem(t, w, 405, "method-not-allowed", "")
	if w.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("Allow %q", w.Header().Get("Allow"))
	}
	expectProblem(t, e.do(http.MethodGet, apiPrefix+"/nothing", tokenA, nil), 404, "not-found", "")
	expectProblem(t, e.do(http.MethodGet, "/", "", nil), 404, "not-found", "")
}

func TestNewRefusesBadConfig(t *testing.T) {
	st, err := store.OpenBolt(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	good := func() Config {
		return Config{Store: st, PModes: testPModes(t), Clients: []Client{{Name: "a", TokenSHA256: hashOf("t"), Participants: []store.PartyID{{ID: partA}}}}}
	}
	cases := []struct {
		name string
		edit func(c *Config)
		want string
	}{
		{"no store", func(c *Config) { c.Store = nil }, "no store"},
		{"no pmodes", func(c *Config) { c.PModes = nil }, "no P-Modes"},
		{"no own party", func(c *Config) { c.PModes.Self = "nobody" }, "no own party"},
		{"no name", func(c *Config) { c.Clients[0].Name = "" }, "no name"},
		{"same name twice", func(c *Config) { c.Clients = append(c.Clients, c.Clients[0]) }, "used twice"},
		{"short hash", func(c *Config) { c.Clients[0].TokenSHA256 = []byte{1, 2} }, "SHA-256"},
		{"no participants", func(c *Config) { c.Clients[0].Participants = nil }, "no participants"},
		{"bad participant", func(c *Config) { c.Clients[0].Participants = []store.PartyID{{ID: "a b"}} }, "participant 0"},
		{"no way to authenticate", func(c *Config) { c.Clients[0].TokenSHA256 = nil }, "never authenticate"},
		{"bad fingerprint", func(c *Config) { c.ClientCertificates = map[string]string{"zz": "a"} }, "not a SHA-256"},
		{"fingerprint for unknown client", func(c *Config) { c.ClientCertificates = map[string]string{strings.Repeat("ab", 32): "b"} }, "not configured"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := good()
			c.edit(&cfg)
			_, err := New(cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
	// Fingerprints may be written with colons and in upper case; Party defaults to the P-Mode's own party.
	cfg := good()
	cfg.Clients[0].TokenSHA256 = nil
	fp := strings.ToUpper(fingerprintOf(certC))
	var colon []string
	for i := 0; i < len(fp); i += 2 {
		colon = append(colon, fp[i:i+2])
	}
	cfg.ClientCertificates = map[string]string{strings.Join(colon, ":"): "a"}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if srv.party != (store.PartyID{ID: ourAP, Type: apType}) {
		t.Errorf("party %+v", srv.party)
	}
}

func TestParseParticipant(t *testing.T) {
	cases := []struct {
		in      string
		want    store.PartyID
		wantErr bool
	}{
		{"0203:malmo.se", store.PartyID{Type: upis, ID: "0203:malmo.se"}, false},
		{"iso6523-actorid-upis::0203:malmo.se", store.PartyID{Type: upis, ID: "0203:malmo.se"}, false},
		{"other::x::y", store.PartyID{Type: "other", ID: "x::y"}, false},
		{"", store.PartyID{}, true},
		{"::0203:x", store.PartyID{}, true},
		{"upis::", store.PartyID{}, true},
		{"0203 malmo", store.PartyID{}, true},
		{"0203:\x00", store.PartyID{}, true},
		{strings.Repeat("a", 256), store.PartyID{}, true},
		{"\xff", store.PartyID{}, true},
	}
	for _, c := range cases {
		got, err := ParseParticipant(c.in)
		if (err != nil) != c.wantErr || got != c.want {
			t.Errorf("ParseParticipant(%q) = %+v, %v", c.in, got, err)
		}
	}
}

func TestServes(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		p    store.PartyID
		want bool
	}{
		{store.PartyID{ID: partA, Type: upis}, true},
		{store.PartyID{ID: partA}, true},
		{store.PartyID{ID: partC, Type: upis}, true},
		{store.PartyID{ID: partA, Type: "other"}, false},
		{store.PartyID{ID: "0203:lund.se", Type: upis}, false},
	} {
		if got := e.srv.Serves(c.p); got != c.want {
			t.Errorf("Serves(%v) = %v", c.p, got)
		}
	}
}
