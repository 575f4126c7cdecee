// Command as4bench measures an as4gw pair: it drives N messages of size S
// with concurrency C through the sender's REST API to the receiver and
// reports throughput, submit-to-ACKNOWLEDGED latency, CPU, peak RSS and disk
// per message of each gateway, and the cryptographic floor of the keys in use
// on this machine. See README.md ("Measuring performance: as4bench").
package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	crand "crypto/rand"
)

const usageText = `as4bench drives a pair of as4gw gateways through the REST API and reports
throughput, latency and the cost per message against the cryptographic floor.

Usage:
  as4bench [--scenario small|large|many-parts|scale|dead-partner] [--count N] [--size S]
           [--concurrency C] [--key-bits 2048|3072] [--json]
           [--as4gw PATH | --blue FILE --red FILE]

Without --blue/--red it builds cmd/as4gw (or uses --as4gw), writes a devpair
into a temporary folder with free loopback ports, starts both gateways and
stops them at the end (also on Ctrl-C). With --blue and --red it uses running
gateways in the devpair layout (gateway.json, api-token, key.pem and
example-metadata.json in one folder, the store in data/ beside them).

Scenarios (defaults):
  small       --count 300 --size 10KB --concurrency 8
  large       --count 1 --size 1GiB --concurrency 1 (one payload, streamed)
  many-parts  --count 20 --parts 100 --size 10KB --concurrency 4
  scale       small against a receiver whose store holds --prefill (1,000,000)
              messages, compared with an empty store
  dead-partner  small while a third partner that refuses connections has
              --dead-messages (10,000) queued, compared with no such partner

Flags:
`

type options struct {
	scenario    string
	count       int
	size        int64
	parts       int
	concurrency int
	keyBits     int
	as4gw       string
	blue, red   string
	jsonOut     bool
	timeout     time.Duration
	cryptoIter  int
	keep        bool
	cpuprofile  string
	quiet       bool
	// scale and dead-partner (compare.go)
	prefill      int
	deadMessages int
	rounds       int
}

type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	var size string
	fs := flag.NewFlagSet("as4bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageText)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.scenario, "scenario", "small", "small, large or many-parts")
	fs.IntVar(&o.count, "count", 0, "messages to send (default: per scenario)")
	fs.StringVar(&size, "size", "", "bytes per payload: 10KB, 200MB, 1GiB (default: per scenario)")
	fs.IntVar(&o.parts, "parts", 0, "payloads per message (default: 100 for many-parts, else 1)")
	fs.IntVar(&o.concurrency, "concurrency", 0, "messages in flight: each of C workers submits, waits for ACKNOWLEDGED, submits the next (default: per scenario)")
	fs.IntVar(&o.keyBits, "key-bits", 2048, "RSA key size of the devpair: 2048 (devpair's) or 3072 (SDK's; the bench issues its own keys)")
	fs.StringVar(&o.as4gw, "as4gw", "", "as4gw binary to run (default: go build ./cmd/as4gw into the temporary folder)")
	fs.StringVar(&o.blue, "blue", "", "gateway.json of a running sender (with --red)")
	fs.StringVar(&o.red, "red", "", "gateway.json of a running receiver (with --blue)")
	fs.BoolVar(&o.jsonOut, "json", false, "print one JSON object instead of the table")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Minute, "give up after this long")
	fs.IntVar(&o.cryptoIter, "crypto-iterations", 300, "iterations per private-key operation for the cryptographic floor")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary folder (configs, stores, logs)")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write CPU and allocation profiles of both gateways during the load into this folder (builds as4gw with a profiling hook; not with --as4gw or --blue/--red)")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress on stderr")
	fs.IntVar(&o.prefill, "prefill", 1000000, "scale: messages in the receiver's full store")
	fs.IntVar(&o.deadMessages, "dead-messages", 10000, "dead-partner: messages queued for the dead partner")
	fs.IntVar(&o.rounds, "rounds", 1, "scale, dead-partner: baseline and variant runs each, alternating")
	if err := fs.Parse(args); err != nil {
		return o, usageError{err}
	}
	if fs.NArg() > 0 {
		return o, usageError{fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))}
	}
	defCount, defSize, defParts, defConc := 300, "10KB", 1, 8
	switch o.scenario {
	case "small":
		defCount, defConc = 2000, 32
	case "large":
		defCount, defSize, defConc = 1, "1GiB", 1
	case "many-parts":
		defCount, defParts, defConc = 20, 100, 4
	case "scale", "dead-partner":
		// the small load, compared between two setups (compare.go); 1500 per run, as
		// 300 took little more than a second and one hiccup of a shared machine moved
		// the ratio by 20%
		defCount = 1500
		switch {
		case o.blue != "":
			return o, usageError{fmt.Errorf("--scenario %s sets up its own devpair: not with --blue/--red", o.scenario)}
		case o.rounds < 1 || o.rounds > 20:
			return o, usageError{errors.New("--rounds: want 1..20")}
		case o.prefill < 0 || o.prefill > 100000000:
			return o, usageError{errors.New("--prefill: want 0..100000000")}
		case o.deadMessages < 0 || o.deadMessages > 1000000:
			return o, usageError{errors.New("--dead-messages: want 0..1000000")}
		}
	default:
		return o, usageError{fmt.Errorf("--scenario %q: want small, large, many-parts, scale or dead-partner", o.scenario)}
	}
	if o.count == 0 {
		o.count = defCount
	}
	if o.concurrency == 0 {
		o.concurrency = defConc
	}
	if o.parts == 0 {
		o.parts = defParts
	}
	if size == "" {
		size = defSize
	}
	var err error
	if o.size, err = parseSize(size); err != nil {
		return o, usageError{fmt.Errorf("--size: %w", err)}
	}
	switch {
	case o.count < 1:
		return o, usageError{errors.New("--count: want at least 1")}
	case o.concurrency < 1:
		return o, usageError{errors.New("--concurrency: want at least 1")}
	case o.parts < 1 || o.parts > 1000:
		return o, usageError{errors.New("--parts: want 1..1000")}
	case o.keyBits != 2048 && o.keyBits != 3072:
		return o, usageError{fmt.Errorf("--key-bits %d: want 2048 or 3072", o.keyBits)}
	case (o.blue == "") != (o.red == ""):
		return o, usageError{errors.New("give both --blue and --red, or neither")}
	case o.blue != "" && o.as4gw != "":
		return o, usageError{errors.New("--as4gw is for gateways the bench starts; not with --blue/--red")}
	case o.blue != "" && o.keyBits != 2048:
		return o, usageError{errors.New("--key-bits applies to the bench's own devpair; running gateways use their key.pem")}
	case o.cpuprofile != "" && (o.blue != "" || o.as4gw != ""):
		return o, usageError{errors.New("--cpuprofile needs the bench's own build of as4gw: not with --as4gw or --blue/--red")}
	case o.timeout <= 0:
		return o, usageError{errors.New("--timeout: want a positive duration")}
	}
	return o, nil
}

// gatewayFigures are one gateway's costs over the run.
type gatewayFigures struct {
	Name                string   `json:"name"`
	PID                 int      `json:"pid,omitempty"`
	CPUSeconds          *float64 `json:"cpuSeconds"`
	CPUSecondsPerMsg    *float64 `json:"cpuSecondsPerMessage"`
	PeakRSSBytes        *int64   `json:"peakRssBytes"`
	DiskBytes           *int64   `json:"diskBytes"`
	DiskBytesPerMessage *float64 `json:"diskBytesPerMessage"`
	// Store commits (each fsynced) and the write operations they carried, per
	// message, from the gateway's own counters; nil when /metrics is unreachable.
	CommitsPerMessage         *float64 `json:"commitsPerMessage,omitempty"`
	WriteOperationsPerMessage *float64 `json:"writeOperationsPerMessage,omitempty"`
	CommitMeanMs              *float64 `json:"commitMeanMs,omitempty"` // bbolt write and fsync
}

type perGateway[T any] struct {
	Sender   T `json:"sender"`
	Receiver T `json:"receiver"`
}

// result is the --json output.
type result struct {
	Scenario    string `json:"scenario"`
	Count       int    `json:"count"`
	Size        int64  `json:"size"`
	Parts       int    `json:"parts"`
	Concurrency int    `json:"concurrency"`
	KeyBits     int    `json:"keyBits"`
	Cores       int    `json:"cores"`

	ElapsedSeconds       float64        `json:"elapsedSeconds"`
	MessagesPerSecond    float64        `json:"messagesPerSecond"`
	MegabytesPerSecond   float64        `json:"megabytesPerSecond"`
	LatencyMs            latencySummary `json:"latencyMs"`
	SubmitMs             latencySummary `json:"submitMs"`
	CryptoLimitPerSecond float64        `json:"cryptoLimitPerSecond"`
	FractionOfLimit      float64        `json:"fractionOfLimit"`
	// FractionOfRSALimit is messages/s against the limit of every RSA operation the
	// exchange needs, public-key ones included (informational; the target is against
	// the floor of the private-key operations).
	FractionOfRSALimit float64     `json:"fractionOfRsaLimit"`
	CryptoFloor        cryptoFloor `json:"cryptoFloor"`

	SenderPeakRssBytes         *int64                     `json:"senderPeakRssBytes"`
	ReceiverPeakRssBytes       *int64                     `json:"receiverPeakRssBytes"`
	CPUSecondsPerMessage       perGateway[*float64]       `json:"cpuSecondsPerMessage"`
	DiskBytesPerMessage        perGateway[*float64]       `json:"diskBytesPerMessage"`
	Gateways                   perGateway[gatewayFigures] `json:"gateways"`
	LoadGeneratorCPUPerMessage float64                    `json:"loadGeneratorCpuSecondsPerMessage"`
	Retries                    int                        `json:"retries"`
	Profiles                   []string                   `json:"profiles,omitempty"`
}

func main() {
	// A closed stdout (as4bench | head) must not kill the bench before it has
	// stopped the gateways and removed its folder.
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "as4bench:", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseOptions(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return flag.ErrHelp
		}
		return err
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	logw := stderr
	if o.quiet {
		logw = io.Discard
	}
	logf := func(format string, a ...any) { fmt.Fprintf(logw, "as4bench: "+format+"\n", a...) }
	if isComparison(o.scenario) {
		return runComparison(ctx, parent, o, stdout, logf)
	}

	var blue, red *gateway
	if o.blue != "" {
		if blue, err = loadGateway("blue", o.blue); err != nil {
			return err
		}
		if red, err = loadGateway("red", o.red); err != nil {
			return err
		}
		for _, g := range []*gateway{blue, red} {
			if p, err := g.port(g.info.APIURL); err == nil {
				if pid, err := pidListeningOn(p); err == nil {
					g.pid = pid
				} else {
					logf("%s: no CPU or RSS figures: %v", g.name, err)
				}
			}
			if _, err := os.Stat(g.dataDir); err != nil {
				logf("%s: no disk figures: %v", g.name, err)
				g.dataDir = ""
			}
		}
	}

	tmp, err := os.MkdirTemp("", "as4bench-")
	if err != nil {
		return err
	}
	if o.keep {
		logf("keeping %s", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}

	var bin string
	if blue == nil {
		if bin, blue, red, err = setUpPair(ctx, o, tmp, logw, logf); err != nil {
			return err
		}
	}

	// The floor is measured before the load, on an idle machine.
	senderKey, err := readRSAKey(filepath.Join(blue.dir, "key.pem"))
	if err != nil {
		return fmt.Errorf("sender key: %w", err)
	}
	receiverKey, err := readRSAKey(filepath.Join(red.dir, "key.pem"))
	if err != nil {
		return fmt.Errorf("receiver key: %w", err)
	}
	logf("measuring the cryptographic floor (%d-bit RSA, %d iterations per operation)", senderKey.N.BitLen(), o.cryptoIter)
	floor, err := measureCryptoFloor(senderKey, receiverKey, o.cryptoIter)
	if err != nil {
		return fmt.Errorf("cryptographic floor: %w", err)
	}

	if bin != "" {
		if o.cpuprofile != "" {
			for _, g := range []*gateway{blue, red} {
				p, err := freePorts(1)
				if err != nil {
					return err
				}
				g.pprof = fmt.Sprintf("127.0.0.1:%d", p)
			}
		}
		logf("starting blue and red (%s)", filepath.Dir(blue.dir))
		defer red.stop()
		defer blue.stop()
		if err := startGateway(ctx, bin, blue); err != nil {
			return err
		}
		if err := startGateway(ctx, bin, red); err != nil {
			return err
		}
	}

	res, err := drive(ctx, o, blue, red, logf)
	if err != nil {
		switch {
		case parent.Err() != nil:
			return fmt.Errorf("interrupted: %w", err)
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			return fmt.Errorf("--timeout %s reached: %w", o.timeout, err)
		}
		return err
	}
	res.CryptoFloor = floor
	res.KeyBits = floor.KeyBits
	res.Cores = floor.Cores
	res.CryptoLimitPerSecond = round(floor.LimitPerSecond, 1)
	if floor.LimitPerSecond > 0 {
		res.FractionOfLimit = round(res.MessagesPerSecond/floor.LimitPerSecond, 4)
	}
	if floor.AllRSALimitPerSecond > 0 {
		res.FractionOfRSALimit = round(res.MessagesPerSecond/floor.AllRSALimitPerSecond, 4)
	}
	if o.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	printTable(stdout, res)
	return nil
}

// drive runs the load and collects the figures.
func drive(ctx context.Context, o options, blue, red *gateway, logf func(string, ...any)) (*result, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	for _, g := range []*gateway{blue, red} {
		if g.exited != nil {
			go func() {
				select {
				case <-g.exited:
					cancel(fmt.Errorf("%s gateway exited during the run (%v)%s", g.name, g.waitErr, g.logTail()))
				case <-ctx.Done():
				}
			}()
		}
	}
	cause := func(err error) error {
		if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) {
			return c
		}
		return err
	}
	// exitCause prefers "the gateway exited" to the connection error it caused.
	exitCause := func(err error) error {
		exitErr := func(g *gateway) error {
			return fmt.Errorf("%s gateway exited during the run (%v)%s", g.name, g.waitErr, g.logTail())
		}
		select {
		case <-blue.exited:
			return exitErr(blue)
		case <-red.exited:
			return exitErr(red)
		case <-time.After(500 * time.Millisecond):
			return cause(err)
		}
	}

	var template map[string]any
	tdata, err := os.ReadFile(filepath.Join(blue.dir, "example-metadata.json"))
	if err == nil {
		err = json.Unmarshal(tdata, &template)
	}
	if err != nil {
		return nil, fmt.Errorf("sender's example-metadata.json (service, action, originalSender, finalRecipient): %w", err)
	}

	var rb [4]byte
	_, _ = crand.Read(rb[:])
	runID := hex.EncodeToString(rb[:])
	ids := make([]string, o.count)
	for i := range ids {
		ids[i] = fmt.Sprintf("as4bench-%s-%06d@as4bench.invalid", runID, i)
	}
	parts := make([]string, o.parts)
	for i := range parts {
		parts[i] = "message"
		if o.parts > 1 {
			parts[i] = fmt.Sprintf("part%03d", i)
		}
	}

	bc := newAPIClient(blue, o.concurrency)
	rc := newAPIClient(red, 2)
	after, err := eventsEnd(ctx, bc)
	if err != nil {
		return nil, cause(fmt.Errorf("sender's events feed: %w", err))
	}
	tr := newTracker(ids)
	var errOnce sync.Once
	var runErr error
	fail := func(err error) {
		errOnce.Do(func() { runErr = err; cancel(err) })
	}
	go func() {
		if err := tr.watch(ctx, bc, after); err != nil && ctx.Err() == nil {
			fail(fmt.Errorf("sender's events feed: %w", err))
		}
	}()

	gws := []*gateway{blue, red}
	cpu0 := make([]procCPU, 2)
	disk0 := make([]int64, 2)
	for i, g := range gws {
		if g.pid != 0 {
			if err := resetPeakRSS(g.pid); err != nil {
				logf("%s: cannot reset the peak RSS (%v): it includes everything since the gateway started", g.name, err)
			}
			cpu0[i], _ = readProcCPU(g.pid)
		}
		if g.dataDir != "" {
			disk0[i], _ = diskUsage(g.dataDir)
		}
	}
	commits0 := make([]storeCounters, 2)
	for i, g := range gws {
		commits0[i] = readStoreCounters(ctx, g)
	}
	self0, _ := readProcCPU(os.Getpid())
	var profiles []string
	if o.cpuprofile != "" {
		if err := os.MkdirAll(o.cpuprofile, 0o755); err != nil {
			return nil, err
		}
		for _, g := range gws {
			f, _ := filepath.Abs(filepath.Join(o.cpuprofile, g.name+".cpu.pprof"))
			if err := hook(ctx, g, "/start?file="+f); err != nil {
				return nil, err
			}
			profiles = append(profiles, f)
		}
	}

	logf("sending %d message(s) of %d × %s with %d in flight", o.count, o.parts, humanSI(float64(o.size)), o.concurrency)
	start := time.Now()
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range o.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			gen := &payloadGen{r: newPayloadReader(0, newRNG())}
			for i := range jobs {
				id := ids[i]
				md, err := buildMetadata(template, id, parts)
				if err != nil {
					fail(err)
					return
				}
				st := tr.msgs[id]
				t0 := time.Now()
				tr.mu.Lock()
				st.submitted = t0
				tr.mu.Unlock()
				if err := bc.submit(ctx, submission{id: id, metadata: md, parts: parts, size: o.size}, gen); err != nil {
					fail(exitCause(err))
					return
				}
				tr.mu.Lock()
				st.accepted = time.Now()
				tr.mu.Unlock()
				select {
				case <-st.done:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	stopProgress := make(chan struct{})
	go func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stopProgress:
				return
			case <-t.C:
				tr.mu.Lock()
				n, r := tr.acked, tr.retries
				tr.mu.Unlock()
				logf("%d/%d acknowledged after %.0f s (%d retries)", n, o.count, time.Since(start).Seconds(), r)
			}
		}
	}()
feed:
	for i := range o.count {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	close(stopProgress)
	if runErr != nil {
		return nil, runErr
	}
	select {
	case <-tr.allDone:
	default:
		if err := ctx.Err(); err != nil {
			return nil, cause(err)
		}
		return nil, errors.New("the workers ended before every message reached a final status")
	}
	end := time.Now()

	res := &result{Scenario: o.scenario, Count: o.count, Size: o.size, Parts: o.parts, Concurrency: o.concurrency, Profiles: profiles}
	for i, g := range gws {
		f := gatewayFigures{Name: g.name, PID: g.pid}
		if g.pid != 0 {
			if c, err := readProcCPU(g.pid); err == nil {
				s := round(c.total()-cpu0[i].total(), 3)
				per := round((c.total()-cpu0[i].total())/float64(o.count), 6)
				f.CPUSeconds, f.CPUSecondsPerMsg = &s, &per
			}
			if p, err := peakRSS(g.pid); err == nil {
				f.PeakRSSBytes = &p
			}
		}
		f.CommitsPerMessage, f.WriteOperationsPerMessage, f.CommitMeanMs = readStoreCounters(ctx, g).perMessage(commits0[i], o.count)
		if i == 0 {
			res.Gateways.Sender = f
		} else {
			res.Gateways.Receiver = f
		}
	}
	self1, _ := readProcCPU(os.Getpid())
	res.LoadGeneratorCPUPerMessage = round((self1.total()-self0.total())/float64(o.count), 6)
	if o.cpuprofile != "" {
		for _, g := range gws {
			if err := hook(ctx, g, "/stop"); err != nil {
				return nil, err
			}
			f, _ := filepath.Abs(filepath.Join(o.cpuprofile, g.name+".allocs.pprof"))
			if err := hook(ctx, g, "/heap?file="+f); err != nil {
				return nil, err
			}
			profiles = append(profiles, f)
		}
		res.Profiles = profiles
	}

	// Latency: our clock just before the POST to the gateway's time of the
	// ACKNOWLEDGED event (same host, same clock).
	var lat, sub []time.Duration
	var first, last time.Time
	failed := 0
	var failure string
	tr.mu.Lock()
	for _, id := range ids {
		st := tr.msgs[id]
		if st.final == "SEND_FAILURE" {
			failed++
			failure = id + ": " + st.reason
			continue
		}
		d := st.finalAt.Sub(st.submitted)
		if d < 0 {
			d = 0
		}
		lat = append(lat, d)
		sub = append(sub, st.accepted.Sub(st.submitted))
		if first.IsZero() || st.submitted.Before(first) {
			first = st.submitted
		}
		if st.finalAt.After(last) {
			last = st.finalAt
		}
	}
	res.Retries = tr.retries
	tr.mu.Unlock()
	if failed > 0 {
		return nil, fmt.Errorf("%d of %d messages ended SEND_FAILURE (e.g. %s)", failed, o.count, failure)
	}
	if last.IsZero() || last.After(end) {
		last = end
	}
	elapsed := last.Sub(first).Seconds()
	if elapsed <= 0 {
		elapsed = end.Sub(start).Seconds()
	}
	res.ElapsedSeconds = round(elapsed, 3)
	res.MessagesPerSecond = round(float64(o.count)/elapsed, 2)
	res.MegabytesPerSecond = round(float64(o.count)*float64(o.parts)*float64(o.size)/elapsed/1e6, 2)
	res.LatencyMs = summarize(lat)
	res.SubmitMs = summarize(sub)

	logf("all acknowledged; checking the receiver's inbox")
	if _, err := checkInbox(ctx, rc, ids, o.parts, o.size, 2*time.Minute); err != nil {
		return nil, cause(err)
	}
	for i, g := range gws {
		f := &res.Gateways.Sender
		if i == 1 {
			f = &res.Gateways.Receiver
		}
		if g.dataDir != "" {
			if d, err := diskUsage(g.dataDir); err == nil {
				delta := d - disk0[i]
				per := round(float64(delta)/float64(o.count), 1)
				f.DiskBytes, f.DiskBytesPerMessage = &delta, &per
			}
		}
	}
	res.SenderPeakRssBytes = res.Gateways.Sender.PeakRSSBytes
	res.ReceiverPeakRssBytes = res.Gateways.Receiver.PeakRSSBytes
	res.CPUSecondsPerMessage = perGateway[*float64]{res.Gateways.Sender.CPUSecondsPerMsg, res.Gateways.Receiver.CPUSecondsPerMsg}
	res.DiskBytesPerMessage = perGateway[*float64]{res.Gateways.Sender.DiskBytesPerMessage, res.Gateways.Receiver.DiskBytesPerMessage}
	return res, nil
}

// hook calls the profiling hook built into the bench's as4gw.
func hook(ctx context.Context, g *gateway, path string) error {
	if g.pprof == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+g.pprof+path, nil)
	if err != nil {
		return err
	}
	resp, err := noProxyClient().Do(req)
	if err != nil {
		return fmt.Errorf("%s profiling hook %s: %w", g.name, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s profiling hook %s: HTTP %d %s", g.name, path, resp.StatusCode, snippet(body))
	}
	return nil
}

func round(x float64, digits int) float64 {
	p := 1.0
	for range digits {
		p *= 10
	}
	if x >= 0 {
		return float64(int64(x*p+0.5)) / p
	}
	return -float64(int64(-x*p+0.5)) / p
}

func printTable(w io.Writer, r *result) {
	fmt.Fprintf(w, "as4bench: scenario %s: %d message(s) × %d payload(s) of %s, %d in flight, RSA %d, %d cores\n\n",
		r.Scenario, r.Count, r.Parts, humanSI(float64(r.Size)), r.Concurrency, r.KeyBits, r.Cores)
	row := func(k, v string) { fmt.Fprintf(w, "  %-30s %s\n", k, v) }
	row("elapsed", fmt.Sprintf("%.3f s (first submit → last ACKNOWLEDGED)", r.ElapsedSeconds))
	row("throughput", fmt.Sprintf("%.2f messages/s, %.2f MB/s of payload", r.MessagesPerSecond, r.MegabytesPerSecond))
	row("latency submit → ACKNOWLEDGED", fmt.Sprintf("p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms", r.LatencyMs.P50, r.LatencyMs.P95, r.LatencyMs.P99, r.LatencyMs.Max))
	row("submit (POST → 202)", fmt.Sprintf("p50 %.1f ms, p95 %.1f ms, p99 %.1f ms", r.SubmitMs.P50, r.SubmitMs.P95, r.SubmitMs.P99))
	f := r.CryptoFloor
	row("cryptographic floor", fmt.Sprintf("%.3f ms/exchange (sign %.3f + unwrap %.3f + receipt sign %.3f ms, %s)",
		f.SecondsPerExchange*1e3, f.SenderSignSeconds*1e3, f.ReceiverUnwrapSeconds*1e3, f.ReceiptSignSeconds*1e3, f.Clock))
	row("crypto limit", fmt.Sprintf("%.1f exchanges/s on %d cores", r.CryptoLimitPerSecond, r.Cores))
	row("fraction of limit", fmt.Sprintf("%.1f%%", r.FractionOfLimit*100))
	if f.AllRSALimitPerSecond > 0 {
		row("with public-key operations", fmt.Sprintf("%.3f ms/exchange RSA in all (+%.3f ms: key wrap, two signature checks): limit %.1f/s, fraction %.1f%%",
			f.AllRSASecondsPerExch*1000, f.PublicKeySeconds*1000, f.AllRSALimitPerSecond, r.FractionOfRSALimit*100))
	}
	row("retries", fmt.Sprint(r.Retries))
	fmt.Fprintf(w, "\n  %-30s %-18s %-18s\n", "", "sender ("+r.Gateways.Sender.Name+")", "receiver ("+r.Gateways.Receiver.Name+")")
	two := func(k string, a, b string) { fmt.Fprintf(w, "  %-30s %-18s %-18s\n", k, a, b) }
	fl := func(p *float64, f string) string {
		if p == nil {
			return "n/a"
		}
		return fmt.Sprintf(f, *p)
	}
	by := func(p *int64) string {
		if p == nil {
			return "n/a"
		}
		return humanBytes(float64(*p))
	}
	byf := func(p *float64) string {
		if p == nil {
			return "n/a"
		}
		return humanBytes(*p)
	}
	s, rc := r.Gateways.Sender, r.Gateways.Receiver
	two("CPU s/message", fl(s.CPUSecondsPerMsg, "%.5f"), fl(rc.CPUSecondsPerMsg, "%.5f"))
	two("CPU s total", fl(s.CPUSeconds, "%.2f"), fl(rc.CPUSeconds, "%.2f"))
	two("peak RSS", by(s.PeakRSSBytes), by(rc.PeakRSSBytes))
	two("disk/message", byf(s.DiskBytesPerMessage), byf(rc.DiskBytesPerMessage))
	two("store commits/message", fl(s.CommitsPerMessage, "%.2f"), fl(rc.CommitsPerMessage, "%.2f"))
	two("store writes/message", fl(s.WriteOperationsPerMessage, "%.2f"), fl(rc.WriteOperationsPerMessage, "%.2f"))
	two("store commit mean", fl(s.CommitMeanMs, "%.2f ms"), fl(rc.CommitMeanMs, "%.2f ms"))
	fmt.Fprintf(w, "\n  %-30s %.5f\n", "load generator CPU s/message", r.LoadGeneratorCPUPerMessage)
	if len(r.Profiles) > 0 {
		sort.Strings(r.Profiles)
		fmt.Fprintf(w, "\n  profiles (go tool pprof -top BIN FILE):\n")
		for _, p := range r.Profiles {
			fmt.Fprintf(w, "    %s\n", p)
		}
	}
}

// setUpPair builds (or takes) the as4gw binary and writes a devpair with the requested
// key size into tmp/pair on free loopback ports.
func setUpPair(ctx context.Context, o options, tmp string, logw io.Writer, logf func(string, ...any)) (bin string, blue, red *gateway, err error) {
	bin = o.as4gw
	if bin == "" {
		if bin, err = buildAS4GW(ctx, tmp, o.cpuprofile != "", logw); err != nil {
			return "", nil, nil, err
		}
	}
	base, err := freePorts(6)
	if err != nil {
		return "", nil, nil, err
	}
	dir := filepath.Join(tmp, "pair")
	out, err := exec.CommandContext(ctx, bin, "devpair", "--dir", dir, "--base-port", fmt.Sprint(base)).CombinedOutput()
	if err != nil {
		return "", nil, nil, fmt.Errorf("as4gw devpair: %w: %s", err, snippet(out))
	}
	if o.keyBits != 2048 {
		logf("issuing %d-bit keys", o.keyBits)
		if err := rekeyDevpair(dir, o.keyBits); err != nil {
			return "", nil, nil, fmt.Errorf("rekey: %w", err)
		}
	}
	if blue, err = loadGateway("blue", filepath.Join(dir, "blue", "gateway.json")); err != nil {
		return "", nil, nil, err
	}
	if red, err = loadGateway("red", filepath.Join(dir, "red", "gateway.json")); err != nil {
		return "", nil, nil, err
	}
	return bin, blue, red, nil
}
