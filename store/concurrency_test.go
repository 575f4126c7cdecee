package store

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Many goroutines submit and receive while sender workers claim and record outcomes. No
// message may be held by two workers at once, none may be lost, each inbound message is
// stored once however many copies arrive, and the indexes agree with the records after.
func TestConcurrentSubmitClaimReceive(t *testing.T) {
	s, err := OpenBolt(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const (
		submitters = 16
		perSubmit  = 60
		receivers  = 8
		inbound    = 100 // distinct inbound messages, each sent by every receiver
		workers    = 4
		partners   = 8
	)
	total := submitters * perSubmit

	var mu sync.Mutex
	holding := map[Key]bool{} // claimed and no outcome recorded yet
	outcomes := map[Key]int{}
	submitted := map[Key]string{}
	var failures []string
	fail := func(format string, args ...any) {
		mu.Lock()
		failures = append(failures, fmt.Sprintf(format, args...))
		mu.Unlock()
	}

	var wg sync.WaitGroup
	for g := 0; g < submitters; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perSubmit; i++ {
				var ps []Payload
				if i%4 == 0 {
					ps = append(ps, putPayload(t, s, []byte(fmt.Sprintf("payload %d/%d", g, i))))
				}
				id := fmt.Sprintf("c%d-%d@gw", g, i)
				m, err := s.Submit(bg, outMsg(id, fmt.Sprintf("partner%d", (g+i)%partners), ps...))
				if err != nil {
					fail("submit %s: %v", id, err)
					return
				}
				mu.Lock()
				submitted[m.Key] = id
				mu.Unlock()
			}
		}()
	}
	var stored atomic.Int64
	for g := 0; g < receivers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < inbound; i++ {
				_, err := s.Receive(bg, inMsg(fmt.Sprintf("in%d@peer", i), "peer", fmt.Sprintf("org-%d", i%5)))
				switch {
				case err == nil:
					stored.Add(1)
				case !errors.Is(err, ErrDuplicate):
					fail("receive: %v", err)
				}
			}
		}()
	}

	var done atomic.Bool
	var wwg sync.WaitGroup
	var acked, failed atomic.Int64
	for w := 0; w < workers; w++ {
		wwg.Add(1)
		go func() {
			defer wwg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for !done.Load() {
				// Partner 3 is "in backoff" for half of the workers.
				skip := func(p string) bool { return w%2 == 0 && p == party("partner3").String() }
				got, err := s.ClaimDue(bg, time.Now(), 1+rng.IntN(8), time.Hour, skip)
				if err != nil {
					fail("claim: %v", err)
					return
				}
				if len(got) == 0 {
					time.Sleep(time.Millisecond)
					continue
				}
				mu.Lock()
				for _, m := range got {
					if holding[m.Key] {
						failures = append(failures, fmt.Sprintf("%s claimed while held", m.ID))
					}
					holding[m.Key] = true
				}
				mu.Unlock()
				for _, m := range got {
					mu.Lock()
					delete(holding, m.Key) // before the outcome commits: the claim ends there
					outcomes[m.Key]++
					mu.Unlock()
					var err error
					switch r := rng.IntN(10); {
					case r < 6:
						_, err = s.MarkAcknowledged(bg, m.Key, Attempt{HTTPStatus: 200}, Receipt{MessageID: "r-" + m.ID})
						acked.Add(1)
					case r < 9:
						_, err = s.ScheduleRetry(bg, m.Key, m.Lease.Token, Attempt{HTTPStatus: 503}, time.Now())
					default:
						_, err = s.MarkFailed(bg, m.Key, m.Lease.Token, Attempt{HTTPStatus: 400})
						failed.Add(1)
					}
					if err != nil {
						fail("outcome %s: %v", m.ID, err)
					}
				}
			}
		}()
	}
	wg.Wait()
	// Let the workers drain the queue.
	deadline := time.Now().Add(60 * time.Second)
	for acked.Load()+failed.Load() < int64(total) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	done.Store(true)
	wwg.Wait()
	for _, f := range failures {
		t.Error(f)
	}
	if t.Failed() {
		return
	}
	if got := acked.Load() + failed.Load(); got != int64(total) {
		t.Fatalf("%d of %d messages reached a final state", got, total)
	}
	if len(submitted) != total {
		t.Fatalf("%d submits returned a key, want %d", len(submitted), total)
	}
	for k, id := range submitted {
		m := mustGet(t, s, k)
		if m.ID != id {
			t.Fatalf("key %d holds %s, want %s", k, m.ID, id)
		}
		if m.State != Acknowledged && m.State != SendFailure {
			t.Errorf("%s ended in %s", id, m.State)
		}
		if len(m.Attempts) != outcomes[k] {
			t.Errorf("%s: %d attempts stored, %d outcomes recorded", id, len(m.Attempts), outcomes[k])
		}
		checkPayloads(t, s, m)
	}
	if stored.Load() != inbound {
		t.Errorf("%d inbound messages stored, want %d (each exactly once)", stored.Load(), inbound)
	}
	st, _ := s.Stats(bg)
	t.Logf("%d write operations in %d commits (%.1f per commit); %d acknowledged, %d failed",
		st.WriteOps, st.Commits, float64(st.WriteOps)/float64(max(st.Commits, 1)), acked.Load(), failed.Load())
	checkInvariants(t, s)
}
