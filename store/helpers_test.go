package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

var bg = context.Background()

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// openTest opens a store in a fresh directory with a test clock and closes it at cleanup.
func openTest(t testing.TB) (*BoltStore, *clock) {
	t.Helper()
	return openTestWith(t, Options{})
}

// openTestWith is openTest with options (the clock is set here).
func openTestWith(t testing.TB, opts Options) (*BoltStore, *clock) {
	t.Helper()
	c := newClock()
	opts.Clock = c.Now
	s, err := OpenBolt(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, c
}

// payloadModes are the two ways a small payload is kept, for tests that must hold for both.
var payloadModes = []struct {
	name string
	opts Options
}{
	{"inline", Options{}},
	{"files", Options{InlinePayloadBytes: -1}},
}

// filesOnly keeps every payload in a file, for tests about payload files.
var filesOnly = Options{InlinePayloadBytes: -1}

func reopen(t testing.TB, s *BoltStore, c *clock) *BoltStore {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := OpenBolt(s.Dir(), Options{Clock: c.Now, InlinePayloadBytes: s.opts.InlinePayloadBytes})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s2.Close() })
	return s2
}

func party(id string) PartyID {
	return PartyID{Type: "urn:oasis:names:tc:ebcore:partyid-type:iso6523:0007", ID: id}
}

// putPayload stores data and returns the Payload to attach.
func putPayload(t testing.TB, s Store, data []byte) Payload {
	t.Helper()
	b, err := s.PutPayload(bg, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return Payload{ID: "cid:" + string(b.Ref[:8]), MimeType: "application/xml", Size: b.Size, SHA256: b.SHA256, Blob: b.Ref}
}

func outMsg(id string, to string, payloads ...Payload) Message {
	return Message{
		ID: id, LegName: "leg1",
		From: party("gw-a"), To: party(to),
		OriginalSender: party("org-sender"), FinalRecipient: party("org-" + to),
		Service: "urn:sdk:service", ServiceType: "urn:sdk:st", Action: "Deliver",
		ConversationID: "conv-" + id, AgreementRef: "urn:agreement",
		Properties: []Property{{Name: "originalSender", Value: "org-sender"}},
		Payloads:   payloads,
	}
}

func inMsg(id string, from, recipient string, payloads ...Payload) Message {
	return Message{
		ID: id, From: party(from), To: party("gw-a"),
		OriginalSender: party("org-" + from), FinalRecipient: party(recipient),
		Action: "Deliver", ConversationID: "conv-" + id, Payloads: payloads,
		Receipt: &Receipt{MessageID: "rcpt-" + id, Raw: []byte("<eb:Receipt>" + id + "</eb:Receipt>")},
		PeerAP:  PeerAP{PartyID: from, CertSHA256: "ab12"},
	}
}

func mustSubmit(t testing.TB, s Store, m Message) Message {
	t.Helper()
	out, err := s.Submit(bg, m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustReceive(t testing.TB, s Store, m Message) Message {
	t.Helper()
	out, err := s.Receive(bg, m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustGet(t testing.TB, s Store, k Key) Message {
	t.Helper()
	m, err := s.Get(bg, k)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// readPayload returns a blob's bytes.
func readPayload(t testing.TB, s Store, ref BlobRef) []byte {
	t.Helper()
	r, err := s.OpenPayload(bg, ref)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkPayloads verifies every payload of m against its size and digest.
func checkPayloads(t testing.TB, s Store, m Message) {
	t.Helper()
	for i, p := range m.Payloads {
		b := readPayload(t, s, p.Blob)
		if int64(len(b)) != p.Size || sha256.Sum256(b) != p.SHA256 {
			t.Fatalf("message %s payload %d: %d bytes, digest mismatch=%v", m.ID, i, len(b), sha256.Sum256(b) != p.SHA256)
		}
	}
}

// payloadFiles lists the files under payloads/ (tmp included), relative names.
func payloadFiles(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	root := filepath.Join(dir, "payloads")
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// inlineKeys lists the committed inline payloads.
func inlineKeys(t testing.TB, s *BoltStore) []string {
	t.Helper()
	var out []string
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bInline).ForEach(func(k, _ []byte) error {
			if ref := string(k[:refLen]); len(out) == 0 || out[len(out)-1] != ref {
				out = append(out, ref)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// blobsLeft counts the payloads kept, as files and inline.
func blobsLeft(t testing.TB, s *BoltStore) int {
	t.Helper()
	return len(payloadFiles(t, s.Dir())) + len(inlineKeys(t, s))
}

// checkInvariants compares the indexes with the records: every queued, leased and
// inbox message has exactly its entry, and the counters add up.
func checkInvariants(t testing.TB, s *BoltStore) {
	t.Helper()
	st, err := s.Stats(bg)
	if err != nil {
		t.Fatal(err)
	}
	var queued, leased, inbox, files, bytes int64
	counts := map[State]int64{}
	for k := Key(1); ; k++ {
		m, err := s.Get(bg, k)
		if err != nil {
			break
		}
		counts[m.State]++
		switch {
		case m.State.queued():
			queued++
		case m.State == SendInProgress:
			leased++
		case m.State.inInbox():
			inbox++
		}
		for _, p := range m.Payloads {
			if p.Blob != "" {
				files++
				bytes += p.Size
			}
		}
	}
	for state, n := range counts {
		if st.Messages[state] != n {
			t.Errorf("state counter %s = %d, records say %d", state, st.Messages[state], n)
		}
	}
	if st.PayloadFiles != files || st.PayloadBytes != bytes {
		t.Errorf("payload counters %d files %d bytes, records say %d files %d bytes", st.PayloadFiles, st.PayloadBytes, files, bytes)
	}
	n := func(b []byte) int64 {
		var c int64
		s.db.View(func(tx *bolt.Tx) error {
			c = int64(tx.Bucket(b).Stats().KeyN)
			return nil
		})
		return c
	}
	refs := inlineKeys(t, s)
	if got := int64(len(refs)); got != st.InlinePayloads {
		t.Errorf("inline bucket has %d payloads, the counter says %d", got, st.InlinePayloads)
	}
	var inlineBytes int64
	s.db.View(func(tx *bolt.Tx) error {
		blobs := tx.Bucket(bBlobs)
		c := tx.Bucket(bInline).Cursor()
		for _, ref := range refs {
			n, found, err := inlineSize(c, BlobRef(ref))
			if err != nil || !found {
				t.Errorf("inline payload %s: found %v, %v", ref, found, err)
			}
			inlineBytes += int64(n)
			if blobs.Get([]byte(ref)) == nil {
				t.Errorf("inline payload %s has no blobs entry", ref)
			}
		}
		return nil
	})
	if inlineBytes != st.InlinePayloadBytes {
		t.Errorf("inline bucket holds %d bytes, the counter says %d", inlineBytes, st.InlinePayloadBytes)
	}
	if got := n(bDue); got != queued {
		t.Errorf("due index has %d entries, %d messages queued", got, queued)
	}
	if got := n(bLease); got != leased {
		t.Errorf("lease index has %d entries, %d messages in progress", got, leased)
	}
	if got := n(bInbox); got != inbox {
		t.Errorf("inbox index has %d entries, %d messages received", got, inbox)
	}
}

func ids(ms []Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func eqStrings(a, b []string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }
