package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/as4gw/as4gw/store"
)

// auditPurgeInterval is how often audit records past audit.retention are deleted. The
// retention is months long, so an hour's lateness does not matter; the purge runs in
// batches of store.DefaultAuditPurgeBatch, each its own short transaction, so it never
// holds up traffic.
const auditPurgeInterval = time.Hour

// purgeAudit deletes audit records older than retention once at start and then every
// auditPurgeInterval, until ctx ends.
func purgeAudit(ctx context.Context, st store.Audit, retention time.Duration, log *slog.Logger) {
	t := time.NewTicker(auditPurgeInterval)
	defer t.Stop()
	for {
		cutoff := time.Now().Add(-retention)
		n, err := st.PurgeAudit(ctx, cutoff, store.DefaultAuditPurgeBatch)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("audit log purge failed", "error", err, "purged", n)
		case n > 0:
			log.Info("purged old audit records", "count", n, "olderThan", cutoff.UTC().Format(time.RFC3339))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
