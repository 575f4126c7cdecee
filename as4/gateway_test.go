package as4

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/as4gw/as4gw/as4/soap"
	"github.com/as4gw/as4gw/as4/wssec"
	"github.com/as4gw/as4gw/ebms"
	"github.com/as4gw/as4gw/pmode"
	"github.com/as4gw/as4gw/store"
	"github.com/as4gw/as4gw/trust"
	"github.com/as4gw/as4gw/trust/testpki"
)

const partyType = "urn:oasis:names:tc:ebcore:partyid-type:unregistered"

type testAP struct {
	name    string
	gw      *Gateway
	store   *store.BoltStore
	server  *httptest.Server
	cancel  context.CancelFunc
	stopped chan struct{}
}

// testPair builds two gateways, blue and red, trusting one CA, each with the
// other as partner on one sign+encrypt+compress leg with NRR receipts and a
// retry every 2 s.
func testPair(t *testing.T) (blue, red *testAP) {
	t.Helper()
	root := testpki.Must(testpki.NewRoot(testpki.Spec{CommonName: "as4gw test CA", KeySlot: 10}))
	ts := trust.NewStore(root.Certificate)
	aps := map[string]*testAP{}
	certs := map[string]*testpki.Cert{}
	for i, name := range []string{"blue", "red"} {
		certs[name] = testpki.Must(root.NewLeaf(testpki.Spec{CommonName: name, KeySlot: 11 + i}))
		st, err := store.OpenBolt(t.TempDir(), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		id, err := trust.NewIdentity(certs[name].Key, certs[name].Certificate, nil)
		if err != nil {
			t.Fatal(err)
		}
		ap := &testAP{name: name, store: st}
		ap.gw = &Gateway{Identity: id, PartyID: pmode.PartyID{Value: name, Type: partyType}, Trust: ts, Store: st,
			SpoolDir: t.TempDir(), AllowPlainHTTP: true, HTTPClient: &http.Client{Timeout: 10 * time.Second}, PollInterval: 100 * time.Millisecond,
			Serves: func(p store.PartyID) bool { return p.ID != "0203:nobody.example" }}
		ap.server = httptest.NewServer(ap.gw)
		t.Cleanup(ap.server.Close)
		aps[name] = ap
	}
	for _, name := range []string{"blue", "red"} {
		set := &pmode.Set{Self: name}
		for _, p := range []string{"blue", "red"} {
			set.Parties = append(set.Parties, pmode.Party{Name: p, PartyIDs: []pmode.PartyID{{Value: p, Type: partyType}},
				Endpoint: aps[p].server.URL + "/as4", Certificate: certs[p].Certificate})
		}
		set.Legs = []pmode.Leg{{
			Name: "dev", Initiators: []string{"blue", "red"}, Responders: []string{"blue", "red"},
			Service: pmode.Service{Value: "urn:as4gw:test", Type: "urn:as4gw"}, Action: "deliver",
			Security: pmode.Security{Sign: true, Encrypt: true, RequireSignedReceipt: true},
			Reliability: pmode.Reliability{Receipts: true, NonRepudiation: true, DuplicateDetection: true,
				Retry: pmode.RetryPolicy{Strategy: pmode.RetryConstant, Timeout: 1, Count: 30}},
			Properties:  []pmode.PropertyRule{{Name: "originalSender", Required: true}, {Name: "finalRecipient", Required: true}},
			Compression: true,
		}}
		set.ApplyDefaults()
		if err := set.Validate(); err != nil {
			t.Fatal(err)
		}
		aps[name].gw.PModes = set
	}
	return aps["blue"], aps["red"]
}

func (ap *testAP) startSender(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ap.cancel, ap.stopped = cancel, make(chan struct{})
	go func() { defer close(ap.stopped); ap.gw.Run(ctx) }()
	t.Cleanup(ap.stopSender)
}

func (ap *testAP) stopSender() {
	if ap.cancel != nil {
		ap.cancel()
		<-ap.stopped
		ap.cancel = nil
	}
}

// submit stores an outbound message from ap to partner, as the API will.
func (ap *testAP) submit(t *testing.T, partner, finalRecipient string, payloads ...[]byte) store.Message {
	t.Helper()
	ctx := context.Background()
	m := store.Message{
		ID: ebms.NewMessageID(ap.name), LegName: "dev",
		From: store.PartyID{ID: ap.name, Type: partyType}, To: store.PartyID{ID: partner, Type: partyType},
		OriginalSender: store.PartyID{ID: "0203:" + ap.name + ".example", Type: "iso6523-actorid-upis"},
		FinalRecipient: store.PartyID{ID: finalRecipient, Type: "iso6523-actorid-upis"},
		Service:        "urn:as4gw:test", ServiceType: "urn:as4gw", Action: "deliver", ConversationID: "conv-" + ap.name,
	}
	for i, p := range payloads {
		blob, err := ap.store.PutPayload(ctx, bytes.NewReader(p))
		if err != nil {
			t.Fatal(err)
		}
		cid := []string{"message", "attachment", "extra"}[i%3] + "@" + ap.name
		m.Payloads = append(m.Payloads, store.Payload{ID: cid, ContentID: cid, MimeType: "application/octet-stream",
			Blob: blob.Ref, Size: blob.Size, SHA256: blob.SHA256})
	}
	stored, err := ap.store.Submit(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	return stored
}

func waitState(t *testing.T, st *store.BoltStore, k store.Key, want store.State, within time.Duration) store.Message {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		m, err := st.Get(context.Background(), k)
		if err != nil {
			t.Fatal(err)
		}
		if m.State == want {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %s is %s after %v, want %s; attempts: %+v", m.ID, m.State, within, want, m.Attempts)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func inboxFor(t *testing.T, ap *testAP, recipient string) []store.Message {
	t.Helper()
	msgs, _, err := ap.store.Inbox(context.Background(), store.InboxQuery{Recipients: []store.PartyID{{ID: recipient, Type: "iso6523-actorid-upis"}}})
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func TestGatewayDeliversBothWays(t *testing.T) {
	blue, red := testPair(t)
	blue.startSender(t)
	red.startSender(t)
	one, two := randomBytes(200<<10), randomBytes(10)
	m1 := blue.submit(t, "red", "0203:red.example", one, two)
	m2 := red.submit(t, "blue", "0203:blue.example", randomBytes(1000))
	acked := waitState(t, blue.store, m1.Key, store.Acknowledged, 20*time.Second)
	waitState(t, red.store, m2.Key, store.Acknowledged, 20*time.Second)
	if acked.Receipt == nil || len(acked.Receipt.Raw) == 0 || len(acked.Attempts) != 1 {
		t.Errorf("acknowledged message: receipt %v, attempts %+v", acked.Receipt != nil, acked.Attempts)
	}
	got := inboxFor(t, red, "0203:red.example")
	if len(got) != 1 || got[0].ID != m1.ID || len(got[0].Payloads) != 2 {
		t.Fatalf("red inbox = %+v", got)
	}
	for i, want := range [][]byte{one, two} {
		rc, err := red.store.OpenPayload(context.Background(), got[0].Payloads[i].Blob)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(data, want) {
			t.Errorf("payload %d differs after delivery", i)
		}
	}
	if got[0].PeerAP.PartyID != "blue" || got[0].PeerAP.CertSHA256 == "" {
		t.Errorf("peer AP = %+v", got[0].PeerAP)
	}
}

func TestGatewayRefusesUnservedRecipient(t *testing.T) {
	blue, red := testPair(t)
	blue.startSender(t)
	m := blue.submit(t, "red", "0203:nobody.example", randomBytes(100))
	failed := waitState(t, blue.store, m.Key, store.SendFailure, 20*time.Second)
	last := failed.Attempts[len(failed.Attempts)-1]
	if last.Error.Code != string(ebms.CodeOther) || !bytes.Contains([]byte(last.Error.Detail), []byte("NOT_SERVICED")) {
		t.Errorf("last attempt = %+v, want EBMS:0004 NOT_SERVICED", last)
	}
	if n := len(inboxFor(t, red, "0203:nobody.example")); n != 0 {
		t.Errorf("refused message is in the inbox (%d)", n)
	}
}

// TestGatewayPartnerDownThenBack: red is unreachable, blue retries; once red
// is back the message is delivered exactly once.
func TestGatewayPartnerDownThenBack(t *testing.T) {
	blue, red := testPair(t)
	addr := red.server.Listener.Addr().String()
	red.server.Close()
	blue.startSender(t)
	m := blue.submit(t, "red", "0203:red.example", randomBytes(5000))
	waitState(t, blue.store, m.Key, store.WaitingForRetry, 10*time.Second)

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	srv := &http.Server{Handler: red.gw}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close(); wg.Wait() })
	acked := waitState(t, blue.store, m.Key, store.Acknowledged, 30*time.Second)
	if len(acked.Attempts) < 2 {
		t.Errorf("acknowledged after %d attempt(s), want a retry", len(acked.Attempts))
	}
	if n := len(inboxFor(t, red, "0203:red.example")); n != 1 {
		t.Errorf("red inbox holds %d messages, want exactly 1", n)
	}
}

// TestGatewayDuplicateGetsOriginalReceipt posts the same wire message twice.
func TestGatewayDuplicateGetsOriginalReceipt(t *testing.T) {
	blue, red := testPair(t)
	m := blue.submit(t, "red", "0203:red.example", randomBytes(300))
	leg := blue.gw.PModes.Leg("dev")
	party := blue.gw.PModes.Party("red")
	build := func() *WireMessage {
		wm, err := BuildUserMessage(userMessage(&m, leg), []OutboundPayload{{ContentID: m.Payloads[0].ContentID, MimeType: "application/octet-stream", Compress: true,
			Open: func() (io.ReadCloser, error) { return blue.store.OpenPayload(context.Background(), m.Payloads[0].Blob) }}},
			WireOptions{Identity: blue.gw.Identity, Sign: true, Encrypt: true, Recipient: party.Certificate, SpoolDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(wm.Close)
		return wm
	}
	post := func(wm *WireMessage) []byte {
		ct, body := wm.Body()
		defer body.Close()
		resp, err := http.Post(party.Endpoint, ct, body)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !bytes.Contains(data, []byte("Receipt")) {
			t.Fatalf("HTTP %d: %s", resp.StatusCode, data)
		}
		return data
	}
	checkReceipt := func(raw []byte, wm *WireMessage) error {
		env, err := soap.ParseEnvelope(bytes.NewReader(raw), soap.DefaultLimits())
		if err != nil {
			return err
		}
		el, err := ebms.FindMessaging(env.Header)
		if err != nil {
			return err
		}
		rm, err := ebms.Decode(el)
		if err != nil {
			return err
		}
		return wssec.CheckReceipt(rm, m.ID, wm.SignedReferences)
	}
	wm := build()
	first, second := post(wm), post(wm)
	if !bytes.Equal(first, second) {
		t.Error("a byte-identical resend got a different receipt; want the original one again")
	}
	// A sender that lost the receipt rebuilds the message (fresh key,
	// signature): it must get a receipt that matches what it sent now.
	rebuilt := build()
	third := post(rebuilt)
	if err := checkReceipt(third, rebuilt); err != nil {
		t.Errorf("receipt for a rebuilt resend does not match its signature: %v", err)
	}
	if n := len(inboxFor(t, red, "0203:red.example")); n != 1 {
		t.Errorf("red inbox holds %d messages, want 1", n)
	}
}

func TestGatewayBadInputNever500(t *testing.T) {
	_, red := testPair(t)
	tests := []struct {
		name, ct, body string
		want           int
	}{
		{"garbage XML", "application/soap+xml", "<not-soap", 400},
		{"DOCTYPE", "application/soap+xml", `<!DOCTYPE x [<!ENTITY a "b">]><x/>`, 400},
		{"wrong content type", "text/plain", "hello", 400},
		{"broken multipart", `multipart/related; boundary="b"; type="application/soap+xml"`, "--b\r\n\r\n<x", 400},
		{"envelope without messaging", "application/soap+xml", `<S12:Envelope xmlns:S12="http://www.w3.org/2003/05/soap-envelope"><S12:Body/></S12:Envelope>`, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Post(red.server.URL+"/as4", tt.ct, bytes.NewReader([]byte(tt.body)))
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want || !bytes.Contains(data, []byte("SignalMessage")) {
				t.Errorf("HTTP %d, want %d with an ebMS error signal: %s", resp.StatusCode, tt.want, data)
			}
		})
	}
	resp, err := http.Get(red.server.URL + "/as4")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: HTTP %d", resp.StatusCode)
	}
}

func TestGatewayRefusesPlainHTTPUnlessAllowed(t *testing.T) {
	blue, _ := testPair(t)
	blue.gw.AllowPlainHTTP = false
	blue.startSender(t)
	m := blue.submit(t, "red", "0203:red.example", randomBytes(10))
	failed := waitState(t, blue.store, m.Key, store.SendFailure, 10*time.Second)
	if last := failed.Attempts[len(failed.Attempts)-1]; !bytes.Contains([]byte(last.Error.Detail), []byte("not https://")) {
		t.Errorf("last attempt = %+v, want a refusal naming plain HTTP", last)
	}
}
