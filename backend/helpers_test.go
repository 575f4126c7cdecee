package backend

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"maps"
	"math/big"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/as4gw/as4gw/ebms"
	"github.com/as4gw/as4gw/pmode"
	"github.com/as4gw/as4gw/store"
)

const (
	ourAP    = "AP-OURS"
	peerAP   = "AP-PEER"
	otherAP  = "AP-OTHER"
	apType   = pmode.SDKPartyTypeAP
	upis     = DefaultParticipantType
	svc      = "urn:as4gw:test"
	svcType  = "urn:as4gw"
	peerURL  = "https://peer.example/as4"
	tokenA   = "token-for-malmo-0123456789"
	tokenB   = "token-for-sundbyberg-0123456789"
	clientA  = "malmo-tjanst"
	clientB  = "sundbyberg-tjanst"
	clientC  = "goteborg-cert"
	partA    = "0203:malmo.se"
	partB    = "0203:sundbyberg.se"
	partC    = "0203:goteborg.se"
	messages = apiPrefix + "/messages"
)

func hashOf(tok string) []byte {
	s := sha256.Sum256([]byte(tok))
	return s[:]
}

// testPModes: one peer with an endpoint; legs "deliver" (SDK-like payload profile and
// properties, 64 MiB), "small" (payloads up to 1 KiB, any parts) and "discover" (any
// responder: needs discovery).
func testPModes(t testing.TB) *pmode.Set {
	t.Helper()
	props := []pmode.PropertyRule{
		{Name: ebms.PropertyOriginalSender, Type: upis, Required: true},
		{Name: ebms.PropertyFinalRecipient, Type: upis, Required: true},
	}
	set := &pmode.Set{
		Name: "test",
		Self: "ours",
		Parties: []pmode.Party{
			{Name: "ours", PartyIDs: []pmode.PartyID{{Value: ourAP, Type: apType}}, Endpoint: "https://ours.example/as4"},
			{Name: "peer", PartyIDs: []pmode.PartyID{{Value: peerAP, Type: apType}}, Endpoint: peerURL},
		},
		Legs: []pmode.Leg{
			{
				Name: "deliver", Initiators: []string{"ours"}, Responders: []string{"peer"},
				Service: pmode.Service{Value: svc, Type: svcType}, Action: "deliver",
				PayloadProfile: pmode.PayloadProfile{Parts: []pmode.PayloadPart{
					{Name: "business", ContentID: "message", MimeType: "text/xml", Required: true},
					{Name: "attachments", ContentID: "attachment*", MimeType: "application/octet-stream"},
				}, MaxSize: 64 << 20},
				Properties: props,
			},
			{
				Name: "small", Initiators: []string{"ours"}, Responders: []string{"peer"},
				Service: pmode.Service{Value: svc, Type: svcType}, Action: "small",
				PayloadProfile: pmode.PayloadProfile{MaxSize: 1024},
			},
			{
				Name: "discover", Initiators: []string{"ours"}, Responders: []string{pmode.AnyParty}, AnyPartyIDType: apType,
				Service: pmode.Service{Value: svc, Type: svcType}, Action: "discover",
			},
		},
	}
	set.ApplyDefaults()
	if err := set.Validate(); err != nil {
		t.Fatalf("test P-Modes: %v", err)
	}
	return set
}

type env struct {
	t   testing.TB
	dir string
	st  *store.BoltStore
	srv *Server
}

func newEnv(t testing.TB, mods ...func(*Config)) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := store.OpenBolt(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cc, _ := testCerts(t)
	cfg := Config{
		Store:  st,
		PModes: testPModes(t),
		Clients: []Client{
			{Name: clientA, TokenSHA256: hashOf(tokenA), Participants: []store.PartyID{{ID: partA}}},
			{Name: clientB, TokenSHA256: hashOf(tokenB), Participants: []store.PartyID{{ID: partB, Type: upis}}},
			{Name: clientC, Participants: []store.PartyID{{ID: partC}}},
		},
		ClientCertificates: map[string]string{fingerprintOf(cc): clientC},
	}
	for _, m := range mods {
		m(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return &env{t: t, dir: dir, st: st, srv: srv}
}

// do runs one request through the handler.
func (e *env) do(method, target, token string, body io.Reader, hdr ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	r := httptest.NewRequest(method, target, body)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, r)
	return w
}

// part is one multipart part of a test submission.
type part struct {
	name, filename string
	header         map[string]string
	body           []byte
}

func metaPart(v any) part {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return part{name: metadataPart, header: map[string]string{"Content-Type": "application/json"}, body: b}
}

func rawMeta(s string) part {
	return part{name: metadataPart, header: map[string]string{"Content-Type": "application/json"}, body: []byte(s)}
}

func filePart(name string, body []byte) part {
	return part{name: name, filename: name + ".bin", body: body}
}

func multipartBody(parts ...part) (*bytes.Buffer, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		cd := `form-data`
		if p.name != "" {
			cd += `; name="` + p.name + `"`
		}
		if p.filename != "" {
			cd += `; filename="` + p.filename + `"`
		}
		h.Set("Content-Disposition", cd)
		for k, v := range p.header {
			h.Set(k, v)
		}
		w, err := mw.CreatePart(h)
		if err != nil {
			panic(err)
		}
		w.Write(p.body)
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

func (e *env) submit(token string, parts ...part) *httptest.ResponseRecorder {
	e.t.Helper()
	body, ct := multipartBody(parts...)
	return e.do(http.MethodPost, messages, token, body, "Content-Type", ct)
}

// validMeta is a submission client A may make on leg "deliver".
func validMeta() map[string]any {
	return map[string]any{
		"service": svc, "serviceType": svcType, "action": "deliver",
		"originalSender": partA, "finalRecipient": partB,
		"properties": []map[string]string{{"name": "note", "value": "hello"}},
		"payloads": []map[string]any{
			{"id": "message", "mimeType": "text/xml"},
			{"id": "attachment1", "mimeType": "application/octet-stream", "properties": []map[string]string{{"name": "part-note", "value": "x"}}},
		},
	}
}

var (
	xmlPayload = []byte(`<?xml version="1.0"?><Envelope>hej</Envelope>`)
	binPayload = bytes.Repeat([]byte{0, 1, 2, 3, 250, 251}, 1000)
)

func validParts() []part {
	return []part{metaPart(validMeta()), filePart("message", xmlPayload), filePart("attachment1", binPayload)}
}

func decodeJSON[T any](t testing.TB, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if ct := w.Header().Get("Content-Type"); ct != jsonContentType {
		t.Fatalf("Content-Type %q, want %q; body %s", ct, jsonContentType, w.Body)
	}
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("decoding %s: %v", w.Body, err)
	}
	return v
}

// problemOf decodes a problem response and checks its shape.
func problemOf(t testing.TB, w *httptest.ResponseRecorder) Problem {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != problemContentType {
		t.Fatalf("status %d, Content-Type %q, want a problem; body %s", w.Code, ct, w.Body)
	}
	var p Problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatalf("decoding problem %s: %v", w.Body, err)
	}
	if p.Status != w.Code || p.Title == "" || !strings.HasPrefix(p.Type, problemTypePrefix) || p.Detail == "" {
		t.Fatalf("malformed problem for status %d: %+v", w.Code, p)
	}
	return p
}

func expectProblem(t testing.TB, w *httptest.ResponseRecorder, status int, slug, field string) Problem {
	t.Helper()
	p := problemOf(t, w)
	if w.Code != status || p.Type != problemTypePrefix+slug || p.Field != field {
		t.Fatalf("got %d %s field %q, want %d %s field %q; detail: %s", w.Code, p.Type, p.Field, status, slug, field, p.Detail)
	}
	return p
}

// receive stores an inbound message as the MSH would.
func (e *env) receive(id string, from string, finalRecipient store.PartyID, payloads map[string][]byte) store.Message {
	e.t.Helper()
	ctx := context.Background()
	m := store.Message{
		ID: id, LegName: "deliver",
		From: store.PartyID{ID: from, Type: apType}, To: store.PartyID{ID: ourAP, Type: apType},
		OriginalSender: store.PartyID{ID: "0203:stockholm.se", Type: upis}, FinalRecipient: finalRecipient,
		Service: svc, ServiceType: svcType, Action: "deliver", ConversationID: "conv-" + id,
		PeerAP:  store.PeerAP{PartyID: from},
		Receipt: &store.Receipt{MessageID: "receipt-" + id},
	}
	for _, pid := range sortedKeys(payloads) {
		b, err := e.st.PutPayload(ctx, bytes.NewReader(payloads[pid]))
		if err != nil {
			e.t.Fatal(err)
		}
		m.Payloads = append(m.Payloads, store.Payload{ID: pid, ContentID: pid, MimeType: "text/xml", Blob: b.Ref, Size: b.Size, SHA256: b.SHA256})
	}
	out, err := e.st.Receive(ctx, m)
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func sortedKeys(m map[string][]byte) []string { return slices.Sorted(maps.Keys(m)) }

// payloadFiles counts the payload blobs the store keeps, committed and staged: files on
// disk plus small payloads kept inline in the database or staged in memory.
func (e *env) payloadFiles() int {
	e.t.Helper()
	n := 0
	root := filepath.Join(e.dir, "payloads")
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	st, err := e.st.Stats(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return n + int(st.InlinePayloads+st.StagedInlinePayloads)
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

var (
	certOnce sync.Once
	certC    *x509.Certificate // client C's TLS certificate
	certX    *x509.Certificate // a certificate no client has
)

func testCerts(t testing.TB) (*x509.Certificate, *x509.Certificate) {
	certOnce.Do(func() {
		mk := func(cn string) *x509.Certificate {
			key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				panic(err)
			}
			tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
				NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
			if err != nil {
				panic(err)
			}
			c, err := x509.ParseCertificate(der)
			if err != nil {
				panic(err)
			}
			return c
		}
		certC, certX = mk("goteborg"), mk("stranger")
	})
	return certC, certX
}

func fingerprintOf(c *x509.Certificate) string {
	s := sha256.Sum256(c.Raw)
	return hex.EncodeToString(s[:])
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
