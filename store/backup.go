package store

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A backup is a tar stream: as4gw.db (a consistent snapshot), then every payload file that
// snapshot references as payloads/xx/<ref>, then manifest.json with a SHA-256 per file.
// The manifest comes last so the archive can be streamed while it is hashed; a stream cut
// short has no manifest and fails verification. Inline payloads (inline.go) are inside the
// database snapshot and have no file of their own.
const (
	BackupFormat        = "as4gw-backup"
	BackupFormatVersion = 1
	ManifestName        = "manifest.json"
	maxManifestBytes    = 256 << 20
)

// Manifest describes a backup.
type Manifest struct {
	Format        string    `json:"format"`
	FormatVersion int       `json:"formatVersion"`
	SchemaVersion int       `json:"schemaVersion"`
	Created       time.Time `json:"created"`
	Messages      int       `json:"messages"`
	// Every payload the snapshot references (as Stats counts them), and of those the ones
	// inside the database (inline.go); the others are files of the archive. An as4gw that
	// predates inline payloads sees more payloads counted than files and refuses the
	// archive, rightly: it could not read the inline ones.
	PayloadFiles       int            `json:"payloadFiles"`
	PayloadBytes       int64          `json:"payloadBytes"`
	InlinePayloads     int            `json:"inlinePayloads,omitempty"`
	InlinePayloadBytes int64          `json:"inlinePayloadBytes,omitempty"`
	LastEventSeq       uint64         `json:"lastEventSeq"`
	Files              []ManifestFile `json:"files"`
}

// ManifestFile is one file of the archive.
type ManifestFile struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// deletionGate defers payload file removals while a backup runs. The backup copies the
// files its snapshot references after the snapshot's transaction has ended (holding a
// bbolt read transaction for the whole copy would stall commits that grow the file), so a
// message deleted meanwhile, or an orphan sweep, must not take a file away under it.
// Deferring instead of blocking keeps the commit goroutine (removeBlobFile) from ever
// waiting on a slow backup client. Payload names are random and never reused, so a file
// unreferenced once stays unreferenced: removing it later is always right, and a crash
// before then leaves an orphan that the sweep at open removes.
type deletionGate struct {
	mu       sync.Mutex
	active   int
	deferred []string
}

// remove deletes path now, or when the last running backup ends.
func (g *deletionGate) remove(path string) error {
	g.mu.Lock()
	if g.active > 0 {
		g.deferred = append(g.deferred, path)
		g.mu.Unlock()
		return nil
	}
	g.mu.Unlock()
	return os.Remove(path)
}

func (g *deletionGate) begin() {
	g.mu.Lock()
	g.active++
	g.mu.Unlock()
}

func (g *deletionGate) end() {
	g.mu.Lock()
	g.active--
	var todo []string
	if g.active == 0 {
		todo, g.deferred = g.deferred, nil
	}
	g.mu.Unlock()
	for _, p := range todo {
		_ = os.Remove(p)
	}
}

// Backup writes a consistent online backup of the store to w (see Manifest) and returns
// its manifest. Writes go on meanwhile; the archive holds the store as of one moment.
func (s *BoltStore) Backup(ctx context.Context, w io.Writer) (Manifest, error) {
	s.deletions.begin()
	defer s.deletions.end()

	snap, err := os.CreateTemp(filepath.Join(s.payloadDir, tmpDir), "backup-*.db")
	if err != nil {
		return Manifest{}, fmt.Errorf("store: backup: %w", err)
	}
	// The sweep leaves files being written alone; the open descriptor keeps the data
	// readable even if the file were removed.
	s.writing.Store(filepath.Base(snap.Name()), struct{}{})
	defer func() {
		snap.Close()
		os.Remove(snap.Name())
		s.writing.Delete(filepath.Base(snap.Name()))
	}()

	man := Manifest{Format: BackupFormat, FormatVersion: BackupFormatVersion, Created: s.opts.Clock().UTC()}
	var refs []BlobRef
	var dbSize int64
	err = s.view(ctx, func(tx *bolt.Tx) error {
		v, err := readVersion(tx, DBFileName)
		if err != nil {
			return err
		}
		man.SchemaVersion = v
		man.Messages = tx.Bucket(bMsg).Stats().KeyN
		man.LastEventSeq = tx.Bucket(bEvents).Sequence()
		inline := tx.Bucket(bInline).Cursor()
		err = tx.Bucket(bBlobs).ForEach(func(k, _ []byte) error {
			// A record this build cannot read is still in the snapshot; ReadBackup (of
			// the as4gw that wrote it) judges it, the backup does not fail over it.
			n, found, _ := inlineSize(inline, BlobRef(k))
			if found {
				man.InlinePayloads++
				man.InlinePayloadBytes += int64(n)
				man.PayloadFiles++
				man.PayloadBytes += int64(n)
				return nil
			}
			refs = append(refs, BlobRef(k))
			return nil
		})
		if err != nil {
			return err
		}
		dbSize, err = tx.WriteTo(snap)
		return err
	})
	if err != nil {
		return Manifest{}, fmt.Errorf("store: backup snapshot: %w", err)
	}
	if _, err := snap.Seek(0, io.SeekStart); err != nil {
		return Manifest{}, fmt.Errorf("store: backup: %w", err)
	}

	tw := tar.NewWriter(w)
	add := func(name string, size int64, r io.Reader) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o600, ModTime: man.Created, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		h := sha256.New()
		n, err := io.Copy(tw, io.TeeReader(io.LimitReader(r, size), h))
		if err != nil {
			return err
		}
		if n != size {
			return fmt.Errorf("%s: %d bytes, expected %d", name, n, size)
		}
		man.Files = append(man.Files, ManifestFile{Name: name, Size: size, SHA256: hex.EncodeToString(h.Sum(nil))})
		return nil
	}
	if err := add(DBFileName, dbSize, snap); err != nil {
		return Manifest{}, fmt.Errorf("store: backup: %w", err)
	}
	for _, ref := range refs {
		if err := s.addBlob(ref, add); err != nil {
			return Manifest{}, fmt.Errorf("store: backup payload %s: %w", ref, err)
		}
		man.PayloadFiles++
		man.PayloadBytes += man.Files[len(man.Files)-1].Size
	}
	body, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return Manifest{}, err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: ManifestName, Size: int64(len(body)), Mode: 0o600, ModTime: man.Created, Format: tar.FormatPAX}); err != nil {
		return Manifest{}, fmt.Errorf("store: backup: %w", err)
	}
	if _, err := tw.Write(body); err != nil {
		return Manifest{}, fmt.Errorf("store: backup: %w", err)
	}
	if err := tw.Close(); err != nil {
		return Manifest{}, fmt.Errorf("store: backup: %w", err)
	}
	return man, nil
}

func (s *BoltStore) addBlob(ref BlobRef, add func(string, int64, io.Reader) error) error {
	f, err := os.Open(s.blobPath(ref))
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	return add(blobArchiveName(ref), fi.Size(), f)
}

func blobArchiveName(ref BlobRef) string { return "payloads/" + string(ref[:2]) + "/" + string(ref) }

// ReadBackup reads and verifies a backup archive from r: only the expected names, each
// file's size and SHA-256 against the manifest, nothing missing or extra, and a database
// that opens, has a schema version this build understands and references only payload
// files that are in the archive. With dest != "" it also writes the files under dest (a
// new, empty store directory), each fsynced; on an error dest holds a partial copy that
// the caller removes. It never writes outside dest.
func ReadBackup(r io.Reader, dest string) (Manifest, error) {
	return readBackup(r, dest, "")
}

// VerifyBackup is ReadBackup without extracting: only the database is written, to a
// temporary file in scratch ("" = the system's temporary directory, often a small tmpfs;
// give a directory with room for the database) and removed afterwards.
func VerifyBackup(r io.Reader, scratch string) (Manifest, error) {
	return readBackup(r, "", scratch)
}

func readBackup(r io.Reader, dest, scratch string) (Manifest, error) {
	tmpDB := ""
	defer func() {
		if tmpDB != "" {
			os.Remove(tmpDB)
		}
	}()
	type seenFile struct {
		size int64
		sum  string
	}
	seen := map[string]seenFile{}
	var man *Manifest
	dbPath := ""
	tr := tar.NewReader(r)
	for i := 0; ; i++ {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Manifest{}, fmt.Errorf("backup: not a readable tar archive (truncated?): %w", err)
		}
		name := hdr.Name
		if man != nil {
			return Manifest{}, fmt.Errorf("backup: %q after %s: the manifest must be the last entry", name, ManifestName)
		}
		if hdr.Typeflag != tar.TypeReg {
			return Manifest{}, fmt.Errorf("backup: %q is not a regular file (type %q)", name, hdr.Typeflag)
		}
		if hdr.Size < 0 {
			return Manifest{}, fmt.Errorf("backup: %q has a negative size", name)
		}
		if _, dup := seen[name]; dup {
			return Manifest{}, fmt.Errorf("backup: %q appears twice", name)
		}
		switch {
		case i == 0 && name != DBFileName:
			return Manifest{}, fmt.Errorf("backup: the first entry is %q, want %s", name, DBFileName)
		case name == ManifestName:
			if hdr.Size > maxManifestBytes {
				return Manifest{}, fmt.Errorf("backup: %s is %d bytes, over the limit of %d", name, hdr.Size, maxManifestBytes)
			}
			body, err := io.ReadAll(tr)
			if err != nil {
				return Manifest{}, fmt.Errorf("backup: reading %s: %w", name, err)
			}
			man = &Manifest{}
			if err := json.Unmarshal(body, man); err != nil {
				return Manifest{}, fmt.Errorf("backup: %s: %w", name, err)
			}
			continue
		case name == DBFileName:
		case !isBlobArchiveName(name):
			return Manifest{}, fmt.Errorf("backup: unexpected entry %q (only %s, payloads/xx/<ref> and %s)", name, DBFileName, ManifestName)
		}
		out := io.Discard
		var f *os.File
		switch {
		case dest != "":
			target := filepath.Join(dest, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
				return Manifest{}, err
			}
			if f, err = os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600); err != nil {
				return Manifest{}, err
			}
			if name == DBFileName {
				dbPath = target
			}
		case name == DBFileName:
			if f, err = os.CreateTemp(scratch, ".as4gw-verify-*.db"); err != nil {
				return Manifest{}, err
			}
			tmpDB, dbPath = f.Name(), f.Name()
		}
		if f != nil {
			out = f
		}
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(out, h), tr)
		if f != nil {
			if err == nil && dest != "" {
				err = f.Sync()
			}
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			return Manifest{}, fmt.Errorf("backup: reading %q: %w", name, err)
		}
		seen[name] = seenFile{size: n, sum: hex.EncodeToString(h.Sum(nil))}
	}
	if man == nil {
		return Manifest{}, fmt.Errorf("backup: no %s: the archive is incomplete (the backup was cut short?)", ManifestName)
	}
	if man.Format != BackupFormat || man.FormatVersion != BackupFormatVersion {
		return Manifest{}, fmt.Errorf("backup: format %q version %d, this as4gw reads %q version %d", man.Format, man.FormatVersion, BackupFormat, BackupFormatVersion)
	}
	listed := map[string]bool{}
	blobs := 0
	for _, mf := range man.Files {
		got, ok := seen[mf.Name]
		switch {
		case listed[mf.Name]:
			return Manifest{}, fmt.Errorf("backup: manifest lists %q twice", mf.Name)
		case !ok:
			return Manifest{}, fmt.Errorf("backup: manifest lists %q, which the archive lacks", mf.Name)
		case got.size != mf.Size || got.sum != strings.ToLower(mf.SHA256):
			return Manifest{}, fmt.Errorf("backup: %q is damaged: %d bytes with SHA-256 %s, manifest says %d bytes with %s", mf.Name, got.size, got.sum, mf.Size, mf.SHA256)
		}
		listed[mf.Name] = true
		if mf.Name != DBFileName {
			blobs++
		}
	}
	for name := range seen {
		if !listed[name] {
			return Manifest{}, fmt.Errorf("backup: %q is in the archive but not in the manifest", name)
		}
	}
	if dbPath == "" {
		return Manifest{}, fmt.Errorf("backup: no %s in the archive", DBFileName)
	}
	if man.InlinePayloads < 0 || blobs != man.PayloadFiles-man.InlinePayloads {
		return Manifest{}, fmt.Errorf("backup: manifest counts %d payloads, %d of them inline, but lists %d payload files", man.PayloadFiles, man.InlinePayloads, blobs)
	}
	if err := checkBackupDB(dbPath, man, seen); err != nil {
		return Manifest{}, err
	}
	if dest != "" {
		if err := syncTree(dest); err != nil {
			return Manifest{}, err
		}
	}
	return *man, nil
}

func isBlobArchiveName(name string) bool {
	shard, ref, ok := strings.Cut(strings.TrimPrefix(name, "payloads/"), "/")
	return ok && strings.HasPrefix(name, "payloads/") && validRef(BlobRef(ref)) && shard == ref[:2]
}

// checkBackupDB opens the archived database read-only and checks it against the manifest
// and the payload files found.
func checkBackupDB[T any](path string, man *Manifest, files map[string]T) (err error) {
	// bbolt trusts its pages once the meta checksums match; a damaged but well-formed
	// file must still not take the process down.
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("backup: %s is damaged: %v", DBFileName, v)
		}
	}()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return fmt.Errorf("backup: %s does not open as a database: %w", DBFileName, err)
	}
	defer db.Close()
	return db.View(func(tx *bolt.Tx) error {
		v, err := readVersion(tx, DBFileName)
		if err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		if v == 0 || v > SchemaVersion {
			return fmt.Errorf("backup: the database has schema version %d; this as4gw reads 1..%d (use the as4gw that made the backup, or a newer one)", v, SchemaVersion)
		}
		if v != man.SchemaVersion {
			return fmt.Errorf("backup: the database has schema version %d, the manifest says %d", v, man.SchemaVersion)
		}
		for _, b := range [][]byte{bMsg, bBlobs} {
			if tx.Bucket(b) == nil {
				return fmt.Errorf("backup: the database lacks bucket %s", b)
			}
		}
		if n := tx.Bucket(bMsg).Stats().KeyN; n != man.Messages {
			return fmt.Errorf("backup: the database holds %d messages, the manifest says %d", n, man.Messages)
		}
		var inline *bolt.Cursor
		if b := tx.Bucket(bInline); b != nil { // nil in a backup made before inline payloads
			inline = b.Cursor()
		}
		return tx.Bucket(bBlobs).ForEach(func(k, _ []byte) error {
			ref := BlobRef(k)
			if !validRef(ref) {
				return fmt.Errorf("backup: the database references an invalid payload name %q", k)
			}
			if inline != nil {
				if _, found, err := inlineSize(inline, ref); err != nil {
					return fmt.Errorf("backup: %w", err)
				} else if found {
					return nil
				}
			}
			if _, ok := files[blobArchiveName(ref)]; !ok {
				return fmt.Errorf("backup: payload file %s, referenced by the database, is missing", ref)
			}
			return nil
		})
	})
}

// syncTree fsyncs every directory under root (files were synced as they were written), so
// the restored tree survives a power loss.
func syncTree(root string) error {
	return filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		return syncDir(p)
	})
}
