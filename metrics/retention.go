package metrics

import "github.com/prometheus/client_golang/prometheus"

// Retention kinds (the kind label): what a retention run removed.
const (
	RetentionPayload  = "payload"  // a message's payload files (the message stays)
	RetentionMetadata = "metadata" // a whole message
	RetentionEvent    = "event"    // a change-log entry
)

func newRetentionCounter() *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "as4gw_retention_purged_total",
		Help: "Removed by message retention, by kind: payload (messages whose payload files were removed), metadata (messages removed entirely), event (change-log entries).",
	}, []string{"kind"})
	for _, k := range []string{RetentionPayload, RetentionMetadata, RetentionEvent} {
		c.WithLabelValues(k)
	}
	return c
}

// RetentionPurged counts what a retention run removed; kind is one of the Retention*
// constants.
func (m *Metrics) RetentionPurged(kind string, n int) {
	if n > 0 {
		m.retention.WithLabelValues(kind).Add(float64(n))
	}
}
