package metrics

import (
	"context"
	"crypto/x509"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/as4gw/as4gw/store"
)

// queueStates are the states exported by as4gw_queue_messages: every state
// the store enters (the vocabulary's other names never hold a message).
var queueStates = []store.State{
	store.SendEnqueued, store.SendInProgress, store.WaitingForRetry, store.SendFailure,
	store.Acknowledged, store.AcknowledgedWithWarning,
	store.Received, store.ReceivedWithWarnings, store.Downloaded, store.Deleted,
}

var (
	descQueue = prometheus.NewDesc("as4gw_queue_messages",
		"Messages held in the store by state (SEND_ENQUEUED + WAITING_FOR_RETRY + SEND_IN_PROGRESS is the outbound queue; RECEIVED + RECEIVED_WITH_WARNINGS await download).",
		[]string{"state"}, nil)
	descOldest = prometheus.NewDesc("as4gw_oldest_waiting_message_age_seconds",
		"How long the longest-waiting due outbound message has been due and not yet sent (seconds since the earliest due time in the queue; 0 when nothing is overdue).",
		nil, nil)
	descSize = prometheus.NewDesc("as4gw_store_size_bytes",
		"Size of the store: kind=db is the database file, kind=payloads the committed payload files.",
		[]string{"kind"}, nil)
	descPayloadFiles = prometheus.NewDesc("as4gw_store_payload_files",
		"Committed payloads in the store: files, and the small ones kept inside the database (storage.inlinePayloadBytes).", nil, nil)
	descCommits = prometheus.NewDesc("as4gw_store_commits_total",
		"Write transactions (each fsynced) the store committed since it was opened.", nil, nil)
	descWriteOps = prometheus.NewDesc("as4gw_store_write_operations_total",
		"Write operations carried by those commits (write_operations / commits is the batching factor).", nil, nil)
	descPartnerQueue = prometheus.NewDesc("as4gw_queue_partner_waiting_messages",
		"Outbound messages waiting to be sent (SEND_ENQUEUED + WAITING_FOR_RETRY) by partner: the P-Mode party name of the receiving access point, or other (partners found by discovery, unconfigured parties).",
		[]string{"partner"}, nil)
	descCommitLatency = prometheus.NewDesc("as4gw_store_commit_duration_seconds",
		"Time of the store's write transactions (bbolt write and fsync), each of which may carry several operations.",
		nil, nil)
	descFSAvail = prometheus.NewDesc("as4gw_store_filesystem_avail_bytes",
		"Bytes available to the gateway on the filesystem holding the data directory.", nil, nil)
	descFSSize = prometheus.NewDesc("as4gw_store_filesystem_size_bytes",
		"Total size of the filesystem holding the data directory.", nil, nil)
	descCert = prometheus.NewDesc("as4gw_certificate_expiry_timestamp_seconds",
		"NotAfter of our AS4 certificate (role=identity), each P-Mode partner certificate (role=partner), our TLS client certificate (role=tls-client) and the trust stores' anchors (role=as4-anchor, tls-anchor, smp-anchor), as a Unix time.",
		[]string{"role", "party", "subject_cn"}, nil)
)

// storeCollector reads the store at scrape time, bounded by StoreTimeout.
type storeCollector struct{ opts *Options }

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descQueue, descOldest, descPartnerQueue, descCommitLatency, descSize, descPayloadFiles, descCommits, descWriteOps, descFSAvail, descFSSize} {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	if c.opts.DataDir != "" {
		if avail, size, ok := filesystemSpace(c.opts.DataDir); ok {
			ch <- prometheus.MustNewConstMetric(descFSAvail, prometheus.GaugeValue, float64(avail))
			ch <- prometheus.MustNewConstMetric(descFSSize, prometheus.GaugeValue, float64(size))
		}
	}
	if c.opts.Store == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.StoreTimeout)
	defer cancel()
	st, err := c.opts.Store.Stats(ctx)
	if err != nil {
		for _, d := range []*prometheus.Desc{descQueue, descSize, descPayloadFiles, descCommits, descWriteOps} {
			ch <- prometheus.NewInvalidMetric(d, err)
		}
	} else {
		for _, s := range queueStates {
			ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(st.Messages[s]), string(s))
		}
		ch <- prometheus.MustNewConstMetric(descSize, prometheus.GaugeValue, float64(st.DBBytes), "db")
		ch <- prometheus.MustNewConstMetric(descSize, prometheus.GaugeValue, float64(st.PayloadBytes), "payloads")
		ch <- prometheus.MustNewConstMetric(descPayloadFiles, prometheus.GaugeValue, float64(st.PayloadFiles))
		ch <- prometheus.MustNewConstMetric(descCommits, prometheus.CounterValue, float64(st.Commits))
		ch <- prometheus.MustNewConstMetric(descWriteOps, prometheus.CounterValue, float64(st.WriteOps))
		buckets, count := st.CommitLatency.Cumulative()
		ch <- prometheus.MustNewConstHistogram(descCommitLatency, count, st.CommitLatency.SumSeconds, buckets)
	}
	qs, err := c.opts.Store.Queues(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descOldest, err)
		return
	}
	now := c.opts.Now()
	oldest := 0.0
	byPartner := map[string]int{}
	names := c.partnerNames()
	for _, q := range qs {
		if q.Waiting > 0 && !q.NextDue.IsZero() {
			oldest = max(oldest, now.Sub(q.NextDue).Seconds())
		}
		name := names[q.Partner]
		if name == "" {
			name = "other"
		}
		byPartner[name] += q.Waiting
	}
	ch <- prometheus.MustNewConstMetric(descOldest, prometheus.GaugeValue, oldest)
	for name, n := range byPartner {
		ch <- prometheus.MustNewConstMetric(descPartnerQueue, prometheus.GaugeValue, float64(n), name)
	}
}

// partnerNames maps queue keys (a party id, or "type::id") to P-Mode party
// names, so the partner label is bounded by the configuration.
func (c *storeCollector) partnerNames() map[string]string {
	out := map[string]string{}
	if c.opts.PModes == nil {
		return out
	}
	for _, p := range c.opts.PModes.Parties {
		for _, id := range p.PartyIDs {
			out[id.Value] = p.Name
			if id.Type != "" {
				out[id.Type+"::"+id.Value] = p.Name
			}
		}
	}
	return out
}

// certCollector exports certificate expiry from the current configuration.
type certCollector struct{ opts *Options }

func (c *certCollector) Describe(ch chan<- *prometheus.Desc) { ch <- descCert }

func (c *certCollector) Collect(ch chan<- prometheus.Metric) {
	seen := map[[3]string]bool{}
	emit := func(role, party string, cert *x509.Certificate) {
		if cert == nil {
			return
		}
		k := [3]string{role, party, cert.Subject.CommonName}
		if seen[k] {
			return
		}
		seen[k] = true
		ch <- prometheus.MustNewConstMetric(descCert, prometheus.GaugeValue, float64(cert.NotAfter.Unix()), k[:]...)
	}
	self := ""
	if set := c.opts.PModes; set != nil {
		self = set.Self
		for _, p := range set.Parties {
			if p.Name != set.Self {
				emit("partner", p.Name, p.Certificate)
			}
		}
	}
	emit("identity", self, c.opts.Identity)
	if c.opts.Certificates != nil {
		for _, lc := range c.opts.Certificates() {
			if lc.Role != "identity" && lc.Role != "partner" {
				emit(lc.Role, lc.Name, lc.Certificate)
			}
		}
	}
}
