package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Payload files.
//
// A payload is written before the message that references it exists (the MSH decrypts
// attachments while the message is still being verified; a backend streams an upload
// before the submit commits), so a file cannot be named after its message. Each gets a
// random 128-bit name instead, in one of 256 shard directories: names never collide, not
// even for a duplicate being staged while the original is stored, and no directory grows
// past a few thousand entries per million payloads.
//
// Making a payload durable (PutPayload):
//  1. write payloads/<shard>/<ref>.part, hashing as it goes;
//  2. fsync the file (its bytes are on disk);
//  3. rename it to payloads/<xx>/<ref> (atomic: the final name never holds a partial file);
//  4. fsync payloads/<xx> (the new name is on disk).
//
// Only then does PutPayload return, and only after that can an insert referencing the
// blob commit. After a crash, every committed Payload.Blob names a complete file (or an
// inline record, inline.go); files no commit references are orphans for the sweep.

const (
	refLen  = 32 // hex digits of a 128-bit random name
	tmpDir  = "tmp"
	partExt = ".part"
)

func validRef(r BlobRef) bool {
	if len(r) != refLen {
		return false
	}
	for i := 0; i < len(r); i++ {
		c := r[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func (s *BoltStore) blobPath(r BlobRef) string {
	return filepath.Join(s.payloadDir, string(r[:2]), string(r))
}

// preparePayloadDirs creates payloads/ and payloads/tmp/. Shards are created on first use
// (ensureShard): 256 mkdirs cost a quarter of a second on some disks, too much for every
// open.
func (s *BoltStore) preparePayloadDirs() error {
	if err := mkdirDurable(s.dir); err != nil {
		return err
	}
	for _, d := range []string{s.payloadDir, filepath.Join(s.payloadDir, tmpDir)} {
		err := os.Mkdir(d, 0o700)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		if err := syncDir(filepath.Dir(d)); err != nil {
			return err
		}
	}
	return nil
}

// ensureShard creates a shard directory and makes its name durable before the first file
// is renamed into it.
func (s *BoltStore) ensureShard(ref BlobRef) error {
	i, _ := strconv.ParseUint(string(ref[:2]), 16, 8)
	if s.shardReady[i].Load() {
		return nil
	}
	err := os.Mkdir(filepath.Join(s.payloadDir, string(ref[:2])), 0o700)
	switch {
	case err == nil:
		if err := syncDir(s.payloadDir); err != nil {
			return err
		}
	case !errors.Is(err, os.ErrExist):
		return fmt.Errorf("store: %w", err)
	}
	s.shardReady[i].Store(true)
	return nil
}

// mkdirDurable creates dir and any missing parents, and fsyncs the parent of each one it
// created, so that the store's directory itself survives a power loss.
func mkdirDurable(dir string) error {
	dir = filepath.Clean(dir)
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := syncDir(filepath.Dir(missing[i])); err != nil {
			return err
		}
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("store: sync dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("store: sync dir %s: %w", dir, err)
	}
	return nil
}

// ctxReader stops a long copy when the context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// copyBufs hold PutPayload's copy buffers: allocating and clearing 256 KiB
// per payload showed in the profile of small messages.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// PutPayload streams r into a new durable blob (see the steps above), or stages a small
// one in memory (inline.go).
func (s *BoltStore) PutPayload(ctx context.Context, r io.Reader) (Blob, error) {
	if err := s.checkOpen(); err != nil {
		return Blob{}, err
	}
	var rnd [refLen / 2]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return Blob{}, fmt.Errorf("store: %w", err)
	}
	ref := BlobRef(hex.EncodeToString(rnd[:]))
	if s.inlineMax > 0 {
		return s.putInline(ctx, ref, r)
	}
	return s.putFile(ref, nil, ctxReader{ctx, r})
}

// putFile writes prefix, then the rest of r (nil: nothing more), into the payload file
// ref. The prefix is what putInline read before it knew the payload was too large.
func (s *BoltStore) putFile(ref BlobRef, prefix []byte, r io.Reader) (Blob, error) {
	name := string(ref) + partExt
	// The temporary file lives in its shard, not in one shared tmp/ directory: every
	// upload creating and renaming out of the same directory contended on it, and a
	// create there cost ~0.9 ms of CPU under load (profiled).
	if err := s.ensureShard(ref); err != nil {
		return Blob{}, err
	}
	tmp := filepath.Join(s.payloadDir, string(ref[:2]), name)
	// A slow upload's temporary file is not the sweep's to take, however old.
	s.writing.Store(name, true)
	defer s.writing.Delete(name)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return Blob{}, fmt.Errorf("store: new payload: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	h := sha256.New()
	w := io.MultiWriter(f, h)
	n := int64(len(prefix))
	if n > 0 {
		if _, err := w.Write(prefix); err != nil {
			return Blob{}, fmt.Errorf("store: write payload: %w", err)
		}
	}
	if r != nil {
		m, err := pipeCopy(w, r)
		if err != nil {
			return Blob{}, fmt.Errorf("store: write payload: %w", err)
		}
		n += m
	}
	if err := f.Sync(); err != nil {
		return Blob{}, fmt.Errorf("store: sync payload: %w", err)
	}
	if err := f.Close(); err != nil {
		return Blob{}, fmt.Errorf("store: close payload: %w", err)
	}
	final := s.blobPath(ref)
	if err := os.Rename(tmp, final); err != nil {
		return Blob{}, fmt.Errorf("store: commit payload: %w", err)
	}
	ok = true
	if err := syncDir(filepath.Dir(final)); err != nil {
		os.Remove(final)
		return Blob{}, err
	}
	b := Blob{Ref: ref, Size: n}
	h.Sum(b.SHA256[:0])
	return b, nil
}

func (s *BoltStore) checkOpen() error {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return nil
}

// OpenPayload opens a blob for reading. It opens staged blobs too (the MSH may read back
// what it stored before the insert); a blob of a DELETED message is gone. Inline blobs
// are looked up first: a B+tree seek costs less than a failed open.
func (s *BoltStore) OpenPayload(ctx context.Context, ref BlobRef) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !validRef(ref) {
		return nil, fmt.Errorf("%w: blob reference %q", ErrInvalid, ref)
	}
	if rc, ok, err := s.openInline(ctx, ref); ok || err != nil {
		return rc, err
	}
	f, err := os.Open(s.blobPath(ref))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: blob %s", ErrNotFound, ref)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open payload: %w", err)
	}
	return f, nil
}

// DiscardPayload removes a staged blob (one no message references).
func (s *BoltStore) DiscardPayload(ctx context.Context, ref BlobRef) error {
	if !validRef(ref) {
		return fmt.Errorf("%w: blob reference %q", ErrInvalid, ref)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Lock order everywhere: closeMu (shared), then blobMu.
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	// Exclusive: no batch can be between its blob check and its commit meanwhile.
	s.blobMu.Lock()
	defer s.blobMu.Unlock()
	var owner uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		owner = getU64(tx.Bucket(bBlobs).Get([]byte(ref)))
		return nil
	})
	if err != nil {
		return err
	}
	if owner != 0 {
		return fmt.Errorf("%w: blob %s belongs to message key %d; delete the message instead", ErrInvalid, ref, owner)
	}
	if s.staged.remove(ref) {
		return nil
	}
	if err := s.deletions.remove(s.blobPath(ref)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("store: discard payload: %w", err)
	}
	return nil
}

// removeBlobFile deletes a file the last commit stopped referencing. A failure is left to
// the orphan sweep.
func (s *BoltStore) removeBlobFile(ref BlobRef) {
	_ = s.deletions.remove(s.blobPath(ref))
}

// SweepOrphans removes payload files that no committed message references and that are
// older than the grace period (Options.OrphanGrace when grace is 0), temporary files as
// old, and staged inline payloads as old. Run it now and then while the store runs;
// OpenBolt runs it with no grace (nothing is staged in memory at open).
func (s *BoltStore) SweepOrphans(ctx context.Context, grace time.Duration) (removed int, err error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.closeMu.RLock() // Close waits for the sweep
	defer s.closeMu.RUnlock()
	if s.closed {
		return 0, ErrClosed
	}
	if grace <= 0 {
		grace = s.opts.OrphanGrace
	}
	orphans, temps, err := s.sweep(grace, false)
	if err != nil {
		return orphans + temps, err
	}
	staged, err := s.sweepStaged(s.opts.Clock().Add(-grace))
	return orphans + temps + staged, err
}

// sweep walks the payload tree. atOpen: nothing else runs yet, so no grace is needed and
// no lock is taken.
func (s *BoltStore) sweep(grace time.Duration, atOpen bool) (orphans, temps int, err error) {
	cutoff := s.opts.Clock().Add(-grace)
	old := func(e os.DirEntry) bool {
		if atOpen {
			return true
		}
		fi, err := e.Info()
		return err == nil && fi.ModTime().Before(cutoff)
	}
	tmp := filepath.Join(s.payloadDir, tmpDir)
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return 0, 0, fmt.Errorf("store: sweep: %w", err)
	}
	for _, e := range entries {
		if _, busy := s.writing.Load(e.Name()); busy || !old(e) {
			continue
		}
		if os.Remove(filepath.Join(tmp, e.Name())) == nil {
			temps++
		}
	}
	for i := 0; i < 256; i++ {
		shard := filepath.Join(s.payloadDir, fmt.Sprintf("%02x", i))
		entries, err := os.ReadDir(shard)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return orphans, temps, fmt.Errorf("store: sweep: %w", err)
		}
		var candidates []string
		for _, e := range entries {
			if !e.IsDir() && old(e) {
				candidates = append(candidates, e.Name())
			}
		}
		if len(candidates) == 0 {
			continue
		}
		n, err := s.sweepShard(shard, candidates, atOpen)
		orphans += n
		if err != nil {
			return orphans, temps, err
		}
	}
	return orphans, temps, nil
}

// sweepShard removes the candidates no committed message references. It holds blobMu
// exclusively (a shard at a time) so that no batch commits a reference to a file between
// the lookup and the removal.
func (s *BoltStore) sweepShard(shard string, names []string, atOpen bool) (int, error) {
	if !atOpen {
		s.blobMu.Lock()
		defer s.blobMu.Unlock()
	}
	removed := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		blobs := tx.Bucket(bBlobs)
		for _, name := range names {
			// Foreign names (not a ref) are not ours to judge, except our own leftovers.
			if !validRef(BlobRef(name)) && !strings.HasSuffix(name, partExt) {
				continue
			}
			if _, busy := s.writing.Load(name); busy {
				continue // a slow upload's temporary file
			}
			if blobs.Get([]byte(name)) != nil {
				continue
			}
			if err := s.deletions.remove(filepath.Join(shard, name)); err == nil {
				removed++
			}
		}
		return nil
	})
	return removed, err
}
