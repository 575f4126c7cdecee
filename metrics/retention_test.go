package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestRetentionPurged(t *testing.T) {
	m := New(Options{})
	m.RetentionPurged(RetentionPayload, 3)
	m.RetentionPurged(RetentionMetadata, 2)
	m.RetentionPurged(RetentionMetadata, 0)
	want := `
# HELP as4gw_retention_purged_total Removed by message retention, by kind: payload (messages whose payload files were removed), metadata (messages removed entirely), event (change-log entries).
# TYPE as4gw_retention_purged_total counter
as4gw_retention_purged_total{kind="event"} 0
as4gw_retention_purged_total{kind="metadata"} 2
as4gw_retention_purged_total{kind="payload"} 3
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "as4gw_retention_purged_total"); err != nil {
		t.Fatal(err)
	}
}
