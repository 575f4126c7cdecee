package store

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Benchmarks report figures; none asserts a time. Every write is fsync'd (there is no
// switch to turn that off), so insert figures are bounded by the disk's flush latency;
// commits/s and ops/commit show how far group commit stretches that.

func benchStore(b *testing.B) *BoltStore {
	b.Helper()
	s, err := OpenBolt(b.TempDir(), Options{MaxBatch: 1024})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// reportCommits adds commits/s and ops/commit from the store's counters.
func reportCommits(b *testing.B, s *BoltStore, before Stats, start time.Time) {
	after, _ := s.Stats(bg)
	commits := after.Commits - before.Commits
	ops := after.WriteOps - before.WriteOps
	b.ReportMetric(float64(commits)/time.Since(start).Seconds(), "commits/s")
	b.ReportMetric(float64(ops)/float64(max(commits, 1)), "ops/commit")
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

func BenchmarkInsertSequential(b *testing.B) {
	for _, size := range []int{0, 4 << 10} {
		b.Run(fmt.Sprintf("payload=%d", size), func(b *testing.B) {
			s := benchStore(b)
			data := bytes.Repeat([]byte("x"), size)
			before, _ := s.Stats(bg)
			start := time.Now()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m := outMsg(fmt.Sprintf("seq-%d@gw", i), "gw-b")
				if size > 0 {
					m.Payloads = []Payload{putPayload(b, s, data)}
				}
				if _, err := s.Submit(bg, m); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			reportCommits(b, s, before, start)
		})
	}
}

// BenchmarkInsertParallel: many goroutines submitting, as many HTTP handlers would.
func BenchmarkInsertParallel(b *testing.B) {
	for _, par := range []int{4, 32} { // goroutines per GOMAXPROCS
		b.Run(fmt.Sprintf("goroutines=%dxGOMAXPROCS", par), func(b *testing.B) {
			s := benchStore(b)
			var n atomic.Int64
			before, _ := s.Stats(bg)
			start := time.Now()
			b.SetParallelism(par)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					if _, err := s.Submit(bg, outMsg(fmt.Sprintf("par-%d@gw", i), fmt.Sprintf("p%d", i%20))); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			reportCommits(b, s, before, start)
		})
	}
}

// BenchmarkClaimDue: one op = one ClaimDue of up to 100 messages from a queue of 10,000
// spread over 100 partners. The queue is refilled (untimed) when it runs dry.
func BenchmarkClaimDue(b *testing.B) {
	s := benchStore(b)
	const queued, limit = 10000, 100
	fillParallel(b, queued, func(i int) error {
		_, err := s.Submit(bg, outMsg(fmt.Sprintf("q-%d@gw", i), fmt.Sprintf("partner%d", i%100)))
		return err
	})
	now := time.Now()
	claimed := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		got, err := s.ClaimDue(bg, now, limit, time.Second, nil)
		if err != nil {
			b.Fatal(err)
		}
		claimed += len(got)
		if len(got) < limit {
			b.StopTimer()
			now = now.Add(2 * time.Second)
			if _, err := s.RecoverLeases(bg, now); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(max(claimed, 1)), "ns/msg")
}

// BenchmarkDuplicateLookup: lookups in a store of 50,000 inbound messages.
func BenchmarkDuplicateLookup(b *testing.B) {
	s := benchStore(b)
	const n = 50000
	ids := make([]string, n)
	fillParallel(b, n, func(i int) error {
		ids[i] = fmt.Sprintf("%016x-%d@peer", rand.Uint64(), i)
		_, err := s.Receive(bg, inMsg(ids[i], fmt.Sprintf("peer%d", i%50), "org"))
		return err
	})
	b.Run("Find", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if got, err := s.Find(bg, Inbound, ids[i%n]); err != nil || len(got) != 1 {
				b.Fatal(err)
			}
		}
	})
	b.Run("FindMiss", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if got, _ := s.Find(bg, Inbound, fmt.Sprintf("missing-%d@peer", i)); len(got) != 0 {
				b.Fatal("found")
			}
		}
	})
	b.Run("ReceiveDuplicate", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			j := i % n
			if _, err := s.Receive(bg, inMsg(ids[j], fmt.Sprintf("peer%d", j%50), "org")); err == nil {
				b.Fatal("duplicate stored")
			}
		}
	})
}

// fillParallel runs fn for 0..n-1 from 256 goroutines (so that commits are shared).
func fillParallel(b *testing.B, n int, fn func(i int) error) {
	b.Helper()
	work := make(chan int)
	var wg sync.WaitGroup
	for g := 0; g < 256; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := fn(i); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
}
