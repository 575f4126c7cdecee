package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// The dead-partner scenario: a third partner is down (its endpoint refuses connections)
// with thousands of messages queued for it, while traffic to the live partner runs. The
// sender must keep the live partner's pace: the dead one's queue sits in backoff and may
// cost a claim one skipped partner, not a walk over its queue.
//
// Blue gets two setups: the devpair configuration with data-base, and the same with a
// party "dead" (endpoint: a loopback port nobody listens on) added to the P-Modes, with
// data-dead. In the first dead run, before the load, --dead-messages messages for "dead"
// are submitted through blue's API (1 kB each); they stay queued across the rounds.

const deadPartyName = "dead"

// deadAction is the action of the dead partner's leg: a leg of its own, so that the live
// traffic's metadata (no toPartyId) still names one responder.
const deadAction = "urn:as4gw:dev:dead-partner"

// addDeadPartner adds the dead party to a devpair configuration, with a copy of the
// devpair's leg between blue and it (own name and action, retries for an hour).
func addDeadPartner(yaml, endpoint, certFile string) (string, error) {
	party := fmt.Sprintf("    - name: %s\n      partyIds: [{value: %s, type: %q}]\n      endpoint: %s\n      certificateFile: %s\n  legs:\n",
		deadPartyName, deadPartyName, devPartyType, endpoint, certFile)
	if strings.Count(yaml, "\n  legs:\n") != 1 {
		return "", fmt.Errorf("not a devpair configuration: want one pmodes.legs list")
	}
	out := strings.Replace(yaml, "\n  legs:\n", "\n"+party, 1)
	// The legs list is the end of the file; its first leg is devpair's only one.
	i := strings.Index(out, "\n  legs:\n")
	leg := out[i+len("\n  legs:\n"):]
	if !strings.HasPrefix(leg, "    - name: ") {
		return "", fmt.Errorf("not a devpair configuration: no leg after pmodes.legs")
	}
	dead := leg
	for _, r := range []struct{ pattern, repl string }{
		{`(?m)^    - name: .*$`, "    - name: to-dead-partner"},
		{`(?m)^(      initiators:) .*$`, "${1} [blue, " + deadPartyName + "]"},
		{`(?m)^(      responders:) .*$`, "${1} [blue, " + deadPartyName + "]"},
		{`(?m)^(      action:) .*$`, fmt.Sprintf("${1} %q", deadAction)},
		{`(?m)^(        retry:) .*$`, `${1} "60;60;CONSTANT"`},
	} {
		re := regexp.MustCompile(r.pattern)
		if !re.MatchString(dead) {
			return "", fmt.Errorf("not a devpair configuration: the leg has no line matching %s", r.pattern)
		}
		dead = re.ReplaceAllString(dead, r.repl)
	}
	return strings.TrimRight(out, "\n") + "\n" + dead, nil
}

func deadPartnerVariants(o options, blue, red *gateway, setup map[string]any, logf func(string, ...any)) (variant, variant, error) {
	path := filepath.Join(blue.dir, "as4gw.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		return variant{}, variant{}, err
	}
	baseYAML := string(data)
	port, err := freePorts(1)
	if err != nil {
		return variant{}, variant{}, err
	}
	endpoint := fmt.Sprintf("http://127.0.0.1:%d/as4", port)
	deadYAML, err := addDeadPartner(baseYAML, endpoint, "../"+red.name+"/cert.pem")
	if err != nil {
		return variant{}, variant{}, fmt.Errorf("%s: %w", path, err)
	}
	setup["deadPartnerEndpoint"] = endpoint + " (nothing listens)"
	setup["deadPartnerMessages"] = o.deadMessages

	write := func(yaml, folder string) error {
		if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
			return err
		}
		return setDataDir(blue, folder)
	}
	filled := false
	baseline := variant{name: "no-dead", prepare: func() error { return write(baseYAML, "data-base") }}
	test := variant{name: "dead-partner", prepare: func() error { return write(deadYAML, "data-dead") }}
	test.started = func(ctx context.Context) error {
		if !filled {
			start := time.Now()
			if err := fillDeadQueue(ctx, o, blue, logf); err != nil {
				return fmt.Errorf("queueing messages for the dead partner: %w", err)
			}
			took := time.Since(start)
			setup["deadPartnerSubmitSeconds"] = round(took.Seconds(), 1)
			filled = true
		}
		// Let the first attempts of the restarted sender fail and its backoff begin,
		// as on a gateway that has been running while the partner was down.
		time.Sleep(2 * time.Second)
		return nil
	}
	test.finished = func(ctx context.Context) (map[string]float64, error) {
		m, err := scrapeMetrics(ctx, blue)
		if err != nil {
			logf("blue's metrics: %v", err)
			return nil, nil
		}
		queued := m[`as4gw_queue_messages{state="SEND_ENQUEUED"}`] + m[`as4gw_queue_messages{state="WAITING_FOR_RETRY"}`] + m[`as4gw_queue_messages{state="SEND_IN_PROGRESS"}`]
		return map[string]float64{
			"deadQueued":   queued,
			"deadAttempts": m[`as4gw_send_attempts_total{outcome="transport_error",partner="`+deadPartyName+`"}`],
		}, nil
	}
	return baseline, test, nil
}

// fillDeadQueue submits o.deadMessages small messages for the dead partner.
func fillDeadQueue(ctx context.Context, o options, blue *gateway, logf func(string, ...any)) error {
	var template map[string]any
	readJSONFile(filepath.Join(blue.dir, "example-metadata.json"), &template)
	if template == nil {
		return fmt.Errorf("%s: no example-metadata.json", blue.dir)
	}
	template["toPartyId"] = deadPartyName
	template["toPartyType"] = devPartyType
	template["finalRecipient"] = "0203:dead.example"
	template["action"] = deadAction
	const conc = 16
	c := newAPIClient(blue, conc)
	logf("submitting %d messages for the dead partner", o.deadMessages)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			gen := &payloadGen{r: newPayloadReader(0, newRNG())}
			for i := range jobs {
				id := fmt.Sprintf("as4bench-dead-%06d-%d@as4bench.invalid", i, start.UnixNano())
				md, err := buildMetadata(template, id, []string{"message"})
				if err == nil {
					err = c.submit(ctx, submission{id: id, metadata: md, parts: []string{"message"}, size: 1000}, gen)
				}
				if err != nil {
					cancel(err)
					return
				}
			}
		}()
	}
	last := time.Now()
feed:
	for i := range o.deadMessages {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
		if time.Since(last) > 10*time.Second {
			last = time.Now()
			logf("  %d/%d submitted (%.0f/s)", i, o.deadMessages, float64(i)/time.Since(start).Seconds())
		}
	}
	close(jobs)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return nil
}
