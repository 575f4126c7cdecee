package as4

import (
	"context"
	"io"
	"maps"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/as4gw/as4gw/ebms"
	"github.com/as4gw/as4gw/pmode"
	"github.com/as4gw/as4gw/store"
)

// recorder is an Observer that remembers what it was told.
type recorder struct {
	mu        sync.Mutex
	events    map[string]int
	inbound   int
	legsNil   int
	securityC []ebms.Code
}

func (r *recorder) add(k string, leg *pmode.Leg) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.events == nil {
		r.events = map[string]int{}
	}
	r.events[k]++
	if leg == nil && k[:4] != "atte" {
		r.legsNil++
	}
}

func (r *recorder) Sent(leg *pmode.Leg, partner string, res SendResult) {
	r.add("sent "+partner+" "+string(res), leg)
}
func (r *recorder) Received(leg *pmode.Leg, partner string, res ReceiveResult) {
	r.add("received "+partner+" "+string(res), leg)
}
func (r *recorder) Attempt(partner string, o AttemptOutcome) {
	r.add("attempt "+partner+" "+string(o), nil)
}
func (r *recorder) SendToReceipt(d time.Duration) { r.add("receipts", &pmode.Leg{}) }
func (r *recorder) InboundDuration(d time.Duration) {
	r.mu.Lock()
	r.inbound++
	r.mu.Unlock()
}
func (r *recorder) SecurityFailure(c ebms.Code) {
	r.mu.Lock()
	r.securityC = append(r.securityC, c)
	r.mu.Unlock()
}

func (r *recorder) count(k string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.events[k]
}

// eventually polls cond for up to 5 s: the sender reports after the store
// has recorded the outcome, which the test sees first.
func eventually(cond func() bool) bool {
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

func (r *recorder) snapshot() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.events)
}

// waitInbound waits briefly for n InboundDuration calls (they run after the
// response is written) and returns the count.
func (r *recorder) waitInbound(n int) int {
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		r.mu.Lock()
		got := r.inbound
		r.mu.Unlock()
		if got >= n || time.Now().After(deadline) {
			return got
		}
	}
}

func observed(ap *testAP) *recorder {
	r := &recorder{}
	ap.gw.Observer = r
	return r
}

func TestObserverSeesDeliveryAndDuplicate(t *testing.T) {
	blue, red := testPair(t)
	ob, or := observed(blue), observed(red)
	blue.startSender(t)
	m := blue.submit(t, "red", "0203:red.example", randomBytes(100))
	waitState(t, blue.store, m.Key, store.Acknowledged, 20*time.Second)
	if !eventually(func() bool {
		return ob.count("attempt red acknowledged") == 1 && ob.count("sent red acknowledged") == 1 && ob.count("receipts") == 1
	}) {
		t.Errorf("blue observed %v", ob.snapshot())
	}
	if or.count("received blue received") != 1 || or.waitInbound(1) != 1 {
		t.Errorf("red observed %v, %d inbound", or.snapshot(), or.inbound)
	}

	// The same message posted again (a sender that lost the receipt).
	leg, party := blue.gw.PModes.Leg("dev"), blue.gw.PModes.Party("red")
	wm, err := BuildUserMessage(userMessage(&m, leg), []OutboundPayload{{ContentID: m.Payloads[0].ContentID, MimeType: "application/octet-stream", Compress: true,
		Open: func() (io.ReadCloser, error) { return blue.store.OpenPayload(context.Background(), m.Payloads[0].Blob) }}},
		WireOptions{Identity: blue.gw.Identity, Sign: true, Encrypt: true, Recipient: party.Certificate, SpoolDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer wm.Close()
	ct, body := wm.Body()
	defer body.Close()
	resp, err := http.Post(party.Endpoint, ct, body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if or.count("received blue duplicate") != 1 || or.waitInbound(2) != 2 {
		t.Errorf("red observed %v, %d inbound", or.snapshot(), or.inbound)
	}
	if ob.legsNil+or.legsNil != 0 {
		t.Errorf("a hook got no leg for a message on a configured leg")
	}
}

func TestObserverSeesRefusalAndSecurityFailure(t *testing.T) {
	blue, red := testPair(t)
	ob, or := observed(blue), observed(red)
	blue.startSender(t)

	// Not serviced: red refuses with an ebMS error; blue fails for good.
	m := blue.submit(t, "red", "0203:nobody.example", randomBytes(100))
	waitState(t, blue.store, m.Key, store.SendFailure, 20*time.Second)
	if !eventually(func() bool { return ob.count("attempt red error_signal") == 1 && ob.count("sent red failed") == 1 }) {
		t.Errorf("blue observed %v", ob.snapshot())
	}
	if or.count("received blue refused") != 1 {
		t.Errorf("red observed %v", or.snapshot())
	}

	// Red expects another certificate for blue: the signature's party
	// binding fails, a WS-Security failure.
	red.gw.PModes.Party("blue").Certificate = red.gw.Identity.Certificate
	m = blue.submit(t, "red", "0203:red.example", randomBytes(100))
	deadline := time.Now().Add(20 * time.Second)
	for or.count("received blue refused") < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	or.mu.Lock()
	codes := append([]ebms.Code(nil), or.securityC...)
	or.mu.Unlock()
	if len(codes) == 0 || codes[0] != ebms.CodeFailedAuthentication {
		t.Errorf("security failures = %v, want [%s]", codes, ebms.CodeFailedAuthentication)
	}
	if !eventually(func() bool { return ob.count("attempt red error_signal") >= 2 }) {
		t.Errorf("blue observed %v", ob.snapshot())
	}
}

func TestAttemptOutcome(t *testing.T) {
	for _, c := range []struct {
		out  sendOutcome
		want AttemptOutcome
	}{
		{sendOutcome{receipt: &store.Receipt{}}, AttemptAcknowledged},
		{sendOutcome{transport: true, problem: store.Problem{Code: string(ebms.CodeConnectionFailure)}}, AttemptTransportError},
		{sendOutcome{status: 200, problem: store.Problem{Code: string(ebms.CodeMissingReceipt)}}, AttemptMissingReceipt},
		{sendOutcome{status: 200, problem: store.Problem{Code: string(ebms.CodeInvalidReceipt)}}, AttemptInvalidReceipt},
		{sendOutcome{status: 200, problem: store.Problem{Code: string(ebms.CodeOther)}}, AttemptErrorSignal},
		{sendOutcome{problem: store.Problem{Code: string(ebms.CodeOther)}}, AttemptLocalError},
	} {
		if got := attemptOutcome(c.out); got != c.want {
			t.Errorf("attemptOutcome(%+v) = %s, want %s", c.out, got, c.want)
		}
	}
}
