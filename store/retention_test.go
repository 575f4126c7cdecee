package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

const day = 24 * time.Hour

// retainEntries lists the retention index as "kind state owner key" strings, sorted.
func retainEntries(t testing.TB, s *BoltStore) []string {
	t.Helper()
	var out []string
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bRetain).ForEach(func(k, _ []byte) error {
			i := bytes.IndexByte(k, 0)
			owner, entered, key, ok := splitRetainKey(k[i+1:])
			if i < 1 || !ok {
				return fmt.Errorf("malformed key %x", k)
			}
			out = append(out, fmt.Sprintf("%c %s %s %d @%d", k[0], k[1:i], owner, key, entered))
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// expectedEntries derives the retention index from the records.
func expectedEntries(t testing.TB, s *BoltStore) []string {
	t.Helper()
	var out []string
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bMsg)
		return b.ForEach(func(k, _ []byte) error {
			m, err := loadMessage(tx, Key(getU64(k)))
			if err != nil {
				return err
			}
			if m.State.retainable() {
				at := timeKey(m.Updated)
				out = append(out, fmt.Sprintf("m %s %s %d @%d", m.State, m.retentionOwner(), m.Key, at))
				if hasBlobs(m) {
					out = append(out, fmt.Sprintf("p %s %s %d @%d", m.State, m.retentionOwner(), m.Key, at))
				}
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// checkRetainIndex compares the retention index, the counters and the blob and id indexes
// with the records. (checkInvariants walks keys 1, 2, ... and stops at the first gap,
// which purges make.)
func checkRetainIndex(t testing.TB, s *BoltStore) {
	t.Helper()
	if got, want := retainEntries(t, s), expectedEntries(t, s); !eqStrings(got, want) {
		t.Fatalf("retention index\n got %q\nwant %q", got, want)
	}
	st, err := s.Stats(bg)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[State]int64{}
	var files, size int64
	var msgs, hist, ids, blobs, parties int
	err = s.db.View(func(tx *bolt.Tx) error {
		err := tx.Bucket(bMsg).ForEach(func(k, _ []byte) error {
			m, err := loadMessage(tx, Key(getU64(k)))
			if err != nil {
				return err
			}
			msgs++
			counts[m.State]++
			for _, p := range m.Payloads {
				if p.Blob != "" {
					files++
					size += p.Size
				}
			}
			return nil
		})
		hist = tx.Bucket(bHist).Stats().KeyN
		ids = tx.Bucket(bOutID).Stats().KeyN + tx.Bucket(bInDup).Stats().KeyN
		blobs = tx.Bucket(bBlobs).Stats().KeyN
		parties = tx.Bucket(bParty).Stats().KeyN
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, state := range AllStates {
		if st.Messages[state] != counts[state] {
			t.Errorf("state counter %s = %d, records say %d", state, st.Messages[state], counts[state])
		}
	}
	if st.PayloadFiles != files || st.PayloadBytes != size || int64(blobs) != files {
		t.Errorf("payload counters %d files %d bytes, blob index %d, records say %d files %d bytes", st.PayloadFiles, st.PayloadBytes, blobs, files, size)
	}
	if ids != msgs || hist < msgs || parties < msgs {
		t.Errorf("%d messages but %d id entries, %d history entries, %d participant entries", msgs, ids, hist, parties)
	}
}

func ack(t testing.TB, s *BoltStore, k Key) {
	t.Helper()
	if _, err := s.MarkAcknowledged(bg, k, Attempt{At: time.Now()}, Receipt{MessageID: "r"}); err != nil {
		t.Fatal(err)
	}
}

func transition(t testing.TB, s *BoltStore, k Key, to State) {
	t.Helper()
	if _, err := s.Transition(bg, k, to, ""); err != nil {
		t.Fatal(err)
	}
}

// The index follows every state change: entries exactly for messages in final states,
// payload entries only while files remain.
func TestRetentionIndexFollowsStates(t *testing.T) {
	s, _ := openTest(t)
	o1 := mustSubmit(t, s, outMsg("o1", "gw-b", putPayload(t, s, []byte("one"))))
	o2 := mustSubmit(t, s, outMsg("o2", "gw-b", putPayload(t, s, []byte("two"))))
	i1 := mustReceive(t, s, inMsg("i1", "gw-b", "org-x", putPayload(t, s, []byte("three"))))
	checkRetainIndex(t, s)
	if n := len(retainEntries(t, s)); n != 0 {
		t.Fatalf("messages waiting are indexed: %d entries", n)
	}
	steps := []func(){
		func() { ack(t, s, o1.Key) },
		func() { transition(t, s, o2.Key, SendFailure) },
		func() { transition(t, s, o2.Key, SendEnqueued) }, // resend: leaves the index
		func() { transition(t, s, o2.Key, SendFailure) },
		func() { ack(t, s, o2.Key) }, // late receipt
		func() { transition(t, s, i1.Key, Downloaded) },
		func() { transition(t, s, i1.Key, Deleted) }, // payload entry gone, metadata stays
		func() { transition(t, s, o1.Key, Deleted) },
	}
	for i, step := range steps {
		step()
		t.Run(fmt.Sprint("step", i), func(t *testing.T) { checkRetainIndex(t, s) })
	}
	if got := retainEntries(t, s); len(got) != 4 { // o1, i1 DELETED; o2 ACKNOWLEDGED with its payload
		t.Fatalf("entries %q", got)
	}
}

func TestRetentionPurgesPayloadsThenMetadata(t *testing.T) {
	for _, mode := range payloadModes {
		t.Run(mode.name, func(t *testing.T) { testRetentionPurgesPayloadsThenMetadata(t, mode.opts) })
	}
}

func testRetentionPurgesPayloadsThenMetadata(t *testing.T, opts Options) {
	s, c := openTestWith(t, opts)
	pl := putPayload(t, s, []byte("payload bytes"))
	out := mustSubmit(t, s, outMsg("out-1", "gw-b", pl))
	ack(t, s, out.Key)
	in := mustReceive(t, s, inMsg("in-1", "gw-b", "org-x", putPayload(t, s, []byte("inbound"))))
	transition(t, s, in.Key, Downloaded)
	// Waiting messages, however old, are never purged.
	queued := mustSubmit(t, s, outMsg("queued", "gw-b", putPayload(t, s, []byte("q"))))
	waiting := mustReceive(t, s, inMsg("waiting", "gw-b", "org-x", putPayload(t, s, []byte("w"))))

	p := RetentionPolicy{Default: RetentionRules{
		Payloads: map[State]time.Duration{Acknowledged: 10 * day, Downloaded: 10 * day},
		Metadata: map[State]time.Duration{Acknowledged: 30 * day, Downloaded: 30 * day},
	}}
	c.Add(10*day - time.Second)
	if res, err := s.RunRetention(bg, p); err != nil || res.Purged() {
		t.Fatalf("before expiry: %+v, %v", res, err)
	}
	c.Add(time.Second)
	res, err := s.RunRetention(bg, p)
	if err != nil {
		t.Fatal(err)
	}
	if res.Payloads != 2 || res.PayloadFiles != 2 || res.PayloadBytes != pl.Size+int64(len("inbound")) || res.Metadata != 0 {
		t.Fatalf("payload purge: %+v", res)
	}
	got := mustGet(t, s, out.Key)
	if got.State != Acknowledged || got.Payloads[0].Blob != "" || got.Payloads[0].Size != pl.Size || got.Payloads[0].SHA256 != pl.SHA256 {
		t.Fatalf("after payload purge: %+v", got)
	}
	if _, err := s.OpenPayload(bg, pl.Blob); !errors.Is(err, ErrNotFound) {
		t.Fatalf("payload file still there: %v", err)
	}
	if h, _ := s.History(bg, out.Key); len(h) != 2 {
		t.Fatalf("history changed by the payload purge: %d events", len(h))
	}
	checkRetainIndex(t, s)

	c.Add(20 * day)
	res, err = s.RunRetention(bg, p)
	if err != nil || res.Metadata != 2 || res.Payloads != 0 {
		t.Fatalf("metadata purge: %+v, %v", res, err)
	}
	for _, k := range []Key{out.Key, in.Key} {
		if _, err := s.Get(bg, k); !errors.Is(err, ErrNotFound) {
			t.Fatalf("key %d still there: %v", k, err)
		}
		if _, err := s.History(bg, k); !errors.Is(err, ErrNotFound) {
			t.Fatalf("history of %d: %v", k, err)
		}
	}
	if ms, _ := s.Find(bg, Outbound, "out-1"); len(ms) != 0 {
		t.Fatalf("outbound id index kept: %v", ms)
	}
	if ms, _, _ := s.List(bg, ListQuery{Parties: []PartyID{party("org-sender"), party("org-x")}}); !eqStrings(ids(ms), []string{"queued", "waiting"}) {
		t.Fatalf("participant index: %q", ids(ms))
	}
	checkRetainIndex(t, s)
	checkPayloads(t, s, mustGet(t, s, queued.Key))
	checkPayloads(t, s, mustGet(t, s, waiting.Key))
	if n := blobsLeft(t, s); n != 2 {
		t.Fatalf("%d payloads left, want the 2 of the waiting messages", n)
	}
	// The history is what a state count adds up from: after a purge the counters still
	// agree with the records (checkInvariants above); an id becomes free again.
	if _, err := s.Submit(bg, outMsg("out-1", "gw-b")); err != nil {
		t.Fatalf("resubmitting a purged id: %v", err)
	}
}

// A duplicate is detected while the metadata lives; after the metadata purge a resend is
// a new message (the documented limit, why config refuses metadata retention < 1 day).
func TestRetentionDuplicateDetectionLastsAsLongAsMetadata(t *testing.T) {
	s, c := openTest(t)
	in := mustReceive(t, s, inMsg("dup-1", "gw-b", "org-x"))
	transition(t, s, in.Key, Downloaded)
	p := RetentionPolicy{Default: RetentionRules{Metadata: map[State]time.Duration{Downloaded: 2 * day}}}
	c.Add(day)
	if _, err := s.RunRetention(bg, p); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Receive(bg, inMsg("dup-1", "gw-b", "org-x")); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("resend within metadata retention: %v", err)
	}
	c.Add(day)
	if res, err := s.RunRetention(bg, p); err != nil || res.Metadata != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	if _, err := s.Receive(bg, inMsg("dup-1", "gw-b", "org-x")); err != nil {
		t.Fatalf("resend after the purge: %v", err)
	}
}

func TestRetentionPerOrganisation(t *testing.T) {
	s, c := openTest(t)
	mk := func(id, recipient string) Key {
		m := mustReceive(t, s, inMsg(id, "gw-b", recipient, putPayload(t, s, []byte(id))))
		transition(t, s, m.Key, Downloaded)
		return m.Key
	}
	short, keep, dflt := mk("a", "org-short"), mk("b", "org-keep"), mk("c", "org-other")
	p := RetentionPolicy{
		Default: RetentionRules{Payloads: map[State]time.Duration{Downloaded: 10 * day}},
		Parties: map[PartyID]RetentionRules{
			party("org-short"): {Payloads: map[State]time.Duration{Downloaded: day}},
			party("org-keep"):  {Payloads: map[State]time.Duration{Downloaded: 0}}, // forever
		},
	}
	purged := func(k Key) bool { return mustGet(t, s, k).Payloads[0].Blob == "" }
	for _, tc := range []struct {
		after               time.Duration
		short, keep, others bool
	}{
		{day - time.Second, false, false, false},
		{day, true, false, false},
		{10 * day, true, false, true},
		{1000 * day, true, false, true},
	} {
		c.Add(tc.after - c.Now().Sub(newClock().Now()))
		if _, err := s.RunRetention(bg, p); err != nil {
			t.Fatal(err)
		}
		if purged(short) != tc.short || purged(keep) != tc.keep || purged(dflt) != tc.others {
			t.Fatalf("after %s: short %v keep %v other %v", tc.after, purged(short), purged(keep), purged(dflt))
		}
	}
	checkRetainIndex(t, s)
}

func TestRetentionSendFailure(t *testing.T) {
	s, c := openTest(t)
	m := mustSubmit(t, s, outMsg("failed", "gw-b", putPayload(t, s, []byte("x"))))
	transition(t, s, m.Key, SendFailure)
	resent := mustSubmit(t, s, outMsg("resent", "gw-b", putPayload(t, s, []byte("y"))))
	transition(t, s, resent.Key, SendFailure)
	transition(t, s, resent.Key, SendEnqueued) // back in the queue: not final any more
	p := RetentionPolicy{Default: RetentionRules{Payloads: map[State]time.Duration{SendFailure: day}}}
	c.Add(2 * day)
	res, err := s.RunRetention(bg, p)
	if err != nil || res.Payloads != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	checkPayloads(t, s, mustGet(t, s, resent.Key))
	if _, err := s.Transition(bg, m.Key, SendEnqueued, ""); !errors.Is(err, ErrIllegalTransition) {
		t.Fatalf("resending a message without payloads: %v", err)
	}
	// A late receipt is still recorded.
	ack(t, s, m.Key)
	checkRetainIndex(t, s)
}

func TestRetentionBatches(t *testing.T) {
	s, c := openTest(t)
	for i := range 10 {
		m := mustSubmit(t, s, outMsg(fmt.Sprint("b", i), "gw-b", putPayload(t, s, []byte{byte(i)})))
		ack(t, s, m.Key)
	}
	c.Add(2 * day)
	p := RetentionPolicy{BatchSize: 3, Default: RetentionRules{Metadata: map[State]time.Duration{Acknowledged: day}}}
	res, err := s.RunRetention(bg, p)
	if err != nil {
		t.Fatal(err)
	}
	if res.Metadata != 10 || res.PayloadFiles != 10 || res.Batches != 4 {
		t.Fatalf("%+v", res)
	}
	if n := blobsLeft(t, s); n != 0 {
		t.Fatalf("%d payloads left", n)
	}
	checkRetainIndex(t, s)
}

// A run reads only expired entries: with many young messages and one old one, the
// candidates are the old one only.
func TestRetentionReadsOnlyExpired(t *testing.T) {
	s, c := openTest(t)
	old := mustSubmit(t, s, outMsg("old", "gw-b"))
	ack(t, s, old.Key)
	c.Add(5 * day)
	for i := range 50 {
		m := mustSubmit(t, s, outMsg(fmt.Sprint("young", i), "gw-b"))
		ack(t, s, m.Key)
	}
	p := RetentionPolicy{Default: RetentionRules{Metadata: map[State]time.Duration{Acknowledged: 2 * day}}}
	rs := p.compile(retainMeta)[Acknowledged]
	cands, _, err := s.expired(bg, retainMeta, Acknowledged, rs, c.Now(), retainPrefix(retainMeta, Acknowledged), 100)
	if err != nil || len(cands) != 1 || cands[0].key != old.Key {
		t.Fatalf("candidates %+v, %v", cands, err)
	}
}

func TestRetentionTrimsEvents(t *testing.T) {
	s, c := openTest(t)
	m := mustSubmit(t, s, outMsg("e1", "gw-b"))
	c.Add(3 * day)
	ack(t, s, m.Key)
	res, err := s.RunRetention(bg, RetentionPolicy{Events: 2 * day})
	if err != nil || res.Events != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	evs, _, err := s.EventsAfter(bg, 0, 10, EventFilter{})
	if err != nil || len(evs) != 1 || evs[0].To != Acknowledged {
		t.Fatalf("events left %+v %v", evs, err)
	}
}

// A database written before the index existed is indexed by the first run, whether in
// batches (backfillStep) or by the migration hook (backfillRetentionIndex).
func TestRetentionBackfill(t *testing.T) {
	for _, viaMigration := range []bool{false, true} {
		t.Run(fmt.Sprint("migration=", viaMigration), func(t *testing.T) {
			s, c := openTest(t)
			var keys []Key
			for i := range 7 {
				m := mustSubmit(t, s, outMsg(fmt.Sprint("m", i), "gw-b", putPayload(t, s, []byte("p"))))
				if i%2 == 0 {
					ack(t, s, m.Key)
				}
				keys = append(keys, m.Key)
			}
			want := retainEntries(t, s)
			// Forget the index, as a database of the previous version would have none.
			err := s.db.Update(func(tx *bolt.Tx) error {
				if err := tx.DeleteBucket(bRetain); err != nil {
					return err
				}
				if _, err := tx.CreateBucket(bRetain); err != nil {
					return err
				}
				return tx.Bucket(bMeta).Delete(kRetainIndexed)
			})
			if err != nil {
				t.Fatal(err)
			}
			if viaMigration {
				if err := s.db.Update(backfillRetentionIndex); err != nil {
					t.Fatal(err)
				}
			} else {
				// Batches of 4 (4 × batch size 1) over 7 messages: resumes twice.
				if _, err := s.RunRetention(bg, RetentionPolicy{BatchSize: 1}); err != nil {
					t.Fatal(err)
				}
			}
			if got := retainEntries(t, s); !eqStrings(got, want) {
				t.Fatalf("backfilled %q, want %q", got, want)
			}
			c.Add(2 * day)
			res, err := s.RunRetention(bg, RetentionPolicy{Default: RetentionRules{Metadata: map[State]time.Duration{Acknowledged: day}}})
			if err != nil || res.Metadata != 4 {
				t.Fatalf("%+v %v", res, err)
			}
			checkRetainIndex(t, s)
		})
	}
}

func TestRetentionPolicyValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    RetentionPolicy
		ok   bool
	}{
		{"empty", RetentionPolicy{}, true},
		{"final", RetentionPolicy{Default: RetentionRules{Metadata: map[State]time.Duration{Deleted: day, SendFailure: 0}}}, true},
		{"waiting", RetentionPolicy{Default: RetentionRules{Metadata: map[State]time.Duration{Received: day}}}, false},
		{"in progress", RetentionPolicy{Parties: map[PartyID]RetentionRules{party("x"): {Payloads: map[State]time.Duration{SendEnqueued: day}}}}, false},
		{"negative", RetentionPolicy{Default: RetentionRules{Payloads: map[State]time.Duration{Downloaded: -day}}}, false},
		{"batch", RetentionPolicy{BatchSize: maxRetentionBatch + 1}, false},
	} {
		err := tc.p.Validate()
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalid)) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// Under a steady stream (insert → final state → purged after a fixed age), the database
// file and the payload directory stop growing once retention catches up: bbolt reuses the
// pages freed by the purges. Deterministic: the clock is the test's, one round = one hour.
func TestRetentionDiskLevelsOff(t *testing.T) {
	for _, mode := range payloadModes {
		t.Run(mode.name, func(t *testing.T) {
			if mode.name != "inline" && testing.Short() {
				t.Skip("the file layout is the same code as before inline payloads; -short runs the default only")
			}
			testRetentionDiskLevelsOff(t, mode.opts)
		})
	}
}

func testRetentionDiskLevelsOff(t *testing.T, opts Options) {
	s, c := openTestWith(t, opts)
	p := RetentionPolicy{
		Default: RetentionRules{
			Payloads: map[State]time.Duration{Acknowledged: 6 * time.Hour, Downloaded: 6 * time.Hour},
			Metadata: map[State]time.Duration{Acknowledged: 12 * time.Hour, Downloaded: 12 * time.Hour},
		},
		Events: 12 * time.Hour,
	}
	const perRound, rounds = 20, 40
	body := bytes.Repeat([]byte("payload "), 256) // 2 KiB
	dirSize := func(dir string) (n int64) {
		filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				if fi, err := d.Info(); err == nil {
					n += fi.Size()
				}
			}
			return nil
		})
		return n
	}
	var dbSizes, payloadSizes, inUse []int64
	seq := 0
	for range rounds {
		for range perRound / 2 {
			seq++
			o := mustSubmit(t, s, outMsg(fmt.Sprint("s", seq), "gw-b", putPayload(t, s, body)))
			ack(t, s, o.Key)
			i := mustReceive(t, s, inMsg(fmt.Sprint("s", seq), "gw-b", "org-x", putPayload(t, s, body)))
			transition(t, s, i.Key, Downloaded)
		}
		if _, err := s.RunRetention(bg, p); err != nil {
			t.Fatal(err)
		}
		// The audit log (audit.go) has a retention of its own, a year in production;
		// here it keeps pace so that everything that grows with traffic is bounded.
		if _, err := s.PurgeAudit(bg, c.Now().Add(-12*time.Hour), 0); err != nil {
			t.Fatal(err)
		}
		c.Add(time.Hour)
		fi, err := os.Stat(filepath.Join(s.Dir(), DBFileName))
		if err != nil {
			t.Fatal(err)
		}
		dbSizes = append(dbSizes, fi.Size())
		s.db.View(func(tx *bolt.Tx) error {
			inUse = append(inUse, tx.Size())
			return nil
		})
		payloadSizes = append(payloadSizes, dirSize(filepath.Join(s.Dir(), "payloads")))
	}
	st, _ := s.Stats(bg)
	t.Logf("db file by round: %v", dbSizes)
	t.Logf("db pages in use (high-water) by round: %v", inUse)
	t.Logf("payload bytes by round: %v", payloadSizes)
	t.Logf("messages held at the end: %v, payload files %d", st.Messages, st.PayloadFiles)
	// Steady state from round 13 (metadata age 12h reached): the second half of the run
	// must not grow the file beyond where the first steady rounds took it.
	mid := rounds / 2
	maxFirst, maxSecond := int64(0), int64(0)
	for i := 14; i < mid; i++ {
		maxFirst = max(maxFirst, dbSizes[i])
	}
	for i := mid; i < rounds; i++ {
		maxSecond = max(maxSecond, dbSizes[i])
	}
	if maxSecond > maxFirst {
		t.Errorf("database file still grows under a steady stream: max %d in rounds 14..%d, %d after", maxFirst, mid, maxSecond)
	}
	// The pages in use (finer than the file, which bbolt grows in doublings) level off
	// too: the second half stays within 10% of where the steady state began.
	for i := mid; i < rounds; i++ {
		if inUse[i] > inUse[16]+inUse[16]/10 {
			t.Errorf("round %d: %d bytes of pages in use, %d at round 16", i, inUse[i], inUse[16])
		}
	}
	// Payloads live 6h: at most 7 rounds' worth of files (plus directory entries).
	wantPayload := int64(7 * perRound * len(body))
	for i := 8; i < rounds; i++ {
		if payloadSizes[i] > wantPayload {
			t.Errorf("round %d: %d payload bytes, steady state is at most %d", i, payloadSizes[i], wantPayload)
		}
	}
	if n := st.Messages[Acknowledged] + st.Messages[Downloaded]; n > 13*perRound {
		t.Errorf("%d messages held, at most %d expected", n, 13*perRound)
	}
	checkRetainIndex(t, s)
}
