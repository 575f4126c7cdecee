package store

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The duplicate index must stay fast as it grows ("duplicate detection slowing as the table
// grows" is a complaint about the Java gateways). This test fills a store with inbound
// messages and measures lookups at several sizes. It reports figures and asserts only
// correctness: times depend on the machine. AS4GW_STORE_SCALE sets the final size
// (default 200000).
func TestDuplicateIndexScale(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a store with 200k messages; skipped with -short")
	}
	final := 200000
	if v, err := strconv.Atoi(os.Getenv("AS4GW_STORE_SCALE")); err == nil && v > 0 {
		final = v
	}
	s, err := OpenBolt(t.TempDir(), Options{MaxBatch: 1024})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	idOf := func(i int) string { return fmt.Sprintf("%016x-%d@peer.example", rand.Uint64(), i) }
	type sent struct{ id, peer string }
	var ids []sent
	var mu sync.Mutex
	fill := func(n int) time.Duration {
		start := time.Now()
		work := make(chan int)
		var wg sync.WaitGroup
		for g := 0; g < 512; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range work {
					id, peer := idOf(i), fmt.Sprintf("peer%d", i%50)
					if _, err := s.Receive(bg, inMsg(id, peer, fmt.Sprintf("org-%d", i%300))); err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					ids = append(ids, sent{id, peer})
					mu.Unlock()
				}
			}()
		}
		for i := len(ids); i < n; i++ {
			work <- i
		}
		close(work)
		wg.Wait()
		return time.Since(start)
	}

	const probes = 20000
	t.Logf("%10s %14s %14s %14s %14s %12s", "messages", "insert/s", "Find hit", "Find miss", "Receive dup", "db MiB")
	prev := 0
	for _, size := range []int{1000, 10000, 50000, 100000, final} {
		if size > final || size <= prev {
			continue
		}
		took := fill(size)
		if t.Failed() {
			return
		}
		rate := float64(size-prev) / took.Seconds()
		prev = size

		hit := timePer(probes, func(i int) {
			id := ids[rand.IntN(len(ids))].id
			got, err := s.Find(bg, Inbound, id)
			if err != nil || len(got) != 1 {
				t.Fatalf("Find %s: %d, %v", id, len(got), err)
			}
		})
		miss := timePer(probes, func(i int) {
			if got, _ := s.Find(bg, Inbound, idOf(-i)); len(got) != 0 {
				t.Fatal("found a message never stored")
			}
		})
		// The MSH's path for a re-sent message: refused from the index, original returned.
		dup := timePer(probes, func(i int) {
			x := ids[rand.IntN(len(ids))]
			if _, err := s.Receive(bg, inMsg(x.id, x.peer, "org")); !errors.Is(err, ErrDuplicate) {
				t.Fatalf("duplicate not detected: %v", err)
			}
		})
		st, _ := s.Stats(bg)
		t.Logf("%10d %14.0f %14s %14s %14s %12.1f", size, rate, hit, miss, dup, float64(st.DBBytes)/(1<<20))
	}
}

// timePer runs fn n times and returns the mean time per call.
func timePer(n int, fn func(i int)) time.Duration {
	start := time.Now()
	for i := 0; i < n; i++ {
		fn(i)
	}
	return time.Since(start) / time.Duration(n)
}
