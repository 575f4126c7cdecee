package store

import (
	"testing"
	"time"
)

// An idle claim (nothing due, or everything due skipped) is answered from a read
// transaction: it takes no turn of the commit goroutine, which every writer waits for.
func TestClaimDueIdleNeedsNoWrite(t *testing.T) {
	s, c := openTest(t)
	later := withState(outMsg("later@gw", "gw-later"), SendEnqueued)
	later.NextAttempt = c.Now().Add(time.Hour)
	if _, err := s.BulkLoad(bg, []Message{later}); err != nil {
		t.Fatal(err)
	}
	mustSubmit(t, s, outMsg("now@gw", "gw-b"))
	skipB := func(p string) bool { return p == party("gw-b").String() }
	tests := []struct {
		name   string
		at     time.Time
		skip   func(string) bool
		claims int
	}{
		{"due partner skipped, other not due", c.Now(), skipB, 0},
		{"everything skipped", c.Now().Add(2 * time.Hour), func(string) bool { return true }, 0},
		{"due", c.Now(), nil, 1},
		{"the other due later", c.Now().Add(2 * time.Hour), skipB, 1},
		{"nothing left", c.Now().Add(2 * time.Hour), nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := s.Stats(bg)
			got, err := s.ClaimDue(bg, tc.at, 4, time.Minute, tc.skip)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.claims {
				t.Fatalf("claimed %v, want %d", ids(got), tc.claims)
			}
			after, _ := s.Stats(bg)
			if tc.claims == 0 && after.WriteOps != before.WriteOps {
				t.Errorf("an idle claim made %d write operations", after.WriteOps-before.WriteOps)
			}
		})
	}
	checkInvariants(t, s)
}
