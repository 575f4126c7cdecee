package metrics

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Webhook delivery metrics, without per-URL or per-client labels: the number of
// registrations is up to the clients, the cardinality must not be.
type webhookMetrics struct {
	deliveries *prometheus.CounterVec
	backlog    atomic.Pointer[func() int64]
}

func newWebhookMetrics() *webhookMetrics {
	w := &webhookMetrics{deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "as4gw_webhook_deliveries_total",
		Help: "Webhook POSTs by result: delivered (2xx), failed (error, timeout or other status; retried with backoff).",
	}, []string{"result"})}
	w.deliveries.WithLabelValues("delivered")
	w.deliveries.WithLabelValues("failed")
	return w
}

func (w *webhookMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{w.deliveries, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "as4gw_webhook_backlog_events",
		Help: "Events in the log that webhook dispatchers have not yet delivered or passed over, summed over webhooks.",
	}, func() float64 {
		if f := w.backlog.Load(); f != nil {
			return float64((*f)())
		}
		return 0
	})}
}

// WebhookDelivery counts one webhook POST (backend.WebhookObserver).
func (m *Metrics) WebhookDelivery(delivered bool) {
	result := "failed"
	if delivered {
		result = "delivered"
	}
	m.webhooks.deliveries.WithLabelValues(result).Inc()
}

// SetWebhookBacklog makes as4gw_webhook_backlog_events read f at each scrape
// (backend.Server.WebhookBacklog).
func (m *Metrics) SetWebhookBacklog(f func() int64) {
	if f == nil {
		m.webhooks.backlog.Store(nil)
		return
	}
	m.webhooks.backlog.Store(&f)
}
