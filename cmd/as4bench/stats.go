package main

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// percentile returns the nearest-rank p-th percentile (0 < p <= 100) of xs:
// the smallest value such that at least p% of the values are less than or
// equal to it. xs need not be sorted and is not modified. It returns 0 for an
// empty slice.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return percentileSorted(s, p)
}

func percentileSorted(s []float64, p float64) float64 {
	if len(s) == 0 {
		return 0
	}
	if p <= 0 {
		return s[0]
	}
	if p >= 100 {
		return s[len(s)-1]
	}
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	if rank < 1 {
		rank = 1
	}
	return s[rank-1]
}

// latencySummary is the JSON form of a latency distribution, in milliseconds.
type latencySummary struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

func summarize(ds []time.Duration) latencySummary {
	ms := make([]float64, len(ds))
	for i, d := range ds {
		ms[i] = float64(d) / float64(time.Millisecond)
	}
	sort.Float64s(ms)
	r := func(x float64) float64 { return math.Round(x*100) / 100 }
	return latencySummary{
		P50: r(percentileSorted(ms, 50)),
		P95: r(percentileSorted(ms, 95)),
		P99: r(percentileSorted(ms, 99)),
		Max: r(percentileSorted(ms, 100)),
	}
}

// parseSize reads a byte count: a plain number, or a number with one of the
// suffixes B, KB, MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024),
// case-insensitive; "k", "m", "g" alone mean the decimal units.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	if num == "" {
		return 0, fmt.Errorf("size %q: want a number with an optional unit (10KB, 200MB, 1GiB)", s)
	}
	mult := map[string]float64{
		"": 1, "b": 1,
		"k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9,
		"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30,
	}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("size %q: unknown unit %q (use B, KB, MB, GB, KiB, MiB or GiB)", s, unit)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: %v", s, err)
	}
	n := int64(math.Round(f * mult))
	if n <= 0 {
		return 0, fmt.Errorf("size %q: must be at least one byte", s)
	}
	return n, nil
}

// humanSI renders a byte count with a decimal unit (as --size takes it).
func humanSI(n float64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.4g GB", n/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.4g MB", n/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.4g kB", n/1e3)
	default:
		return fmt.Sprintf("%.0f B", n)
	}
}

// humanBytes renders n with a binary unit for the table.
func humanBytes(n float64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", n/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", n/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", n/(1<<10))
	default:
		return fmt.Sprintf("%.0f B", n)
	}
}
