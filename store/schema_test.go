package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestSchemaVersion(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(tx *bolt.Tx) error
		wantErr string // "" = opens
	}{
		{"current", func(tx *bolt.Tx) error { return nil }, ""},
		{"newer", func(tx *bolt.Tx) error {
			return tx.Bucket(bMeta).Put(kVersion, []byte(strconv.Itoa(SchemaVersion+1)))
		}, fmt.Sprintf("has schema version %d but this as4gw understands only up to %d", SchemaVersion+1, SchemaVersion)},
		{"garbage", func(tx *bolt.Tx) error {
			return tx.Bucket(bMeta).Put(kVersion, []byte("x"))
		}, `unreadable schema version "x"`},
		{"not a store", func(tx *bolt.Tx) error {
			return tx.DeleteBucket(bMeta)
		}, "has messages but no schema version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := OpenBolt(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			db, err := bolt.Open(filepath.Join(dir, DBFileName), 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Update(tt.prepare); err != nil {
				t.Fatal(err)
			}
			db.Close()
			s, err = OpenBolt(dir, Options{})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				s.Close()
				return
			}
			if err == nil {
				s.Close()
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %q, want it to say %q", err, tt.wantErr)
			}
			if tt.name == "newer" {
				// Refused without a change: the version is still the newer one.
				db, _ := bolt.Open(filepath.Join(dir, DBFileName), 0o600, &bolt.Options{ReadOnly: true})
				defer db.Close()
				db.View(func(tx *bolt.Tx) error {
					if v := string(tx.Bucket(bMeta).Get(kVersion)); v != strconv.Itoa(SchemaVersion+1) {
						t.Errorf("version rewritten to %q", v)
					}
					return nil
				})
			}
		})
	}
}

func TestSecondOpenRefused(t *testing.T) {
	s, _ := openTest(t)
	_, err := OpenBolt(s.Dir(), Options{LockTimeout: 50 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("second open: %v", err)
	}
}

func TestOpenCreatesDirectories(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b", "data")
	s, err := OpenBolt(dir, filesOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p := putPayload(t, s, []byte("x"))
	mustSubmit(t, s, outMsg("n@gw", "b", p))
	if files := payloadFiles(t, dir); len(files) != 1 {
		t.Fatalf("payload files %v", files)
	}
}

func TestCancelledBeforeWrite(t *testing.T) {
	s, _ := openTest(t)
	ctx, cancel := context.WithCancel(bg)
	cancel()
	if _, err := s.Submit(ctx, outMsg("x@gw", "b")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Submit: %v", err)
	}
	if _, err := s.Get(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get: %v", err)
	}
	if found, _ := s.Find(bg, Outbound, "x@gw"); len(found) != 0 {
		t.Fatal("stored after cancel")
	}
}
