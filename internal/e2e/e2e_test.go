package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// submission is one message of the crash test, with its client-chosen messageId.
type submission struct {
	id  string
	pls []payload
}

// sent is a message a test submitted and expects at the partner.
type sent struct {
	id       string
	from, to *gateway
	payloads []payload
}

// checkDelivered waits for ACKNOWLEDGED at the sender, finds the message in the
// receiver's inbox with its payloads, downloads each and compares its SHA-256,
// then acknowledges it and checks DOWNLOADED and that it left the inbox.
func checkDelivered(ctx context.Context, t *testing.T, m sent) {
	t.Helper()
	doc := m.from.waitStatus(ctx, m.id, time.Minute, "ACKNOWLEDGED")
	if doc.Direction != "out" {
		t.Errorf("%s: message %s direction %q, want out", m.from.name, m.id, doc.Direction)
	}
	inbox := m.to.mustInbox(ctx)
	entries := inbox[m.id]
	if len(entries) != 1 {
		t.Fatalf("%s's inbox holds message %s %d times, want once", m.to.name, m.id, len(entries))
	}
	listed := map[string]payloadDoc{}
	for _, p := range entries[0].Payloads {
		listed[p.ID] = p
	}
	for _, p := range m.payloads {
		l, ok := listed[p.id]
		if !ok {
			t.Errorf("%s's inbox entry for %s lacks payload %q: %+v", m.to.name, m.id, p.id, entries[0].Payloads)
		} else if l.Size != p.size || l.MimeType != p.mimeType {
			t.Errorf("%s's inbox entry for %s: payload %s listed as %d bytes %q, want %d bytes %q", m.to.name, m.id, p.id, l.Size, l.MimeType, p.size, p.mimeType)
		}
		n, sum, err := m.to.download(ctx, m.id, p.id)
		if err != nil {
			t.Fatal(err)
		}
		if n != p.size || sum != p.digest() {
			t.Errorf("%s: payload %s of %s: downloaded %d bytes, SHA-256 %x; sent %d bytes, SHA-256 %x", m.to.name, p.id, m.id, n, sum, p.size, p.digest())
		}
	}
	if len(listed) != len(m.payloads) {
		t.Errorf("%s's inbox entry for %s lists %d payloads, want %d", m.to.name, m.id, len(listed), len(m.payloads))
	}
	in := m.to.waitStatus(ctx, m.id, 5*time.Second, "RECEIVED")
	if in.Direction != "in" {
		t.Errorf("%s: message %s direction %q, want in", m.to.name, m.id, in.Direction)
	}
	if res := m.to.ack(ctx, m.id); res.err != nil || res.status/100 != 2 {
		t.Fatalf("%s: ack %s: %v", m.to.name, m.id, res)
	}
	m.to.waitStatus(ctx, m.id, 5*time.Second, "DOWNLOADED")
	if n := len(m.to.mustInbox(ctx)[m.id]); n != 0 {
		t.Errorf("%s: message %s still in the inbox after its ack", m.to.name, m.id)
	}
}

// (a) Messages both ways, each with several payloads of different sizes; the
// last one through the "as4gw send" command itself.
func TestExchangeBothWays(t *testing.T) {
	p := startPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	sizes := []int64{1 << 10, 100 << 10, 1 << 20}
	var msgs []sent
	for i, dir := range []struct{ from, to *gateway }{{p.blue, p.red}, {p.red, p.blue}, {p.blue, p.red}, {p.red, p.blue}} {
		var pls []payload
		for j, size := range sizes[:2+i%2] {
			pls = append(pls, newPayload(fmt.Sprintf("part%d", j+1), size+int64(i*4), uint64(i*10+j)))
		}
		pls[0].id, pls[0].mimeType = "message", "application/xml"
		id := ""
		if i%2 == 1 {
			id = newMessageID("both-ways") // and let the gateway pick the others
		}
		got := dir.from.mustSubmit(ctx, dir.from.metadata(id, pls...), pls...)
		msgs = append(msgs, sent{id: got, from: dir.from, to: dir.to, payloads: pls})
	}
	for _, m := range msgs {
		checkDelivered(ctx, t, m)
	}

	// as4gw send, as a newcomer would use it with devpair's files.
	file := filepath.Join(p.dir, "invoice.xml")
	if err := os.WriteFile(file, []byte("<Invoice>e2e</Invoice>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cctx, ccancel := context.WithTimeout(ctx, 90*time.Second)
	defer ccancel()
	cmd := exec.CommandContext(cctx, as4gwBin, "send", "--api", p.blue.info.APIURL,
		"--token-file", filepath.Join(p.blue.dir, "api-token"),
		"--metadata", filepath.Join(p.blue.dir, "example-metadata.json"),
		"--payload", "message="+file, "--wait", "1m")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("as4gw send: %v\nstdout: %s\nstderr: %s", err, out, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 || lines[1] != "ACKNOWLEDGED" {
		t.Fatalf("as4gw send printed %q, want the messageId and ACKNOWLEDGED", out)
	}
	n, sum, err := p.red.download(ctx, lines[0], "message")
	data, _ := os.ReadFile(file)
	if err != nil || n != int64(len(data)) || sum != sha256.Sum256(data) {
		t.Fatalf("red: payload of %s sent by as4gw send: %d bytes (want %d), digest match %v, %v", lines[0], n, len(data), sum == sha256.Sum256(data), err)
	}
}

// (b) A 100 MB payload, generated and streamed on the fly. Reports the time and
// both processes' peak RSS; asserts only a generous RSS bound.
func TestLargePayload(t *testing.T) {
	if testing.Short() {
		t.Skip("100 MB payload; skipped with -short")
	}
	p := startPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const size = 100_000_000
	big := newPayload("message", size, 42)
	big.mimeType = "application/xml"

	rssBefore := map[string]int64{}
	for _, g := range []*gateway{p.blue, p.red} {
		rssBefore[g.name], _ = g.peakRSS()
	}
	start := time.Now()
	id := p.blue.mustSubmit(ctx, p.blue.metadata(newMessageID("large"), big), big)
	submitted := time.Since(start)
	p.blue.waitStatus(ctx, id, 2*time.Minute, "ACKNOWLEDGED")
	delivered := time.Since(start)
	dlStart := time.Now()
	n, sum, err := p.red.download(ctx, id, "message")
	downloaded := time.Since(dlStart)
	if err != nil {
		t.Fatal(err)
	}
	if n != size || sum != big.digest() {
		t.Fatalf("red: downloaded %d bytes with another SHA-256 than the %d sent", n, size)
	}
	mb := float64(size) / 1e6
	t.Logf("100 MB payload: submit (upload + store) %.1f s = %.1f MB/s; submit to ACKNOWLEDGED %.1f s = %.1f MB/s end to end; download from red %.1f s = %.1f MB/s",
		submitted.Seconds(), mb/submitted.Seconds(), delivered.Seconds(), mb/delivered.Seconds(), downloaded.Seconds(), mb/downloaded.Seconds())
	for _, g := range []*gateway{p.blue, p.red} {
		rss, err := g.peakRSS()
		if err != nil {
			t.Errorf("%s: peak RSS: %v", g.name, err)
			continue
		}
		t.Logf("%s: peak RSS (VmHWM) %.1f MiB (%.1f MiB at idle before the message)", g.name, float64(rss)/(1<<20), float64(rssBefore[g.name])/(1<<20))
		if rss > 400<<20 {
			t.Errorf("%s: peak RSS %.1f MiB for a 100 MB payload, want < 400 MiB: something buffers the payload", g.name, float64(rss)/(1<<20))
		}
	}
	if res := p.red.ack(ctx, id); res.err != nil || res.status/100 != 2 {
		t.Errorf("red: ack: %v", res)
	}
}

// (c) The partner is down when the message is submitted: it waits for retry and is
// delivered, exactly once, after the partner comes back.
func TestPartnerDownAndBack(t *testing.T) {
	p := startPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p.red.stop()

	pl := newPayload("message", 10<<10, 7)
	pl.mimeType = "application/xml"
	id := p.blue.mustSubmit(ctx, p.blue.metadata(newMessageID("down"), pl), pl)
	doc := p.blue.waitStatus(ctx, id, 20*time.Second, "WAITING_FOR_RETRY")
	if len(doc.Attempts) == 0 || doc.Attempts[len(doc.Attempts)-1].Error.Code == "" {
		t.Errorf("blue: WAITING_FOR_RETRY without a failed attempt: %+v", doc.Attempts)
	} else {
		e := doc.Attempts[len(doc.Attempts)-1].Error
		t.Logf("blue: %s after %d attempt(s), last error %s %s", doc.Status, len(doc.Attempts), e.Code, e.Detail)
	}
	time.Sleep(3 * time.Second) // at least one more retry (every 2 s) against the closed port

	p.red.start()
	p.red.waitReady()
	back := time.Now()
	doc = p.blue.waitStatus(ctx, id, 30*time.Second, "ACKNOWLEDGED")
	t.Logf("blue: ACKNOWLEDGED %.1f s after red came back, after %d attempt(s)", time.Since(back).Seconds(), len(doc.Attempts))
	if len(doc.Attempts) < 2 {
		t.Errorf("blue: %d attempt(s) recorded, want the failed ones too", len(doc.Attempts))
	}

	// Two more retry intervals: nothing may arrive twice.
	time.Sleep(4 * time.Second)
	if n := len(p.red.mustInbox(ctx)[id]); n != 1 {
		t.Fatalf("red's inbox holds %s %d times, want once", id, n)
	}
	checkDelivered(ctx, t, sent{id: id, from: p.blue, to: p.red, payloads: []payload{pl}})
}

// (d) Submitting the same messageId again answers 409 (the in-process tests cover
// a duplicate on the AS4 side); only one message is delivered.
func TestDuplicateSubmission(t *testing.T) {
	p := startPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pl := newPayload("message", 4<<10, 1)
	pl.mimeType = "application/xml"
	id := newMessageID("dup")
	p.blue.mustSubmit(ctx, p.blue.metadata(id, pl), pl)

	other := newPayload("message", 8<<10, 2)
	other.mimeType = "application/xml"
	for _, again := range []payload{pl, other} {
		res := p.blue.submit(ctx, p.blue.metadata(id, again), again)
		if res.err != nil || res.status != http.StatusConflict {
			t.Fatalf("resubmitting messageId %s: %v, want 409", id, res)
		}
		var prob problemDoc
		if err := json.Unmarshal(res.body, &prob); err != nil || prob.Status != http.StatusConflict || (prob.Title == "" && prob.Detail == "") {
			t.Errorf("409 is not a problem document naming the conflict: %s", res.body)
		}
	}
	checkDelivered(ctx, t, sent{id: id, from: p.blue, to: p.red, payloads: []payload{pl}})
}

// (e) The crash test: concurrent submitters stream messages from blue to red while
// both processes are SIGKILLed at random moments and restarted. Every submission
// that got a 202 (or, resubmitted after a lost answer, a 409) must end
// ACKNOWLEDGED on blue and be in red's inbox exactly once, with intact payloads.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test; skipped with -short")
	}
	const (
		messages   = 40
		submitters = 4
	)
	p := startPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))

	work := make(chan submission, messages)
	var all []submission
	for i := range messages {
		var pls []payload
		for j := range 1 + rng.IntN(3) {
			pls = append(pls, newPayload(fmt.Sprintf("part%d", j+1), int64(1<<10+rng.IntN(256<<10)), seed+uint64(i*10+j)))
		}
		pls[0].id, pls[0].mimeType = "message", "application/xml"
		s := submission{id: newMessageID(fmt.Sprintf("crash%02d", i)), pls: pls}
		all = append(all, s)
		work <- s
	}
	close(work)

	var (
		mu                              sync.Mutex
		accepted                        = map[string]submission{}
		got202, got409, connErrs, other atomic.Int64
		acceptedN                       atomic.Int64
		submitErr                       error
	)
	var subWG sync.WaitGroup
	for w := range submitters {
		subWG.Add(1)
		go func() {
			defer subWG.Done()
			r := rand.New(rand.NewPCG(seed, uint64(w)))
			for s := range work {
				for try := 0; ; try++ {
					if ctx.Err() != nil || try > 300 {
						mu.Lock()
						submitErr = errors.Join(submitErr, fmt.Errorf("%s: not accepted after %d tries", s.id, try))
						mu.Unlock()
						return
					}
					rctx, rcancel := context.WithTimeout(ctx, 30*time.Second)
					res := p.blue.submit(rctx, p.blue.metadata(s.id, s.pls...), s.pls...)
					rcancel()
					switch {
					case res.err == nil && (res.status == http.StatusAccepted || res.status == http.StatusConflict):
						if res.status == http.StatusAccepted {
							got202.Add(1)
						} else {
							// Only after a try whose answer was lost: the message was stored.
							if try == 0 {
								mu.Lock()
								submitErr = errors.Join(submitErr, fmt.Errorf("%s: 409 on the first try: %s", s.id, res.body))
								mu.Unlock()
							}
							got409.Add(1)
						}
						mu.Lock()
						accepted[s.id] = s
						mu.Unlock()
						acceptedN.Add(1)
					case res.err != nil:
						connErrs.Add(1)
						time.Sleep(100 * time.Millisecond)
						continue
					case res.status >= 500:
						other.Add(1)
						time.Sleep(100 * time.Millisecond)
						continue
					default:
						mu.Lock()
						submitErr = errors.Join(submitErr, fmt.Errorf("%s: %v", s.id, res))
						mu.Unlock()
					}
					break
				}
				time.Sleep(time.Duration(50+r.IntN(250)) * time.Millisecond)
			}
		}()
	}
	submittersDone := make(chan struct{})
	go func() { subWG.Wait(); close(submittersDone) }()

	// The killer: 3 kills of blue and 2 or 3 of red, in random order, spread over the
	// stream: kill i comes at a random point of the i-th stretch of submissions (or,
	// when the stream is over, during delivery), then after a random pause the process
	// is restarted.
	victims := []*gateway{p.blue, p.blue, p.blue, p.red, p.red}
	if rng.IntN(2) == 0 {
		victims = append(victims, p.red)
	}
	rng.Shuffle(len(victims), func(i, j int) { victims[i], victims[j] = victims[j], victims[i] })
	kills := map[string]int{}
	var killLog []string
	killerDone := make(chan error, 1)
	go func() {
		stretch := messages / len(victims)
		for i, g := range victims {
			threshold := int64(i*stretch + rng.IntN(stretch))
			for acceptedN.Load() < threshold {
				select {
				case <-ctx.Done():
					killerDone <- ctx.Err()
					return
				case <-submittersDone:
					threshold = 0
				case <-time.After(10 * time.Millisecond):
				}
			}
			time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
			g.kill()
			kills[g.name]++
			killLog = append(killLog, fmt.Sprintf("%s after %d accepted", g.name, acceptedN.Load()))
			time.Sleep(time.Duration(rng.IntN(500)) * time.Millisecond)
			if err := restart(g); err != nil {
				killerDone <- err
				return
			}
		}
		killerDone <- nil
	}()
	if err := <-killerDone; err != nil {
		t.Fatalf("killer: %v", err)
	}
	subWG.Wait()
	if submitErr != nil {
		t.Fatalf("submissions: %v", submitErr)
	}
	t.Logf("kills (in order): %s", strings.Join(killLog, "; "))
	t.Logf("kills: blue %d, red %d; submissions: %d answered 202, %d answered 409 after a lost answer, %d connection errors, %d 5xx (all retried with the same messageId)",
		kills["blue"], kills["red"], got202.Load(), got409.Load(), connErrs.Load(), other.Load())
	if len(accepted) != messages {
		t.Fatalf("%d of %d submissions accepted", len(accepted), messages)
	}

	// Every accepted message ends ACKNOWLEDGED on blue.
	ackStart := time.Now()
	attempts, retried := 0, 0
	for _, s := range all {
		doc := p.blue.waitStatus(ctx, s.id, time.Until(deadlineOf(ctx)), "ACKNOWLEDGED")
		attempts += len(doc.Attempts)
		if len(doc.Attempts) > 1 {
			retried++
		}
	}
	t.Logf("all %d ACKNOWLEDGED on blue, the last %.1f s after the stream and the kills ended; %d send attempts in all, %d messages needed more than one",
		messages, time.Since(ackStart).Seconds(), attempts, retried)

	// Exactly once in red's inbox, nothing else there, payloads intact.
	inbox := p.red.mustInbox(ctx)
	var dupes, missing, strangers []string
	for _, s := range all {
		switch n := len(inbox[s.id]); {
		case n == 0:
			missing = append(missing, s.id)
		case n > 1:
			dupes = append(dupes, fmt.Sprintf("%s ×%d", s.id, n))
		}
	}
	for id := range inbox {
		if _, ok := accepted[id]; !ok {
			strangers = append(strangers, id)
		}
	}
	sort.Strings(strangers)
	if len(missing)+len(dupes)+len(strangers) > 0 {
		t.Fatalf("red's inbox: missing %v; more than once %v; never accepted %v", missing, dupes, strangers)
	}
	for _, s := range all {
		for _, pl := range s.pls {
			n, sum, err := p.red.download(ctx, s.id, pl.id)
			if err != nil {
				t.Fatal(err)
			}
			if n != pl.size || sum != pl.digest() {
				t.Errorf("red: %s payload %s: %d bytes, SHA-256 differs from the %d sent", s.id, pl.id, n, pl.size)
			}
		}
	}
	t.Logf("red's inbox: each of the %d messages exactly once, %d payloads intact", messages, countPayloads(all))
}

func countPayloads(subs []submission) int {
	n := 0
	for _, s := range subs {
		n += len(s.pls)
	}
	return n
}

func deadlineOf(ctx context.Context) time.Time {
	d, ok := ctx.Deadline()
	if !ok {
		return time.Now().Add(time.Minute)
	}
	return d
}

// restart starts a killed gateway and waits until it is ready.
func restart(g *gateway) error {
	if err := g.startErr(); err != nil {
		return err
	}
	return g.waitReadyErr(30 * time.Second)
}
