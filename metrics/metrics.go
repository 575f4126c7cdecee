// Package metrics exposes the gateway's Prometheus metrics on a private
// registry: message and attempt counters fed by the MSH through the
// as4.Observer hooks, latency histograms, and gauges computed at scrape time
// from the store (queue depth by state, the oldest waiting message, sizes),
// the filesystem holding it and the configured certificates, plus the Go
// runtime and process collectors.
//
// Label values are bounded by the configuration: partner is a configured
// P-Mode party name or "other", service and action come from the P-Mode legs
// or are "other", code is an EBMS error code or "other". Message ids and
// participant ids never become labels.
package metrics

import (
	"context"
	"crypto/x509"
	"net/http"
	"regexp"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/as4gw/as4gw/as4"
	"github.com/as4gw/as4gw/ebms"
	"github.com/as4gw/as4gw/pmode"
	"github.com/as4gw/as4gw/store"
	"github.com/as4gw/as4gw/trust"
)

// Other is the label value for anything outside the configured, bounded set.
const Other = "other"

// StoreStats is what the scrape-time collector reads from the store.
type StoreStats interface {
	Stats(ctx context.Context) (store.Stats, error)
	Queues(ctx context.Context) ([]store.PartnerQueue, error)
}

// Options configure New. Every field is optional.
type Options struct {
	// Store is read at each scrape (queue depth, oldest waiting message, sizes).
	Store StoreStats
	// StoreTimeout bounds the store reads of one scrape (default 2 s).
	StoreTimeout time.Duration
	// DataDir is where the store lives; the free and total space of its
	// filesystem are exported (Linux only).
	DataDir string
	// PModes bound the partner, service and action labels and provide the
	// partner certificates whose expiry is exported.
	PModes *pmode.Set
	// Identity is our own AS4 certificate (expiry exported).
	Identity *x509.Certificate
	// Certificates lists further certificates whose expiry is exported,
	// read at each scrape (our TLS client certificate, trust-store anchors;
	// roles identity and partner are taken from the fields above instead).
	Certificates func() []trust.LabeledCertificate
	// Now is the clock for the oldest-message age (default time.Now).
	Now func() time.Time
}

// Metrics holds the collectors. It implements as4.Observer.
type Metrics struct {
	opts        Options
	reg         *prometheus.Registry
	sent        *prometheus.CounterVec
	received    *prometheus.CounterVec
	attempts    *prometheus.CounterVec
	security    *prometheus.CounterVec
	toRcpt      prometheus.Histogram
	inbound     prometheus.Histogram
	webhooks    *webhookMetrics
	retention   *prometheus.CounterVec
	discovery   *discoveryMetrics
	revocation  *revocationMetrics
	tlsFailures *prometheus.CounterVec
}

var _ as4.Observer = (*Metrics)(nil)

// New builds the metrics on a fresh registry.
func New(opts Options) *Metrics {
	if opts.StoreTimeout <= 0 {
		opts.StoreTimeout = 2 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	m := &Metrics{opts: opts, reg: prometheus.NewRegistry()}
	m.sent = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "as4gw_messages_sent_total",
		Help: "Outbound messages by the result of an attempt: acknowledged (verified receipt), retry (another attempt scheduled), failed (SEND_FAILURE).",
	}, []string{"result", "service", "action", "partner"})
	m.received = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "as4gw_messages_received_total",
		Help: "Inbound messages by result: received (stored, receipt sent), duplicate (receipt sent again), refused (ebMS error).",
	}, []string{"result", "service", "action", "partner"})
	m.attempts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "as4gw_send_attempts_total",
		Help: "Send attempts (HTTP exchanges) by partner and outcome: acknowledged, transport_error, missing_receipt (EBMS:0301), invalid_receipt (EBMS:0302), error_signal, local_error.",
	}, []string{"partner", "outcome"})
	m.security = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "as4gw_security_failures_total",
		Help: "Inbound messages refused for a WS-Security failure, by EBMS error code.",
	}, []string{"code"})
	m.toRcpt = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "as4gw_send_to_receipt_seconds",
		Help:    "Time from submission of an outbound message to its verified receipt (ACKNOWLEDGED), retries included.",
		Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600},
	})
	m.inbound = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "as4gw_inbound_processing_seconds",
		Help:    "Time the AS4 endpoint took to answer one POST (read, decrypt, verify, store, signed receipt or error).",
		Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300},
	})
	m.reg.MustRegister(m.sent, m.received, m.attempts, m.security, m.toRcpt, m.inbound,
		&storeCollector{opts: &m.opts}, &certCollector{opts: &m.opts},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.webhooks = newWebhookMetrics()
	m.reg.MustRegister(m.webhooks.collectors()...)
	m.retention = newRetentionCounter()
	m.reg.MustRegister(m.retention)
	m.discovery = newDiscoveryMetrics()
	m.revocation = newRevocationMetrics()
	m.reg.MustRegister(m.revocation.checks, m.revocation.seconds)
	m.tlsFailures = newTLSFailures()
	m.reg.MustRegister(m.tlsFailures)
	m.reg.MustRegister(m.discovery.lookups, m.discovery.seconds)
	m.initSeries()
	return m
}

// Registry is the private registry (for tests and extra collectors).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition formats. A
// collector that fails (the store did not answer in time) is reported in
// the log of the scrape and leaves out its metrics; the rest is served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError, Registry: m.reg})
}

// Sent implements as4.Observer.
func (m *Metrics) Sent(leg *pmode.Leg, partner string, result as4.SendResult) {
	service, action := m.legLabels(leg)
	m.sent.WithLabelValues(string(result), service, action, m.partner(partner)).Inc()
}

// Received implements as4.Observer.
func (m *Metrics) Received(leg *pmode.Leg, partner string, result as4.ReceiveResult) {
	service, action := m.legLabels(leg)
	m.received.WithLabelValues(string(result), service, action, m.partner(partner)).Inc()
}

// Attempt implements as4.Observer.
func (m *Metrics) Attempt(partner string, outcome as4.AttemptOutcome) {
	m.attempts.WithLabelValues(m.partner(partner), boundedOutcome(outcome)).Inc()
}

// SendToReceipt implements as4.Observer.
func (m *Metrics) SendToReceipt(d time.Duration) { m.toRcpt.Observe(d.Seconds()) }

// InboundDuration implements as4.Observer.
func (m *Metrics) InboundDuration(d time.Duration) { m.inbound.Observe(d.Seconds()) }

// SecurityFailure implements as4.Observer.
func (m *Metrics) SecurityFailure(code ebms.Code) {
	m.security.WithLabelValues(boundedCode(code)).Inc()
}

var ebmsCode = regexp.MustCompile(`^EBMS:[0-9]{4}$`)

func boundedCode(c ebms.Code) string {
	if ebmsCode.MatchString(string(c)) {
		return string(c)
	}
	return Other
}

var outcomes = []as4.AttemptOutcome{as4.AttemptAcknowledged, as4.AttemptTransportError, as4.AttemptMissingReceipt,
	as4.AttemptInvalidReceipt, as4.AttemptErrorSignal, as4.AttemptLocalError}

func boundedOutcome(o as4.AttemptOutcome) string {
	for _, k := range outcomes {
		if k == o {
			return string(o)
		}
	}
	return Other
}

// partner maps a party name to itself when it is configured, else "other".
func (m *Metrics) partner(name string) string {
	if name == "" || name == Other || m.opts.PModes == nil || m.opts.PModes.Party(name) == nil {
		return Other
	}
	return name
}

// legLabels are the service and action of a configured leg, else "other".
func (m *Metrics) legLabels(leg *pmode.Leg) (service, action string) {
	if leg == nil || m.opts.PModes == nil {
		return Other, Other
	}
	for i := range m.opts.PModes.Legs {
		l := &m.opts.PModes.Legs[i]
		if l.Service.Value == leg.Service.Value && l.Action == leg.Action {
			return nonEmpty(l.Service.Value), nonEmpty(l.Action)
		}
	}
	return Other, Other
}

func nonEmpty(s string) string {
	if s == "" {
		return Other
	}
	return s
}

// initSeries creates the series the alerts compare against at zero, so that
// the first increment is seen by rate() and increase(), and "no success"
// has a series to be zero on.
func (m *Metrics) initSeries() {
	for _, o := range outcomes {
		m.attempts.WithLabelValues(Other, string(o))
	}
	for _, c := range []ebms.Code{ebms.CodeFailedAuthentication, ebms.CodeFailedDecryption, ebms.CodePolicyNoncompliance} {
		m.security.WithLabelValues(string(c))
	}
	set := m.opts.PModes
	if set == nil {
		return
	}
	for _, p := range set.Parties {
		if p.Name == set.Self {
			continue
		}
		for _, o := range outcomes {
			m.attempts.WithLabelValues(p.Name, string(o))
		}
	}
	isSelf := func(names []string) bool {
		for _, n := range names {
			if n == set.Self || n == pmode.AnyParty {
				return true
			}
		}
		return false
	}
	peers := func(names []string) []string {
		var out []string
		for _, n := range names {
			if n != set.Self {
				out = append(out, m.partner(n))
			}
		}
		return out
	}
	for i := range set.Legs {
		l := &set.Legs[i]
		service, action := m.legLabels(l)
		if isSelf(l.Initiators) {
			for _, p := range peers(l.Responders) {
				for _, r := range []as4.SendResult{as4.SentAcknowledged, as4.SentRetry, as4.SentFailed} {
					m.sent.WithLabelValues(string(r), service, action, p)
				}
			}
		}
		if isSelf(l.Responders) {
			for _, p := range peers(l.Initiators) {
				for _, r := range []as4.ReceiveResult{as4.ReceivedStored, as4.ReceivedDuplicate, as4.ReceivedRefused} {
					m.received.WithLabelValues(string(r), service, action, p)
				}
			}
		}
	}
}
