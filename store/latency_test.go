package store

import (
	"testing"
	"time"
)

func TestCommitLatencyHistogram(t *testing.T) {
	var h latencyHistogram
	for _, d := range []time.Duration{300 * time.Microsecond, 800 * time.Microsecond, 3 * time.Millisecond, 5 * time.Second} {
		h.observe(d)
	}
	c := h.snapshot()
	cum, n := c.Cumulative()
	if n != 4 {
		t.Fatalf("count %d", n)
	}
	for bound, want := range map[float64]uint64{0.0005: 1, 0.001: 2, 0.002: 2, 0.005: 3, 2.5: 3} {
		if cum[bound] != want {
			t.Errorf("≤%v: %d, want %d", bound, cum[bound], want)
		}
	}
	if c.SumSeconds < 5.004 || c.SumSeconds > 5.0042 {
		t.Errorf("sum %v", c.SumSeconds)
	}
}

func TestStatsCountCommitLatency(t *testing.T) {
	s, _ := openTest(t)
	before, _ := s.Stats(bg)
	mustSubmit(t, s, outMsg("lat@gw", "b"))
	after, _ := s.Stats(bg)
	_, n0 := before.CommitLatency.Cumulative()
	_, n1 := after.CommitLatency.Cumulative()
	if n1-n0 != after.Commits-before.Commits || n1 == n0 {
		t.Errorf("latency count %d→%d, commits %d→%d", n0, n1, before.Commits, after.Commits)
	}
}
