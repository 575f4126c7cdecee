package store

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestClaimDueOrderAndLease(t *testing.T) {
	s, c := openTest(t)
	now := c.Now()
	// Due times out of insertion order; the last is not due yet.
	offsets := []time.Duration{-time.Minute, -3 * time.Minute, 0, -2 * time.Minute, time.Minute}
	for i, off := range offsets {
		m := outMsg(fmt.Sprintf("o%d@gw", i), "gw-b")
		m.NextAttempt = now.Add(off)
		mustSubmit(t, s, m)
	}
	got, err := s.ClaimDue(bg, now, 10, 5*time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"o1@gw", "o3@gw", "o0@gw", "o2@gw"}; !eqStrings(ids(got), want) {
		t.Fatalf("claimed %v, want %v (due order, not-yet-due left)", ids(got), want)
	}
	tokens := map[uint64]bool{}
	for _, m := range got {
		if m.State != SendInProgress || !m.Lease.Until.Equal(now.Add(5*time.Minute)) || m.Lease.Token == 0 {
			t.Errorf("%s: state %s lease %+v", m.ID, m.State, m.Lease)
		}
		if tokens[m.Lease.Token] {
			t.Errorf("lease token %d reused", m.Lease.Token)
		}
		tokens[m.Lease.Token] = true
		if stored := mustGet(t, s, m.Key); stored.Lease != m.Lease || stored.State != SendInProgress {
			t.Errorf("%s: stored %s %+v", m.ID, stored.State, stored.Lease)
		}
	}
	if again, _ := s.ClaimDue(bg, now, 10, time.Minute, nil); len(again) != 0 {
		t.Fatalf("claimed twice: %v", ids(again))
	}
	if got, _ := s.ClaimDue(bg, now.Add(time.Minute), 10, time.Minute, nil); !eqStrings(ids(got), []string{"o4@gw"}) {
		t.Fatalf("later claim: %v", ids(got))
	}
	if _, err := s.ClaimDue(bg, now, 1, 0, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("zero lease: %v", err)
	}
	checkInvariants(t, s)
}

// A partner with a long queue gets one slot per round; a skipped partner none; calls
// rotate over partners when the limit is smaller than their number.
func TestClaimDueFairness(t *testing.T) {
	s, c := openTest(t)
	for i := 0; i < 50; i++ {
		mustSubmit(t, s, outMsg(fmt.Sprintf("big%02d@gw", i), "big"))
	}
	for i := 0; i < 3; i++ {
		mustSubmit(t, s, outMsg(fmt.Sprintf("small%d@gw", i), "small"))
		mustSubmit(t, s, outMsg(fmt.Sprintf("down%d@gw", i), "down"))
	}
	down := party("down")
	skip := func(p string) bool { return p == down.String() }
	got, err := s.ClaimDue(bg, c.Now(), 6, time.Minute, skip)
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, m := range got {
		per[m.To.ID]++
	}
	if per["big"] != 3 || per["small"] != 3 || per["down"] != 0 {
		t.Fatalf("claimed per partner %v, want big 3, small 3, down 0", per)
	}

	// Rotation: ten partners, limit 3: the first four calls serve ten distinct partners
	// (3+3+3, then the tenth and the first again).
	s2, c2 := openTest(t)
	for p := 0; p < 10; p++ {
		for i := 0; i < 5; i++ {
			mustSubmit(t, s2, outMsg(fmt.Sprintf("p%d-%d@gw", p, i), fmt.Sprintf("partner%d", p)))
		}
	}
	seen := map[string]bool{}
	for call := 0; call < 4; call++ {
		got, err := s2.ClaimDue(bg, c2.Now(), 3, time.Minute, nil)
		if err != nil || len(got) != 3 {
			t.Fatalf("call %d: %d claimed, %v", call, len(got), err)
		}
		for _, m := range got {
			seen[m.To.ID] = true
		}
	}
	if len(seen) != 10 {
		t.Fatalf("four calls of three reached %d partners, want all 10", len(seen))
	}
	checkInvariants(t, s)
	checkInvariants(t, s2)
}

func TestRetryCycle(t *testing.T) {
	s, c := openTest(t)
	m := mustSubmit(t, s, outMsg("r@gw", "gw-b"))
	claimed := claimKey(t, s, c, m.Key)

	next := c.Now().Add(3 * time.Minute)
	a1 := Attempt{At: c.Now(), HTTPStatus: 503, Error: Problem{Code: "EBMS:0005", Detail: "503 Service Unavailable"}}
	got, err := s.ScheduleRetry(bg, m.Key, claimed.Lease.Token, a1, next)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != WaitingForRetry || !got.NextAttempt.Equal(next) || len(got.Attempts) != 1 || got.Lease != (Lease{}) {
		t.Fatalf("after retry: %s next %v attempts %d lease %+v", got.State, got.NextAttempt, len(got.Attempts), got.Lease)
	}
	// A stale token cannot record a second outcome.
	if _, err := s.ScheduleRetry(bg, m.Key, claimed.Lease.Token, a1, next); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("stale token: %v", err)
	}
	if got, _ := s.ClaimDue(bg, next.Add(-time.Second), 10, time.Minute, nil); len(got) != 0 {
		t.Fatal("claimed before the retry time")
	}
	c.Add(3 * time.Minute)
	claimed2 := claimKey(t, s, c, m.Key)
	if claimed2.Lease.Token == claimed.Lease.Token {
		t.Fatal("second claim has the first token")
	}
	got, err = s.MarkFailed(bg, m.Key, claimed2.Lease.Token, Attempt{Error: Problem{Code: "EBMS:0005", Detail: "connection refused"}})
	if err != nil {
		t.Fatal(err)
	}
	if got.State != SendFailure || len(got.Attempts) != 2 || !got.Attempts[1].At.Equal(c.Now()) {
		t.Fatalf("after fail: %s attempts %+v", got.State, got.Attempts)
	}
	// An operator resends: due at once, attempts kept.
	got, err = s.Transition(bg, m.Key, SendEnqueued, "resent by operator")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != SendEnqueued || !got.NextAttempt.Equal(c.Now()) || len(got.Attempts) != 2 {
		t.Fatalf("after resend: %s %v %d", got.State, got.NextAttempt, len(got.Attempts))
	}
	claimed3 := claimKey(t, s, c, m.Key)
	got, err = s.MarkAcknowledged(bg, m.Key, Attempt{HTTPStatus: 200}, Receipt{MessageID: "rcpt@b", NRR: []byte(`[{"uri":"cid:1"}]`), Time: c.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if got.State != Acknowledged || got.Receipt.MessageID != "rcpt@b" || len(got.Attempts) != 3 || got.Lease != (Lease{}) {
		t.Fatalf("after ack: %+v", got)
	}
	// Late outcomes of the acknowledged claim lose.
	if _, err := s.MarkFailed(bg, m.Key, claimed3.Lease.Token, Attempt{}); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("fail after ack: %v", err)
	}
	h, err := s.History(bg, m.Key)
	if err != nil {
		t.Fatal(err)
	}
	var path []State
	for _, e := range h {
		path = append(path, e.To)
	}
	want := []State{SendEnqueued, SendInProgress, WaitingForRetry, SendInProgress, SendFailure, SendEnqueued, SendInProgress, Acknowledged}
	if fmt.Sprint(path) != fmt.Sprint(want) {
		t.Fatalf("history %v\nwant %v", path, want)
	}
	if h[2].Reason != "attempt 1 failed (EBMS:0005 503 Service Unavailable); next attempt at 2025-03-01T09:03:00Z" {
		t.Errorf("retry reason %q", h[2].Reason)
	}
	if h[5].Reason != "resent by operator" || h[7].Reason != "receipt rcpt@b received" {
		t.Errorf("reasons %q, %q", h[5].Reason, h[7].Reason)
	}
	checkInvariants(t, s)
}

func TestRecoverLeases(t *testing.T) {
	s, c := openTest(t)
	fresh := mustSubmit(t, s, outMsg("fresh@gw", "b1"))
	tried := mustSubmit(t, s, outMsg("tried@gw", "b2"))
	cl := claimKey(t, s, c, tried.Key)
	if _, err := s.ScheduleRetry(bg, tried.Key, cl.Lease.Token, Attempt{HTTPStatus: 500}, c.Now()); err != nil {
		t.Fatal(err)
	}
	got, err := s.ClaimDue(bg, c.Now(), 10, time.Minute, nil)
	if err != nil || len(got) != 2 {
		t.Fatalf("claimed %d: %v", len(got), err)
	}
	if n, err := s.RecoverLeases(bg, c.Now().Add(30*time.Second)); err != nil || n != 0 {
		t.Fatalf("recovered %d before expiry: %v", n, err)
	}
	c.Add(2 * time.Minute)
	if n, err := s.RecoverLeases(bg, c.Now()); err != nil || n != 2 {
		t.Fatalf("recovered %d: %v", n, err)
	}
	if m := mustGet(t, s, fresh.Key); m.State != SendEnqueued || !m.NextAttempt.Equal(c.Now()) {
		t.Errorf("never-tried message: %s due %v", m.State, m.NextAttempt)
	}
	if m := mustGet(t, s, tried.Key); m.State != WaitingForRetry || len(m.Attempts) != 1 {
		t.Errorf("tried message: %s attempts %d", m.State, len(m.Attempts))
	}
	// The hung worker's outcome is refused; a receipt is not.
	var old Message
	for _, g := range got {
		if g.Key == fresh.Key {
			old = g
		}
	}
	if _, err := s.ScheduleRetry(bg, fresh.Key, old.Lease.Token, Attempt{}, c.Now()); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("outcome after recovery: %v", err)
	}
	if m, err := s.MarkAcknowledged(bg, fresh.Key, Attempt{}, Receipt{MessageID: "late"}); err != nil || m.State != Acknowledged {
		t.Fatalf("late receipt: %v %s", err, m.State)
	}
	checkInvariants(t, s)
}

// A crash leaves SEND_IN_PROGRESS behind; the next open makes it due again.
func TestReopenReleasesLeases(t *testing.T) {
	s, c := openTest(t)
	for i := 0; i < 3; i++ {
		mustSubmit(t, s, outMsg(fmt.Sprintf("l%d@gw", i), "b"))
	}
	if got, err := s.ClaimDue(bg, c.Now(), 2, time.Hour, nil); err != nil || len(got) != 2 {
		t.Fatalf("claim: %d %v", len(got), err)
	}
	s = reopen(t, s, c)
	if r := s.Recovered(); r.LeasesReleased != 2 {
		t.Fatalf("recovery %+v", r)
	}
	st, _ := s.Stats(bg)
	if st.Messages[SendEnqueued] != 3 || st.Messages[SendInProgress] != 0 {
		t.Fatalf("after reopen: %v", st.Messages)
	}
	h, _ := s.History(bg, 1)
	if last := h[len(h)-1]; last.From != SendInProgress || last.To != SendEnqueued {
		t.Fatalf("last change %+v", last)
	}
	checkInvariants(t, s)
}

func TestQueues(t *testing.T) {
	s, c := openTest(t)
	now := c.Now()
	for i := 0; i < 3; i++ {
		m := outMsg(fmt.Sprintf("a%d@gw", i), "a")
		m.NextAttempt = now.Add(time.Duration(3-i) * time.Minute)
		mustSubmit(t, s, m)
	}
	m := outMsg("b0@gw", "b")
	m.PeerAP.PartyID = "ap-b" // the AP is known: it is the queue key
	mustSubmit(t, s, m)
	q, err := s.Queues(bg)
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != 2 {
		t.Fatalf("queues %+v", q)
	}
	byName := map[string]PartnerQueue{}
	for _, pq := range q {
		byName[pq.Partner] = pq
	}
	a := byName[party("a").String()]
	if a.Waiting != 3 || !a.NextDue.Equal(now.Add(time.Minute)) {
		t.Errorf("queue a: %+v", a)
	}
	if b := byName["ap-b"]; b.Waiting != 1 || !b.NextDue.Equal(now) {
		t.Errorf("queue ap-b: %+v", b)
	}
	// Draining a partner removes its queue.
	if got, _ := s.ClaimDue(bg, now, 10, time.Minute, func(p string) bool { return p != "ap-b" }); len(got) != 1 {
		t.Fatal("claim ap-b")
	}
	if q, _ := s.Queues(bg); len(q) != 1 {
		t.Fatalf("queues after draining ap-b: %+v", q)
	}
}
