package store

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func listAudit(t testing.TB, s *BoltStore, q AuditQuery) []AuditRecord {
	t.Helper()
	var all []AuditRecord
	for {
		recs, next, err := s.ListAudit(bg, q)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, recs...)
		if next == 0 {
			return all
		}
		if next <= q.After {
			t.Fatalf("cursor did not move: %d after %d", next, q.After)
		}
		q.After = next
	}
}

func outcomes(rs []AuditRecord) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.MessageID + ":" + r.Outcome
	}
	return out
}

func claimOne(t testing.TB, s *BoltStore, now time.Time) Message {
	t.Helper()
	got, err := s.ClaimDue(bg, now, 1, time.Minute, nil)
	if err != nil || len(got) != 1 {
		t.Fatalf("claim: %v, %d messages", err, len(got))
	}
	return got[0]
}

func auditCount(t testing.TB, s *BoltStore, b []byte) int {
	t.Helper()
	n := 0
	s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(b).Stats().KeyN
		return nil
	})
	return n
}

func TestAuditRecordPerEvent(t *testing.T) {
	s, c := openTest(t)
	sender := party("org-sender")

	// Outbound: submitted, one failed attempt, delivered.
	m := mustSubmit(t, s, outMsg("o1@gw", "gw-b"))
	cl := claimOne(t, s, c.Now())
	if _, err := s.ScheduleRetry(bg, m.Key, cl.Lease.Token, Attempt{HTTPStatus: 503, Error: Problem{Code: "EBMS:0005", Detail: "connection refused"}}, c.Now()); err != nil {
		t.Fatal(err)
	}
	claimOne(t, s, c.Add(time.Second))
	rcpt := Receipt{MessageID: "rcpt-o1", NRR: []byte(`[{"uri":"#body"}]`), Raw: []byte("<receipt/>"), CertSHA256: "cafe"}
	if _, err := s.MarkAcknowledged(bg, m.Key, Attempt{HTTPStatus: 200}, rcpt); err != nil {
		t.Fatal(err)
	}
	// Outbound: given up after an attempt; then a lease recovery on a third message.
	f := mustSubmit(t, s, outMsg("o2@gw", "gw-b"))
	cl = claimOne(t, s, c.Now())
	if _, err := s.MarkFailed(bg, f.Key, cl.Lease.Token, Attempt{Error: Problem{Code: "EBMS:0004", Detail: "bad certificate"}}); err != nil {
		t.Fatal(err)
	}
	mustSubmit(t, s, outMsg("o3@gw", "gw-b"))
	claimOne(t, s, c.Now())
	if n, err := s.RecoverLeases(bg, c.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("recover: %d, %v", n, err)
	}

	got := listAudit(t, s, AuditQuery{Parties: []PartyID{sender}})
	want := []string{"o1@gw:submitted", "o1@gw:sending", "o1@gw:attempt_failed", "o1@gw:sending", "o1@gw:delivered",
		"o2@gw:submitted", "o2@gw:sending", "o2@gw:failed", "o3@gw:submitted", "o3@gw:sending", "o3@gw:requeued"}
	if !eqStrings(outcomes(got), want) {
		t.Fatalf("records\n got %v\nwant %v", outcomes(got), want)
	}
	failed, delivered, requeued := got[2], got[4], got[10]
	if failed.Error.Code != "EBMS:0005" || failed.HTTPStatus != 503 || failed.Attempts != 1 || failed.ToState != WaitingForRetry {
		t.Errorf("failed attempt record: %+v", failed)
	}
	if got[7].Error.Code != "EBMS:0004" {
		t.Errorf("failure record lacks its error: %+v", got[7])
	}
	if requeued.Error != (Problem{}) || requeued.FromState != SendInProgress {
		t.Errorf("lease recovery record: %+v", requeued)
	}
	sig := delivered.Signature
	if sig == nil || sig.ReceiptID != "rcpt-o1" || sig.NRRSHA256 != sha256.Sum256(rcpt.NRR) || sig.ReceiptSHA256 != sha256.Sum256(rcpt.Raw) {
		t.Errorf("delivered record signature: %+v", sig)
	}
	if delivered.Peer.CertSHA256 != "cafe" || delivered.Peer.PartyID != "" && delivered.Peer.PartyID != m.PeerAP.PartyID {
		t.Errorf("delivered record peer: %+v", delivered.Peer)
	}
	if delivered.Owner != sender || delivered.FinalRecipient != party("org-gw-b") || delivered.ConversationID != "conv-o1@gw" ||
		delivered.Service != "urn:sdk:service" || delivered.Action != "Deliver" || delivered.Leg != "leg1" {
		t.Errorf("delivered record header fields: %+v", delivered)
	}

	// Inbound: received, downloaded, deleted; the record outlives the payloads.
	in := mustReceive(t, s, inMsg("i1@gw", "gw-b", "org-x"))
	if _, err := s.MarkDownloaded(bg, in.Key); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Transition(bg, in.Key, Deleted, ""); err != nil {
		t.Fatal(err)
	}
	got = listAudit(t, s, AuditQuery{Parties: []PartyID{party("org-x")}})
	if !eqStrings(outcomes(got), []string{"i1@gw:received", "i1@gw:downloaded", "i1@gw:deleted"}) {
		t.Fatalf("inbound records %v", outcomes(got))
	}
	r := got[0]
	if r.Peer.CertSHA256 != "ab12" || r.Peer.PartyID != "gw-b" || r.Signature == nil || r.Signature.ReceiptSHA256.IsZero() || r.Owner != party("org-x") {
		t.Errorf("inbound record: %+v", r)
	}

	// Exactly one record per event.
	st, _ := s.Stats(bg)
	if n := auditCount(t, s, bAudit); uint64(n) != st.LastEventSeq {
		t.Errorf("%d audit records for %d events", n, st.LastEventSeq)
	}
}

func TestAuditSeparatedPerParticipant(t *testing.T) {
	s, _ := openTest(t)
	a, b := party("org-a"), party("org-b")
	for i, owner := range []string{"org-a", "org-b", "org-a"} {
		m := outMsg(fmt.Sprintf("m%d@gw", i), "gw-b")
		m.OriginalSender = party(owner)
		mustSubmit(t, s, m)
	}
	// An inbound message for org-b from org-a's gateway names org-a as originalSender:
	// it is org-b's record, not org-a's.
	in := inMsg("in@gw", "gw-b", "org-b")
	in.OriginalSender = a
	mustReceive(t, s, in)

	tests := []struct {
		name string
		q    AuditQuery
		want []string
	}{
		{"a", AuditQuery{Parties: []PartyID{a}}, []string{"m0@gw:submitted", "m2@gw:submitted"}},
		{"b", AuditQuery{Parties: []PartyID{b}}, []string{"m1@gw:submitted", "in@gw:received"}},
		{"both, merged in order", AuditQuery{Parties: []PartyID{b, a, b}}, []string{"m0@gw:submitted", "m1@gw:submitted", "m2@gw:submitted", "in@gw:received"}},
		{"a asks for b's message", AuditQuery{Parties: []PartyID{a}, MessageID: "m1@gw"}, []string{}},
		{"a asks for b's conversation", AuditQuery{Parties: []PartyID{a}, ConversationID: "conv-in@gw"}, []string{}},
		{"untyped id is another participant", AuditQuery{Parties: []PartyID{{ID: "org-a"}}}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := listAudit(t, s, tt.q)
			if !eqStrings(outcomes(got), tt.want) {
				t.Errorf("got %v, want %v", outcomes(got), tt.want)
			}
		})
	}
}

func TestAuditFilters(t *testing.T) {
	s, c := openTest(t)
	p := party("org-sender")
	t0 := c.Now()
	for i := range 5 { // m0..m4, one minute apart; m1 and m3 share a conversation
		m := outMsg(fmt.Sprintf("m%d@gw", i), "gw-b")
		if i == 3 {
			m.ConversationID = "conv-m1@gw"
		}
		mustSubmit(t, s, m)
		c.Add(time.Minute)
	}
	tests := []struct {
		name string
		q    AuditQuery
		want []string
	}{
		{"all", AuditQuery{}, []string{"m0@gw", "m1@gw", "m2@gw", "m3@gw", "m4@gw"}},
		{"from", AuditQuery{From: t0.Add(2 * time.Minute)}, []string{"m2@gw", "m3@gw", "m4@gw"}},
		{"to (exclusive)", AuditQuery{To: t0.Add(2 * time.Minute)}, []string{"m0@gw", "m1@gw"}},
		{"range", AuditQuery{From: t0.Add(time.Minute), To: t0.Add(3*time.Minute + time.Second)}, []string{"m1@gw", "m2@gw", "m3@gw"}},
		{"from after the last", AuditQuery{From: t0.Add(time.Hour)}, []string{}},
		{"message", AuditQuery{MessageID: "m3@gw"}, []string{"m3@gw"}},
		{"unknown message", AuditQuery{MessageID: "nope"}, []string{}},
		{"message id is a prefix of another", AuditQuery{MessageID: "m3"}, []string{}},
		{"conversation", AuditQuery{ConversationID: "conv-m1@gw"}, []string{"m1@gw", "m3@gw"}},
		{"conversation and time", AuditQuery{ConversationID: "conv-m1@gw", From: t0.Add(2 * time.Minute)}, []string{"m3@gw"}},
		{"message and conversation disagree", AuditQuery{MessageID: "m2@gw", ConversationID: "conv-m1@gw"}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.q.Parties = []PartyID{p}
			got := listAudit(t, s, tt.q)
			ids := make([]string, len(got))
			for i, r := range got {
				ids[i] = r.MessageID
			}
			if !eqStrings(ids, tt.want) {
				t.Errorf("got %v, want %v", ids, tt.want)
			}
		})
	}
}

func TestAuditPaging(t *testing.T) {
	s, _ := openTest(t)
	for i := range 5 {
		mustSubmit(t, s, outMsg(fmt.Sprintf("m%d@gw", i), "gw-b"))
	}
	// Another organisation's records in between must not stop or shorten the pages.
	o := outMsg("other@gw", "gw-b")
	o.OriginalSender = party("org-other")
	mustSubmit(t, s, o)
	mustSubmit(t, s, outMsg("m5@gw", "gw-b"))
	q := AuditQuery{Parties: []PartyID{party("org-sender")}, Limit: 2}
	var pages [][]string
	for {
		recs, next, err := s.ListAudit(bg, q)
		if err != nil {
			t.Fatal(err)
		}
		var page []string
		for _, r := range recs {
			page = append(page, r.MessageID)
		}
		pages = append(pages, page)
		if next == 0 {
			break
		}
		q.After = next
	}
	want := "[[m0@gw m1@gw] [m2@gw m3@gw] [m4@gw m5@gw]]"
	if fmt.Sprint(pages) != want {
		t.Errorf("pages %v, want %s", pages, want)
	}
}

func TestAuditPurge(t *testing.T) {
	s, c := openTest(t)
	start := c.Now()
	for i := range 7 { // one record a day
		m := mustSubmit(t, s, outMsg(fmt.Sprintf("m%d@gw", i), "gw-b"))
		if i == 0 {
			// Message retention deletes the message; its audit records stay.
			if _, err := s.Transition(bg, m.Key, Deleted, ""); err != nil {
				t.Fatal(err)
			}
		}
		c.Add(24 * time.Hour)
	}
	// Batches of 2: several transactions. Cutoff day 4 keeps m4..m6.
	n, err := s.PurgeAudit(bg, start.Add(4*24*time.Hour), 2)
	if err != nil || n != 5 {
		t.Fatalf("purged %d (%v), want 5 (m0's two records, m1..m3)", n, err)
	}
	got := listAudit(t, s, AuditQuery{Parties: []PartyID{party("org-sender")}})
	if !eqStrings(outcomes(got), []string{"m4@gw:submitted", "m5@gw:submitted", "m6@gw:submitted"}) {
		t.Errorf("left %v", outcomes(got))
	}
	for _, b := range [][]byte{bAudit, bAuditP, bAuditM, bAuditC} {
		if n := auditCount(t, s, b); n != 3 {
			t.Errorf("bucket %s has %d entries after purge, want 3", b, n)
		}
	}
	if n, err := s.PurgeAudit(bg, start.Add(4*24*time.Hour), 0); err != nil || n != 0 {
		t.Errorf("second purge: %d, %v", n, err)
	}
	// The message index is untouched by audit purging.
	if _, err := s.Get(bg, 1); err != nil {
		t.Errorf("message gone with its audit records: %v", err)
	}
}

// TestAuditClockStepBack: records written after the clock stepped back are still found by
// a From-bounded query and are not purged before their time (the high-water mark).
func TestAuditClockStepBack(t *testing.T) {
	s, c := openTest(t)
	t0 := c.Now()
	mustSubmit(t, s, outMsg("early@gw", "gw-b"))
	c.Add(10 * time.Minute)
	mustSubmit(t, s, outMsg("late@gw", "gw-b"))
	c.Add(-8 * time.Minute) // clock corrected back
	mustSubmit(t, s, outMsg("stepped@gw", "gw-b"))
	s = reopen(t, s, c) // the high-water mark is read from the database, not memory
	c.Add(time.Minute)
	mustSubmit(t, s, outMsg("after@gw", "gw-b"))

	p := []PartyID{party("org-sender")}
	got := listAudit(t, s, AuditQuery{Parties: p, From: t0.Add(time.Minute)})
	if !eqStrings(outcomes(got), []string{"late@gw:submitted", "stepped@gw:submitted", "after@gw:submitted"}) {
		t.Errorf("from-bounded: %v", outcomes(got))
	}
	// late is past To but within auditClockSlack of it, so the scan goes on and finds the
	// records written after the step back.
	got = listAudit(t, s, AuditQuery{Parties: p, To: t0.Add(9*time.Minute + 30*time.Second)})
	if !eqStrings(outcomes(got), []string{"early@gw:submitted", "stepped@gw:submitted", "after@gw:submitted"}) {
		t.Errorf("to-bounded: %v", outcomes(got))
	}
	// Cutoff between stepped (t0+2m) and late (t0+10m): stepped stays, it follows late.
	if n, err := s.PurgeAudit(bg, t0.Add(5*time.Minute), 0); err != nil || n != 1 {
		t.Errorf("purged %d, %v; want only early", n, err)
	}
}

func TestAuditQueryInvalid(t *testing.T) {
	s, c := openTest(t)
	p := []PartyID{party("org-sender")}
	tests := []struct {
		name string
		q    AuditQuery
	}{
		{"no participant", AuditQuery{}},
		{"empty participant", AuditQuery{Parties: []PartyID{{Type: "t"}}}},
		{"control character in message id", AuditQuery{Parties: p, MessageID: "a\x00b"}},
		{"conversation id too long", AuditQuery{Parties: p, ConversationID: string(make([]byte, maxIDLen+1))}},
		{"empty time range", AuditQuery{Parties: p, From: c.Now(), To: c.Now()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := s.ListAudit(bg, tt.q); !errors.Is(err, ErrInvalid) {
				t.Errorf("err %v, want ErrInvalid", err)
			}
		})
	}
}
