package store

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSubmitStoresEverything(t *testing.T) {
	s, c := openTest(t)
	p := putPayload(t, s, []byte("<Invoice/>"))
	p.Properties = []Property{{Name: "MimeType", Value: "application/xml"}}
	p.Compressed = true
	p.FileName = "invoice.xml"
	in := outMsg("out-1@gw", "gw-b", p)
	in.RefToMessageID = "earlier@gw"
	in.PeerAP = PeerAP{PartyID: "gw-b", CertSHA256: "00ff", Endpoint: "https://b.example/as4"}
	in.Header = []byte(`<eb:Messaging/>`)

	got := mustSubmit(t, s, in)
	if got.Key == 0 || got.State != SendEnqueued || got.Direction != Outbound {
		t.Fatalf("key %d state %s dir %s", got.Key, got.State, got.Direction)
	}
	if !got.Created.Equal(c.Now()) || !got.NextAttempt.Equal(c.Now()) {
		t.Errorf("created %v next %v, want now %v", got.Created, got.NextAttempt, c.Now())
	}
	again := mustGet(t, s, got.Key)
	if !reflect.DeepEqual(again, got) {
		t.Errorf("Get differs from Submit's answer:\n%+v\n%+v", again, got)
	}
	// What the caller gave comes back unchanged.
	want := in
	want.Key, want.Direction, want.State = got.Key, Outbound, SendEnqueued
	want.Created, want.Updated, want.NextAttempt = got.Created, got.Updated, got.NextAttempt
	if !reflect.DeepEqual(again, want) {
		t.Errorf("stored message differs from the submitted one:\n%+v\n%+v", again, want)
	}
	if string(readPayload(t, s, p.Blob)) != "<Invoice/>" {
		t.Error("payload bytes")
	}
	h, err := s.History(bg, got.Key)
	if err != nil || len(h) != 1 || h[0].To != SendEnqueued || h[0].From != "" {
		t.Fatalf("history %+v %v", h, err)
	}
}

func TestSubmitScheduledLater(t *testing.T) {
	s, c := openTest(t)
	later := c.Now().Add(time.Hour)
	m := outMsg("later@gw", "gw-b")
	m.NextAttempt = later
	got := mustSubmit(t, s, m)
	if !got.NextAttempt.Equal(later) {
		t.Fatalf("next attempt %v", got.NextAttempt)
	}
	if claimed, _ := s.ClaimDue(bg, c.Now(), 10, time.Minute, nil); len(claimed) != 0 {
		t.Fatal("claimed before its time")
	}
	if claimed, _ := s.ClaimDue(bg, later, 10, time.Minute, nil); len(claimed) != 1 {
		t.Fatal("not claimed at its time")
	}
}

func TestDuplicates(t *testing.T) {
	s, _ := openTest(t)
	first := mustSubmit(t, s, outMsg("dup@gw", "gw-b"))

	// Outbound: a MessageId is unique.
	ex, err := s.Submit(bg, outMsg("dup@gw", "gw-c"))
	if !errors.Is(err, ErrDuplicate) || ex.Key != first.Key {
		t.Fatalf("outbound duplicate: %v, existing key %d", err, ex.Key)
	}

	// The same MessageId inbound is a different message.
	inbound := mustReceive(t, s, inMsg("dup@gw", "gw-b", "org-1"))
	if inbound.Key == first.Key {
		t.Fatal("inbound shares the outbound key")
	}

	// Inbound: the same (MessageId, From) is a duplicate, answered with the original,
	// receipt included, whatever the second copy carries.
	second := inMsg("dup@gw", "gw-b", "org-1")
	second.Receipt = &Receipt{MessageID: "another-receipt"}
	ex, err = s.Receive(bg, second)
	if !errors.Is(err, ErrDuplicate) || ex.Key != inbound.Key || ex.Receipt.MessageID != "rcpt-dup@gw" {
		t.Fatalf("inbound duplicate: %v, existing %d receipt %+v", err, ex.Key, ex.Receipt)
	}
	if !strings.Contains(err.Error(), "dup@gw") {
		t.Errorf("error does not name the message: %v", err)
	}

	// Another sender's message with that MessageId is not a duplicate: ids are only unique
	// per sender, and one sender must not be able to block another's messages.
	other := mustReceive(t, s, inMsg("dup@gw", "gw-c", "org-1"))

	found, err := s.Find(bg, Inbound, "dup@gw")
	if err != nil || len(found) != 2 {
		t.Fatalf("Find inbound: %d, %v", len(found), err)
	}
	if found[0].Key != inbound.Key && found[1].Key != inbound.Key || found[0].Key != other.Key && found[1].Key != other.Key {
		t.Errorf("Find inbound: %v", ids(found))
	}
	found, err = s.Find(bg, Outbound, "dup@gw")
	if err != nil || len(found) != 1 || found[0].Key != first.Key {
		t.Fatalf("Find outbound: %+v, %v", found, err)
	}
	found, err = s.Find(bg, Outbound, "nope@gw")
	if err != nil || len(found) != 0 {
		t.Fatalf("Find missing: %+v, %v", found, err)
	}
	// "dup@g" must not find "dup@gw" (prefix seek stops at the separator).
	if found, _ := s.Find(bg, Inbound, "dup@g"); len(found) != 0 {
		t.Fatalf("prefix matched: %v", ids(found))
	}
	checkInvariants(t, s)
}

// Duplicates in one commit batch: the second sees the first.
func TestDuplicatesInOneBatch(t *testing.T) {
	s, _ := openTest(t)
	const n = 20
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			_, err := s.Receive(bg, inMsg("same@peer", "peer", "org-1"))
			errs <- err
		}()
	}
	stored := 0
	for i := 0; i < n; i++ {
		err := <-errs
		switch {
		case err == nil:
			stored++
		case !errors.Is(err, ErrDuplicate):
			t.Fatal(err)
		}
	}
	if stored != 1 {
		t.Fatalf("stored %d copies", stored)
	}
}

func TestInsertValidation(t *testing.T) {
	s, _ := openTest(t)
	good := putPayload(t, s, []byte("x"))
	used := putPayload(t, s, []byte("y"))
	mustSubmit(t, s, outMsg("owner@gw", "b", used))

	tests := []struct {
		name string
		in   bool // Receive instead of Submit
		edit func(m *Message)
		want error
	}{
		{"empty id", false, func(m *Message) { m.ID = "" }, ErrInvalid},
		{"control char in id", false, func(m *Message) { m.ID = "a\x00b" }, ErrInvalid},
		{"newline in id", true, func(m *Message) { m.ID = "a\nb" }, ErrInvalid},
		{"long id", false, func(m *Message) { m.ID = strings.Repeat("x", maxIDLen+1) }, ErrInvalid},
		{"invalid utf-8 party", false, func(m *Message) { m.To.ID = "\xff" }, ErrInvalid},
		{"separator in party type", true, func(m *Message) { m.From.Type = "a\x1fb" }, ErrInvalid},
		{"no To, no peer, no finalRecipient", false, func(m *Message) { m.To, m.FinalRecipient = PartyID{}, PartyID{} }, ErrInvalid},
		{"no From inbound", true, func(m *Message) { m.From = PartyID{} }, ErrInvalid},
		{"no recipient inbound", true, func(m *Message) { m.To, m.FinalRecipient = PartyID{}, PartyID{} }, ErrInvalid},
		{"wrong start state out", false, func(m *Message) { m.State = Acknowledged }, ErrInvalid},
		{"wrong start state in", true, func(m *Message) { m.State = Downloaded }, ErrInvalid},
		{"blob ref traversal", false, func(m *Message) { m.Payloads = []Payload{{Blob: "../../etc/passwd"}} }, ErrInvalid},
		{"blob twice", false, func(m *Message) { m.Payloads = []Payload{good, good} }, ErrInvalid},
		{"blob of another message", false, func(m *Message) { m.Payloads = []Payload{used} }, ErrInvalid},
		{"blob missing", true, func(m *Message) {
			m.Payloads = []Payload{{Blob: "0123456789abcdef0123456789abcdef", Size: 1}}
		}, ErrPayloadMissing},
		{"blob size differs", false, func(m *Message) { p := good; p.Size = 7; m.Payloads = []Payload{p} }, ErrPayloadMissing},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.in {
				m := inMsg("v@peer", "peer", "org-1")
				tt.edit(&m)
				_, err = s.Receive(bg, m)
			} else {
				m := outMsg("v@gw"+strings.Repeat("x", i), "b")
				tt.edit(&m)
				_, err = s.Submit(bg, m)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	// Nothing refused was stored, and the good blob is still usable.
	st, _ := s.Stats(bg)
	if st.Messages[SendEnqueued] != 1 || st.Messages[Received] != 0 {
		t.Fatalf("refused messages stored: %v", st.Messages)
	}
	mustSubmit(t, s, outMsg("after@gw", "b", good))
	checkInvariants(t, s)
}

func TestGetMissingAndCursorErrors(t *testing.T) {
	s, _ := openTest(t)
	if _, err := s.Get(bg, 42); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get: %v", err)
	}
	if _, err := s.History(bg, 42); !errors.Is(err, ErrNotFound) {
		t.Fatalf("History: %v", err)
	}
	if _, err := s.Transition(bg, 42, Deleted, ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Transition: %v", err)
	}
	if _, err := s.MarkAcknowledged(bg, 42, Attempt{}, Receipt{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("MarkAcknowledged: %v", err)
	}
	if _, _, err := s.Inbox(bg, InboxQuery{Recipients: []PartyID{party("x")}, After: "bogus"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Inbox bad cursor: %v", err)
	}
	if _, err := s.Find(bg, "sideways", "x"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Find bad direction: %v", err)
	}
	if _, err := s.Transition(bg, 1, Acknowledged, ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Transition to a data-carrying state: %v", err)
	}
}

func TestClosed(t *testing.T) {
	s, _ := openTest(t)
	m := mustSubmit(t, s, outMsg("c@gw", "b"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Submit(bg, outMsg("d@gw", "b")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Submit after Close: %v", err)
	}
	if _, err := s.Get(bg, m.Key); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Close: %v", err)
	}
	if _, err := s.PutPayload(bg, strings.NewReader("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("PutPayload after Close: %v", err)
	}
}

// Close waits for writes in flight: every Submit that returned nil is there after reopen.
func TestCloseWaitsForWrites(t *testing.T) {
	s, c := openTest(t)
	type res struct {
		k   Key
		err error
	}
	results := make(chan res, 200)
	for i := 0; i < 200; i++ {
		go func() {
			m, err := s.Submit(bg, outMsg(fmt.Sprintf("w-%d@gw", i), "b"))
			results <- res{m.Key, err}
		}()
	}
	time.Sleep(time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := OpenBolt(s.Dir(), Options{Clock: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	stored := 0
	for i := 0; i < 200; i++ {
		r := <-results
		if r.err != nil {
			if !errors.Is(r.err, ErrClosed) {
				t.Fatal(r.err)
			}
			continue
		}
		stored++
		if _, err := s2.Get(bg, r.k); err != nil {
			t.Fatalf("acknowledged submit lost: %v", err)
		}
	}
	t.Logf("%d of 200 submits accepted before Close", stored)
}

// A message whose receiving access point is found by discovery at send time has
// no To yet: it queues under its finalRecipient.
func TestSubmitForDiscovery(t *testing.T) {
	s, _ := openTest(t)
	m := outMsg("disc@gw", "x")
	m.To = PartyID{}
	got, err := s.Submit(bg, m)
	if err != nil {
		t.Fatal(err)
	}
	if q := got.QueueKey(); q != "recipient:"+m.FinalRecipient.String() {
		t.Errorf("queue key %q", q)
	}
	claimed, err := s.ClaimDue(bg, time.Now().Add(time.Minute), 10, time.Minute, nil)
	if err != nil || len(claimed) != 1 || claimed[0].ID != m.ID {
		t.Fatalf("claimed %v, %v", claimed, err)
	}
}
