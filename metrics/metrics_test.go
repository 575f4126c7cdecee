package metrics

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"github.com/as4gw/as4gw/discovery"
	"github.com/as4gw/as4gw/trust"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/as4gw/as4gw/as4"
	"github.com/as4gw/as4gw/ebms"
	"github.com/as4gw/as4gw/pmode"
	"github.com/as4gw/as4gw/store"
)

type fakeStore struct {
	stats  store.Stats
	queues []store.PartnerQueue
	err    error
	block  bool
}

func (f *fakeStore) Stats(ctx context.Context) (store.Stats, error) {
	if f.block {
		<-ctx.Done()
		return store.Stats{}, ctx.Err()
	}
	return f.stats, f.err
}

func (f *fakeStore) Queues(ctx context.Context) ([]store.PartnerQueue, error) {
	if f.block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return f.queues, f.err
}

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testSet() *pmode.Set {
	return &pmode.Set{
		Self: "blue",
		Parties: []pmode.Party{
			{Name: "blue", Certificate: &x509.Certificate{Subject: pkix.Name{CommonName: "blue AP"}, NotAfter: testNow.Add(400 * 24 * time.Hour)}},
			{Name: "red", PartyIDs: []pmode.PartyID{{Value: "red"}}, Certificate: &x509.Certificate{Subject: pkix.Name{CommonName: "red AP"}, NotAfter: testNow.Add(20 * 24 * time.Hour)}},
			{Name: "green"},
		},
		Legs: []pmode.Leg{
			{Name: "out", Initiators: []string{"blue"}, Responders: []string{"red", "green"}, Service: pmode.Service{Value: "urn:svc"}, Action: "deliver"},
			{Name: "in", Initiators: []string{"red"}, Responders: []string{"blue"}, Service: pmode.Service{Value: "urn:svc"}, Action: "answer"},
		},
	}
}

func newTest(t *testing.T) (*Metrics, *fakeStore) {
	t.Helper()
	fs := &fakeStore{
		stats: store.Stats{DBBytes: 1 << 20, PayloadBytes: 5 << 20, PayloadFiles: 7, Commits: 10, WriteOps: 30,
			CommitLatency: store.CommitLatency{Counts: []uint64{1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, SumSeconds: 3},
			Messages:      map[store.State]int64{store.SendEnqueued: 3, store.WaitingForRetry: 2, store.Received: 4}},
		queues: []store.PartnerQueue{
			{Partner: "red", Waiting: 3, NextDue: testNow.Add(-90 * time.Second)},
			{Partner: "green", Waiting: 2, NextDue: testNow.Add(time.Minute)},
			{Partner: "recipient:iso6523-actorid-upis::0203:x.se", Waiting: 4, NextDue: testNow.Add(time.Minute)},
		},
	}
	set := testSet()
	m := New(Options{Store: fs, PModes: set, Identity: set.Parties[0].Certificate, DataDir: t.TempDir(),
		Now: func() time.Time { return testNow }, StoreTimeout: 200 * time.Millisecond})
	return m, fs
}

// exercise makes every metric the package defines have at least one series.
func exercise(m *Metrics) {
	set := m.opts.PModes
	m.Sent(&set.Legs[0], "red", as4.SentAcknowledged)
	m.Sent(&set.Legs[0], "red", as4.SentRetry)
	m.Sent(&set.Legs[0], "green", as4.SentFailed)
	m.Received(&set.Legs[1], "red", as4.ReceivedStored)
	m.Received(&set.Legs[1], "red", as4.ReceivedDuplicate)
	m.Received(nil, "", as4.ReceivedRefused)
	m.Attempt("red", as4.AttemptAcknowledged)
	m.Attempt("green", as4.AttemptTransportError)
	m.SendToReceipt(1500 * time.Millisecond)
	m.InboundDuration(40 * time.Millisecond)
	m.SecurityFailure(ebms.CodeFailedAuthentication)
	m.ObserveLookup(discovery.LookupEvent{Stage: discovery.StageResolve, Outcome: "ok", Source: discovery.SourceNetwork, Duration: time.Millisecond})
	m.InstrumentRevocation("as4", fixedChecker{st: trust.RevocationStatus{State: trust.RevocationGood}}).Check(context.Background(), nil, nil, time.Now())
	m.TLSHandshakeFailure("as4", "http: TLS handshake error from 127.0.0.1:1: EOF")
}

func TestCountersAndLabels(t *testing.T) {
	m, _ := newTest(t)
	exercise(m)
	set := m.opts.PModes
	for _, c := range []struct {
		got  float64
		want float64
		what string
	}{
		{testutil.ToFloat64(m.sent.WithLabelValues("acknowledged", "urn:svc", "deliver", "red")), 1, "sent acknowledged red"},
		{testutil.ToFloat64(m.sent.WithLabelValues("failed", "urn:svc", "deliver", "green")), 1, "sent failed green"},
		{testutil.ToFloat64(m.received.WithLabelValues("received", "urn:svc", "answer", "red")), 1, "received red"},
		{testutil.ToFloat64(m.received.WithLabelValues("refused", "other", "other", "other")), 1, "refused, no leg"},
		{testutil.ToFloat64(m.attempts.WithLabelValues("green", "transport_error")), 1, "attempt green"},
		{testutil.ToFloat64(m.security.WithLabelValues("EBMS:0101")), 1, "security failure"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	// A leg that is not in the configuration, an unknown partner, a bad code.
	m.Sent(&pmode.Leg{Service: pmode.Service{Value: "urn:unknown"}, Action: "x"}, "somebody", as4.SentAcknowledged)
	m.SecurityFailure("not a code")
	if got := testutil.ToFloat64(m.sent.WithLabelValues("acknowledged", "other", "other", "other")); got != 1 {
		t.Errorf("unknown leg and partner: %v", got)
	}
	if got := testutil.ToFloat64(m.security.WithLabelValues("other")); got != 1 {
		t.Errorf("unknown code: %v", got)
	}
	_ = set
}

func TestScrapeTimeGauges(t *testing.T) {
	m, _ := newTest(t)
	out := scrape(t, m)
	for _, want := range []string{
		`as4gw_queue_messages{state="SEND_ENQUEUED"} 3`,
		`as4gw_queue_messages{state="WAITING_FOR_RETRY"} 2`,
		`as4gw_queue_messages{state="SEND_IN_PROGRESS"} 0`,
		`as4gw_queue_messages{state="RECEIVED"} 4`,
		`as4gw_oldest_waiting_message_age_seconds 90`,
		`as4gw_queue_partner_waiting_messages{partner="red"} 3`,
		`as4gw_queue_partner_waiting_messages{partner="other"} 6`, // green has no party id; discovery's recipient queue
		`as4gw_store_size_bytes{kind="db"} 1.048576e+06`,
		`as4gw_store_size_bytes{kind="payloads"} 5.24288e+06`,
		`as4gw_store_commits_total 10`,
		`as4gw_store_commit_duration_seconds_bucket{le="0.001"} 3`,
		`as4gw_store_commit_duration_seconds_count 4`,
		`as4gw_certificate_expiry_timestamp_seconds{party="red",role="partner",subject_cn="red AP"}`,
		`as4gw_certificate_expiry_timestamp_seconds{party="blue",role="identity",subject_cn="blue AP"}`,
		`as4gw_store_filesystem_avail_bytes`,
		`as4gw_send_attempts_total{outcome="transport_error",partner="red"} 0`, // pre-initialised
		`go_goroutines`,
		`process_start_time_seconds`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
}

func TestStoreTimeoutDoesNotBlockTheScrape(t *testing.T) {
	m, fs := newTest(t)
	fs.block = true
	start := time.Now()
	out := scrape(t, m)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("scrape took %v with a hung store", d)
	}
	if strings.Contains(out, "as4gw_queue_messages{") || !strings.Contains(out, "as4gw_send_attempts_total") {
		t.Errorf("a hung store should leave out its gauges and keep the rest:\n%s", out)
	}
	fs.block, fs.err = false, errors.New("store closed")
	if out := scrape(t, m); strings.Contains(out, "as4gw_queue_messages{") || !strings.Contains(out, "go_goroutines") {
		t.Errorf("a failing store should leave out its gauges and keep the rest")
	}
}

// TestCardinalityBounded: message ids and participants never reach the
// labels; a thousand unknown partners, services and codes add no series.
func TestCardinalityBounded(t *testing.T) {
	m, _ := newTest(t)
	exercise(m)
	before := seriesCount(t, m)
	for i := range 1000 {
		partner := fmt.Sprintf("0203:org-%d.example", i)
		leg := &pmode.Leg{Service: pmode.Service{Value: fmt.Sprintf("urn:svc:%d", i)}, Action: fmt.Sprintf("msg-%d@as4gw", i)}
		m.Sent(leg, partner, as4.SentAcknowledged)
		m.Received(leg, partner, as4.ReceivedStored)
		m.Attempt(partner, as4.AttemptOutcome(fmt.Sprintf("weird-%d", i)))
		m.SecurityFailure(ebms.Code(fmt.Sprintf("X:%d", i)))
	}
	after := seriesCount(t, m)
	// At most one new "other" series per vector.
	if after-before > 4 {
		t.Errorf("1000 distinct partners/services added %d series", after-before)
	}
}

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func seriesCount(t *testing.T, m *Metrics) int {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "as4gw_") {
			n += len(mf.GetMetric())
		}
	}
	return n
}
