package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/as4gw/as4gw/store"
)

// The scale scenario: does a receiver whose store holds a million messages (months of
// traffic) receive as fast as one with an empty store? The duplicate check, the inserts
// into every index and the event log are B+tree operations that grow with log n; this
// measures whether that holds end to end.
//
// The receiver gets two data folders, data-empty and data-full. data-full is filled
// before the first run directly through the store package (store.BulkLoad, every index,
// history and event included), with red stopped, which takes about a minute instead of
// the days the receiving path would need. Each run rewrites red's dataDir to the
// variant's folder.

// participantType is the type the backend gives a participant written without one.
const participantType = "iso6523-actorid-upis"

// devPartyType is the party id type devpair gives the gateways.
const devPartyType = "urn:oasis:names:tc:ebcore:partyid-type:unregistered"

var dataDirLine = regexp.MustCompile(`(?m)^dataDir: *[^ #\n]+`)

// setDataDir points a devpair gateway's as4gw.yaml at folder (relative to the file).
func setDataDir(g *gateway, folder string) error {
	path := filepath.Join(g.dir, "as4gw.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !dataDirLine.Match(data) {
		return fmt.Errorf("%s: no top-level dataDir line to rewrite (not a devpair configuration?)", path)
	}
	data = dataDirLine.ReplaceAll(data, []byte("dataDir: "+folder))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return err
	}
	g.dataDir = filepath.Join(g.dir, folder)
	return nil
}

func scaleVariants(ctx context.Context, o options, blue, red *gateway, setup map[string]any, logf func(string, ...any)) (variant, variant, error) {
	self, err := exampleParticipant(red)
	if err != nil {
		return variant{}, variant{}, err
	}
	redParty := store.PartyID{Type: devPartyType, ID: red.info.PartyID}
	blueParty := store.PartyID{Type: devPartyType, ID: blue.info.PartyID}

	full := filepath.Join(red.dir, "data-full", "store")
	logf("filling the receiver's store with %d messages (%s)", o.prefill, full)
	f := &prefiller{rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())), to: redParty, self: self, blue: blueParty}
	fig, err := f.fill(ctx, full, o.prefill, logf)
	if err != nil {
		return variant{}, variant{}, fmt.Errorf("filling the receiver's store: %w", err)
	}
	emptyFig, err := (&prefiller{rng: f.rng}).fill(ctx, filepath.Join(red.dir, "data-empty", "store"), 0, logf)
	if err != nil {
		return variant{}, variant{}, err
	}
	setup["prefillMessages"] = o.prefill
	setup["prefillSeconds"] = round(fig.took.Seconds(), 1)
	setup["prefillMessagesPerSecond"] = round(float64(o.prefill)/max(fig.took.Seconds(), 1e-9), 0)
	setup["prefilledStoreMB"] = round(float64(fig.dbBytes)/1e6, 1)
	// In-process, on each store before the runs: a new MessageId's lookup (what every
	// received message costs) and a re-sent one refused from the index.
	setup["duplicateCheckNewIdMicros"] = map[string]float64{"empty": round(emptyFig.findNew.Seconds()*1e6, 2), "full": round(fig.findNew.Seconds()*1e6, 2)}
	if fig.findResent > 0 {
		setup["duplicateCheckResentMicros"] = round(fig.findResent.Seconds()*1e6, 1)
	}

	baseline := variant{name: "empty-store", prepare: func() error { return setDataDir(red, "data-empty") }}
	test := variant{name: "1M-store", prepare: func() error { return setDataDir(red, "data-full") }}
	if o.prefill != 1000000 {
		test.name = fmt.Sprintf("%d-store", o.prefill)
	}
	return baseline, test, nil
}

// exampleParticipant is the participant a devpair gateway's client acts for: the
// originalSender of its example metadata.
func exampleParticipant(g *gateway) (store.PartyID, error) {
	var md struct {
		OriginalSender string `json:"originalSender"`
	}
	readJSONFile(filepath.Join(g.dir, "example-metadata.json"), &md)
	if md.OriginalSender == "" {
		return store.PartyID{}, fmt.Errorf("%s: example-metadata.json names no originalSender", g.name)
	}
	return store.PartyID{Type: participantType, ID: md.OriginalSender}, nil
}

// prefiller makes the background traffic of a receiver: Domibus-style UUID MessageIds
// from 50 partners (one of them the bench's sender, so the duplicate index holds many
// entries of the From party the load uses) to 300 organisations and to the receiver's
// own participant. Everything for the receiver's participant is DOWNLOADED (the bench
// pages through that inbox at the end); of the rest one in ten is still RECEIVED.
// Messages are metadata only: payload files would cost a million files and measure the
// file system, not the store.
type prefiller struct {
	rng  *rand.Rand
	to   store.PartyID
	self store.PartyID
	blue store.PartyID
	n    int
	seen []store.Message // a sample, for duplicate probes
}

type prefillFigures struct {
	took       time.Duration
	dbBytes    int64
	findNew    time.Duration // mean store.Find of an id never stored
	findResent time.Duration // mean store.Receive refusing a stored message
}

func (f *prefiller) uuid() string {
	var b [16]byte
	for i := range 2 {
		v := f.rng.Uint64()
		for j := range 8 {
			b[8*i+j] = byte(v >> (8 * j))
		}
	}
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func (f *prefiller) message(i int) store.Message {
	from := store.PartyID{Type: devPartyType, ID: fmt.Sprintf("peer-%02d", i%50)}
	if i%50 == 0 {
		from = f.blue
	}
	recipient := store.PartyID{Type: participantType, ID: fmt.Sprintf("0203:org-%03d.example", f.rng.IntN(300))}
	state := store.Downloaded
	switch {
	case i%10 == 0:
		recipient = f.self
	case i%10 == 1:
		state = store.Received
	}
	id := f.uuid() + "@" + from.ID + ".example"
	return store.Message{
		ID: id, State: state, LegName: "dev-message",
		From: from, To: f.to,
		OriginalSender: store.PartyID{Type: participantType, ID: fmt.Sprintf("0203:sender-%03d.example", f.rng.IntN(300))},
		FinalRecipient: recipient,
		Service:        "urn:as4gw:dev:service", ServiceType: "urn:as4gw:dev", Action: "urn:as4gw:dev:message",
		ConversationID: f.uuid(),
		Receipt:        &store.Receipt{MessageID: f.uuid() + "@" + f.to.ID, Time: time.Now().UTC(), NRR: make([]byte, 96)},
		PeerAP:         store.PeerAP{PartyID: from.ID, CertSHA256: fmt.Sprintf("%064x", i%50)},
	}
}

// fill bulk-loads n messages into the store in dir (created if need be), then times the
// duplicate lookups on it, and closes it.
func (f *prefiller) fill(ctx context.Context, dir string, n int, logf func(string, ...any)) (prefillFigures, error) {
	var fig prefillFigures
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fig, err
	}
	s, err := store.OpenBolt(dir, store.Options{})
	if err != nil {
		return fig, err
	}
	defer s.Close()
	// A store in service has had its first retention run, which marks a new database's
	// retention index complete; without it the receiver's first run would "backfill" the
	// million messages (indexed already by the load) during the measurement. An empty
	// policy purges nothing.
	if _, err := s.RunRetention(ctx, store.RetentionPolicy{}); err != nil {
		return fig, fmt.Errorf("first retention run: %w", err)
	}
	start := time.Now()
	last := start
	for f.n < n {
		if err := ctx.Err(); err != nil {
			return fig, err
		}
		// Small loads while the store is small (see store.BulkLoad), then 50,000.
		batch := make([]store.Message, 0, min(max(f.n/2, 1000), 50000, n-f.n))
		for len(batch) < cap(batch) {
			m := f.message(f.n + len(batch))
			if (f.n+len(batch))%97 == 0 && len(f.seen) < 20000 {
				f.seen = append(f.seen, m)
			}
			batch = append(batch, m)
		}
		if _, err := s.BulkLoad(ctx, batch); err != nil {
			return fig, err
		}
		f.n += len(batch)
		if time.Since(last) > 10*time.Second {
			last = time.Now()
			logf("  %d/%d messages stored (%.0f/s)", f.n, n, float64(f.n)/time.Since(start).Seconds())
		}
	}
	fig.took = time.Since(start)
	if st, err := s.Stats(ctx); err == nil {
		fig.dbBytes = st.DBBytes
	}
	const probes = 20000
	t0 := time.Now()
	for i := range probes {
		if got, err := s.Find(ctx, store.Inbound, fmt.Sprintf("as4bench-probe-%d@as4bench.invalid", i)); err != nil || len(got) != 0 {
			return fig, fmt.Errorf("duplicate probe: %d found, %v", len(got), err)
		}
	}
	fig.findNew = time.Since(t0) / probes
	if len(f.seen) > 0 {
		t0 = time.Now()
		for i := range probes {
			m := f.seen[i%len(f.seen)]
			m.State = store.Received
			if _, err := s.Receive(ctx, m); !errors.Is(err, store.ErrDuplicate) {
				return fig, fmt.Errorf("duplicate probe of %s: %v, want a duplicate", m.ID, err)
			}
		}
		fig.findResent = time.Since(t0) / probes
	}
	return fig, s.Close()
}

// readJSONFile decodes path into v, leaving v as it is when the file is missing or bad:
// callers check the fields they need.
func readJSONFile(path string, v any) {
	if data, err := os.ReadFile(path); err == nil {
		_ = json.Unmarshal(data, v)
	}
}
