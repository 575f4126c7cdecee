package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Group commit.
//
// Every change goes through one goroutine (commitLoop) that takes all operations queued
// at that moment, runs them one after another in a single bbolt read-write transaction and
// commits it: bbolt writes the pages, fdatasyncs, writes the meta page, fdatasyncs again.
// Only then is each caller answered. So N concurrent writers share one commit and one pair
// of fsyncs, and no caller hears "done" before its change is on disk.
//
// Why not bbolt's db.Batch: Batch collects calls for a fixed MaxBatchDelay (10ms) before
// committing, so a lone writer always waits 10ms, and 16 writers were measured slower than
// plain sequential Updates on this project's CI disk. Here the batching window is the
// previous commit itself: a lone writer commits at once; under load, whatever arrived
// during one fsync forms the next batch. Durability is the same as db.Update.
//
// Operations run serially inside the transaction, so each sees the ones before it (two
// inserts of one MessageId in one batch: the second is the duplicate). An operation's
// expected failure (not found, duplicate, illegal transition) is its *result*: it must be
// decided before the operation writes anything, and it does not abort the transaction, so
// one bad request does not cost the others their commit. Only a fatal error (a bbolt write
// failing, an encoding bug) aborts; then the batch is retried with that operation run on
// its own, as db.Batch does. An operation may therefore run more than once: it must build
// its outputs afresh on each run.

type writeOp struct {
	fn   func(w *wtx) error
	done chan error
	w    *wtx // of the run that committed
}

// wtx is one operation's view of the shared transaction plus what it leaves to do after
// the commit.
type wtx struct {
	s           *BoltStore
	tx          *bolt.Tx
	now         time.Time
	lastSeq     uint64    // highest event sequence written
	dirty       bool      // wrote something: the transaction must commit
	removeBlobs []BlobRef // files to delete once the commit has made them unreferenced
	inlined     []BlobRef // staged inline blobs this operation committed, to release after
	attempt     *Attempt  // the attempt the next event records, for its audit record
}

// fatalError aborts the transaction.
type fatalError struct{ err error }

func (e fatalError) Error() string { return e.err.Error() }
func (e fatalError) Unwrap() error { return e.err }

func fatal(err error) error {
	if err == nil {
		return nil
	}
	return fatalError{err}
}

// update queues fn and waits for its commit. The context is checked only before queueing:
// once queued, an operation is waited for, because a caller that gave up could not tell
// whether its message was stored (and a retried submit would store it twice).
func (s *BoltStore) update(ctx context.Context, fn func(w *wtx) error) (*wtx, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	op := &writeOp{fn: fn, done: make(chan error, 1)}
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return nil, ErrClosed
	}
	s.writes <- op
	s.closeMu.RUnlock()
	err := <-op.done
	return op.w, err
}

func (s *BoltStore) commitLoop() {
	defer close(s.loopDone)
	batch := make([]*writeOp, 0, s.opts.MaxBatch)
	for {
		op, ok := <-s.writes
		if !ok {
			return
		}
		batch = append(batch[:0], op)
	fill:
		for len(batch) < s.opts.MaxBatch {
			select {
			case op, ok := <-s.writes:
				if !ok {
					break fill // closed: run what we have, the next receive ends the loop
				}
				batch = append(batch, op)
			default:
				break fill
			}
		}
		s.runBatch(batch)
		clear(batch)
	}
}

// runBatch commits ops together; an op whose fn fails fatally is taken out and run alone.
// A batch that changed nothing (a claim with nothing due, a repeated download, a
// duplicate) is rolled back instead of committed: a bbolt commit always writes and
// fsyncs a meta page, and idle sender workers would otherwise pay for one per poll.
func (s *BoltStore) runBatch(ops []*writeOp) {
	for len(ops) > 0 {
		results := make([]error, len(ops))
		runs := make([]*wtx, len(ops))
		failed := -1
		s.blobMu.RLock()
		err := s.runTx(func(tx *bolt.Tx) (bool, error) {
			now := s.opts.Clock().UTC().Round(0)
			dirty := false
			for i, op := range ops {
				w := &wtx{s: s, tx: tx, now: now}
				runs[i] = w
				err := safeCall(op.fn, w)
				dirty = dirty || w.dirty
				var fe fatalError
				if errors.As(err, &fe) {
					failed = i
					return false, err
				}
				results[i] = err
			}
			return dirty, nil
		})
		s.blobMu.RUnlock()
		if failed >= 0 && len(ops) > 1 {
			solo := ops[failed]
			ops = append(ops[:failed:failed], ops[failed+1:]...)
			s.runBatch([]*writeOp{solo})
			continue
		}
		if err == nil {
			s.writeOps.Add(uint64(len(ops)))
		}
		s.finish(ops, runs, results, err)
		return
	}
}

// runTx runs fn in a read-write transaction and commits it when fn reports changes.
func (s *BoltStore) runTx(fn func(tx *bolt.Tx) (dirty bool, err error)) error {
	tx, err := s.db.Begin(true)
	if err != nil {
		return err
	}
	// Keys of these buckets only grow (store keys, event numbers), so pages split by an
	// append are better left full than half full (bbolt's default), which would double
	// the file. The setting lasts for this transaction's bucket handles.
	for _, b := range [][]byte{bMsg, bEvents, bHist, bAudit} {
		tx.Bucket(b).FillPercent = 0.9
	}
	dirty, err := fn(tx)
	if err != nil || !dirty {
		_ = tx.Rollback()
		return err
	}
	start := time.Now()
	if err := tx.Commit(); err != nil {
		return err
	}
	s.commitLatency.observe(time.Since(start))
	s.commits.Add(1)
	return nil
}

// finish answers the callers and runs after-commit work. commitErr non-nil means nothing
// of this batch is stored. LastEventSeq moves before any caller is answered, so a caller
// never sees it behind its own write.
func (s *BoltStore) finish(ops []*writeOp, runs []*wtx, results []error, commitErr error) {
	if commitErr != nil {
		for _, op := range ops {
			op.done <- fmt.Errorf("store: write failed, nothing stored: %w", commitErr)
		}
		return
	}
	var maxSeq uint64
	for i, op := range ops {
		w := runs[i]
		maxSeq = max(maxSeq, w.lastSeq)
		// Files of deleted messages go only after the commit: a crash before this line
		// leaves unreferenced files, which the next sweep removes.
		for _, ref := range w.removeBlobs {
			s.removeBlobFile(ref)
		}
		for _, ref := range w.inlined {
			s.staged.remove(ref)
		}
		op.w = w
	}
	if maxSeq > s.lastSeq.Load() {
		s.lastSeq.Store(maxSeq)
	}
	for i, op := range ops {
		op.done <- results[i]
	}
	if maxSeq > 0 {
		s.notify()
	}
}

func safeCall(fn func(*wtx) error, w *wtx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fatal(fmt.Errorf("store: panic in write operation: %v", p))
		}
	}()
	return fn(w)
}

// Helpers that turn bbolt write errors into fatal ones.

func (w *wtx) put(bucket, k, v []byte) error {
	w.dirty = true
	return fatal(w.tx.Bucket(bucket).Put(k, v))
}

func (w *wtx) del(bucket, k []byte) error {
	w.dirty = true
	return fatal(w.tx.Bucket(bucket).Delete(k))
}

// nextSeq takes the next value of a bucket's sequence (a write).
func (w *wtx) nextSeq(bucket []byte) (uint64, error) {
	w.dirty = true
	n, err := w.tx.Bucket(bucket).NextSequence()
	return n, fatal(err)
}

func (w *wtx) load(k Key) (*Message, error) { return loadMessage(w.tx, k) }

func (w *wtx) save(m *Message) error {
	v, err := json.Marshal(m)
	if err != nil {
		return fatal(fmt.Errorf("store: encode message %s: %w", m.ID, err))
	}
	return w.put(bMsg, msgKey(m.Key), v)
}

// addCount adjusts a uint64 counter in bucket b, deleting it at zero (dueq relies on that
// to list only partners with waiting messages).
func (w *wtx) addCount(b, k []byte, delta int64) error {
	w.dirty = true
	bk := w.tx.Bucket(b)
	n := int64(getU64(bk.Get(k))) + delta
	if n <= 0 {
		return fatal(bk.Delete(k))
	}
	return fatal(bk.Put(k, u64(uint64(n))))
}
