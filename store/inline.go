package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Inline payloads.
//
// A payload file costs a create, a write, an fsync, a rename and an fsync of its shard
// directory: about 0.7 ms of CPU plus two flush latencies per small message, on top of
// the bbolt commit the insert pays anyway. A payload of at most Options.InlinePayloadBytes
// therefore never reaches the file system. PutPayload keeps it in memory ("staged") under
// the same kind of random BlobRef, and the insert that first references it writes it into
// the inline bucket in the same transaction that writes its blobs entry.
// One commit, one pair of fdatasyncs, makes message and payload durable together, so "a
// receipt means durably stored" holds exactly as for files: the receipt waits for that
// commit.
//
// What a crash loses: staged inline blobs only, i.e. payloads no committed message
// references, the same thing the sweep at open removes for files.
//
// Memory is bounded twice: PutPayload reads at most threshold+1 bytes into a pooled buffer
// before it knows which path a payload takes, and all staged blobs together stay under
// Options.InlineStagingBytes; past that cap a small payload is written as a file instead.
// Staged blobs that nobody inserts or discards go with the orphan sweep after OrphanGrace.
//
// An inline record is one format byte, then the payload: a record is never empty, and a
// later format (compressed, say) can be told from this one.
//
// The record is stored in chunks of about half a page, keyed ref|index(2), not as one
// value. bbolt never splits a leaf of four or fewer entries, however large, and rewrites a
// whole leaf whenever one entry in it changes: with whole payloads as values, each insert
// rewrote three or four neighbouring payloads too (measured: 53 KB of pages for a 10 KB
// payload, 283 KB for 64 KB). Half-page chunks make leaves of two chunks that fill a page,
// so an insert rewrites at most one leaf's worth of its neighbours.

const (
	// DefaultInlinePayloadBytes is Options.InlinePayloadBytes when it is 0.
	DefaultInlinePayloadBytes = 64 << 10
	// MaxInlinePayloadBytes caps Options.InlinePayloadBytes: bbolt copies a value into
	// every transaction that rewrites its leaf, and large values fragment its free pages;
	// files serve large payloads better.
	MaxInlinePayloadBytes = 1 << 20
	// DefaultInlineStagingBytes is Options.InlineStagingBytes when it is 0.
	DefaultInlineStagingBytes = 64 << 20

	inlineRaw byte = 0 // record format: the payload bytes as they are
)

// bInline holds committed inline payloads: ref|chunk(2) → a piece of inlineRaw|bytes.
var bInline = []byte("inline")

const inlineKeyLen = refLen + 2

func inlineKey(ref BlobRef, chunk int) []byte {
	k := make([]byte, inlineKeyLen)
	copy(k, ref)
	binary.BigEndian.PutUint16(k[refLen:], uint16(chunk))
	return k
}

// inlineChunkSize is the largest chunk of which two fit a leaf page with their keys and
// element headers (16 bytes of page header, 16 per element).
func inlineChunkSize(pageSize int) int {
	return max((pageSize-16)/2-16-inlineKeyLen, 256)
}

// inlineSize walks ref's chunks and returns the payload size; found false means ref has
// no inline record. It checks that the chunks are complete and the format is known.
func inlineSize(c *bolt.Cursor, ref BlobRef) (size int, found bool, err error) {
	prefix := []byte(ref)
	i := 0
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if len(k) != inlineKeyLen || int(binary.BigEndian.Uint16(k[refLen:])) != i || len(v) == 0 {
			return 0, true, fmt.Errorf("store: inline payload %s is damaged: chunk %d missing or malformed", ref, i)
		}
		if i == 0 && v[0] != inlineRaw {
			return 0, true, fmt.Errorf("store: inline payload %s: unknown record format (written by a newer as4gw?)", ref)
		}
		size += len(v)
		i++
	}
	if i == 0 {
		return 0, false, nil
	}
	return size - 1, true, nil
}

// readInline copies ref's payload out of tx.
func readInline(tx *bolt.Tx, ref BlobRef) (data []byte, found bool, err error) {
	c := tx.Bucket(bInline).Cursor()
	n, found, err := inlineSize(c, ref)
	if !found || err != nil {
		return nil, found, err
	}
	data = make([]byte, 0, n+1)
	prefix := []byte(ref)
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		data = append(data, v...)
	}
	return data[1:], true, nil
}

// Meta counters for Stats; a database written before inline payloads existed has none,
// which is right: it has no inline payloads.
var (
	kInlinePayloads = []byte("inline_payloads")
	kInlineBytes    = []byte("inline_payload_bytes")
)

// inlineStage holds the staged inline blobs. Its lock is a leaf: nothing else is taken
// while it is held.
type inlineStage struct {
	mu    sync.Mutex
	blobs map[BlobRef]stagedBlob
	bytes int64 // sum of len(rec) over blobs
	limit int64
}

type stagedBlob struct {
	rec     []byte // the bucket value; never modified once staged (bbolt and readers share it)
	created time.Time
}

func newInlineStage(limit int64) *inlineStage {
	return &inlineStage{blobs: map[BlobRef]stagedBlob{}, limit: limit}
}

// add stages rec under ref unless that would pass the memory cap.
func (st *inlineStage) add(ref BlobRef, rec []byte, now time.Time) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.bytes+int64(len(rec)) > st.limit {
		return false
	}
	st.blobs[ref] = stagedBlob{rec: rec, created: now}
	st.bytes += int64(len(rec))
	return true
}

func (st *inlineStage) get(ref BlobRef) ([]byte, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	b, ok := st.blobs[ref]
	return b.rec, ok
}

// remove drops ref (committed, discarded or expired) and reports whether it was staged.
func (st *inlineStage) remove(ref BlobRef) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	b, ok := st.blobs[ref]
	if ok {
		delete(st.blobs, ref)
		st.bytes -= int64(len(b.rec))
	}
	return ok
}

// olderThan lists the refs staged before cutoff.
func (st *inlineStage) olderThan(cutoff time.Time) []BlobRef {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []BlobRef
	for ref, b := range st.blobs {
		if b.created.Before(cutoff) {
			out = append(out, ref)
		}
	}
	return out
}

func (st *inlineStage) size() (blobs int, bytes int64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.blobs), st.bytes
}

// putInline reads up to the threshold from r. A payload that ends within it is staged in
// memory; a longer one, or one that finds the staging memory full, continues into a file
// with the bytes already read.
func (s *BoltStore) putInline(ctx context.Context, ref BlobRef, r io.Reader) (Blob, error) {
	bp := s.inlineBufs.Get().(*[]byte)
	defer s.inlineBufs.Put(bp)
	buf := *bp
	cr := ctxReader{ctx, r}
	n, err := fill(cr, buf)
	switch {
	case n == len(buf) && err == nil:
		return s.putFile(ref, buf, cr) // longer than the threshold
	case err != io.EOF:
		return Blob{}, fmt.Errorf("store: write payload: %w", err)
	}
	data := buf[:n]
	b := Blob{Ref: ref, Size: int64(n), SHA256: sha256.Sum256(data)}
	rec := make([]byte, n+1)
	rec[0] = inlineRaw
	copy(rec[1:], data)
	if s.staged.add(ref, rec, s.opts.Clock()) {
		return b, nil
	}
	return s.putFile(ref, data, nil)
}

// openInline returns a staged or committed inline blob; ok false means it is neither.
// A committed one is copied out of the read transaction: bbolt's memory is valid only
// until the transaction ends (and may be unmapped when the file grows).
func (s *BoltStore) openInline(ctx context.Context, ref BlobRef) (rc io.ReadCloser, ok bool, err error) {
	if rec, staged := s.staged.get(ref); staged {
		return inlineReader{bytes.NewReader(rec[1:])}, true, nil
	}
	var data []byte
	err = s.view(ctx, func(tx *bolt.Tx) (err error) {
		data, ok, err = readInline(tx, ref)
		return err
	})
	if err != nil || !ok {
		return nil, false, err
	}
	return inlineReader{bytes.NewReader(data)}, true, nil
}

// inlineReader is what OpenPayload returns for an inline blob. Like an *os.File it seeks
// and reads at offsets: the API serves Range requests through io.ReadSeeker.
type inlineReader struct{ *bytes.Reader }

func (inlineReader) Close() error { return nil }

// sweepStaged drops staged inline blobs older than cutoff that no commit took. It holds
// blobMu exclusively, like sweepShard, so no batch is between its blob check and its
// commit meanwhile. A blob committed but not yet released (finish runs after the commit)
// is released here without being counted.
func (s *BoltStore) sweepStaged(cutoff time.Time) (int, error) {
	old := s.staged.olderThan(cutoff)
	if len(old) == 0 {
		return 0, nil
	}
	s.blobMu.Lock()
	defer s.blobMu.Unlock()
	removed := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		blobs := tx.Bucket(bBlobs)
		for _, ref := range old {
			committed := blobs.Get([]byte(ref)) != nil
			if s.staged.remove(ref) && !committed {
				removed++
			}
		}
		return nil
	})
	return removed, err
}

// insertInline writes the staged blob ref into the inline bucket and reports whether ref
// was staged inline (false: it is a file). The chunks are slices of the staged record,
// which bbolt reads at the commit; the staged copy is released after it.
func (w *wtx) insertInline(ref BlobRef) (bool, error) {
	rec, ok := w.s.staged.get(ref)
	if !ok {
		return false, nil
	}
	size := w.s.inlineChunk
	for i, off := 0, 0; off < len(rec); i, off = i+1, off+size {
		if err := w.put(bInline, inlineKey(ref, i), rec[off:min(off+size, len(rec))]); err != nil {
			return false, err
		}
	}
	w.inlined = append(w.inlined, ref)
	return true, nil
}

// dropInline deletes ref's committed inline record and reports whether it had one (false:
// the blob is a file, to remove after the commit).
func (w *wtx) dropInline(ref BlobRef) (bool, error) {
	prefix := []byte(ref)
	var keys [][]byte // collect, then delete: deleting under a moving cursor can skip keys
	c := w.tx.Bucket(bInline).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := w.del(bInline, k); err != nil {
			return false, err
		}
	}
	return len(keys) > 0, nil
}

// addInlineCounts adjusts the Stats counters of committed inline payloads.
func (w *wtx) addInlineCounts(n, size int64) error {
	if n == 0 {
		return nil
	}
	if err := w.addCount(bMeta, kInlinePayloads, n); err != nil {
		return err
	}
	return w.addCount(bMeta, kInlineBytes, size)
}
