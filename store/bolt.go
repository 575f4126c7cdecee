package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Options tune a BoltStore. The zero value is the production default. There is
// deliberately no option to skip fsync: every acknowledgement this store backs promises
// that the data is on disk.
type Options struct {
	// Clock returns the current time (default time.Now). Tests set it.
	Clock func() time.Time
	// OrphanGrace is how old an unreferenced payload file must be before SweepOrphans
	// removes it while the store runs: longer than the longest time between PutPayload and
	// the insert that references the blob (an inbound message being verified, a slow
	// upload). Default 1h. The sweep at open needs no grace (see OpenBolt).
	OrphanGrace time.Duration
	// MaxBatch caps the operations committed in one transaction. Default 256.
	MaxBatch int
	// LockTimeout is how long OpenBolt waits for another process to release the database
	// file. Default 2s.
	LockTimeout time.Duration
	// InitialMmapSize reserves address space for the database so that growing it does not
	// remap while readers hold the old mapping. Default 0 (bbolt grows as needed).
	InitialMmapSize int
	// InlinePayloadBytes: payloads up to this size are kept in the database instead of a
	// file of their own (inline.go), committed with the message that references them.
	// 0 means DefaultInlinePayloadBytes (64 KiB); negative keeps every payload in a file;
	// at most MaxInlinePayloadBytes.
	InlinePayloadBytes int
	// InlineStagingBytes caps the memory of inline payloads staged but not yet inserted;
	// past it, small payloads go to files. 0 means DefaultInlineStagingBytes (64 MiB).
	InlineStagingBytes int64
}

func (o *Options) fill() {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.OrphanGrace <= 0 {
		o.OrphanGrace = time.Hour
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 256
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = 2 * time.Second
	}
	if o.InlinePayloadBytes == 0 {
		o.InlinePayloadBytes = DefaultInlinePayloadBytes
	}
	if o.InlineStagingBytes <= 0 {
		o.InlineStagingBytes = DefaultInlineStagingBytes
	}
}

// Recovery reports what OpenBolt repaired after an unclean stop, for the start-up log.
type Recovery struct {
	LeasesReleased int // SEND_IN_PROGRESS messages made due again
	OrphansRemoved int // payload files no committed message referenced
	TempRemoved    int // half-written payload files
}

// DBFileName is the database file inside the store directory.
const DBFileName = "as4gw.db"

// BoltStore is the embedded Store: one bbolt file plus payload files beside it.
//
// Layout of dir:
//
//	as4gw.db            the bbolt database (see keys.go for buckets)
//	payloads/tmp/       payload files being written
//	payloads/xx/<ref>   committed or staged payload files, xx = first two hex digits of ref
type BoltStore struct {
	dir        string
	payloadDir string
	db         *bolt.DB
	opts       Options

	// Group commit (commit.go). closeMu guards writes/closed: writers enqueue under the
	// read lock, Close takes the write lock, so nothing is enqueued after the channel closes.
	writes   chan *writeOp
	closeMu  sync.RWMutex
	closed   bool
	loopDone chan struct{}

	// blobMu orders orphan sweeps against inserts: a batch holds it shared from its
	// payload checks to its commit, a sweep holds it exclusively while it decides and
	// removes, so a sweep never removes a file a commit is about to reference.
	blobMu sync.RWMutex
	// writing holds the temporary file names of PutPayloads in progress.
	writing sync.Map
	// shardReady caches which payload shard directories exist.
	shardReady [256]atomic.Bool

	notifyMu sync.Mutex
	notifyCh chan struct{}

	commits atomic.Uint64
	// commitLatency times each commit (write and fsync), for metrics.
	commitLatency latencyHistogram
	writeOps      atomic.Uint64
	lastSeq       atomic.Uint64

	// rrStart is where the next ClaimDue starts its round over partners; only the commit
	// goroutine touches it.
	rrStart string

	recovery Recovery
	migrated Migrated

	// deletions defers payload file removals while a backup copies files (backup.go).
	deletions deletionGate

	// Inline payloads (inline.go): the threshold (0: off), the staged blobs, and
	// PutPayload's read buffers of threshold+1 bytes.
	inlineMax   int
	inlineChunk int // bytes per inline chunk, from the database's page size
	staged      *inlineStage
	inlineBufs  sync.Pool
}

var _ Store = (*BoltStore)(nil)

// OpenBolt opens (creating if needed) the store in dir. It checks the schema version,
// then repairs what a crash can leave behind. A bbolt file is held by one process at a
// time (an exclusive flock), so at open nothing else can be using the store:
//   - every SEND_IN_PROGRESS lease belongs to a dead process and is released at once;
//   - every payload file that no committed message references is an orphan of a dead
//     process (staged, or written but never committed) and is removed, whatever its age.
func OpenBolt(dir string, opts Options) (*BoltStore, error) {
	return openBolt(dir, opts, currentSchema())
}

func openBolt(dir string, opts Options, sc schema) (*BoltStore, error) {
	opts.fill()
	if opts.InlinePayloadBytes > MaxInlinePayloadBytes {
		return nil, fmt.Errorf("%w: inline payload threshold %d bytes, at most %d", ErrInvalid, opts.InlinePayloadBytes, MaxInlinePayloadBytes)
	}
	s := &BoltStore{
		dir:        dir,
		payloadDir: filepath.Join(dir, "payloads"),
		opts:       opts,
		writes:     make(chan *writeOp, 4*opts.MaxBatch),
		loopDone:   make(chan struct{}),
		notifyCh:   make(chan struct{}),
		inlineMax:  max(opts.InlinePayloadBytes, 0),
		staged:     newInlineStage(opts.InlineStagingBytes),
	}
	bufSize := s.inlineMax + 1
	s.inlineBufs.New = func() any { b := make([]byte, bufSize); return &b }
	if err := s.preparePayloadDirs(); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, DBFileName)
	_, statErr := os.Stat(path)
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: opts.LockTimeout,
		// The freelist is rebuilt from the pages at open instead of being written on every
		// commit (etcd's setting): less to write per commit, same durability.
		NoFreelistSync:  true,
		FreelistType:    bolt.FreelistMapType,
		InitialMmapSize: opts.InitialMmapSize,
	})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("store: %s is in use by another process (waited %s for its lock)", path, opts.LockTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	s.db = db
	s.inlineChunk = inlineChunkSize(db.Info().PageSize)
	if os.IsNotExist(statErr) {
		// The new file's directory entry must survive a power loss too.
		if err := syncDir(dir); err != nil {
			db.Close()
			return nil, err
		}
	}
	if err := s.initSchema(path, sc); err != nil {
		db.Close()
		return nil, err
	}
	go s.commitLoop()

	n, err := s.recoverLeases(context.Background(), time.Time{}, true, "lease released at start-up (previous process stopped)")
	if err == nil {
		s.recovery.LeasesReleased = n
		s.recovery.OrphansRemoved, s.recovery.TempRemoved, err = s.sweep(0, true)
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("store: recovery at open: %w", err)
	}
	return s, nil
}

// initSchema checks the version before touching anything, so a newer database is never
// modified by an older binary, migrates an older one (migrate.go), and creates missing
// buckets.
func (s *BoltStore) initSchema(path string, sc schema) error {
	m, err := upgrade(s.db, path, sc)
	if err != nil {
		return err
	}
	s.migrated = m
	return s.db.View(func(tx *bolt.Tx) error {
		s.lastSeq.Store(tx.Bucket(bEvents).Sequence())
		return nil
	})
}

// Migrated reports the schema upgrade OpenBolt made, if any.
func (s *BoltStore) Migrated() Migrated { return s.migrated }

// Recovered reports what OpenBolt repaired.
func (s *BoltStore) Recovered() Recovery { return s.recovery }

// Dir returns the store directory.
func (s *BoltStore) Dir() string { return s.dir }

// Close waits for the writes already accepted to commit, then closes the database.
// Writes after Close fail with ErrClosed.
func (s *BoltStore) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	close(s.writes)
	s.closeMu.Unlock()
	<-s.loopDone
	return s.db.Close()
}

// view runs a read transaction unless the store is closed; Close waits for it.
func (s *BoltStore) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return s.db.View(fn)
}

func loadMessage(tx *bolt.Tx, k Key) (*Message, error) {
	v := tx.Bucket(bMsg).Get(msgKey(k))
	if v == nil {
		return nil, fmt.Errorf("%w: message key %d", ErrNotFound, k)
	}
	m := new(Message)
	if err := json.Unmarshal(v, m); err != nil {
		return nil, fmt.Errorf("store: message key %d: undecodable record: %w", k, err)
	}
	return m, nil
}

// Get returns a message by key.
func (s *BoltStore) Get(ctx context.Context, k Key) (Message, error) {
	var m *Message
	err := s.view(ctx, func(tx *bolt.Tx) (err error) {
		m, err = loadMessage(tx, k)
		return err
	})
	if err != nil {
		return Message{}, err
	}
	return *m, nil
}

// Find returns the messages with a MessageId in one direction.
func (s *BoltStore) Find(ctx context.Context, dir Direction, messageID string) ([]Message, error) {
	if err := checkKeyString("message id", messageID, maxIDLen, true); err != nil {
		return nil, err
	}
	var out []Message
	err := s.view(ctx, func(tx *bolt.Tx) error {
		keys, err := findKeys(tx, dir, messageID)
		if err != nil {
			return err
		}
		for _, k := range keys {
			m, err := loadMessage(tx, k)
			if err != nil {
				return err
			}
			out = append(out, *m)
		}
		return nil
	})
	return out, err
}

func findKeys(tx *bolt.Tx, dir Direction, messageID string) ([]Key, error) {
	switch dir {
	case Outbound:
		if v := tx.Bucket(bOutID).Get([]byte(messageID)); v != nil {
			return []Key{Key(getU64(v))}, nil
		}
		return nil, nil
	case Inbound:
		var keys []Key
		prefix := join([]byte(messageID), sep)
		c := tx.Bucket(bInDup).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			keys = append(keys, Key(getU64(v)))
		}
		return keys, nil
	}
	return nil, fmt.Errorf("%w: direction %q", ErrInvalid, dir)
}

// History returns a message's state changes, oldest first.
func (s *BoltStore) History(ctx context.Context, k Key) ([]Event, error) {
	var out []Event
	err := s.view(ctx, func(tx *bolt.Tx) error {
		if tx.Bucket(bMsg).Get(msgKey(k)) == nil {
			return fmt.Errorf("%w: message key %d", ErrNotFound, k)
		}
		prefix := msgKey(k)
		c := tx.Bucket(bHist).Cursor()
		for hk, v := c.Seek(prefix); hk != nil && bytes.HasPrefix(hk, prefix); hk, v = c.Next() {
			var e Event
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("store: history of key %d: %w", k, err)
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// Stats returns sizes and counters.
func (s *BoltStore) Stats(ctx context.Context) (Stats, error) {
	st := Stats{Messages: map[State]int64{}}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		st.DBBytes = tx.Size() // in use; the file may be larger (bbolt grows it in steps)
		if fi, err := os.Stat(filepath.Join(s.dir, DBFileName)); err == nil {
			st.DBBytes = fi.Size()
		}
		meta := tx.Bucket(bMeta)
		st.PayloadFiles = int64(getU64(meta.Get(kPayloadFiles)))
		st.PayloadBytes = int64(getU64(meta.Get(kPayloadBytes)))
		st.InlinePayloads = int64(getU64(meta.Get(kInlinePayloads)))
		st.InlinePayloadBytes = int64(getU64(meta.Get(kInlineBytes)))
		for _, state := range AllStates {
			if n := getU64(meta.Get(stateCountKey(state))); n > 0 {
				st.Messages[state] = int64(n)
			}
		}
		st.LastEventSeq = tx.Bucket(bEvents).Sequence()
		return nil
	})
	n, size := s.staged.size()
	st.StagedInlinePayloads, st.StagedInlineBytes = int64(n), size
	st.Commits = s.commits.Load()
	st.CommitLatency = s.commitLatency.snapshot()
	st.WriteOps = s.writeOps.Load()
	return st, err
}
