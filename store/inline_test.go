package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestInlineThresholdOption(t *testing.T) {
	tests := []struct {
		name    string
		opt     int
		size    int
		staged  bool
		openErr bool
	}{
		{"default, small", 0, 10 << 10, true, false},
		{"default, at the threshold", 0, DefaultInlinePayloadBytes, true, false},
		{"default, past it", 0, DefaultInlinePayloadBytes + 1, false, false},
		{"disabled", -1, 10, false, false},
		{"100 bytes, at it", 100, 100, true, false},
		{"100 bytes, past it", 100, 101, false, false},
		{"largest allowed", MaxInlinePayloadBytes, MaxInlinePayloadBytes, true, false},
		{"too large", MaxInlinePayloadBytes + 1, 0, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := OpenBolt(t.TempDir(), Options{InlinePayloadBytes: tt.opt})
			if tt.openErr {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "inline payload threshold") {
					t.Fatalf("open: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			data := bytes.Repeat([]byte{7}, tt.size)
			p := putPayload(t, s, data)
			if _, staged := s.staged.get(p.Blob); staged != tt.staged {
				t.Fatalf("staged %v, want %v", staged, tt.staged)
			}
			m := mustSubmit(t, s, outMsg("t@gw", "b", p))
			if inline := len(inlineKeys(t, s)) == 1; inline != tt.staged {
				t.Fatalf("committed inline %v, want %v", inline, tt.staged)
			}
			checkPayloads(t, s, m)
			if st, _ := s.Stats(bg); st.StagedInlineBytes != 0 {
				t.Fatalf("staged memory not released after the commit: %d", st.StagedInlineBytes)
			}
		})
	}
}

// A committed inline payload survives a restart with the same bytes; a staged one that
// no insert took does not (it was never acknowledged). No payload file is written.
func TestInlineDurableAcrossReopen(t *testing.T) {
	s, c := openTest(t)
	var sent []Message
	for i, size := range []int{0, 1, 10 << 10, DefaultInlinePayloadBytes} {
		data := bytes.Repeat([]byte{byte(i + 1)}, size)
		if i%2 == 0 {
			sent = append(sent, mustSubmit(t, s, outMsg(fmt.Sprintf("o%d@gw", i), "b", putPayload(t, s, data))))
		} else {
			sent = append(sent, mustReceive(t, s, inMsg(fmt.Sprintf("i%d@peer", i), "peer", "org", putPayload(t, s, data))))
		}
	}
	two := mustSubmit(t, s, outMsg("two@gw", "b", putPayload(t, s, []byte("first")), putPayload(t, s, []byte("second"))))
	sent = append(sent, two)
	staged := putPayload(t, s, []byte("never inserted"))
	if files := payloadFiles(t, s.Dir()); len(files) != 0 {
		t.Fatalf("payload files written: %v", files)
	}
	s2 := reopen(t, s, c)
	for _, m := range sent {
		checkPayloads(t, s2, mustGet(t, s2, m.Key))
	}
	if _, err := s2.OpenPayload(bg, staged.Blob); !errors.Is(err, ErrNotFound) {
		t.Fatalf("staged blob after reopen: %v", err)
	}
	if st, _ := s2.Stats(bg); st.InlinePayloads != 6 || st.PayloadFiles != 6 {
		t.Fatalf("stats %+v", st)
	}
	checkInvariants(t, s2)
}

// Staged memory is capped: past the cap a small payload goes to a file, and a commit
// frees its share.
func TestInlineStagingCap(t *testing.T) {
	s, _ := openTestWith(t, Options{InlineStagingBytes: 2500})
	data := bytes.Repeat([]byte("z"), 1000) // 1001 bytes staged with the format byte
	a := putPayload(t, s, data)
	b := putPayload(t, s, data)
	c := putPayload(t, s, data) // 3003 > 2500: a file
	for i, tc := range []struct {
		p      Payload
		staged bool
	}{{a, true}, {b, true}, {c, false}} {
		if _, ok := s.staged.get(tc.p.Blob); ok != tc.staged {
			t.Fatalf("payload %d staged %v, want %v", i, ok, tc.staged)
		}
	}
	if st, _ := s.Stats(bg); st.StagedInlineBytes != 2002 || st.StagedInlinePayloads != 2 {
		t.Fatalf("staged %d payloads of %d bytes, want 2 of 2002", st.StagedInlinePayloads, st.StagedInlineBytes)
	}
	if files := payloadFiles(t, s.Dir()); len(files) != 1 {
		t.Fatalf("files %v", files)
	}
	m := mustSubmit(t, s, outMsg("cap@gw", "b", a, b, c))
	checkPayloads(t, s, m)
	if st, _ := s.Stats(bg); st.StagedInlineBytes != 0 || st.InlinePayloads != 2 || st.PayloadFiles != 3 {
		t.Fatalf("after the insert: %+v", st)
	}
	d := putPayload(t, s, data)
	if _, ok := s.staged.get(d.Blob); !ok {
		t.Fatal("the commit did not free staging memory")
	}
	checkInvariants(t, s)
}

// The sweep drops staged inline blobs older than the grace period, like orphan files;
// younger ones and committed ones stay.
func TestInlineSweepStaged(t *testing.T) {
	s, c := openTestWith(t, Options{OrphanGrace: time.Hour})
	old := putPayload(t, s, []byte("old, never inserted"))
	committed := putPayload(t, s, []byte("committed"))
	m := mustSubmit(t, s, outMsg("sw@gw", "b", committed))
	c.Add(2 * time.Hour)
	fresh := putPayload(t, s, []byte("fresh"))
	n, err := s.SweepOrphans(bg, 0)
	if err != nil || n != 1 {
		t.Fatalf("swept %d, %v; want 1", n, err)
	}
	if _, err := s.OpenPayload(bg, old.Blob); !errors.Is(err, ErrNotFound) {
		t.Fatalf("old staged blob: %v", err)
	}
	if _, err := s.Submit(bg, outMsg("late@gw", "b", old)); !errors.Is(err, ErrPayloadMissing) {
		t.Fatalf("insert of a swept blob: %v", err)
	}
	checkPayloads(t, s, mustGet(t, s, m.Key))
	mustSubmit(t, s, outMsg("fresh@gw", "b", fresh))
	if st, _ := s.Stats(bg); st.StagedInlineBytes != 0 {
		t.Fatalf("staged %d bytes left", st.StagedInlineBytes)
	}
}

// A duplicate leaves its staged blob to the caller, who discards it as with a file.
func TestInlineDuplicateLeavesStagedBlob(t *testing.T) {
	s, _ := openTest(t)
	orig := mustReceive(t, s, inMsg("dup@peer", "peer", "org", putPayload(t, s, []byte("original"))))
	again := putPayload(t, s, []byte("resent"))
	if _, err := s.Receive(bg, inMsg("dup@peer", "peer", "org", again)); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("resend: %v", err)
	}
	if got := readPayload(t, s, again.Blob); string(got) != "resent" {
		t.Fatalf("staged blob after the duplicate: %q", got)
	}
	if err := s.DiscardPayload(bg, again.Blob); err != nil {
		t.Fatal(err)
	}
	if err := s.DiscardPayload(bg, orig.Payloads[0].Blob); !errors.Is(err, ErrInvalid) {
		t.Fatalf("discarding the original's committed blob: %v", err)
	}
	if st, _ := s.Stats(bg); st.StagedInlineBytes != 0 || st.InlinePayloads != 1 {
		t.Fatalf("stats %+v", st)
	}
	checkPayloads(t, s, mustGet(t, s, orig.Key))
}

func TestInlinePayloadSizeMismatch(t *testing.T) {
	s, _ := openTest(t)
	p := putPayload(t, s, []byte("12345"))
	p.Size = 4
	if _, err := s.Submit(bg, outMsg("size@gw", "b", p)); !errors.Is(err, ErrPayloadMissing) || !strings.Contains(err.Error(), "has 5 bytes") {
		t.Fatalf("size mismatch: %v", err)
	}
}

// What OpenPayload returns for a committed inline blob is a copy: it stays intact while
// the database grows (bbolt remaps its file) and pages are reused.
func TestInlineOpenCopiesOut(t *testing.T) {
	s, _ := openTest(t)
	want := bytes.Repeat([]byte("abcdefgh"), 4096)
	m := mustSubmit(t, s, outMsg("copy@gw", "b", putPayload(t, s, want)))
	r, err := s.OpenPayload(bg, m.Payloads[0].Blob)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var grow []Message // one commit: many would cost a flush each
	for i := range 200 {
		grow = append(grow, withState(outMsg(fmt.Sprintf("grow-%d@gw", i), "b", putPayload(t, s, bytes.Repeat([]byte{byte(i)}, 32<<10))), SendEnqueued))
	}
	if _, err := s.BulkLoad(bg, grow); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Transition(bg, m.Key, Deleted, "test"); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if _, err := got.ReadFrom(r); err != nil || !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("reader changed under us (err %v)", err)
	}
	if _, err := s.OpenPayload(bg, m.Payloads[0].Blob); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted inline blob: %v", err)
	}
	checkInvariants(t, s)
}

// Inline readers seek like files (the API serves Range requests through io.ReadSeeker),
// staged and committed alike.
func TestInlineReaderSeeks(t *testing.T) {
	s, _ := openTest(t)
	data := []byte("0123456789abcdef")
	staged := putPayload(t, s, data)
	committed := putPayload(t, s, data)
	mustSubmit(t, s, outMsg("seek@gw", "b", committed))
	for _, ref := range []BlobRef{staged.Blob, committed.Blob} {
		r, err := s.OpenPayload(bg, ref)
		if err != nil {
			t.Fatal(err)
		}
		rs, ok := r.(io.ReadSeeker)
		if !ok {
			t.Fatalf("%T is not an io.ReadSeeker", r)
		}
		if _, err := rs.Seek(10, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		if rest, _ := io.ReadAll(rs); string(rest) != "abcdef" {
			t.Fatalf("after seek: %q", rest)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestInlineBulkLoad(t *testing.T) {
	s, _ := openTest(t)
	var ms []Message
	for i := range 5 {
		ms = append(ms, withState(inMsg(fmt.Sprintf("b%d@peer", i), "peer", "org", putPayload(t, s, []byte(fmt.Sprint("bulk ", i)))), Downloaded))
	}
	out, err := s.BulkLoad(bg, ms)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range out {
		checkPayloads(t, s, m)
	}
	if st, _ := s.Stats(bg); st.InlinePayloads != 5 || st.StagedInlineBytes != 0 {
		t.Fatalf("stats %+v", st)
	}
	checkInvariants(t, s)
}

// Concurrent writers, discards and sweeps with no grace: every insert either commits a
// readable payload or is refused with ErrPayloadMissing, and staging memory ends at zero.
func TestInlineConcurrent(t *testing.T) {
	s, err := OpenBolt(t.TempDir(), Options{OrphanGrace: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	stop := make(chan struct{})
	var sweeps sync.WaitGroup
	sweeps.Add(1)
	go func() {
		defer sweeps.Done()
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
			time.Sleep(100 * time.Microsecond)
		}
	}()
	var mu sync.Mutex
	var committed []Message
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				data := bytes.Repeat([]byte{byte(g), byte(i)}, 100*(i+1))
				p := putPayload(t, s, data)
				if i%5 == 0 {
					if err := s.DiscardPayload(bg, p.Blob); err != nil {
						t.Error(err)
					}
					continue
				}
				m, err := s.Receive(bg, inMsg(fmt.Sprintf("c%d-%d@peer", g, i), "peer", "org", p))
				switch {
				case err == nil:
					mu.Lock()
					committed = append(committed, m)
					mu.Unlock()
				case errors.Is(err, ErrPayloadMissing):
					s.DiscardPayload(bg, p.Blob)
				default:
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	sweeps.Wait()
	for _, m := range committed {
		checkPayloads(t, s, m)
	}
	if st, _ := s.Stats(bg); st.StagedInlineBytes != 0 {
		t.Fatalf("staged %d bytes left", st.StagedInlineBytes)
	}
	checkInvariants(t, s)
	t.Logf("%d committed", len(committed))
}

// An inline record this build cannot read (a newer format, a chunk missing) fails
// OpenPayload and ReadBackup with a specific error; Backup still copies it.
func TestInlineDamagedRecord(t *testing.T) {
	tests := []struct {
		name   string
		damage func(tx *bolt.Tx, ref BlobRef) error
		want   string
	}{
		{"unknown format", func(tx *bolt.Tx, ref BlobRef) error {
			return tx.Bucket(bInline).Put(inlineKey(ref, 0), []byte{0x7f, 'x'})
		}, "unknown record format"},
		{"chunk missing", func(tx *bolt.Tx, ref BlobRef) error {
			return tx.Bucket(bInline).Delete(inlineKey(ref, 1))
		}, "chunk 1 missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := openTest(t)
			m := mustSubmit(t, s, outMsg("dmg@gw", "b", putPayload(t, s, bytes.Repeat([]byte("d"), 3*s.inlineChunk))))
			if err := s.db.Update(func(tx *bolt.Tx) error { return tt.damage(tx, m.Payloads[0].Blob) }); err != nil {
				t.Fatal(err)
			}
			if _, err := s.OpenPayload(bg, m.Payloads[0].Blob); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("open: %v", err)
			}
			var buf bytes.Buffer
			if _, err := s.Backup(bg, &buf); err != nil {
				t.Fatal(err)
			}
			if _, err := ReadBackup(&buf, ""); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("read backup: %v", err)
			}
		})
	}
}
