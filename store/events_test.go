package store

import (
	"fmt"
	"testing"
	"time"
)

func TestEventLog(t *testing.T) {
	s, c := openTest(t)
	start := s.LastEventSeq()
	o := mustSubmit(t, s, outMsg("e1@gw", "gw-b"))
	i := mustReceive(t, s, inMsg("e2@peer", "peer", "org-1"))
	claimKey(t, s, c, o.Key)
	if _, err := s.MarkAcknowledged(bg, o.Key, Attempt{}, Receipt{MessageID: "r"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MarkDownloaded(bg, i.Key); err != nil {
		t.Fatal(err)
	}

	evs, next, err := s.EventsAfter(bg, start, 100, EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for n, e := range evs {
		got = append(got, fmt.Sprintf("%s:%s>%s", e.MessageID, e.From, e.To))
		// The API's viewer: outbound the originalSender, inbound the finalRecipient.
		wantViewer := map[string]PartyID{"e1@gw": party("org-sender"), "e2@peer": party("org-1")}[e.MessageID]
		if e.Viewer == nil || *e.Viewer != wantViewer {
			t.Errorf("%s: viewer %v, want %v", e.MessageID, e.Viewer, wantViewer)
		}
		if n > 0 && e.Seq <= evs[n-1].Seq {
			t.Errorf("sequence not increasing: %d after %d", e.Seq, evs[n-1].Seq)
		}
		if !e.Time.Equal(c.Now()) {
			t.Errorf("event time %v", e.Time)
		}
	}
	want := []string{"e1@gw:>SEND_ENQUEUED", "e2@peer:>RECEIVED", "e1@gw:SEND_ENQUEUED>SEND_IN_PROGRESS",
		"e1@gw:SEND_IN_PROGRESS>ACKNOWLEDGED", "e2@peer:RECEIVED>DOWNLOADED"}
	if !eqStrings(got, want) {
		t.Fatalf("events %v\nwant %v", got, want)
	}
	if next != evs[len(evs)-1].Seq || next != s.LastEventSeq() {
		t.Fatalf("next %d, last event %d, LastEventSeq %d", next, evs[len(evs)-1].Seq, s.LastEventSeq())
	}
	if evs, next2, _ := s.EventsAfter(bg, next, 100, EventFilter{}); len(evs) != 0 || next2 != next {
		t.Fatalf("after the end: %d events, next %d", len(evs), next2)
	}

	// Filters: a tenant sees events of its participants only.
	tests := []struct {
		f    EventFilter
		want int
	}{
		{EventFilter{Parties: []PartyID{party("org-1")}}, 2},
		{EventFilter{Parties: []PartyID{party("org-gw-b")}}, 3},
		{EventFilter{Parties: []PartyID{party("nobody")}}, 0},
		{EventFilter{Direction: Inbound}, 2},
		{EventFilter{Direction: Outbound, Parties: []PartyID{party("org-1")}}, 0},
	}
	for _, tt := range tests {
		evs, next, err := s.EventsAfter(bg, start, 100, tt.f)
		if err != nil || len(evs) != tt.want {
			t.Errorf("filter %+v: %d events (%v), want %d", tt.f, len(evs), err, tt.want)
		}
		if next != s.LastEventSeq() {
			t.Errorf("filter %+v: cursor %d, want %d (examined all)", tt.f, next, s.LastEventSeq())
		}
	}
	// Paging.
	evs, next, _ = s.EventsAfter(bg, start, 2, EventFilter{})
	if len(evs) != 2 || next != evs[1].Seq {
		t.Fatalf("page of 2: %d events, next %d", len(evs), next)
	}
	// Sequence numbers continue after a reopen.
	last := s.LastEventSeq()
	s = reopen(t, s, c)
	if s.LastEventSeq() != last {
		t.Fatalf("LastEventSeq after reopen %d, want %d", s.LastEventSeq(), last)
	}
	m := mustSubmit(t, s, outMsg("e3@gw", "gw-b"))
	h, _ := s.History(bg, m.Key)
	if h[0].Seq != last+1 {
		t.Fatalf("first event after reopen has seq %d, want %d", h[0].Seq, last+1)
	}
}

// A long-poll waits on Changed without polling and wakes when an event commits.
func TestChangedWakesWaiters(t *testing.T) {
	s, _ := openTest(t)
	after := s.LastEventSeq()
	got := make(chan []Event, 1)
	go func() {
		for {
			ch := s.Changed() // before the query, so nothing is missed
			evs, next, err := s.EventsAfter(bg, after, 10, EventFilter{})
			if err != nil {
				t.Error(err)
				return
			}
			after = next
			if len(evs) > 0 {
				got <- evs
				return
			}
			<-ch
		}
	}()
	select {
	case <-got:
		t.Fatal("woke before any event")
	case <-time.After(20 * time.Millisecond):
	}
	mustSubmit(t, s, outMsg("wake@gw", "b"))
	select {
	case evs := <-got:
		if evs[0].MessageID != "wake@gw" {
			t.Fatalf("woke with %+v", evs)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("not woken")
	}
	// A failed operation commits no event and wakes nobody.
	ch := s.Changed()
	if _, err := s.Submit(bg, outMsg("wake@gw", "b")); err == nil {
		t.Fatal("duplicate accepted")
	}
	select {
	case <-ch:
		t.Fatal("woken by a refused submit")
	default:
	}
}
