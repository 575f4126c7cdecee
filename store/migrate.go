package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// Migration upgrades the database from schema version From to From+1. It runs inside the
// write transaction that also records the new version, so a crash or an error mid-way
// leaves the database exactly at From.
type Migration struct {
	From int
	// What it does, for the start-up log ("index messages by conversation").
	Name string
	Up   func(tx *bolt.Tx) error
}

// migrations upgrade older databases to SchemaVersion, in order. Adding a step is one
// entry here (From = the old SchemaVersion) and SchemaVersion+1 in keys.go; a new bucket
// alone needs no step (allBuckets are created at every open). TestMigrationsList checks
// that the list leads from 1 to SchemaVersion without gaps.
var migrations = []Migration{
	{From: 1, Name: "index finished messages for retention", Up: backfillRetentionIndex},
	// Nothing to convert: the inline bucket is created at open. The version moves so that
	// an older binary, which would see small payloads as missing, refuses the database
	// (and the upgrade keeps its pre-upgrade copy).
	{From: 2, Name: "keep small payloads inside the database", Up: func(*bolt.Tx) error { return nil }},
}

// schema is what a binary understands: its version and how to get there.
type schema struct {
	version int
	steps   []Migration
	buckets [][]byte
}

func currentSchema() schema {
	return schema{version: SchemaVersion, steps: migrations, buckets: allBuckets}
}

// Migrated tells what OpenBolt upgraded, for the start-up log. Zero when nothing was.
type Migrated struct {
	From, To int
	// Steps are the names of the migrations run.
	Steps []string
	// PreUpgradeCopy is the database as it was before, kept so that an operator can go
	// back to the older binary: stop, copy it over as4gw.db, start the older version.
	PreUpgradeCopy string
}

// DowngradeError is returned when the database was written by a newer as4gw.
type DowngradeError struct {
	Path          string
	OnDisk, Known int
}

func (e *DowngradeError) Error() string {
	return fmt.Sprintf("store: %s has schema version %d but this as4gw understands only up to %d: "+
		"run the newer as4gw that wrote it, or restore the copy saved before that upgrade (%s.pre-v%d) or a backup made with this version; "+
		"refusing to open so as not to damage it", e.Path, e.OnDisk, e.Known, e.Path, e.Known)
}

// readVersion returns the database's schema version, 0 for a new (empty) database.
func readVersion(tx *bolt.Tx, path string) (int, error) {
	meta := tx.Bucket(bMeta)
	if meta == nil {
		if tx.Bucket(bMsg) != nil {
			return 0, fmt.Errorf("store: %s has messages but no schema version: not an as4gw store, or damaged", path)
		}
		return 0, nil
	}
	v := meta.Get(kVersion)
	n, err := strconv.Atoi(string(v))
	if err != nil || n < 1 {
		return 0, fmt.Errorf("store: %s: unreadable schema version %q", path, v)
	}
	return n, nil
}

// upgrade brings db to sc.version: it refuses a newer database untouched, copies an older
// one aside (path.pre-vN, fsynced) before changing it, then creates missing buckets, runs
// the steps and records the version in one write transaction.
func upgrade(db *bolt.DB, path string, sc schema) (Migrated, error) {
	var version int
	err := db.View(func(tx *bolt.Tx) (err error) {
		version, err = readVersion(tx, path)
		return err
	})
	if err != nil {
		return Migrated{}, err
	}
	if version > sc.version {
		return Migrated{}, &DowngradeError{Path: path, OnDisk: version, Known: sc.version}
	}
	var m Migrated
	if version != 0 && version < sc.version {
		pending, err := stepsFrom(sc, version)
		if err != nil {
			return Migrated{}, err
		}
		m = Migrated{From: version, To: sc.version, PreUpgradeCopy: fmt.Sprintf("%s.pre-v%d", path, version)}
		for _, st := range pending {
			m.Steps = append(m.Steps, st.Name)
		}
		if err := copyAside(db, m.PreUpgradeCopy); err != nil {
			return Migrated{}, fmt.Errorf("store: copy before upgrading from schema version %d: %w (nothing was changed)", version, err)
		}
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range sc.buckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		if version != 0 && version < sc.version {
			pending, _ := stepsFrom(sc, version)
			for _, st := range pending {
				if err := st.Up(tx); err != nil {
					return fmt.Errorf("migration %d→%d (%s): %w", st.From, st.From+1, st.Name, err)
				}
			}
		}
		if version == 0 {
			// A new database: every index is maintained from its first message, so
			// nothing is left for a backfill (retention would otherwise scan it once).
			if err := tx.Bucket(bMeta).Put(kRetainIndexed, []byte("1")); err != nil {
				return err
			}
		}
		if version != sc.version {
			return tx.Bucket(bMeta).Put(kVersion, []byte(strconv.Itoa(sc.version)))
		}
		return nil
	})
	if err != nil {
		return Migrated{}, fmt.Errorf("store: %s: %w (the database is unchanged)", path, err)
	}
	return m, nil
}

// stepsFrom returns the steps from version to sc.version, checking the list is complete.
func stepsFrom(sc schema, version int) ([]Migration, error) {
	var out []Migration
	for v := version; v < sc.version; v++ {
		var found *Migration
		for i := range sc.steps {
			if sc.steps[i].From == v {
				found = &sc.steps[i]
				break
			}
		}
		if found == nil || found.Up == nil {
			return nil, fmt.Errorf("store: no migration from schema version %d to %d in this build", v, v+1)
		}
		out = append(out, *found)
	}
	return out, nil
}

// copyAside writes a consistent copy of the database to dst (temporary file, fsync,
// rename, directory fsync), so that the copy is complete or absent.
func copyAside(db *bolt.DB, dst string) error {
	return db.View(func(tx *bolt.Tx) error { return writeSnapshot(tx, dst) })
}

// writeSnapshot writes the database as seen by tx to dst durably.
func writeSnapshot(tx *bolt.Tx, dst string) error {
	tmp := dst + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = tx.WriteTo(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(dst))
}

// IsDowngrade reports whether err is a refusal to open a newer database.
func IsDowngrade(err error) bool {
	var d *DowngradeError
	return errors.As(err, &d)
}
