package backend

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/as4gw/as4gw/ebms"
	"github.com/as4gw/as4gw/store"
)

func TestSubmitStoresDurably(t *testing.T) {
	e := newEnv(t)
	w := e.submit(tokenA, validParts()...)
	if w.Code != http.StatusAccepted {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	resp := decodeJSON[submitResponse](t, w)
	if err := ebms.ValidateMessageID(resp.MessageID); err != nil {
		t.Errorf("generated messageId: %v", err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(resp.ConversationID) {
		t.Errorf("generated conversationId %q is not a UUID", resp.ConversationID)
	}
	if resp.Status != store.SendEnqueued {
		t.Errorf("status %s", resp.Status)
	}
	if loc := w.Header().Get("Location"); loc != messages+"/"+resp.MessageID {
		t.Errorf("Location %q", loc)
	}

	// Reopen the store: what the 202 promised is on disk.
	dir := e.dir
	e.st.Close()
	st, err := store.OpenBolt(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	found, err := st.Find(context.Background(), store.Outbound, resp.MessageID)
	if err != nil || len(found) != 1 {
		t.Fatalf("after reopen: %v, %d messages", err, len(found))
	}
	m := found[0]
	want := store.Message{
		ID: resp.MessageID, LegName: "deliver", State: store.SendEnqueued, Direction: store.Outbound,
		From: store.PartyID{ID: ourAP, Type: apType}, To: store.PartyID{ID: peerAP, Type: apType},
		OriginalSender: store.PartyID{ID: partA, Type: upis}, FinalRecipient: store.PartyID{ID: partB, Type: upis},
		Service: svc, ServiceType: svcType, Action: "deliver", ConversationID: resp.ConversationID,
	}
	if m.ID != want.ID || m.LegName != want.LegName || m.State != want.State || m.Direction != want.Direction ||
		m.From != want.From || m.To != want.To || m.OriginalSender != want.OriginalSender || m.FinalRecipient != want.FinalRecipient ||
		m.Service != want.Service || m.ServiceType != want.ServiceType || m.Action != want.Action || m.ConversationID != want.ConversationID {
		t.Errorf("stored\n%+v\nwant\n%+v", m, want)
	}
	if m.PeerAP.Endpoint != peerURL || m.PeerAP.PartyID != peerAP {
		t.Errorf("PeerAP %+v", m.PeerAP)
	}
	if len(m.Properties) != 1 || m.Properties[0] != (store.Property{Name: "note", Value: "hello"}) {
		t.Errorf("properties %+v", m.Properties)
	}
	if len(m.Payloads) != 2 {
		t.Fatalf("payloads %+v", m.Payloads)
	}
	for i, c := range []struct {
		id, mime string
		body     []byte
	}{{"message", "text/xml", xmlPayload}, {"attachment1", "application/octet-stream", binPayload}} {
		p := m.Payloads[i]
		if p.ID != c.id || p.ContentID != c.id || p.MimeType != c.mime || p.Size != int64(len(c.body)) || p.SHA256.String() != sha256Hex(c.body) {
			t.Errorf("payload %d: %+v", i, p)
		}
		if p.FileName != c.id+".bin" {
			t.Errorf("payload %d file name %q", i, p.FileName)
		}
		rc, err := st.OpenPayload(context.Background(), p.Blob)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(got, c.body) {
			t.Errorf("payload %d bytes differ (%d bytes, want %d)", i, len(got), len(c.body))
		}
	}
	if got := m.Payloads[1].Properties; len(got) != 1 || got[0].Name != "part-note" {
		t.Errorf("part properties %+v", got)
	}
}

func TestSubmitVariants(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name  string
		edit  func(m map[string]any)
		check func(t *testing.T, m store.Message)
	}{
		{"explicit ids and scheme prefix", func(m map[string]any) {
			m["messageId"] = "given-1@malmo.se"
			m["conversationId"] = "conv-1"
			m["refToMessageId"] = "earlier@peer"
			m["originalSender"] = "iso6523-actorid-upis::" + partA
		}, func(t *testing.T, m store.Message) {
			if m.ID != "given-1@malmo.se" || m.ConversationID != "conv-1" || m.RefToMessageID != "earlier@peer" {
				t.Errorf("%+v", m)
			}
			if m.OriginalSender != (store.PartyID{ID: partA, Type: upis}) {
				t.Errorf("originalSender %+v", m.OriginalSender)
			}
		}},
		{"explicit type and toPartyId", func(m map[string]any) {
			m["originalSenderType"] = upis
			m["finalRecipientType"] = upis
			m["toPartyId"] = peerAP
			m["toPartyType"] = apType
		}, func(t *testing.T, m store.Message) {
			if m.To != (store.PartyID{ID: peerAP, Type: apType}) {
				t.Errorf("to %+v", m.To)
			}
		}},
		{"only the required payload", func(m map[string]any) {
			m["payloads"] = []map[string]any{{"id": "message", "mimeType": "text/xml; charset=utf-8"}}
		}, func(t *testing.T, m store.Message) {
			if len(m.Payloads) != 1 || m.Payloads[0].MimeType != "text/xml; charset=utf-8" {
				t.Errorf("payloads %+v", m.Payloads)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			meta := validMeta()
			c.edit(meta)
			parts := []part{metaPart(meta), filePart("message", xmlPayload)}
			if len(meta["payloads"].([]map[string]any)) == 2 {
				parts = append(parts, filePart("attachment1", binPayload))
			}
			w := e.submit(tokenA, parts...)
			if w.Code != http.StatusAccepted {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			id := decodeJSON[submitResponse](t, w).MessageID
			ms, err := e.st.Find(context.Background(), store.Outbound, id)
			if err != nil || len(ms) != 1 {
				t.Fatal(err, len(ms))
			}
			c.check(t, ms[0])
		})
	}
}

// TestSubmitProblems: every refusal is a problem naming the field, nothing is stored, and
// every staged payload file is removed.
func TestSubmitProblems(t *testing.T) {
	with := func(edit func(m map[string]any)) []part {
		m := validMeta()
		edit(m)
		return []part{metaPart(m), filePart("message", xmlPayload), filePart("attachment1", binPayload)}
	}
	payloads := func(ps ...map[string]any) func(m map[string]any) {
		return func(m map[string]any) { m["payloads"] = ps }
	}
	set := func(k string, v any) func(m map[string]any) { return func(m map[string]any) { m[k] = v } }
	del := func(k string) func(m map[string]any) { return func(m map[string]any) { delete(m, k) } }
	msgPart := map[string]any{"id": "message", "mimeType": "text/xml"}
	attPart := map[string]any{"id": "attachment1", "mimeType": "application/octet-stream"}
	b64 := filePart("attachment1", []byte("AAEC"))
	b64.header = map[string]string{"Content-Transfer-Encoding": "base64"}
	noName := part{body: []byte("x")}

	cases := []struct {
		name         string
		parts        []part
		contentType  string // overrides the multipart type
		token        string // default tokenA
		limits       Limits
		status       int
		slug, field  string
		detailSubstr string
	}{
		{name: "no credentials", parts: validParts(), token: "-", status: 401, slug: "unauthorized", field: "Authorization"},
		{name: "not multipart", parts: validParts(), contentType: "application/json", status: 415, slug: "unsupported-media-type", field: "Content-Type"},
		{name: "no boundary", parts: validParts(), contentType: "multipart/form-data", status: 400, slug: "invalid-request", field: "Content-Type"},
		{name: "payload before metadata", parts: []part{filePart("message", xmlPayload), metaPart(validMeta())}, status: 400, slug: "invalid-request", field: "metadata"},
		{name: "empty body", parts: nil, status: 400, slug: "invalid-request", field: "metadata"},
		{name: "metadata not JSON", parts: []part{rawMeta(`{"service": `)}, status: 400, slug: "invalid-request", field: "metadata"},
		{name: "metadata syntax", parts: []part{rawMeta(`{"service" "x"}`)}, status: 400, slug: "invalid-request", field: "metadata"},
		{name: "metadata an array", parts: []part{rawMeta(`[1,2]`)}, status: 400, slug: "invalid-request", field: "metadata"},
		{name: "metadata two values", parts: []part{rawMeta(`{} {}`)}, status: 400, slug: "invalid-request", field: "metadata"},
		{name: "metadata unknown member", parts: with(set("finalReceipient", "x")), status: 400, slug: "invalid-request", field: "finalReceipient"},
		{name: "metadata wrong type", parts: with(set("service", 5)), status: 400, slug: "invalid-request", field: "service"},
		{name: "metadata nested wrong type", parts: with(payloads(map[string]any{"id": 7})), status: 400, slug: "invalid-request", field: "payloads.id"},
		{name: "metadata as html", parts: []part{{name: "metadata", header: map[string]string{"Content-Type": "text/html"}, body: []byte("{}")}}, status: 415, slug: "unsupported-media-type", field: "metadata"},
		{name: "metadata too large", parts: with(set("properties", []map[string]string{{"name": "n", "value": strings.Repeat("v", 3000)}})), limits: Limits{MaxMetadataBytes: 2048}, status: 413, slug: "too-large", field: "metadata"},
		{name: "metadata twice", parts: append(validParts(), metaPart(validMeta())), status: 400, slug: "invalid-request", field: "metadata"},
		{name: "service missing", parts: with(del("service")), status: 400, slug: "invalid-request", field: "service"},
		{name: "action missing", parts: with(del("action")), status: 400, slug: "invalid-request", field: "action"},
		{name: "action with control character", parts: with(set("action", "deli\u0007ver")), status: 400, slug: "invalid-request", field: "action"},
		{name: "originalSender missing", parts: with(del("originalSender")), status: 400, slug: "invalid-request", field: "originalSender"},
		{name: "finalRecipient missing", parts: with(del("finalRecipient")), status: 400, slug: "invalid-request", field: "finalRecipient"},
		{name: "finalRecipient with space", parts: with(set("finalRecipient", "0203:sund byberg.se")), status: 400, slug: "invalid-request", field: "finalRecipient"},
		{name: "finalRecipient empty scheme", parts: with(set("finalRecipient", "::0203:x")), status: 400, slug: "invalid-request", field: "finalRecipient"},
		{name: "originalSender scheme and type", parts: with(func(m map[string]any) {
			m["originalSender"] = "iso6523-actorid-upis::" + partA
			m["originalSenderType"] = upis
		}), status: 400, slug: "invalid-request", field: "originalSenderType"},
		{name: "messageId not a msg-id", parts: with(set("messageId", "no-at-sign")), status: 400, slug: "invalid-request", field: "messageId"},
		{name: "messageId with brackets", parts: with(set("messageId", "<a@b>")), status: 400, slug: "invalid-request", field: "messageId"},
		{name: "messageId too long", parts: with(set("messageId", strings.Repeat("a", 251)+"@b.se")), status: 400, slug: "invalid-request", field: "messageId"},
		{name: "refToMessageId with space", parts: with(set("refToMessageId", "a b@c")), status: 400, slug: "invalid-request", field: "refToMessageId"},
		{name: "conversationId too long", parts: with(set("conversationId", strings.Repeat("c", 256))), status: 400, slug: "invalid-request", field: "conversationId"},
		{name: "toPartyType alone", parts: with(set("toPartyType", apType)), status: 400, slug: "invalid-request", field: "toPartyType"},
		{name: "agreementRefType alone", parts: with(set("agreementRefType", "t")), status: 400, slug: "invalid-request", field: "agreementRefType"},
		{name: "property reserved", parts: with(set("properties", []map[string]string{{"name": "finalRecipient", "value": partB}})), status: 400, slug: "invalid-request", field: "properties[0].name"},
		{name: "property value XML cannot carry", parts: with(set("properties", []map[string]string{{"name": "a", "value": "x\uFFFE"}})), status: 400, slug: "invalid-request", field: "properties[0].value"},
		{name: "property without name", parts: with(set("properties", []map[string]string{{"name": "a", "value": "1"}, {"value": "2"}})), status: 400, slug: "invalid-request", field: "properties[1].name"},
		{name: "payload id missing", parts: with(payloads(map[string]any{"mimeType": "text/xml"})), status: 400, slug: "invalid-request", field: "payloads[0].id"},
		{name: "payload id with slash", parts: with(payloads(map[string]any{"id": "a/b", "mimeType": "text/xml"})), status: 400, slug: "invalid-request", field: "payloads[0].id"},
		{name: "payload id metadata", parts: with(payloads(map[string]any{"id": "Metadata", "mimeType": "text/xml"})), status: 400, slug: "invalid-request", field: "payloads[0].id"},
		{name: "payload ids differ in case only", parts: with(payloads(msgPart, map[string]any{"id": "MESSAGE", "mimeType": "text/xml"})), status: 400, slug: "invalid-request", field: "payloads[1].id"},
		{name: "payload mimeType missing", parts: with(payloads(map[string]any{"id": "message"})), status: 400, slug: "invalid-request", field: "payloads[0].mimeType"},
		{name: "payload mimeType malformed", parts: with(payloads(map[string]any{"id": "message", "mimeType": "xml"})), status: 400, slug: "invalid-request", field: "payloads[0].mimeType"},
		{name: "part property reserved", parts: with(payloads(msgPart, map[string]any{"id": "attachment1", "mimeType": "application/octet-stream",
			"properties": []map[string]string{{"name": "mimetype", "value": "text/plain"}}})), status: 400, slug: "invalid-request", field: "payloads[1].properties[0].name"},
		{name: "too many payloads", parts: validParts(), limits: Limits{MaxPayloads: 1}, status: 400, slug: "invalid-request", field: "payloads"},
		{name: "not the client's originalSender", parts: with(set("originalSender", partB)), status: 403, slug: "forbidden", field: "originalSender"},
		{name: "originalSender of another type", parts: with(set("originalSenderType", "other-scheme")), status: 403, slug: "forbidden", field: "originalSender"},
		{name: "other client's token", parts: validParts(), token: tokenB, status: 403, slug: "forbidden", field: "originalSender"},
		{name: "no leg for the action", parts: with(set("action", "Deliver")), status: 422, slug: "pmode-mismatch", field: "action", detailSubstr: `differs only in case`},
		{name: "no leg for the service", parts: with(set("service", "urn:other")), status: 422, slug: "pmode-mismatch", field: "service"},
		{name: "no leg for the service type", parts: with(set("serviceType", "urn:other")), status: 422, slug: "pmode-mismatch", field: "serviceType"},
		{name: "unknown toPartyId", parts: with(set("toPartyId", otherAP)), status: 422, slug: "pmode-mismatch", field: "toPartyId"},
		{name: "finalRecipient type breaks the leg", parts: with(set("finalRecipientType", "other-scheme")), status: 422, slug: "pmode-profile", field: "finalRecipient"},
		{name: "payload not in the profile", parts: with(payloads(msgPart, map[string]any{"id": "extra", "mimeType": "application/octet-stream"})), status: 422, slug: "pmode-profile", field: "payloads[1]"},
		{name: "payload of the wrong type", parts: with(payloads(map[string]any{"id": "message", "mimeType": "application/pdf"}, attPart)), status: 422, slug: "pmode-profile", field: "payloads[0]"},
		{name: "required payload missing", parts: with(payloads(attPart)), status: 422, slug: "pmode-profile", field: "payloads"},
		{name: "receiver needs discovery", parts: with(func(m map[string]any) { m["action"] = "discover"; delete(m, "payloads") }), status: 422, slug: "no-receiver", field: "finalRecipient", detailSubstr: "no receiving access point known for finalRecipient"},
		{name: "receiver needs discovery (toPartyId)", parts: with(func(m map[string]any) {
			m["action"] = "discover"
			m["toPartyId"] = otherAP
			m["toPartyType"] = apType
			delete(m, "payloads")
		}), status: 422, slug: "no-receiver", field: "toPartyId"},
		{name: "declared payload without file part", parts: []part{metaPart(validMeta()), filePart("message", xmlPayload)}, status: 400, slug: "invalid-request", field: "payloads[1]"},
		{name: "undeclared file part", parts: append(validParts(), filePart("attachment2", binPayload)), status: 400, slug: "invalid-request", field: "payloads"},
		{name: "file part twice", parts: append(validParts(), filePart("message", xmlPayload)), status: 400, slug: "invalid-request", field: "payloads[0]"},
		{name: "file part without name", parts: append(validParts()[:2], noName), status: 400, slug: "invalid-request", field: "payloads"},
		{name: "base64 file part", parts: []part{metaPart(validMeta()), filePart("message", xmlPayload), b64}, status: 400, slug: "invalid-request", field: "payloads[1]"},
		{name: "payloads beyond the leg's maxSize", parts: with(func(m map[string]any) {
			m["action"] = "small"
			m["payloads"] = []map[string]any{msgPart, attPart}
		}), status: 413, slug: "too-large", field: "payloads[1]"},
		{name: "request beyond MaxRequestBytes", parts: validParts(), limits: Limits{MaxRequestBytes: 4096}, status: 413, slug: "too-large", field: "payloads"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, func(cfg *Config) { cfg.Limits = c.limits })
			before := e.payloadFiles()
			body, ct := multipartBody(c.parts...)
			if c.contentType != "" {
				ct = c.contentType
			}
			tok := c.token
			switch tok {
			case "":
				tok = tokenA
			case "-":
				tok = ""
			}
			w := e.do(http.MethodPost, messages, tok, body, "Content-Type", ct)
			p := expectProblem(t, w, c.status, c.slug, c.field)
			if c.detailSubstr != "" && !strings.Contains(p.Detail, c.detailSubstr) {
				t.Errorf("detail %q lacks %q", p.Detail, c.detailSubstr)
			}
			if after := e.payloadFiles(); after != before {
				t.Errorf("%d payload files before, %d after: staged blobs were not discarded", before, after)
			}
			st, err := e.st.Stats(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if st.Messages[store.SendEnqueued] != 0 {
				t.Errorf("a message was stored: %+v", st.Messages)
			}
		})
	}
}

// TestSubmitUnknownLength: a chunked body (no Content-Length) beyond MaxRequestBytes is
// cut off while streaming.
func TestSubmitUnknownLength(t *testing.T) {
	e := newEnv(t, func(cfg *Config) { cfg.Limits.MaxRequestBytes = 64 << 10 })
	body, ct := multipartBody(metaPart(validMeta()), filePart("message", xmlPayload), filePart("attachment1", bytes.Repeat([]byte("x"), 200<<10)))
	r, _ := http.NewRequest(http.MethodPost, messages, io.MultiReader(body)) // no ContentLength
	r.Header.Set("Content-Type", ct)
	r.Header.Set("Authorization", "Bearer "+tokenA)
	w := newRecorder()
	e.srv.ServeHTTP(w, r)
	expectProblem(t, w, 413, "too-large", "payloads[1]")
	if n := e.payloadFiles(); n != 0 {
		t.Errorf("%d payload files left", n)
	}
}

func TestSubmitTruncatedBody(t *testing.T) {
	e := newEnv(t)
	body, ct := multipartBody(validParts()...)
	cut := body.Bytes()[:body.Len()-200]
	w := e.do(http.MethodPost, messages, tokenA, bytes.NewReader(cut), "Content-Type", ct)
	expectProblem(t, w, 400, "invalid-request", "payloads[1]")
	if n := e.payloadFiles(); n != 0 {
		t.Errorf("%d payload files left", n)
	}
}

func TestSubmitDuplicate(t *testing.T) {
	e := newEnv(t)
	meta := validMeta()
	meta["messageId"] = "dup-1@malmo.se"
	parts := []part{metaPart(meta), filePart("message", xmlPayload), filePart("attachment1", binPayload)}
	if w := e.submit(tokenA, parts...); w.Code != http.StatusAccepted {
		t.Fatalf("first: %d %s", w.Code, w.Body)
	}
	p := expectProblem(t, e.submit(tokenA, parts...), 409, "duplicate-message", "messageId")
	if p.MessageID != "dup-1@malmo.se" || p.MessageStatus != string(store.SendEnqueued) {
		t.Errorf("409 for the owner: %+v", p)
	}
	// Another organisation using the id learns that it is taken, nothing more.
	meta["originalSender"] = partB
	p = expectProblem(t, e.submit(tokenB, metaPart(meta), filePart("message", xmlPayload), filePart("attachment1", binPayload)), 409, "duplicate-message", "messageId")
	if p.MessageStatus != "" || strings.Contains(p.Detail, string(store.SendEnqueued)) {
		t.Errorf("409 for another client reveals the status: %+v", p)
	}
	if n := e.payloadFiles(); n != 2 {
		t.Errorf("%d payload files, want the first submission's 2", n)
	}
}

// TestSubmitRaceDuplicate: the duplicate found only by Submit (after the pre-check) is a
// 409 too, and its staged payloads are discarded.
func TestSubmitRaceDuplicate(t *testing.T) {
	e := newEnv(t)
	meta := validMeta()
	meta["messageId"] = "race@malmo.se"
	parts := []part{metaPart(meta), filePart("message", xmlPayload), filePart("attachment1", binPayload)}
	racing := &raceStore{BoltStore: e.st, before: func() {
		if w := e.submit(tokenA, parts...); w.Code != http.StatusAccepted {
			t.Errorf("racing submit: %d %s", w.Code, w.Body)
		}
	}}
	srv, err := New(Config{Store: racing, PModes: testPModes(t), Clients: []Client{{Name: clientA, TokenSHA256: hashOf(tokenA), Participants: []store.PartyID{{ID: partA}}}}})
	if err != nil {
		t.Fatal(err)
	}
	body, ct := multipartBody(parts...)
	r, _ := http.NewRequest(http.MethodPost, messages, body)
	r.Header.Set("Content-Type", ct)
	r.Header.Set("Authorization", "Bearer "+tokenA)
	w := newRecorder()
	srv.ServeHTTP(w, r)
	expectProblem(t, w, 409, "duplicate-message", "messageId")
	if n := e.payloadFiles(); n != 2 {
		t.Errorf("%d payload files, want 2", n)
	}
}

// raceStore runs before() just before the first Submit.
type raceStore struct {
	*store.BoltStore
	before func()
	done   bool
}

func (r *raceStore) Submit(ctx context.Context, m store.Message) (store.Message, error) {
	if !r.done {
		r.done = true
		r.before()
	}
	return r.BoltStore.Submit(ctx, m)
}

// failStore fails the operations a test names, as a broken disk would.
type failStore struct {
	*store.BoltStore
	failSubmit, failPut bool
}

func (f *failStore) Submit(ctx context.Context, m store.Message) (store.Message, error) {
	if f.failSubmit {
		return store.Message{}, errors.New("disk on fire")
	}
	return f.BoltStore.Submit(ctx, m)
}

func (f *failStore) PutPayload(ctx context.Context, r io.Reader) (store.Blob, error) {
	if f.failPut {
		io.Copy(io.Discard, io.LimitReader(r, 10))
		return store.Blob{}, errors.New("disk full")
	}
	return f.BoltStore.PutPayload(ctx, r)
}

func TestSubmitStoreFailureIs500(t *testing.T) {
	for _, c := range []struct {
		name string
		fs   func(*store.BoltStore) *failStore
	}{
		{"submit", func(s *store.BoltStore) *failStore { return &failStore{BoltStore: s, failSubmit: true} }},
		{"put payload", func(s *store.BoltStore) *failStore { return &failStore{BoltStore: s, failPut: true} }},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			srv, err := New(Config{Store: c.fs(e.st), PModes: testPModes(t), Clients: []Client{{Name: clientA, TokenSHA256: hashOf(tokenA), Participants: []store.PartyID{{ID: partA}}}}})
			if err != nil {
				t.Fatal(err)
			}
			body, ct := multipartBody(validParts()...)
			r, _ := http.NewRequest(http.MethodPost, messages, body)
			r.Header.Set("Content-Type", ct)
			r.Header.Set("Authorization", "Bearer "+tokenA)
			w := newRecorder()
			srv.ServeHTTP(w, r)
			p := expectProblem(t, w, 500, "internal", "")
			if strings.Contains(p.Detail, "fire") || strings.Contains(p.Detail, "full") {
				t.Errorf("internal detail leaked: %q", p.Detail)
			}
			if n := e.payloadFiles(); n != 0 {
				t.Errorf("%d payload files left", n)
			}
		})
	}
}
