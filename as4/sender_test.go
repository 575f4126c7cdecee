package as4

import (
	"testing"
	"time"
)

func TestRetryGap(t *testing.T) {
	offs := []time.Duration{3 * time.Minute, 6 * time.Minute, 9 * time.Minute, 12 * time.Minute}
	prog := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute}
	tests := []struct {
		offs []time.Duration
		n    int
		want time.Duration
	}{
		{offs, 1, 3 * time.Minute},
		{offs, 3, 3 * time.Minute},
		{prog, 1, time.Minute},
		{prog, 4, 4 * time.Minute},
		{offs, 0, 0},
		{offs, 5, 0},
		{nil, 1, 0},
	}
	for _, tt := range tests {
		if got := retryGap(tt.offs, tt.n); got != tt.want {
			t.Errorf("retryGap(%v, %d) = %v, want %v", tt.offs, tt.n, got, tt.want)
		}
	}
}

// Sends that fail together count as one failure of the partner, so a partner
// restarting under load is not backed off for minutes.
func TestPartnerBackoffCountsRounds(t *testing.T) {
	p := &partners{inFlight: map[string]int{}, backoffUntil: map[string]time.Time{}, failures: map[string]int{}}
	now := time.Unix(1000, 0)
	for i := 0; i < 4; i++ {
		p.start("red")
	}
	for i := 0; i < 4; i++ {
		p.finish("red", false, true, now)
	}
	if got := p.backoffUntil["red"].Sub(now); got != 5*time.Second {
		t.Fatalf("after one round of 4 failures backoff = %v, want 5s", got)
	}
	if !p.skip("red", now.Add(time.Second), 4) || p.skip("red", now.Add(6*time.Second), 4) {
		t.Error("skip does not follow the backoff window")
	}
	later := now.Add(6 * time.Second)
	p.start("red")
	p.finish("red", false, true, later)
	if got := p.backoffUntil["red"].Sub(later); got != 10*time.Second {
		t.Errorf("second round backoff = %v, want 10s", got)
	}
	p.start("red")
	p.finish("red", true, false, later.Add(20*time.Second))
	if p.skip("red", later.Add(20*time.Second), 4) || p.failures["red"] != 0 {
		t.Error("a success does not reset the backoff")
	}
	// The per-partner cap.
	p.start("blue")
	p.start("blue")
	if !p.skip("blue", now, 2) || p.skip("blue", now, 3) {
		t.Error("per-partner in-flight cap not applied")
	}
}
