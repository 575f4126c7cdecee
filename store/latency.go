package store

import (
	"math"
	"sync/atomic"
	"time"
)

// CommitBuckets are the upper bounds (seconds) of the commit latency histogram: an
// fsynced bbolt commit takes about a millisecond on a good disk and tens of
// milliseconds on a struggling one.
var CommitBuckets = []float64{0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

// latencyHistogram counts durations into CommitBuckets without locks (the writer
// goroutine records, scrapes read).
type latencyHistogram struct {
	counts [13]atomic.Uint64 // one per bucket, the last for +Inf
	sumNs  atomic.Uint64
}

func (h *latencyHistogram) observe(d time.Duration) {
	s := d.Seconds()
	i := len(CommitBuckets)
	for j, b := range CommitBuckets {
		if s <= b {
			i = j
			break
		}
	}
	h.counts[i].Add(1)
	h.sumNs.Add(uint64(max(d, 0)))
}

// CommitLatency is a snapshot of the commit latency histogram: Counts[i] commits took
// at most CommitBuckets[i] (not cumulative; the last entry is above every bucket).
type CommitLatency struct {
	Counts     []uint64
	SumSeconds float64
}

// Cumulative returns the count at or below each bucket bound, and the total count, as
// Prometheus histograms want them.
func (c CommitLatency) Cumulative() (map[float64]uint64, uint64) {
	out := make(map[float64]uint64, len(CommitBuckets))
	var n uint64
	for i, b := range CommitBuckets {
		if i < len(c.Counts) {
			n += c.Counts[i]
		}
		out[b] = n
	}
	if len(c.Counts) > len(CommitBuckets) {
		n += c.Counts[len(CommitBuckets)]
	}
	return out, n
}

func (h *latencyHistogram) snapshot() CommitLatency {
	c := CommitLatency{Counts: make([]uint64, len(h.counts))}
	for i := range h.counts {
		c.Counts[i] = h.counts[i].Load()
	}
	c.SumSeconds = float64(h.sumNs.Load()) / float64(time.Second)
	if math.IsNaN(c.SumSeconds) {
		c.SumSeconds = 0
	}
	return c
}
