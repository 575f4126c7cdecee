package main

import (
	"testing"
	"time"
)

func TestPercentileNearestRank(t *testing.T) {
	// 1..100 in reverse: the p-th percentile of 1..100 is p.
	xs := make([]float64, 100)
	for i := range xs {
		xs[i] = float64(100 - i)
	}
	for _, tc := range []struct{ p, want float64 }{
		{50, 50}, {95, 95}, {99, 99}, {100, 100}, {1, 1}, {0.5, 1}, {0, 1}, {99.5, 100},
	} {
		if got := percentile(xs, tc.p); got != tc.want {
			t.Errorf("percentile(1..100, %v) = %v, want %v", tc.p, got, tc.want)
		}
	}
	if xs[0] != 100 {
		t.Error("percentile sorted its input in place")
	}
}

func TestPercentileSmallSets(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		p    float64
		want float64
	}{
		{nil, 50, 0},
		{[]float64{7}, 50, 7},
		{[]float64{7}, 99, 7},
		{[]float64{3, 1, 2}, 50, 2},    // rank ceil(1.5) = 2
		{[]float64{3, 1, 2}, 95, 3},    // rank ceil(2.85) = 3
		{[]float64{4, 1, 3, 2}, 50, 2}, // rank 2: nearest rank, no interpolation
		{[]float64{4, 1, 3, 2}, 75, 3},
		{[]float64{4, 1, 3, 2}, 76, 4},
		{[]float64{10, 10, 10, 1000}, 95, 1000},
	} {
		if got := percentile(tc.xs, tc.p); got != tc.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", tc.xs, tc.p, got, tc.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 200; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond+500*time.Microsecond)
	}
	s := summarize(ds)
	want := latencySummary{P50: 100.5, P95: 190.5, P99: 198.5, Max: 200.5}
	if s != want {
		t.Errorf("summarize = %+v, want %+v", s, want)
	}
	if (summarize(nil) != latencySummary{}) {
		t.Error("summarize(nil) is not zero")
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"10KB": 10000, "10kb": 10000, "10k": 10000, "200MB": 200e6, "1GiB": 1 << 30, "1 GiB": 1 << 30,
		"1.5MiB": 3 << 19, "4096": 4096, "12B": 12, "2GB": 2e9, "64KiB": 65536,
	} {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MB", "10XB", "0", "-1", "1.2.3MB", "0.1B"} {
		if n, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, n)
		}
	}
}

func TestParseOptionsDefaultsAndErrors(t *testing.T) {
	o, err := parseOptions([]string{"--scenario", "large"}, nopWriter{})
	if err != nil {
		t.Fatal(err)
	}
	if o.count != 1 || o.size != 1<<30 || o.concurrency != 1 || o.parts != 1 {
		t.Errorf("large defaults: %+v", o)
	}
	o, err = parseOptions([]string{"--scenario", "many-parts"}, nopWriter{})
	if err != nil {
		t.Fatal(err)
	}
	if o.parts != 100 || o.size != 10000 {
		t.Errorf("many-parts defaults: %+v", o)
	}
	for _, args := range [][]string{
		{"--scenario", "nope"}, {"--scenario", "scale", "--rounds", "0"}, {"--scenario", "dead-partner", "--blue", "a", "--red", "b"}, {"--key-bits", "1024"}, {"--blue", "x"},
		{"--count", "-1"}, {"--size", "10XB"}, {"--blue", "a", "--red", "b", "--as4gw", "c"}, {"extra"},
	} {
		if _, err := parseOptions(args, nopWriter{}); err == nil {
			t.Errorf("parseOptions(%q): no error", args)
		} else if _, ok := err.(usageError); !ok {
			t.Errorf("parseOptions(%q): %T, want a usageError", args, err)
		}
	}
}

type nopWriter struct{}

func (nopWriter) Write(b []byte) (int, error) { return len(b), nil }
