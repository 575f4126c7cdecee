package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// devpairPModes is the end of a configuration as "as4gw devpair" writes it.
const devpairPModes = `dataDir: data          # message store and payloads (relative to this file)
pmodes:
  self: blue
  parties:
    - name: blue
      partyIds: [{value: blue, type: "urn:oasis:names:tc:ebcore:partyid-type:unregistered"}]
    - name: red
      partyIds: [{value: red, type: "urn:oasis:names:tc:ebcore:partyid-type:unregistered"}]
      endpoint: http://127.0.0.1:18083/as4
      certificateFile: ../red/cert.pem
  legs:
    - name: dev-message
      initiators: [blue, red]
      responders: [blue, red]
      service: {value: "urn:as4gw:dev:service", type: "urn:as4gw:dev"}
      action: "urn:as4gw:dev:message"
      reliability:
        receipts: true
        retry: "1;30;CONSTANT"  # every 2 s for 1 minute
      properties:
        - {name: originalSender, required: true}
      compression: true
`

func TestAddDeadPartner(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    []string // substrings of the result
		wantErr string
	}{
		{"devpair", devpairPModes, []string{
			"    - name: dead\n      partyIds: [{value: dead, type: \"urn:oasis:names:tc:ebcore:partyid-type:unregistered\"}]\n      endpoint: http://127.0.0.1:9/as4\n      certificateFile: ../red/cert.pem\n  legs:\n    - name: dev-message\n      initiators: [blue, red]\n",
			"    - name: to-dead-partner\n      initiators: [blue, dead]\n      responders: [blue, dead]\n",
			`      action: "urn:as4gw:dev:dead-partner"`,
			`        retry: "60;60;CONSTANT"`,
		}, ""},
		{"no legs", strings.Replace(devpairPModes, "  legs:\n", "", 1), nil, "pmodes.legs"},
		{"no action", strings.Replace(devpairPModes, `      action: "urn:as4gw:dev:message"`+"\n", "", 1), nil, "action"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := addDeadPartner(tc.yaml, "http://127.0.0.1:9/as4", "../red/cert.pem")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("result lacks %q:\n%s", w, got)
				}
			}
			// The live leg is untouched: its messages still need no toPartyId.
			if !strings.Contains(got, "      action: \"urn:as4gw:dev:message\"\n      reliability:\n        receipts: true\n        retry: \"1;30;CONSTANT\"") {
				t.Errorf("the devpair leg changed:\n%s", got)
			}
		})
	}
}

func TestSetDataDir(t *testing.T) {
	dir := t.TempDir()
	g := &gateway{name: "red", dir: dir}
	path := filepath.Join(dir, "as4gw.yaml")
	for _, tc := range []struct{ in, folder, want string }{
		{devpairPModes, "data-full", "dataDir: data-full          # message store"},
		{"logFormat: text\ndataDir: data-full\n", "data-empty", "logFormat: text\ndataDir: data-empty\n"},
	} {
		if err := os.WriteFile(path, []byte(tc.in), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := setDataDir(g, tc.folder); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(path)
		if !strings.Contains(string(got), tc.want) || g.dataDir != filepath.Join(dir, tc.folder) {
			t.Errorf("setDataDir(%q): %q, dataDir %s", tc.folder, got, g.dataDir)
		}
	}
	os.WriteFile(path, []byte("  dataDir: nested\n"), 0o644)
	if err := setDataDir(g, "x"); err == nil {
		t.Error("a configuration without a top-level dataDir was rewritten")
	}
}

func TestComparisonSummary(t *testing.T) {
	cpu := func(v float64) *float64 { return &v }
	run := func(round int, v string, mps, recv float64) comparisonRun {
		r := &result{MessagesPerSecond: mps}
		r.Gateways.Receiver.CPUSecondsPerMsg, r.Gateways.Sender.CPUSecondsPerMsg = cpu(recv), cpu(0.01)
		return comparisonRun{Round: round, Variant: v, Result: r}
	}
	tests := []struct {
		name                string
		runs                []comparisonRun
		ratio, lo, hi, rcpu float64
	}{
		{"one round", []comparisonRun{run(1, "base", 50, 0.01), run(1, "test", 45, 0.02)}, 0.9, 0.9, 0.9, 2},
		{"three rounds, medians", []comparisonRun{
			run(1, "base", 50, 0.01), run(1, "test", 40, 0.01),
			run(2, "test", 60, 0.01), run(2, "base", 40, 0.01),
			run(3, "base", 60, 0.01), run(3, "test", 50, 0.01),
		}, 1, 0.8, 1.5, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &comparison{Runs: tc.runs}
			c.summarize("base")
			if c.Ratio != tc.ratio || c.RatioMin != tc.lo || c.RatioMax != tc.hi || c.ReceiverCPURatio != tc.rcpu {
				t.Errorf("ratio %v [%v, %v] cpu %v, want %v [%v, %v] cpu %v", c.Ratio, c.RatioMin, c.RatioMax, c.ReceiverCPURatio, tc.ratio, tc.lo, tc.hi, tc.rcpu)
			}
		})
	}
}

// TestComparisonSmoke runs both comparison scenarios small: a 2,000-message store and a
// dead partner with 100 queued.
func TestComparisonSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts gateways four times (skipped with -short)")
	}
	for _, args := range [][]string{
		{"--scenario", "scale", "--prefill", "2000"},
		{"--scenario", "dead-partner", "--dead-messages", "100"},
	} {
		t.Run(args[1], func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			var out, errOut bytes.Buffer
			err := run(ctx, append(args, "--count", "20", "--concurrency", "4", "--crypto-iterations", "20", "--json", "--timeout", "4m"), &out, &errOut)
			if err != nil {
				t.Fatalf("as4bench: %v\n%s", err, errOut.String())
			}
			var c comparison
			if err := json.Unmarshal(out.Bytes(), &c); err != nil {
				t.Fatalf("--json output: %v\n%s", err, out.String())
			}
			if len(c.Runs) != 2 || c.Ratio <= 0 || len(c.Baseline) != 1 || len(c.Variant) != 1 {
				t.Errorf("comparison %+v", c)
			}
		})
	}
}
