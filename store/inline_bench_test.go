package store

import (
	"bytes"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkPutPayloadInsert: the store's share of one small message (the load tool's
// "small" scenario, 10 KB payloads): PutPayload, then the Submit that references it, with
// the payload in a file of its own or inline in the database. cpu-ns/op is the process's
// user+system CPU per message (what the file path's create, fsync, rename and directory
// fsync cost beyond the commit); db-bytes/op the database pages written per message (what
// inline payloads add to each commit); ns/op is bounded by the disk's flush latency.
//
//	go test ./store -run '^$' -bench PutPayloadInsert -benchtime 2000x
func BenchmarkPutPayloadInsert(b *testing.B) {
	data := bytes.Repeat([]byte("0123456789"), 1024) // 10 KB
	for _, mode := range payloadModes {
		for _, par := range []int{1, 16} {
			b.Run(fmt.Sprintf("mode=%s/goroutines=%dxGOMAXPROCS", mode.name, par), func(b *testing.B) {
				opts := mode.opts
				opts.MaxBatch = 1024
				s, err := OpenBolt(b.TempDir(), opts)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { s.Close() })
				prefill(b, s, data)
				var n atomic.Int64
				before, _ := s.Stats(bg)
				tx0 := s.db.Stats().TxStats
				cpu0 := cpuTime()
				start := time.Now()
				b.SetParallelism(par)
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						i := n.Add(1)
						p := putPayload(b, s, data)
						if _, err := s.Submit(bg, outMsg(fmt.Sprintf("pi-%d@gw", i), fmt.Sprintf("p%d", i%20), p)); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.StopTimer()
				b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
				tx1 := s.db.Stats().TxStats
				d := tx1.Sub(&tx0)
				b.ReportMetric(float64(d.GetPageAlloc())/float64(b.N), "db-bytes/op")
				reportCommits(b, s, before, start)
			})
		}
	}
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// prefill gives s 2,000 messages with 10 KB payloads (20 MB) before the timing, in one
// commit: a young database grows its file on almost every commit (bbolt extends it page
// by page, with an fsync, until it reaches 16 MiB), which a running gateway's does not.
func prefill(b *testing.B, s *BoltStore, data []byte) {
	var ms []Message
	for i := range 2000 {
		ms = append(ms, withState(outMsg(fmt.Sprintf("fill-%d@gw", i), "gw-fill", putPayload(b, s, data)), Acknowledged))
	}
	if _, err := s.BulkLoad(bg, ms); err != nil {
		b.Fatal(err)
	}
}
