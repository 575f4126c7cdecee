package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestWebhookMetrics(t *testing.T) {
	m := New(Options{})
	const names = "as4gw_webhook_deliveries_total"
	// Both series exist at zero before the first delivery, for rate() and alerts.
	if n := testutil.CollectAndCount(m.reg, names); n != 2 {
		t.Fatalf("%d delivery series before any delivery, want 2", n)
	}
	m.WebhookDelivery(true)
	m.WebhookDelivery(false)
	m.WebhookDelivery(false)
	if got := testutil.ToFloat64(m.webhooks.deliveries.WithLabelValues("delivered")); got != 1 {
		t.Errorf("delivered %v", got)
	}
	if got := testutil.ToFloat64(m.webhooks.deliveries.WithLabelValues("failed")); got != 2 {
		t.Errorf("failed %v", got)
	}
	backlog := `
# HELP as4gw_webhook_backlog_events Events in the log that webhook dispatchers have not yet delivered or passed over, summed over webhooks.
# TYPE as4gw_webhook_backlog_events gauge
as4gw_webhook_backlog_events %s
`
	check := func(want string) {
		t.Helper()
		exp := strings.Replace(backlog, "%s", want, 1)
		if err := testutil.GatherAndCompare(m.reg, strings.NewReader(exp), "as4gw_webhook_backlog_events"); err != nil {
			t.Error(err)
		}
	}
	check("0")
	m.SetWebhookBacklog(func() int64 { return 42 })
	check("42")
	m.SetWebhookBacklog(nil)
	check("0")
}
