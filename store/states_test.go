package store

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The vocabulary is Domibus's WS plugin enum, string for string (compatibility.md).
func TestVocabulary(t *testing.T) {
	want := "READY_TO_SEND, READY_TO_PULL, BEING_PULLED, SEND_ENQUEUED, SEND_IN_PROGRESS, WAITING_FOR_RECEIPT, " +
		"ACKNOWLEDGED, ACKNOWLEDGED_WITH_WARNING, SEND_ATTEMPT_FAILED, SEND_FAILURE, NOT_FOUND, " +
		"WAITING_FOR_RETRY, RECEIVED, RECEIVED_WITH_WARNINGS, DELETED, DOWNLOADED"
	var got []string
	for _, s := range AllStates {
		got = append(got, string(s))
		if !s.Known() {
			t.Errorf("%s not Known", s)
		}
	}
	if strings.Join(got, ", ") != want {
		t.Errorf("AllStates =\n%s\nwant\n%s", strings.Join(got, ", "), want)
	}
	if State("SENT").Known() {
		t.Error("SENT is not in the vocabulary")
	}
}

func TestCanTransition(t *testing.T) {
	tests := []struct {
		from, to State
		want     bool
	}{
		{SendEnqueued, SendInProgress, true},
		{SendEnqueued, Deleted, true},
		{SendEnqueued, SendFailure, true},
		{SendEnqueued, WaitingForRetry, false},
		{SendInProgress, Acknowledged, true},
		{SendInProgress, AcknowledgedWithWarning, true},
		{SendInProgress, WaitingForRetry, true},
		{SendInProgress, SendFailure, true},
		{SendInProgress, SendEnqueued, true}, // lease recovered
		{SendInProgress, Deleted, false},     // a worker holds it
		{WaitingForRetry, SendInProgress, true},
		{WaitingForRetry, SendEnqueued, false},
		{SendFailure, SendEnqueued, true}, // resend
		{SendFailure, SendInProgress, false},
		{Acknowledged, Deleted, true},
		{Acknowledged, SendEnqueued, false},
		{Acknowledged, WaitingForRetry, false},
		{Received, Downloaded, true},
		{ReceivedWithWarnings, Downloaded, true},
		{Received, SendEnqueued, false},
		{Downloaded, SendEnqueued, false},
		{Downloaded, Received, false},
		{Downloaded, Deleted, true},
		{Deleted, Received, false},
		{Deleted, SendEnqueued, false},
		{SendEnqueued, Downloaded, false},
	}
	for _, tt := range tests {
		if got := CanTransition(tt.from, tt.to); got != tt.want {
			t.Errorf("CanTransition(%s, %s) = %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
	// No edge crosses directions, and every state named is in the vocabulary.
	for from, tos := range transitions {
		for _, to := range tos {
			if !from.Known() || !to.Known() {
				t.Errorf("%s → %s: unknown state", from, to)
			}
			if d := stateDirection[to]; d != "" && d != stateDirection[from] {
				t.Errorf("%s → %s crosses directions", from, to)
			}
		}
	}
}

// reach puts a new message into the given state through the public operations and
// returns it (with its lease when SEND_IN_PROGRESS).
func reach(t *testing.T, s *BoltStore, c *clock, n int, state State, dir Direction) Message {
	t.Helper()
	id := fmt.Sprintf("m%d-%s@test", n, strings.ToLower(string(state)))
	if dir == Inbound || state.inInbox() || state == Downloaded {
		m := inMsg(id, "peer", "org-1")
		if state == ReceivedWithWarnings {
			m.State = ReceivedWithWarnings
		}
		got := mustReceive(t, s, m)
		switch state {
		case Received, ReceivedWithWarnings:
			return got
		case Downloaded, Deleted:
			got, err := s.Transition(bg, got.Key, state, "")
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		t.Fatalf("cannot reach inbound %s", state)
	}
	m := mustSubmit(t, s, outMsg(id, "peer-"+id))
	if state == SendEnqueued {
		return m
	}
	if state == Deleted {
		got, err := s.Transition(bg, m.Key, Deleted, "")
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	claimed := claimKey(t, s, c, m.Key)
	var got Message
	var err error
	switch state {
	case SendInProgress:
		return claimed
	case WaitingForRetry:
		got, err = s.ScheduleRetry(bg, m.Key, claimed.Lease.Token, Attempt{HTTPStatus: 503}, c.Now().Add(time.Hour))
	case SendFailure:
		got, err = s.MarkFailed(bg, m.Key, claimed.Lease.Token, Attempt{Error: Problem{Code: "EBMS:0005"}})
	case Acknowledged:
		got, err = s.MarkAcknowledged(bg, m.Key, Attempt{HTTPStatus: 200}, Receipt{MessageID: "r-" + id})
	case AcknowledgedWithWarning:
		got, err = s.MarkAcknowledged(bg, m.Key, Attempt{HTTPStatus: 200}, Receipt{MessageID: "r-" + id, Warnings: []Problem{{Code: "EBMS:0002"}}})
	default:
		t.Fatalf("cannot reach outbound %s", state)
	}
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// claimKey claims until the message with key k is claimed (skipping other partners).
func claimKey(t *testing.T, s *BoltStore, c *clock, k Key) Message {
	t.Helper()
	m := mustGet(t, s, k)
	got, err := s.ClaimDue(bg, c.Now(), 10, time.Minute, func(p string) bool { return p != m.QueueKey() })
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range got {
		if g.Key == k {
			return g
		}
	}
	t.Fatalf("message %s not claimed (state %s)", m.ID, m.State)
	return Message{}
}

// Every operation from every state: the resulting state, or the error.
func TestOperationsFromEveryState(t *testing.T) {
	type op struct {
		name string
		do   func(s *BoltStore, c *clock, m Message) (Message, error)
	}
	transitionTo := func(to State) op {
		return op{"Transition→" + string(to), func(s *BoltStore, c *clock, m Message) (Message, error) {
			return s.Transition(bg, m.Key, to, "test")
		}}
	}
	ops := []op{
		{"ClaimDue", func(s *BoltStore, c *clock, m Message) (Message, error) {
			got, err := s.ClaimDue(bg, c.Now().Add(2*time.Hour), 100, time.Minute, func(p string) bool { return p != m.QueueKey() })
			if err != nil || len(got) == 0 {
				return Message{}, err
			}
			return got[0], nil
		}},
		{"ScheduleRetry", func(s *BoltStore, c *clock, m Message) (Message, error) {
			return s.ScheduleRetry(bg, m.Key, m.Lease.Token, Attempt{}, c.Now().Add(time.Minute))
		}},
		{"MarkFailed", func(s *BoltStore, c *clock, m Message) (Message, error) {
			return s.MarkFailed(bg, m.Key, m.Lease.Token, Attempt{})
		}},
		{"MarkAcknowledged", func(s *BoltStore, c *clock, m Message) (Message, error) {
			return s.MarkAcknowledged(bg, m.Key, Attempt{}, Receipt{MessageID: "r"})
		}},
		{"MarkDownloaded", func(s *BoltStore, c *clock, m Message) (Message, error) {
			return s.MarkDownloaded(bg, m.Key)
		}},
		transitionTo(SendEnqueued),
		transitionTo(SendFailure),
		transitionTo(Deleted),
	}
	// want[state][op] = resulting state, "" = nothing claimed (ClaimDue), or an error.
	lost, illegal := ErrLeaseLost, ErrIllegalTransition
	type res any
	want := map[State][]res{
		//                       ClaimDue        ScheduleRetry    MarkFailed   MarkAcknowledged          MarkDownloaded  →SEND_ENQUEUED →SEND_FAILURE →DELETED
		SendEnqueued:            {SendInProgress, lost, lost, Acknowledged, illegal, SendEnqueued, SendFailure, Deleted},
		SendInProgress:          {State(""), WaitingForRetry, SendFailure, Acknowledged, illegal, SendEnqueued, SendFailure, illegal},
		WaitingForRetry:         {SendInProgress, lost, lost, Acknowledged, illegal, illegal, SendFailure, Deleted},
		SendFailure:             {State(""), lost, lost, Acknowledged, illegal, SendEnqueued, SendFailure, Deleted},
		Acknowledged:            {State(""), lost, lost, Acknowledged, illegal, illegal, illegal, Deleted},
		AcknowledgedWithWarning: {State(""), lost, lost, AcknowledgedWithWarning, illegal, illegal, illegal, Deleted},
		Received:                {State(""), illegal, illegal, illegal, Downloaded, illegal, illegal, Deleted},
		ReceivedWithWarnings:    {State(""), illegal, illegal, illegal, Downloaded, illegal, illegal, Deleted},
		Downloaded:              {State(""), illegal, illegal, illegal, Downloaded, illegal, illegal, Deleted},
		Deleted:                 {State(""), lost, lost, illegal, illegal, illegal, illegal, Deleted},
	}
	// SEND_IN_PROGRESS → SEND_ENQUEUED is an edge (lease recovery), but not a manual one:
	// a worker holds the message. Transition refuses it as illegal for the operator...
	want[SendInProgress][5] = illegal
	// ...and SEND_IN_PROGRESS → SEND_FAILURE likewise (only MarkFailed, with the lease).
	want[SendInProgress][6] = illegal

	s, c := openTest(t)
	n := 0
	for _, start := range []State{SendEnqueued, SendInProgress, WaitingForRetry, SendFailure, Acknowledged,
		AcknowledgedWithWarning, Received, ReceivedWithWarnings, Downloaded, Deleted} {
		for i, o := range ops {
			t.Run(string(start)+"/"+o.name, func(t *testing.T) {
				n++
				dir := Outbound
				if start.inInbox() || start == Downloaded {
					dir = Inbound
				}
				m := reach(t, s, c, n, start, dir)
				got, err := o.do(s, c, m)
				switch w := want[start][i].(type) {
				case error:
					if !errors.Is(err, w) {
						t.Fatalf("got state %s err %v, want %v", got.State, err, w)
					}
					if after := mustGet(t, s, m.Key); after.State != start {
						t.Fatalf("a refused operation changed the state to %s", after.State)
					}
				case State:
					if err != nil {
						t.Fatalf("err %v, want %s", err, w)
					}
					if got.State != w {
						t.Fatalf("state %q, want %q", got.State, w)
					}
				}
			})
		}
	}
	checkInvariants(t, s)
}
