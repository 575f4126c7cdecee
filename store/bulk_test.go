package store

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestBulkLoadStates(t *testing.T) {
	s, c := openTest(t)
	due := c.Now().Add(time.Hour)
	failed := []Attempt{{At: c.Now().Add(-time.Minute), Error: Problem{Code: "EBMS:0005", Detail: "connection refused"}}}
	tests := []struct {
		name    string
		m       Message
		history []State // the To of each event, oldest first
		inbox   bool
		queued  bool
	}{
		{"received", withState(inMsg("b-in-1", "peer1", "org-1"), Received), []State{Received}, true, false},
		{"received with warnings", withState(inMsg("b-in-2", "peer1", "org-1"), ReceivedWithWarnings), []State{ReceivedWithWarnings}, true, false},
		{"downloaded", withState(inMsg("b-in-3", "peer2", "org-2"), Downloaded), []State{Received, Downloaded}, false, false},
		{"enqueued", withState(outMsg("b-out-1", "gw-b"), SendEnqueued), []State{SendEnqueued}, false, true},
		{"waiting for retry", func() Message {
			m := withState(outMsg("b-out-2", "gw-dead"), WaitingForRetry)
			m.Attempts, m.NextAttempt = failed, due
			return m
		}(), []State{SendEnqueued, SendInProgress, WaitingForRetry}, false, true},
		{"acknowledged", withState(outMsg("b-out-3", "gw-b"), Acknowledged), []State{SendEnqueued, SendInProgress, Acknowledged}, false, false},
		{"failed", func() Message {
			m := withState(outMsg("b-out-4", "gw-b"), SendFailure)
			m.Attempts = failed
			return m
		}(), []State{SendEnqueued, SendInProgress, SendFailure}, false, false},
	}
	var batch []Message
	for _, tc := range tests {
		batch = append(batch, tc.m)
	}
	got, err := s.BulkLoad(bg, batch)
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := mustGet(t, s, got[i].Key)
			if m.State != tc.m.State || m.ID != tc.m.ID {
				t.Fatalf("stored %s in %s, want %s", m.ID, m.State, tc.m.State)
			}
			h, err := s.History(bg, m.Key)
			if err != nil {
				t.Fatal(err)
			}
			var states []State
			for _, e := range h {
				states = append(states, e.To)
			}
			if fmt.Sprint(states) != fmt.Sprint(tc.history) {
				t.Errorf("history %v, want %v", states, tc.history)
			}
			if m.Lease != (Lease{}) {
				t.Errorf("lease %+v left behind", m.Lease)
			}
			if len(m.Attempts) != len(tc.m.Attempts) {
				t.Errorf("%d attempts, want %d", len(m.Attempts), len(tc.m.Attempts))
			}
			if tc.m.State == WaitingForRetry && !m.NextAttempt.Equal(due) {
				t.Errorf("next attempt %s, want %s", m.NextAttempt, due)
			}
			// The indexes the live operations use find it.
			if m.Direction == Inbound {
				if _, err := s.Receive(bg, withState(tc.m, Received)); !errors.Is(err, ErrDuplicate) {
					t.Errorf("Receive of the same message: %v, want ErrDuplicate", err)
				}
			} else if _, err := s.Submit(bg, outMsg(tc.m.ID, "gw-b")); !errors.Is(err, ErrDuplicate) {
				t.Errorf("Submit of the same id: %v, want ErrDuplicate", err)
			}
		})
	}
	checkInvariants(t, s)

	// Only what is due now is claimed: the enqueued one, not the retry an hour away.
	claimed, err := s.ClaimDue(bg, c.Now(), 10, time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ids(claimed)) != "[b-out-1]" {
		t.Errorf("claimed %v, want [b-out-1]", ids(claimed))
	}
	page, _, err := s.Inbox(bg, InboxQuery{Recipients: []PartyID{party("org-1")}})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ids(page)) != "[b-in-1 b-in-2]" {
		t.Errorf("inbox %v, want [b-in-1 b-in-2]", ids(page))
	}
}

func withState(m Message, s State) Message { m.State = s; return m }

func TestBulkLoadRefuses(t *testing.T) {
	s, _ := openTest(t)
	mustReceive(t, s, inMsg("stored-in", "peer1", "org-1"))
	mustSubmit(t, s, outMsg("stored-out", "gw-b"))
	tests := []struct {
		name string
		ms   []Message
		want error
	}{
		{"stored inbound", []Message{withState(inMsg("new", "peer1", "o"), Received), withState(inMsg("stored-in", "peer1", "o"), Received)}, ErrDuplicate},
		{"stored outbound", []Message{withState(outMsg("stored-out", "gw-b"), SendEnqueued)}, ErrDuplicate},
		{"twice in the load", []Message{withState(inMsg("x", "peer1", "o"), Downloaded), withState(inMsg("x", "peer1", "o"), Received)}, ErrDuplicate},
		{"in progress", []Message{withState(outMsg("y", "gw-b"), SendInProgress)}, ErrInvalid},
		{"no state", []Message{inMsg("z", "peer1", "o")}, ErrInvalid},
		{"no from", []Message{withState(Message{ID: "w", To: party("gw-a")}, Received)}, ErrInvalid},
		{"blob never stored", []Message{withState(inMsg("v", "peer1", "o", Payload{Blob: "0123456789abcdef0123456789abcdef", Size: 1}), Received)}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := s.Stats(bg)
			_, err := s.BulkLoad(bg, tc.ms)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("BulkLoad: %v, want %v", err, tc.want)
			}
			after, _ := s.Stats(bg)
			if after.LastEventSeq != before.LastEventSeq {
				t.Errorf("a refused load wrote %d events", after.LastEventSeq-before.LastEventSeq)
			}
		})
	}
	// The same distinct MessageId from another party is not a duplicate (see Receive).
	if _, err := s.BulkLoad(bg, []Message{withState(inMsg("stored-in", "peer2", "o"), Received)}); err != nil {
		t.Errorf("same id from another party: %v", err)
	}
	checkInvariants(t, s)
}

func TestBulkLoadWithPayload(t *testing.T) {
	s, _ := openTest(t)
	p := putPayload(t, s, []byte("<doc/>"))
	twice := []Message{withState(inMsg("first", "peer1", "org-1", p), Received), withState(inMsg("second", "peer1", "org-1", p), Received)}
	if _, err := s.BulkLoad(bg, twice); !errors.Is(err, ErrInvalid) {
		t.Fatalf("one blob for two messages: %v, want ErrInvalid", err)
	}
	got, err := s.BulkLoad(bg, []Message{withState(inMsg("with-payload", "peer1", "org-1", p), Received)})
	if err != nil {
		t.Fatal(err)
	}
	checkPayloads(t, s, got[0])
	checkInvariants(t, s)
}
