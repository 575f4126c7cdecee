package store

import (
	"errors"
	"fmt"
	"testing"
)

func TestInbox(t *testing.T) {
	s, _ := openTest(t)
	// Interleave three recipients; "org-3" belongs to someone else.
	var want1, want12 []string
	for i := 0; i < 12; i++ {
		r := fmt.Sprintf("org-%d", i%3+1)
		m := inMsg(fmt.Sprintf("in%02d@peer", i), "peer", r)
		if i == 4 {
			m.FinalRecipient = PartyID{} // falls back to To
			m.To = party("org-2")
		}
		mustReceive(t, s, m)
		if r == "org-1" {
			want1 = append(want1, m.ID)
		}
		if r != "org-3" {
			want12 = append(want12, m.ID)
		}
	}
	// An outbound message to org-1 is not in anyone's inbox.
	mustSubmit(t, s, outMsg("out@gw", "org-1"))

	page, next, err := s.Inbox(bg, InboxQuery{Recipients: []PartyID{party("org-1")}})
	if err != nil {
		t.Fatal(err)
	}
	if !eqStrings(ids(page), want1) || next != "" {
		t.Fatalf("org-1 inbox %v next %q, want %v", ids(page), next, want1)
	}

	// Two recipients, pages of 3, merged oldest first.
	var all []string
	var cur Cursor
	for pages := 0; ; pages++ {
		page, next, err := s.Inbox(bg, InboxQuery{Recipients: []PartyID{party("org-2"), party("org-1"), party("org-1")}, After: cur, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ids(page)...)
		if next == "" {
			break
		}
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		cur = next
	}
	if !eqStrings(all, want12) {
		t.Fatalf("paged inbox %v\nwant %v", all, want12)
	}

	// Downloading removes a message from the inbox, once; repeating is a no-op.
	first := page[0]
	got, err := s.MarkDownloaded(bg, first.Key)
	if err != nil || got.State != Downloaded {
		t.Fatalf("download: %v %s", err, got.State)
	}
	h1, _ := s.History(bg, first.Key)
	if got, err := s.MarkDownloaded(bg, first.Key); err != nil || got.State != Downloaded {
		t.Fatalf("second download: %v %s", err, got.State)
	}
	if h2, _ := s.History(bg, first.Key); len(h2) != len(h1) {
		t.Fatal("repeated download wrote an event")
	}
	page, _, _ = s.Inbox(bg, InboxQuery{Recipients: []PartyID{party("org-1")}})
	if !eqStrings(ids(page), want1[1:]) {
		t.Fatalf("after download %v", ids(page))
	}
	// Deleting removes one too.
	if _, err := s.Transition(bg, page[0].Key, Deleted, "retention"); err != nil {
		t.Fatal(err)
	}
	page, _, _ = s.Inbox(bg, InboxQuery{Recipients: []PartyID{party("org-1")}})
	if !eqStrings(ids(page), want1[2:]) {
		t.Fatalf("after delete %v", ids(page))
	}
	if _, _, err := s.Inbox(bg, InboxQuery{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("no recipients: %v", err)
	}
	// Types matter: the same value with another type is another party.
	if page, _, _ := s.Inbox(bg, InboxQuery{Recipients: []PartyID{{ID: "org-1"}}}); len(page) != 0 {
		t.Fatalf("untyped id matched typed: %v", ids(page))
	}
	checkInvariants(t, s)
}

func TestList(t *testing.T) {
	s, c := openTest(t)
	// org-a sends out (as originalSender) and receives in (as finalRecipient).
	for i := 0; i < 5; i++ {
		m := outMsg(fmt.Sprintf("o%d@gw", i), "gw-b")
		m.OriginalSender = party("org-a")
		mustSubmit(t, s, m)
		mustReceive(t, s, inMsg(fmt.Sprintf("i%d@peer", i), "peer", "org-a"))
		mustReceive(t, s, inMsg(fmt.Sprintf("x%d@peer", i), "peer", "org-x"))
	}
	cl := claimKey(t, s, c, 1)
	if _, err := s.MarkAcknowledged(bg, cl.Key, Attempt{}, Receipt{MessageID: "r"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		q    ListQuery
		want []string
	}{
		{"all of org-a", ListQuery{Parties: []PartyID{party("org-a")}},
			[]string{"o0@gw", "i0@peer", "o1@gw", "i1@peer", "o2@gw", "i2@peer", "o3@gw", "i3@peer", "o4@gw", "i4@peer"}},
		{"inbound", ListQuery{Parties: []PartyID{party("org-a")}, Direction: Inbound},
			[]string{"i0@peer", "i1@peer", "i2@peer", "i3@peer", "i4@peer"}},
		{"acknowledged", ListQuery{Parties: []PartyID{party("org-a")}, States: []State{Acknowledged}},
			[]string{"o0@gw"}},
		{"two parties, no repeats", ListQuery{Parties: []PartyID{party("org-x"), party("peer")}, Direction: Inbound},
			[]string{"i0@peer", "x0@peer", "i1@peer", "x1@peer", "i2@peer", "x2@peer", "i3@peer", "x3@peer", "i4@peer", "x4@peer"}},
		{"nobody", ListQuery{Parties: []PartyID{party("nobody")}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			q := tt.q
			q.Limit = 3
			for i := 0; i < 20; i++ {
				page, next, err := s.List(bg, q)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, ids(page)...)
				if next == "" {
					break
				}
				q.After = next
			}
			if !eqStrings(got, tt.want) {
				t.Fatalf("got %v\nwant %v", got, tt.want)
			}
		})
	}
	if _, _, err := s.List(bg, ListQuery{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("no parties: %v", err)
	}
	if _, _, err := s.List(bg, ListQuery{Parties: []PartyID{party("a")}, Direction: "up"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad direction: %v", err)
	}
}
