package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/as4gw/as4gw/store"
)

type purgeRecorder struct {
	store.Audit
	calls chan time.Time
}

func (p *purgeRecorder) PurgeAudit(ctx context.Context, before time.Time, batch int) (int, error) {
	if batch != store.DefaultAuditPurgeBatch {
		panic("unexpected batch size")
	}
	p.calls <- before
	return 3, nil
}

// TestPurgeAuditLoop: the loop purges at start with the configured retention and stops
// with its context.
func TestPurgeAuditLoop(t *testing.T) {
	rec := &purgeRecorder{calls: make(chan time.Time, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	before := time.Now()
	go func() { defer close(done); purgeAudit(ctx, rec, 48*time.Hour, slog.New(slog.DiscardHandler)) }()
	cutoff := <-rec.calls
	after := time.Now()
	if cutoff.Before(before.Add(-48*time.Hour)) || cutoff.After(after.Add(-48*time.Hour)) {
		t.Errorf("cutoff %s, want 48h before %s", cutoff, before)
	}
	cancel()
	<-done
}
