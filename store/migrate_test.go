package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// writeV1 writes a database at schema version 1 with two messages, as a gateway of that
// version left it, and returns its directory.
func writeV1(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	s, err := openBolt(dir, Options{}, schema{version: 1, buckets: allBuckets})
	if err != nil {
		t.Fatal(err)
	}
	mustSubmit(t, s, outMsg("m1@gw", "b", putPayload(t, s, []byte("one"))))
	mustSubmit(t, s, outMsg("m2@gw", "c"))
	s.Close()
	return dir
}

var bConv = []byte("test-conv")

// indexConversations is a realistic step: a new index filled from the existing messages.
func indexConversations(tx *bolt.Tx) error {
	idx, err := tx.CreateBucketIfNotExists(bConv)
	if err != nil {
		return err
	}
	return tx.Bucket(bMsg).ForEach(func(k, _ []byte) error {
		m, err := loadMessage(tx, Key(getU64(k)))
		if err != nil {
			return err
		}
		return idx.Put([]byte(m.ConversationID), k)
	})
}

func markV3(tx *bolt.Tx) error { return tx.Bucket(bMeta).Put([]byte("test-v3"), []byte("yes")) }

func dbVersion(t *testing.T, path string) int {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v int
	db.View(func(tx *bolt.Tx) (err error) { v, err = readVersion(tx, path); return err })
	return v
}

func TestMigrate(t *testing.T) {
	boom := errors.New("boom")
	steps := []Migration{{From: 1, Name: "index conversations", Up: indexConversations}, {From: 2, Name: "mark", Up: markV3}}
	tests := []struct {
		name      string
		sc        schema
		wantErr   string
		wantSteps []string
	}{
		{name: "two steps", sc: schema{version: 3, steps: steps, buckets: allBuckets}, wantSteps: []string{"index conversations", "mark"}},
		{name: "same version", sc: schema{version: 1, buckets: allBuckets}},
		{name: "step fails", sc: schema{version: 3, buckets: allBuckets, steps: []Migration{steps[0],
			{From: 2, Name: "fails", Up: func(*bolt.Tx) error { return boom }}}}, wantErr: "migration 2→3 (fails): boom (the database is unchanged)"},
		{name: "step missing", sc: schema{version: 3, steps: steps[:1], buckets: allBuckets}, wantErr: "no migration from schema version 2 to 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeV1(t)
			path := filepath.Join(dir, DBFileName)
			s, err := openBolt(dir, Options{}, tt.sc)
			if tt.wantErr != "" {
				if err == nil {
					s.Close()
					t.Fatal("opened")
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %q, want %q", err, tt.wantErr)
				}
				if v := dbVersion(t, path); v != 1 {
					t.Fatalf("version %d after a failed upgrade, want 1", v)
				}
				db, _ := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
				defer db.Close()
				db.View(func(tx *bolt.Tx) error {
					if tx.Bucket(bConv) != nil {
						t.Error("the first step's bucket survived the failed transaction")
					}
					return nil
				})
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			m := s.Migrated()
			if len(tt.wantSteps) == 0 {
				if m.From != 0 || m.PreUpgradeCopy != "" {
					t.Fatalf("Migrated %+v, want none", m)
				}
				if _, err := os.Stat(path + ".pre-v1"); !os.IsNotExist(err) {
					t.Fatalf("copy made without an upgrade: %v", err)
				}
				s.Close()
				return
			}
			if m.From != 1 || m.To != 3 || strings.Join(m.Steps, ",") != strings.Join(tt.wantSteps, ",") || m.PreUpgradeCopy != path+".pre-v1" {
				t.Fatalf("Migrated %+v", m)
			}
			// The store works after the upgrade and the index was filled.
			if found, err := s.Find(bg, Outbound, "m1@gw"); err != nil || len(found) != 1 {
				t.Fatalf("Find after upgrade: %v %v", found, err)
			}
			s.Close()
			if v := dbVersion(t, path); v != 3 {
				t.Fatalf("version %d, want 3", v)
			}
			db, _ := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
			db.View(func(tx *bolt.Tx) error {
				if n := tx.Bucket(bConv).Stats().KeyN; n != 2 {
					t.Errorf("index has %d entries, want 2", n)
				}
				return nil
			})
			db.Close()
			// The pre-upgrade copy is the old database, usable by the old binary.
			if v := dbVersion(t, m.PreUpgradeCopy); v != 1 {
				t.Fatalf("pre-upgrade copy has version %d", v)
			}
			old := t.TempDir()
			data, _ := os.ReadFile(m.PreUpgradeCopy)
			os.WriteFile(filepath.Join(old, DBFileName), data, 0o600)
			s1, err := openBolt(old, Options{}, schema{version: 1, buckets: allBuckets})
			if err != nil {
				t.Fatal(err)
			}
			defer s1.Close()
			if found, _ := s1.Find(bg, Outbound, "m2@gw"); len(found) != 1 {
				t.Fatal("pre-upgrade copy lacks a message")
			}
			// A second open has nothing to do.
			s, err = openBolt(dir, Options{}, tt.sc)
			if err != nil {
				t.Fatal(err)
			}
			if m := s.Migrated(); m.From != 0 {
				t.Fatalf("second open migrated again: %+v", m)
			}
			s.Close()
		})
	}
}

func TestDowngradeRefused(t *testing.T) {
	dir := writeV1(t)
	db, _ := bolt.Open(filepath.Join(dir, DBFileName), 0o600, nil)
	db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bMeta).Put(kVersion, []byte("9")) })
	db.Close()
	_, err := OpenBolt(dir, Options{})
	if !IsDowngrade(err) {
		t.Fatalf("error %v, want a DowngradeError", err)
	}
	for _, want := range []string{fmt.Sprintf("has schema version 9 but this as4gw understands only up to %d", SchemaVersion), "run the newer as4gw",
		fmt.Sprintf("%s.pre-v%d", DBFileName, SchemaVersion)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestNewStoreGetsCurrentVersion(t *testing.T) {
	dir := t.TempDir()
	s, err := openBolt(dir, Options{}, schema{version: 4, buckets: append(allBuckets, bConv)})
	if err != nil {
		t.Fatal(err)
	}
	if m := s.Migrated(); m.From != 0 {
		t.Fatalf("new store migrated: %+v", m)
	}
	s.Close()
	if v := dbVersion(t, filepath.Join(dir, DBFileName)); v != 4 {
		t.Fatalf("version %d", v)
	}
	// A bucket added later (a new feature, no data to convert) appears at the next open.
	s, err = openBolt(dir, Options{}, schema{version: 4, buckets: append(allBuckets, []byte("test-later"))})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, _ := bolt.Open(filepath.Join(dir, DBFileName), 0o600, &bolt.Options{ReadOnly: true})
	defer db.Close()
	db.View(func(tx *bolt.Tx) error {
		if tx.Bucket([]byte("test-later")) == nil {
			t.Error("missing bucket not created at open")
		}
		return nil
	})
}

// TestMigrationsList keeps the real list usable: it leads from 1 to SchemaVersion with
// one step per version, each named.
func TestMigrationsList(t *testing.T) {
	if _, err := stepsFrom(currentSchema(), 1); err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, m := range migrations {
		if seen[m.From] || m.Name == "" || m.From < 1 || m.From >= SchemaVersion {
			t.Errorf("migration %+v: duplicate, unnamed or out of range", m)
		}
		seen[m.From] = true
	}
}

// TestMigrateV1Retention upgrades a database as a version 1 binary left it: messages in
// final states, no retention index. The real step fills the index.
func TestMigrateV1Retention(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenBolt(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := mustSubmit(t, s, outMsg("done@gw", "b", putPayload(t, s, []byte("x"))))
	if _, err := s.MarkAcknowledged(bg, m.Key, Attempt{}, Receipt{MessageID: "r"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	path := filepath.Join(dir, DBFileName)
	indexed := 0
	db, _ := bolt.Open(path, 0o600, nil)
	db.Update(func(tx *bolt.Tx) error {
		indexed = tx.Bucket(bRetain).Stats().KeyN
		tx.Bucket(bMeta).Delete(kRetainIndexed)
		tx.Bucket(bMeta).Delete(kRetainBackfill)
		tx.DeleteBucket(bRetain)
		return tx.Bucket(bMeta).Put(kVersion, []byte("1"))
	})
	db.Close()
	if indexed == 0 {
		t.Fatal("the current store did not index the acknowledged message; test premise wrong")
	}
	s, err = OpenBolt(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := s.Migrated()
	s.Close()
	if got.From != 1 || got.To != SchemaVersion || got.PreUpgradeCopy != path+".pre-v1" {
		t.Fatalf("Migrated %+v", got)
	}
	db, _ = bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	defer db.Close()
	db.View(func(tx *bolt.Tx) error {
		if n := tx.Bucket(bRetain).Stats().KeyN; n != indexed {
			t.Errorf("retention index has %d entries after the upgrade, want %d", n, indexed)
		}
		if string(tx.Bucket(bMeta).Get(kRetainIndexed)) != "1" {
			t.Error("not marked indexed")
		}
		return nil
	})
}
