package metrics

import (
	"github.com/as4gw/as4gw/discovery"
	"github.com/prometheus/client_golang/prometheus"
)

// discoveryMetrics count SML/SMP lookups. Every label value comes from
// discovery's bounded sets (stage, outcome, source): no participant ids.
type discoveryMetrics struct {
	lookups *prometheus.CounterVec
	seconds *prometheus.HistogramVec
}

func newDiscoveryMetrics() *discoveryMetrics {
	return &discoveryMetrics{
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "as4gw_discovery_lookups_total",
			Help: "Discovery lookup steps by stage (resolve, sml, smp_service_group, smp_service_metadata, endpoint_certificate), outcome (ok or the failure) and, for resolve, source (static, cache, negative_cache, network).",
		}, []string{"stage", "outcome", "source"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "as4gw_discovery_lookup_duration_seconds",
			Help:    "Time of discovery lookup steps by stage.",
			Buckets: []float64{.0005, .001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"stage"}),
	}
}

// ObserveLookup implements discovery.Observer.
func (m *Metrics) ObserveLookup(e discovery.LookupEvent) {
	m.discovery.lookups.WithLabelValues(e.Stage, e.Outcome, e.Source).Inc()
	m.discovery.seconds.WithLabelValues(e.Stage).Observe(e.Duration.Seconds())
}
