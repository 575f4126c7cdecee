package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// The comparison scenarios (scale, dead-partner) run the small load twice on one devpair:
// once in a baseline setup and once in the setup under test, and report the ratio of the
// throughputs. A ratio only means something when both runs see the same machine, so with
// --rounds N the two alternate (A B B A ...) and the report gives every run, the median
// ratio and the range of the per-round ratios.

// variant is one of the two setups of a comparison.
type variant struct {
	name string
	// prepare readies the pair for a run of this variant; it is called with both
	// gateways stopped and may rewrite their configuration.
	prepare func() error
	// started runs after both gateways are ready, before the load (e.g. to fill a queue).
	started func(ctx context.Context) error
	// finished runs after the load, gateways still up; its figures go into the report.
	finished func(ctx context.Context) (map[string]float64, error)
}

// comparisonRun is one load run of one variant.
type comparisonRun struct {
	Round   int                `json:"round"`
	Variant string             `json:"variant"`
	Result  *result            `json:"result"`
	Extra   map[string]float64 `json:"extra,omitempty"`
}

// comparison is the --json output of scale and dead-partner.
type comparison struct {
	Scenario    string          `json:"scenario"`
	Count       int             `json:"count"`
	Size        int64           `json:"size"`
	Concurrency int             `json:"concurrency"`
	KeyBits     int             `json:"keyBits"`
	Cores       int             `json:"cores"`
	CryptoFloor cryptoFloor     `json:"cryptoFloor"`
	Setup       map[string]any  `json:"setup"`
	Runs        []comparisonRun `json:"runs"`
	// Baseline and Variant are the messages/s of each run, in round order.
	Baseline []float64 `json:"baselineMessagesPerSecond"`
	Variant  []float64 `json:"variantMessagesPerSecond"`
	// Ratio is median(variant) ÷ median(baseline); RatioMin/Max span the per-round ratios.
	Ratio    float64 `json:"ratio"`
	RatioMin float64 `json:"ratioMin"`
	RatioMax float64 `json:"ratioMax"`
	// ReceiverCPURatio and SenderCPURatio compare CPU s/message the same way (variant ÷
	// baseline): above 1 the variant costs more per message.
	ReceiverCPURatio float64 `json:"receiverCpuRatio,omitempty"`
	SenderCPURatio   float64 `json:"senderCpuRatio,omitempty"`
}

func isComparison(scenario string) bool { return scenario == "scale" || scenario == "dead-partner" }

// runComparison sets up a devpair, builds the scenario's two variants and runs them.
func runComparison(ctx, parent context.Context, o options, stdout io.Writer, logf func(string, ...any)) error {
	tmp, err := os.MkdirTemp("", "as4bench-")
	if err != nil {
		return err
	}
	if o.keep {
		logf("keeping %s", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	bin, blue, red, err := setUpPair(ctx, o, tmp, logWriter(logf), logf)
	if err != nil {
		return err
	}
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

	cmp := &comparison{Scenario: o.scenario, Count: o.count, Size: o.size, Concurrency: o.concurrency,
		KeyBits: floor.KeyBits, Cores: floor.Cores, CryptoFloor: floor, Setup: map[string]any{}}
	var baseV, testV variant
	switch o.scenario {
	case "scale":
		baseV, testV, err = scaleVariants(ctx, o, blue, red, cmp.Setup, logf)
	case "dead-partner":
		baseV, testV, err = deadPartnerVariants(o, blue, red, cmp.Setup, logf)
	}
	if err != nil {
		return err
	}

	for r := range o.rounds {
		order := []variant{baseV, testV}
		if r%2 == 1 {
			order = []variant{testV, baseV}
		}
		for _, v := range order {
			logf("round %d/%d: %s", r+1, o.rounds, v.name)
			run, err := runVariant(ctx, o, bin, blue, red, v, logf)
			if err != nil {
				switch {
				case parent.Err() != nil:
					return fmt.Errorf("interrupted: %w", err)
				case errors.Is(ctx.Err(), context.DeadlineExceeded):
					return fmt.Errorf("--timeout %s reached: %w", o.timeout, err)
				}
				return fmt.Errorf("round %d, %s: %w", r+1, v.name, err)
			}
			run.Round = r + 1
			if floor.LimitPerSecond > 0 {
				run.Result.FractionOfLimit = round(run.Result.MessagesPerSecond/floor.LimitPerSecond, 4)
			}
			if floor.AllRSALimitPerSecond > 0 {
				run.Result.FractionOfRSALimit = round(run.Result.MessagesPerSecond/floor.AllRSALimitPerSecond, 4)
			}
			run.Result.KeyBits, run.Result.Cores, run.Result.CryptoFloor = floor.KeyBits, floor.Cores, floor
			run.Result.CryptoLimitPerSecond = round(floor.LimitPerSecond, 1)
			cmp.Runs = append(cmp.Runs, run)
		}
	}
	cmp.summarize(baseV.name)
	if o.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(cmp)
	}
	cmp.print(stdout, baseV.name, testV.name)
	return nil
}

// runVariant starts the pair in the variant's setup, drives the load and stops the pair.
func runVariant(ctx context.Context, o options, bin string, blue, red *gateway, v variant, logf func(string, ...any)) (comparisonRun, error) {
	run := comparisonRun{Variant: v.name}
	if err := v.prepare(); err != nil {
		return run, err
	}
	if o.cpuprofile != "" {
		for _, g := range []*gateway{blue, red} {
			p, err := freePorts(1)
			if err != nil {
				return run, err
			}
			g.pprof = fmt.Sprintf("127.0.0.1:%d", p)
		}
	}
	defer red.stop()
	defer blue.stop()
	if err := startGateway(ctx, bin, blue); err != nil {
		return run, err
	}
	if err := startGateway(ctx, bin, red); err != nil {
		return run, err
	}
	if v.started != nil {
		if err := v.started(ctx); err != nil {
			return run, err
		}
	}
	vo := o
	if o.cpuprofile != "" {
		vo.cpuprofile = filepath.Join(o.cpuprofile, v.name)
	}
	res, err := drive(ctx, vo, blue, red, logf)
	if err != nil {
		return run, err
	}
	run.Result = res
	if v.finished != nil {
		if run.Extra, err = v.finished(ctx); err != nil {
			return run, err
		}
	}
	return run, nil
}

func (c *comparison) summarize(baseline string) {
	var bcpu, vcpu, bscpu, vscpu []float64
	for _, r := range c.Runs {
		mps := r.Result.MessagesPerSecond
		rc, sc := r.Result.Gateways.Receiver.CPUSecondsPerMsg, r.Result.Gateways.Sender.CPUSecondsPerMsg
		if r.Variant == baseline {
			c.Baseline = append(c.Baseline, mps)
			if rc != nil && sc != nil {
				bcpu, bscpu = append(bcpu, *rc), append(bscpu, *sc)
			}
		} else {
			c.Variant = append(c.Variant, mps)
			if rc != nil && sc != nil {
				vcpu, vscpu = append(vcpu, *rc), append(vscpu, *sc)
			}
		}
	}
	ratio := func(v, b []float64) float64 {
		if len(v) == 0 || len(b) == 0 || median(b) == 0 {
			return 0
		}
		return round(median(v)/median(b), 3)
	}
	c.Ratio = ratio(c.Variant, c.Baseline)
	c.ReceiverCPURatio = ratio(vcpu, bcpu)
	c.SenderCPURatio = ratio(vscpu, bscpu)
	for i := range min(len(c.Baseline), len(c.Variant)) {
		if c.Baseline[i] == 0 {
			continue
		}
		r := round(c.Variant[i]/c.Baseline[i], 3)
		if i == 0 || r < c.RatioMin {
			c.RatioMin = r
		}
		if i == 0 || r > c.RatioMax {
			c.RatioMax = r
		}
	}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func (c *comparison) print(w io.Writer, baseline, test string) {
	fmt.Fprintf(w, "as4bench: scenario %s: %s against %s, %d message(s) of %s per run, %d in flight, RSA %d, %d cores\n\n",
		c.Scenario, test, baseline, c.Count, humanSI(float64(c.Size)), c.Concurrency, c.KeyBits, c.Cores)
	keys := make([]string, 0, len(c.Setup))
	for k := range c.Setup {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %-34s %v\n", k, c.Setup[k])
	}
	fmt.Fprintf(w, "\n  %-5s %-14s %10s %9s %9s %12s %12s  %s\n", "round", "variant", "msgs/s", "p50 ms", "p99 ms", "sender CPU", "recv CPU", "extra")
	for _, r := range c.Runs {
		res := r.Result
		cpu := func(p *float64) string {
			if p == nil {
				return "n/a"
			}
			return fmt.Sprintf("%.5f", *p)
		}
		var extra []string
		ek := make([]string, 0, len(r.Extra))
		for k := range r.Extra {
			ek = append(ek, k)
		}
		slices.Sort(ek)
		for _, k := range ek {
			extra = append(extra, fmt.Sprintf("%s=%g", k, r.Extra[k]))
		}
		fmt.Fprintf(w, "  %-5d %-14s %10.2f %9.1f %9.1f %12s %12s  %s\n", r.Round, r.Variant, res.MessagesPerSecond,
			res.LatencyMs.P50, res.LatencyMs.P99, cpu(res.Gateways.Sender.CPUSecondsPerMsg), cpu(res.Gateways.Receiver.CPUSecondsPerMsg), strings.Join(extra, " "))
	}
	fmt.Fprintf(w, "\n  %-34s %.3f (median %s ÷ median %s; target ≥ 0.9)\n", "throughput ratio", c.Ratio, test, baseline)
	if len(c.Baseline) > 1 {
		fmt.Fprintf(w, "  %-34s %.3f … %.3f\n", "per-round ratios", c.RatioMin, c.RatioMax)
	}
	if c.ReceiverCPURatio > 0 {
		fmt.Fprintf(w, "  %-34s receiver %.3f, sender %.3f (%s ÷ %s; above 1 costs more)\n", "CPU s/message ratio", c.ReceiverCPURatio, c.SenderCPURatio, test, baseline)
	}
}

// logWriter turns logf into the writer buildAS4GW reports to.
type logWriter func(string, ...any)

func (l logWriter) Write(p []byte) (int, error) {
	if s := strings.TrimRight(string(p), "\n"); s != "" {
		l("%s", s)
	}
	return len(p), nil
}
