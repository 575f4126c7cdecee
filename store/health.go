package store

import (
	"context"
	"time"
)

// keyProbe is the meta key CheckWritable rewrites.
var keyProbe = []byte("probe")

// CheckWritable proves the store can commit now: it writes one small record
// through the group commit, so it waits for (and fails with) the same fsync a
// message would. Readiness probes call it; a full disk or a read-only volume
// shows here before a partner's message is refused.
func (s *BoltStore) CheckWritable(ctx context.Context) error {
	_, err := s.update(ctx, func(w *wtx) error {
		return w.put(bMeta, keyProbe, []byte(w.now.UTC().Format(time.RFC3339Nano)))
	})
	return err
}
