package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPutPayload(t *testing.T) {
	const limit = DefaultInlinePayloadBytes
	tests := []struct {
		name string
		data []byte
		file bool // kept in a file even when inline payloads are on
	}{
		{"empty", nil, false},
		{"small", []byte("<xml/>"), false},
		{"at the inline threshold", bytes.Repeat([]byte{1}, limit), false},
		{"one past the threshold", bytes.Repeat([]byte{2}, limit+1), true},
		{"1 MiB + 1", bytes.Repeat([]byte{0xa5}, 1<<20+1), true},
	}
	for _, mode := range payloadModes {
		t.Run(mode.name, func(t *testing.T) {
			s, _ := openTestWith(t, mode.opts)
			wantFiles := 0
			for _, tt := range tests {
				b, err := s.PutPayload(bg, bytes.NewReader(tt.data))
				if err != nil {
					t.Fatal(err)
				}
				if b.Size != int64(len(tt.data)) || b.SHA256 != sha256.Sum256(tt.data) || !validRef(b.Ref) {
					t.Fatalf("%s: blob %+v", tt.name, b)
				}
				if got := readPayload(t, s, b.Ref); !bytes.Equal(got, tt.data) {
					t.Fatalf("%s: read back differs", tt.name)
				}
				_, staged := s.staged.get(b.Ref)
				if inFile := tt.file || mode.name == "files"; staged == inFile {
					t.Fatalf("%s: staged in memory %v, want a file %v", tt.name, staged, inFile)
				} else if inFile {
					wantFiles++
				}
			}
			if files := payloadFiles(t, s.Dir()); len(files) != wantFiles {
				t.Fatalf("files %v, want %d", files, wantFiles)
			}
			for _, f := range payloadFiles(t, s.Dir()) {
				if strings.HasPrefix(f, tmpDir) || strings.HasSuffix(f, partExt) {
					t.Fatalf("temporary file left: %s", f)
				}
			}
		})
	}
	s, _ := openTest(t)
	if _, err := s.OpenPayload(bg, "0123456789abcdef0123456789abcdef"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("open missing: %v", err)
	}
	if _, err := s.OpenPayload(bg, "../as4gw.db"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("open traversal: %v", err)
	}
}

type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("connection reset")
	}
	r.n--
	return copy(p, "data"), nil
}

// A failed or cancelled upload leaves nothing behind, whether it failed within the inline
// threshold or past it (in the file).
func TestPutPayloadFailureLeavesNothing(t *testing.T) {
	for _, mode := range payloadModes {
		t.Run(mode.name, func(t *testing.T) {
			s, _ := openTestWith(t, mode.opts)
			for _, n := range []int{3, DefaultInlinePayloadBytes/4 + 10} { // "data" is 4 bytes a read
				if _, err := s.PutPayload(bg, &failingReader{n: n}); err == nil || !strings.Contains(err.Error(), "connection reset") {
					t.Fatalf("err %v", err)
				}
			}
			ctx, cancel := context.WithCancel(bg)
			cancel()
			if _, err := s.PutPayload(ctx, strings.NewReader("x")); !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled: %v", err)
			}
			if files := payloadFiles(t, s.Dir()); len(files) != 0 {
				t.Fatalf("files left: %v", files)
			}
			if st, _ := s.Stats(bg); st.StagedInlineBytes != 0 {
				t.Fatalf("staged memory left: %d bytes", st.StagedInlineBytes)
			}
		})
	}
}

func TestDiscardPayload(t *testing.T) {
	for _, mode := range payloadModes {
		t.Run(mode.name, func(t *testing.T) { testDiscardPayload(t, mode.opts) })
	}
}

func testDiscardPayload(t *testing.T, opts Options) {
	s, _ := openTestWith(t, opts)
	staged := putPayload(t, s, []byte("staged"))
	used := putPayload(t, s, []byte("used"))
	mustSubmit(t, s, outMsg("d@gw", "b", used))
	if err := s.DiscardPayload(bg, staged.Blob); err != nil {
		t.Fatal(err)
	}
	if _, err := s.OpenPayload(bg, staged.Blob); !errors.Is(err, ErrNotFound) {
		t.Fatalf("discarded blob still there: %v", err)
	}
	if err := s.DiscardPayload(bg, used.Blob); !errors.Is(err, ErrInvalid) {
		t.Fatalf("discarding a referenced blob: %v", err)
	}
	readPayload(t, s, used.Blob)
	// Once discarded, inserting a message that names it fails cleanly.
	if _, err := s.Submit(bg, outMsg("late@gw", "b", staged)); !errors.Is(err, ErrPayloadMissing) {
		t.Fatalf("insert with a discarded blob: %v", err)
	}
}

func TestDeleteRemovesPayloads(t *testing.T) {
	for _, mode := range payloadModes {
		t.Run(mode.name, func(t *testing.T) { testDeleteRemovesPayloads(t, mode.opts) })
	}
}

func testDeleteRemovesPayloads(t *testing.T, opts Options) {
	s, _ := openTestWith(t, opts)
	p1 := putPayload(t, s, []byte("one"))
	p2 := putPayload(t, s, []byte("two!"))
	m := mustReceive(t, s, inMsg("del@peer", "peer", "org-1", p1, p2))
	st, _ := s.Stats(bg)
	if st.PayloadFiles != 2 || st.PayloadBytes != 7 {
		t.Fatalf("stats %+v", st)
	}
	got, err := s.Transition(bg, m.Key, Deleted, "retention period over")
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range got.Payloads {
		if p.Blob != "" || p.Size == 0 || p.SHA256.IsZero() {
			t.Errorf("payload %d after delete: %+v (size and digest should stay)", i, p)
		}
	}
	for _, ref := range []BlobRef{p1.Blob, p2.Blob} {
		if _, err := s.OpenPayload(bg, ref); !errors.Is(err, ErrNotFound) {
			t.Errorf("file %s still there: %v", ref, err)
		}
	}
	st, _ = s.Stats(bg)
	if st.PayloadFiles != 0 || st.PayloadBytes != 0 || st.Messages[Deleted] != 1 {
		t.Fatalf("stats after delete %+v", st)
	}
	if n := blobsLeft(t, s); n != 0 {
		t.Fatalf("%d payloads left after delete", n)
	}
	checkInvariants(t, s)
}

func TestSweepOrphans(t *testing.T) {
	c := newClock()
	dir := t.TempDir()
	s, err := OpenBolt(dir, Options{Clock: c.Now, OrphanGrace: time.Hour, InlinePayloadBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	used := putPayload(t, s, []byte("used"))
	mustSubmit(t, s, outMsg("s@gw", "b", used))
	old := putPayload(t, s, []byte("old orphan"))
	fresh := putPayload(t, s, []byte("fresh, maybe about to be committed"))
	foreign := filepath.Join(dir, "payloads", "00", "README")
	os.MkdirAll(filepath.Dir(foreign), 0o700)
	os.WriteFile(foreign, []byte("not ours"), 0o600)
	tmp := filepath.Join(dir, "payloads", tmpDir, "0123456789abcdef0123456789abcdef"+partExt)
	os.WriteFile(tmp, []byte("half"), 0o600)

	// Age the "old" files by moving the clock: the sweep compares mtimes with Clock.
	setMtime := func(path string, t0 time.Time) {
		if err := os.Chtimes(path, t0, t0); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	c.mu.Lock()
	c.t = now
	c.mu.Unlock()
	setMtime(s.blobPath(old.Blob), now.Add(-2*time.Hour))
	setMtime(s.blobPath(used.Blob), now.Add(-2*time.Hour))
	setMtime(foreign, now.Add(-2*time.Hour))
	setMtime(tmp, now.Add(-2*time.Hour))

	n, err := s.SweepOrphans(bg, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("removed %d, want 2 (old orphan + old temp file)", n)
	}
	if _, err := s.OpenPayload(bg, old.Blob); !errors.Is(err, ErrNotFound) {
		t.Error("old orphan kept")
	}
	readPayload(t, s, used.Blob)
	readPayload(t, s, fresh.Blob) // within the grace period
	if _, err := os.Stat(foreign); err != nil {
		t.Error("a file that is not ours was removed")
	}
	// The fresh blob can still be committed.
	mustSubmit(t, s, outMsg("s2@gw", "b", fresh))

	// At open there is no grace: the previous process is gone, its staged blobs with it.
	orphan := putPayload(t, s, []byte("staged, never committed"))
	s2 := reopen(t, s, c)
	if r := s2.Recovered(); r.OrphansRemoved != 1 {
		t.Fatalf("recovery %+v", r)
	}
	if _, err := s2.OpenPayload(bg, orphan.Blob); !errors.Is(err, ErrNotFound) {
		t.Error("orphan survived reopen")
	}
	readPayload(t, s2, fresh.Blob)
	readPayload(t, s2, used.Blob)
}

// A sweep running concurrently with inserts never removes a file an insert commits: the
// insert either commits with the file in place or fails with ErrPayloadMissing.
func TestSweepRacesInsert(t *testing.T) {
	s, err := OpenBolt(t.TempDir(), Options{OrphanGrace: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := s.SweepOrphans(bg, time.Nanosecond); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var committed []Message
	missing := 0
	for i := 0; i < 100; i++ {
		p := putPayload(t, s, []byte("payload"))
		time.Sleep(time.Duration(i%3) * time.Millisecond)
		m, err := s.Submit(bg, outMsg(fmt.Sprintf("race-%d@gw", i), "b", p))
		switch {
		case err == nil:
			committed = append(committed, m)
		case errors.Is(err, ErrPayloadMissing):
			missing++
		default:
			t.Fatal(err)
		}
	}
	close(stop)
	<-done
	for _, m := range committed {
		checkPayloads(t, s, m)
	}
	t.Logf("%d committed, %d refused because the sweep had taken the blob", len(committed), missing)
}

func TestStats(t *testing.T) {
	s, _ := openTest(t)
	p := putPayload(t, s, bytes.Repeat([]byte("x"), 1000))
	mustSubmit(t, s, outMsg("a@gw", "b", p))
	mustReceive(t, s, inMsg("b@peer", "peer", "org"))
	before, err := s.Stats(bg)
	if err != nil {
		t.Fatal(err)
	}
	if before.DBBytes <= 0 || before.PayloadFiles != 1 || before.PayloadBytes != 1000 ||
		before.Messages[SendEnqueued] != 1 || before.Messages[Received] != 1 || before.LastEventSeq != 2 {
		t.Fatalf("stats %+v", before)
	}
	// Idle polls cost no commit, not even a write operation (see ClaimDue).
	for i := 0; i < 5; i++ {
		s.ClaimDue(bg, time.Unix(0, 0), 10, time.Minute, nil)
	}
	after, _ := s.Stats(bg)
	if after.Commits != before.Commits || after.WriteOps != before.WriteOps {
		t.Fatalf("idle claims: commits %d → %d, ops %d → %d", before.Commits, after.Commits, before.WriteOps, after.WriteOps)
	}
}
