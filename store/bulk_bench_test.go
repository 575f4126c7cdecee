package store

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"
)

// Costs that must not grow with the store: the duplicate check of every received message,
// an inbox page, a claim. The store is filled with BulkLoad (all indexes, histories and
// events, as live traffic leaves them), then each operation is timed at each size.
//
//	go test ./store -run '^$' -bench StoreAtScale -benchtime 2000x
//	AS4GW_BENCH_SCALE=1000000 go test ./store -run '^$' -bench StoreAtScale -benchtime 2000x -timeout 20m
//
// The 1M size is opt-in (AS4GW_BENCH_SCALE, any size above 100000): loading it takes about a
// minute and 1.5 GB of disk. Claims are timed inside a write transaction that is rolled
// back, so the figure is the search and the state change, not the fsync of a commit (that
// is the same at any size and would hide the rest).

// scaleFiller adds realistic traffic to a store: Domibus-style UUID MessageIds from 50
// peers to 300 organisations, nine in ten of them downloaded already.
type scaleFiller struct {
	rng   *rand.Rand
	n     int
	ids   []scaleID // a sample of stored (id, from), for duplicate probes
	every int
}

type scaleID struct{ id, from string }

func newScaleFiller() *scaleFiller {
	return &scaleFiller{rng: rand.New(rand.NewPCG(1, 2)), every: 50}
}

func (f *scaleFiller) uuid() string {
	var b [16]byte
	for i := 0; i < 16; i += 8 {
		v := f.rng.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// grow fills s up to n messages of background traffic.
func (f *scaleFiller) grow(tb testing.TB, s *BoltStore, n int) {
	tb.Helper()
	for f.n < n {
		batch := make([]Message, 0, min(bulkChunk(f.n), n-f.n))
		for len(batch) < cap(batch) {
			i := f.n + len(batch)
			from := fmt.Sprintf("peer-%02d", i%50)
			m := inMsg(f.uuid()+"@"+from+".example", from, fmt.Sprintf("org-%03d", f.rng.IntN(300)))
			m.Receipt.Raw = nil // the signed receipt is kept only for some profiles; a hash-sized NRR stands in
			m.Receipt.NRR = make([]byte, 64)
			m.State = Downloaded
			if i%10 == 0 {
				m.State = Received
			}
			if i%f.every == 0 {
				f.ids = append(f.ids, scaleID{m.ID, from})
			}
			batch = append(batch, m)
		}
		if _, err := s.BulkLoad(bg, batch); err != nil {
			tb.Fatal(err)
		}
		f.n += len(batch)
	}
}

func scaleSizes() []int {
	sizes := []int{0, 100000}
	if v, err := strconv.Atoi(os.Getenv("AS4GW_BENCH_SCALE")); err == nil && v > 100000 {
		sizes = append(sizes, v)
	}
	return sizes
}

func BenchmarkStoreAtScale(b *testing.B) {
	s, err := OpenBolt(b.TempDir(), Options{MaxBatch: 1024})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	// Fixed fixtures, the same at every size: our recipient's inbox of 100, a live
	// partner with 4 due messages, a dead partner with 10,000 waiting for retry.
	var fix []Message
	for i := range 100 {
		fix = append(fix, withState(inMsg(fmt.Sprintf("mine-%d@peer.example", i), "peer-00", "org-mine"), Received))
	}
	fix = append(fix, deadQueue(10000, now)...)
	for i := range 4 {
		fix = append(fix, withState(outMsg(fmt.Sprintf("live-%d@gw", i), "gw-live"), SendEnqueued))
	}
	for stored := 0; len(fix) > 0; {
		k := min(len(fix), bulkChunk(stored))
		if _, err := s.BulkLoad(bg, fix[:k]); err != nil {
			b.Fatal(err)
		}
		fix, stored = fix[k:], stored+k
	}
	f := newScaleFiller()
	for _, size := range scaleSizes() {
		start := time.Now()
		f.grow(b, s, size)
		if size > 0 {
			st, _ := s.Stats(bg)
			b.Logf("filled to %d messages in %s (%.0f/s), database %.0f MiB", size, time.Since(start).Round(time.Millisecond),
				float64(size)/time.Since(start).Seconds(), float64(st.DBBytes)/(1<<20))
		}
		name := func(op string) string { return fmt.Sprintf("%s/messages=%d", op, size) }
		b.Run(name("duplicate-check-new"), func(b *testing.B) {
			// A new message: the index lookup Receive makes before inserting.
			for i := 0; b.Loop(); i++ {
				if got, _ := s.Find(bg, Inbound, fmt.Sprintf("%016x@new.example", i)); len(got) != 0 {
					b.Fatal("found a message never stored")
				}
			}
		})
		if len(f.ids) > 0 {
			b.Run(name("duplicate-check-resent"), func(b *testing.B) {
				// A re-sent message: refused from the index, the original (and its
				// receipt) returned, without a commit.
				for b.Loop() {
					x := f.ids[f.rng.IntN(len(f.ids))]
					if _, err := s.Receive(bg, withState(inMsg(x.id, x.from, "org"), Received)); err == nil {
						b.Fatal("duplicate not detected")
					}
				}
			})
		}
		b.Run(name("receive-new"), func(b *testing.B) {
			// The receiver's write per message, one commit each: a B+tree copies every page
			// on the path to each key it changes, so pages written per commit grow with the
			// depth and spread of the indexes (pages/op), and with them the fsync.
			written := func() int64 { st := s.db.Stats(); return st.TxStats.GetWrite() }
			w0 := written()
			for i := 0; b.Loop(); i++ {
				m := inMsg(fmt.Sprintf("%s-%d@peer-01.example", f.uuid(), i), "peer-01", fmt.Sprintf("org-%03d", i%300))
				if _, err := s.Receive(bg, m); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(written()-w0)/float64(b.N), "pages/op")
		})
		b.Run(name("inbox-page"), func(b *testing.B) {
			for b.Loop() {
				page, _, err := s.Inbox(bg, InboxQuery{Recipients: []PartyID{party("org-mine")}, Limit: 100})
				if err != nil || len(page) != 100 {
					b.Fatalf("inbox page: %d, %v", len(page), err)
				}
			}
		})
		at := time.Now()
		dead := party("gw-dead").String()
		b.Run(name("claim-pick-dead-in-backoff"), func(b *testing.B) {
			for b.Loop() {
				if n := pickRead(b, s, at, 4, func(p string) bool { return p == dead }); n != 4 {
					b.Fatalf("picked %d, want 4", n)
				}
			}
		})
		b.Run(name("claim-idle"), func(b *testing.B) {
			// Every partner skipped (in backoff or at its share of the workers): the
			// sender's most frequent call, made after every commit.
			for b.Loop() {
				if got, err := s.ClaimDue(bg, at, 4, time.Minute, func(string) bool { return true }); err != nil || len(got) != 0 {
					b.Fatalf("claimed %d, %v", len(got), err)
				}
			}
		})
		b.Run(name("write-op-changing-nothing"), func(b *testing.B) {
			// What any write operation that ends up changing nothing costs (rolled back).
			for b.Loop() {
				if _, err := s.update(bg, func(*wtx) error { return nil }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// bulkChunk is how many messages to load in the next BulkLoad of a store holding n: few
// while the buckets are small (see BulkLoad), up to 50,000.
func bulkChunk(n int) int { return min(max(n/2, 1000), 50000) }

// BenchmarkClaimDeadQueue: a partner that is down, with a growing queue, must not slow the
// claims for the others, whether it is in backoff (skipped) or its messages are due.
func BenchmarkClaimDeadQueue(b *testing.B) {
	for _, n := range []int{0, 10000, 100000} {
		s := benchStore(b)
		now := time.Now()
		fix := deadQueue(n, now)
		for i := range 4 {
			fix = append(fix, withState(outMsg(fmt.Sprintf("live-%d@gw", i), "gw-live"), SendEnqueued))
		}
		for stored := 0; len(fix) > 0; {
			k := min(len(fix), bulkChunk(stored))
			stored += k
			if _, err := s.BulkLoad(bg, fix[:k]); err != nil {
				b.Fatal(err)
			}
			fix = fix[k:]
		}
		dead := party("gw-dead").String()
		at := time.Now()
		b.Run(fmt.Sprintf("dead-in-backoff/queued=%d", n), func(b *testing.B) {
			for b.Loop() {
				if got := pickRead(b, s, at, 4, func(p string) bool { return p == dead }); got != 4 {
					b.Fatalf("picked %d", got)
				}
			}
		})
		b.Run(fmt.Sprintf("dead-due/queued=%d", n), func(b *testing.B) {
			// Round-robin: the dead partner gets its share of the slots, the rest go live.
			for b.Loop() {
				if got := pickRead(b, s, at, 4, nil); got != 4 {
					b.Fatalf("picked %d", got)
				}
			}
		})
		b.Run(fmt.Sprintf("idle-dead-in-backoff/queued=%d", n), func(b *testing.B) {
			skip := func(string) bool { return true }
			for b.Loop() {
				if got, err := s.ClaimDue(bg, at, 4, time.Minute, skip); err != nil || len(got) != 0 {
					b.Fatalf("claimed %d, %v", len(got), err)
				}
			}
		})
	}
}

// deadQueue is n messages for a partner that is down, each failed once and due at a time
// spread over the last hour (so all are due: the partner's backoff holds them, not the
// retry schedule).
func deadQueue(n int, now time.Time) []Message {
	out := make([]Message, n)
	for i := range out {
		m := withState(outMsg(fmt.Sprintf("dead-%07d@gw", i), "gw-dead"), WaitingForRetry)
		m.Attempts = []Attempt{{At: now.Add(-2 * time.Hour), Error: Problem{Code: "EBMS:0005", Detail: "connection refused"}}}
		m.NextAttempt = now.Add(-time.Duration(i%3600) * time.Second)
		out[i] = m
	}
	return out
}

// pickRead runs the search of a claim (pickDue, and loading the messages) in a read
// transaction and returns how many messages it would claim: the part of ClaimDue whose
// cost could depend on the queues. The state changes and the commit that follow cost the
// same at any size (see BenchmarkInsertSequential for commits).
func pickRead(b *testing.B, s *BoltStore, now time.Time, limit int, skip func(string) bool) int {
	tx, err := s.db.Begin(false)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	w := &wtx{s: s, tx: tx, now: now}
	keys := w.pickDue(now, limit, skip)
	for _, k := range keys {
		if _, err := w.load(k); err != nil {
			b.Fatal(err)
		}
	}
	return len(keys)
}
